"""tartan-perf runs: the generator and receiver on lcore 0, in its own
process, attached to the device under test's ports."""

import json
import os
import subprocess
import tempfile

from procs import Failure, how_it_ended, run_status, wait_until

# The cluster every tartan run uses, dual stack as flannel's: 10.0.0.0/7 in
# /24s holds 131,072 podCIDRs, enough for 100,000 remote nodes, and
# fd00::/40 in /64s 16,777,216; we are subnet 1, remote node k is subnet
# 2+k at public IP 172.16.0.2 + k and 2001:db8:1::2 + k, behind the
# gateways 192.0.2.1 and 2001:db8::1.
FAMILIES = ("ipv4", "ipv6")
POD_NETWORK = {"ipv4": "10.0.0.0/7", "ipv6": "fd00::/40"}
SUBNET_LEN = {"ipv4": 24, "ipv6": 64}
LOCAL_SUBNET = {"ipv4": "10.0.1.0/24", "ipv6": "fd00:0:0:1::/64"}
VTEP_BASE = {"ipv4": "172.16.0.2", "ipv6": "2001:db8:1::2"}


def option(name: str, family: str) -> str:
    """tartan-perf's option `name` for a family: --pod-network, --pod-network6."""
    return f"--{name}{'6' if family == 'ipv6' else ''}"


def node_scheme(family: str) -> list[str]:
    """The remote nodes' options, as tartan-perf and tartan-nodeload take them."""
    return [option("pod-network", family), POD_NETWORK[family],
            option("subnet-len", family), str(SUBNET_LEN[family]),
            option("vtep-base", family), VTEP_BASE[family]]


def scheme(family: str) -> list[str]:
    """tartan-perf's addressing options for a family's traffic."""
    return ["--family", family, *node_scheme(family),
            option("local-subnet", family), LOCAL_SUBNET[family]]


# IPv6 frames are 20 bytes of header longer: its smallest is CSIT's 78 B
# (an IPv6/UDP frame whose 12 payload bytes hold the marker's magic and
# flow id), and IMIX's 64 B frames cannot carry it.
SIZES = {"ipv4": ["64", "512", "1500", "imix"], "ipv6": ["78", "512", "1500"]}
IMIX_AVERAGE = 353.83  # bytes with FCS, 7:4:1 of 64/570/1518


def smallest(family: str) -> str:
    return SIZES[family][0]


def size_bytes(size: str) -> float:
    return IMIX_AVERAGE if size == "imix" else float(size)


class Generator:
    def __init__(self, binary: str, work_dir: str, memory_mb: int, netns: str | None = None):
        self.binary = binary
        self.work_dir = work_dir
        self.memory_mb = memory_mb
        self.netns = netns
        self.runs = 0

    def eal_args(self, vdevs: list[str], hugepages: bool) -> list[str]:
        self.runs += 1
        prefix = f"tps-gen-{os.getpid()}-{self.runs}"
        # memif finds its peer over the multi-process channel, which
        # --in-memory would disable; --huge-unlink still leaves no files.
        mem = ["--huge-unlink", "-m", str(self.memory_mb)] if hugepages else \
            ["--no-huge", "--no-shconf", "-m", str(self.memory_mb)]
        args = ["-l", "0", "--file-prefix", prefix, "--no-pci", *mem]
        for v in vdevs:
            args += ["--vdev", v]
        return args

    def run(self, vdevs: list[str], args: list[str], hugepages: bool = True,
            timeout: float = 300, before_disconnect=None) -> dict:
        """One tartan-perf run; its --json result. With `before_disconnect`,
        tartan-perf keeps its ports open after writing the result until that
        has been called (--hold-ports)."""
        fd, path = tempfile.mkstemp(prefix="tartan-perf-", suffix=".json", dir=self.work_dir)
        os.close(fd)
        argv = [self.binary, *self.eal_args(vdevs, hugepages), "--", *args, "--json", path,
                "--quiet"]
        if before_disconnect:
            argv.append("--hold-ports")
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        try:
            if before_disconnect:
                status, out = _run_holding(argv, path, before_disconnect, timeout)
            else:
                status, out = run_status(argv, timeout=timeout)
            result = _result(path)
            # A generator that crashed (e.g. when its device under test went
            # away under it) or failed is a failed measurement, even with a
            # result written.
            if status != 0 or result is None:
                raise Failure(f"tartan-perf {how_it_ended(status)}"
                              f"{'' if result else ' and wrote no result'}:\n"
                              f"{' '.join(argv)}\n{out[-3000:]}")
        finally:
            os.unlink(path)
        result["command"] = " ".join(argv[argv.index(self.binary):]).replace(path, "FILE")
        return result


def _result(path: str) -> dict | None:
    """tartan-perf's --json result, once it is all written."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _run_holding(argv: list[str], path: str, before_disconnect,
                 timeout: float) -> tuple[int, str]:
    """Runs a tartan-perf with --hold-ports: once its result is out, calls
    before_disconnect(), then closes its stdin to let it close its ports and
    exit. Returns its exit status and output."""
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
                                text=True)
        try:
            wait_until(lambda: proc.poll() is not None or _result(path) is not None, timeout,
                       "tartan-perf's result")
            if proc.poll() is None:
                before_disconnect()
        finally:
            proc.stdin.close()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        out.seek(0)
        return proc.returncode, out.read()
