"""Processes, namespaces and files the suite starts or makes, and their
cleanup: everything registered here is undone when the suite exits, also on
Ctrl-C, SIGTERM or an exception."""

import atexit
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

_cleanups: list[Callable[[], None]] = []


def on_exit(undo: Callable[[], None]) -> None:
    """Runs `undo` at exit, newest first."""
    _cleanups.append(undo)


def _cleanup_all() -> None:
    while _cleanups:
        undo = _cleanups.pop()
        try:
            undo()
        except Exception as e:  # keep undoing the rest
            print(f"perf-suite: cleanup: {e}", file=sys.stderr)


def _on_signal(signum, _frame) -> None:
    _cleanup_all()
    sys.exit(128 + signum)


atexit.register(_cleanup_all)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


class Failure(Exception):
    """A step of the suite failed; the message says which and why."""


class DutDied(Failure):
    """The device under test is gone (crashed, or killed): the rest of its
    part cannot run."""


def run_status(argv: list[str], timeout: float = 120) -> tuple[int, str]:
    """Runs a command to completion; its exit status (negative: the signal
    that ended it) and its stdout and stderr together."""
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout)
    return r.returncode, r.stdout


def run(argv: list[str], timeout: float = 120, check: bool = True) -> str:
    """Runs a command to completion; its stdout and stderr together."""
    status, out = run_status(argv, timeout)
    if check and status != 0:
        raise Failure(f"{' '.join(argv)} {how_it_ended(status)}:\n{out[-4000:]}")
    return out


def how_it_ended(status: int) -> str:
    """"exited with 1", "was killed by SIGSEGV" for a Popen returncode."""
    if status < 0:
        try:
            return f"was killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"exited with {status}"


def succeeds(argv: list[str], timeout: float = 10) -> bool:
    try:
        return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=timeout).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def sh(script: str, timeout: float = 60) -> str:
    return run(["sh", "-ec", script], timeout=timeout)


class Process:
    """A background process in its own process group, its output collected
    line by line (testpmd's answers are read back from it)."""

    def __init__(self, argv: list[str], name: str, stdin_pipe: bool = False):
        self.name = name
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
                                     text=True, start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        on_exit(self.stop)

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def send(self, text: str) -> None:
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def wait_for_line(self, predicate: Callable[[str], bool], start: int, timeout: float) -> int:
        """Index of the first line from `start` on that satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(start, len(self.lines)):
                    if predicate(self.lines[i]):
                        return i
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise Failure(f"{self.name}: no expected output within {timeout} s:\n"
                                  + "\n".join(self.lines[-40:]))
                self._cond.wait(min(left, 0.2))

    def line_count(self) -> int:
        with self._cond:
            return len(self.lines)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM (SIGKILL after `timeout`) to the whole process group."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self._reader.join(timeout=5)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def run_script(main: Callable[[], int], name: str) -> None:
    """Exits with `main`'s status; a Failure is printed as `name: why` and
    exits 1 (the cleanups registered above run either way)."""
    try:
        sys.exit(main())
    except Failure as e:
        print(f"{name}: {e}", file=sys.stderr)
        sys.exit(1)
