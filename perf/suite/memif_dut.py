"""Devices under test behind a pair of memif ports, each its own process with
one forwarding lcore (lcore 1): dpdk-testpmd (the I/O ceiling) and tartand.
Port 0 is the pod side (tartan's overlay), port 1 the underlay; the DUT is
the memif server, tartan-perf the client, so every figure crosses a process
boundary as a userspace pod's traffic would."""

import json
import os
import re
import threading
import time

from generator import LOCAL_SUBNET, POD_NETWORK, SUBNET_LEN, node_scheme
from procs import DutDied, Failure, Process, how_it_ended, on_exit, run, succeeds, wait_until

OVERLAY_MAC = "02:00:00:00:00:02"   # tartan-perf's default --dst-mac
UNDERLAY_MAC = "02:00:00:00:00:13"
# Our underlay address and its gateway, per family (the remote VTEPs are
# behind it: generator.VTEP_BASE), and the prefix length of the underlay.
UNDERLAY_IP = {"ipv4": "192.0.2.19", "ipv6": "2001:db8::13"}
UNDERLAY_PREFIX = {"ipv4": 24, "ipv6": 64}
GATEWAY_IP = {"ipv4": "192.0.2.1", "ipv6": "2001:db8::1"}
GATEWAY_MAC = "02:00:00:00:00:fe"
# The VtepMAC of flannel.1 and of flannel-v6.1 (tartan-perf's --vtep-mac).
VTEP_MAC = {"ipv4": "0e:00:00:00:00:01", "ipv6": "0e:00:00:00:06:01"}
# A jumbo-capable underlay, so 1500-byte inner frames fit the overlay MTU
# (1600 - 50, and 1600 - 70 over IPv6): the kernel node gets the same.
UNDERLAY_MTU = 1600


RING_LOG2 = 14  # memif rings of 16384 slots: ride out the generator being descheduled


def memif_vdevs(sock_dir: str, role: str) -> list[str]:
    # socket-abstract=no: a file in sock_dir, removed with it.
    return [f"net_memif{i},role={role},id=0,socket={sock_dir}/{name}.sock,socket-abstract=no,"
            f"rsize={RING_LOG2}" for i, name in enumerate(("pods", "underlay"))]


def client_vdevs(sock_dir: str) -> list[str]:
    return memif_vdevs(sock_dir, "client")


def _wait_for_sockets(sock_dir: str, proc: Process, timeout: float = 60) -> None:
    wait_until(lambda: not proc.alive() or all(
        os.path.exists(f"{sock_dir}/{n}.sock") for n in ("pods", "underlay")), timeout,
        f"{proc.name}'s memif sockets")
    if not proc.alive():
        raise Failure(f"{proc.name} exited:\n{proc.output()[-3000:]}")


class Testpmd:
    """dpdk-testpmd forwarding port 0 <-> 1 in io or macswap mode on lcore 1,
    driven through its prompt so that forwarding (and its counters) starts
    once tartan-perf is attached."""

    def __init__(self, binary: str, sock_dir: str, mode: str, memory_mb: int):
        self.mode = mode
        self.sock_dir = sock_dir
        # Unbuffered: its answers are read back as they come.
        argv = ["stdbuf", "-o0", binary, "-l", "0,1", "--file-prefix", f"tps-testpmd-{os.getpid()}-{mode}",
                "--huge-unlink", "-m", str(memory_mb), "--no-pci"]
        for v in memif_vdevs(sock_dir, "server"):
            argv += ["--vdev", v]
        argv += ["--", "-i", f"--forward-mode={mode}", "--nb-cores=1", "--record-core-cycles",
                 "--rxd=1024", "--txd=1024", "--total-num-mbufs=16384"]
        self.command = " ".join(argv)
        self.proc = Process(argv, f"testpmd ({mode})", stdin_pipe=True)
        _wait_for_sockets(sock_dir, self.proc)

    def forward_during(self, traffic) -> tuple[dict, dict]:
        """Forwards while traffic(stop_forwarding) runs (it gets a moment to
        attach first); returns its result and testpmd's counters for that
        time. traffic must call stop_forwarding() before tartan-perf closes
        its ports: DPDK 22.11's memif PMD unmaps a departed peer's rings
        under the forwarding lcore still polling them, and testpmd, unlike
        tartand, does nothing about it (it dies with SIGSEGV now and then
        when the generator leaves mid-forwarding)."""
        result: dict = {}
        error: list[Exception] = []
        started = threading.Event()
        stopped: list[str] = []

        def stop_forwarding():
            if not started.wait(60):
                raise Failure(f"testpmd ({self.mode}): forwarding never started")
            mark = self.proc.line_count()
            self.proc.send("stop\n")
            end = self.proc.wait_for_line(lambda l: l.strip() == "Done.", mark, 20)
            stopped.append("\n".join(self.proc.lines[mark:end]))

        def go():
            try:
                result.update(traffic(stop_forwarding))
            except Exception as e:
                error.append(e)
        t = threading.Thread(target=go)
        t.start()
        # memif zeroes a port's counters when its peer connects: start (and
        # take testpmd's counter snapshot) only once both links are up.
        deadline = time.monotonic() + 30
        while not self._links_up():
            if time.monotonic() > deadline or not t.is_alive():
                t.join()
                raise Failure(f"testpmd ({self.mode}): tartan-perf did not connect:\n"
                              + (str(error[0]) if error else self.proc.output()[-2000:]))
            time.sleep(0.1)
        mark = self.proc.line_count()
        self.proc.send("start\n")
        self.proc.wait_for_line(lambda l: "packet forwarding - ports=" in l, mark, 10)
        started.set()
        t.join()
        if error:
            raise error[0]
        if not stopped:
            raise Failure(f"testpmd ({self.mode}): tartan-perf left before forwarding stopped")
        stats = parse_testpmd_stats(stopped[0])
        # testpmd divides its cycles by its ports' packet counters, which
        # memif servers do not keep straight (they come out negative): divide
        # by what it forwarded, all of which tartan-perf received or
        # testpmd dropped.
        forwarded = result["rx_packets"] + (stats["tx_dropped"] or 0)
        stats["busy_cycles_per_packet"] = (stats["busy_cycles"] / forwarded
                                           if stats["busy_cycles"] and forwarded else None)
        return result, stats

    def _links_up(self) -> bool:
        mark = self.proc.line_count()
        self.proc.send("show port summary all\n")
        end = self.proc.wait_for_line(lambda l: l.startswith("Number of available ports"), mark, 10)
        rows = self.proc.wait_for_line(lambda l: True, end + 3, 10)  # the header, then 2 rows
        # "Port  MAC  Name  Driver  Status  Link"
        return all(l.split()[4:5] == ["up"] for l in self.proc.lines[end + 2:rows + 1])

    def stop(self) -> None:
        try:
            self.proc.send("quit\n")
            self.proc.proc.wait(15)
        except Exception:
            pass
        self.proc.stop()


def parse_testpmd_stats(text: str) -> dict:
    """From `stop`'s report: TX-dropped (testpmd's own count) and the
    forwarding lcore's cycles in bursts that received packets
    (--record-core-cycles)."""
    acc = text[text.find("Accumulated forward statistics"):]
    m = re.search(r"TX-dropped:\s+(\d+)", acc)
    c = re.search(r"total cycles=(\d+)", text)
    return {"tx_dropped": int(m.group(1)) if m else None,
            "busy_cycles": int(c.group(1)) if c else None}


def families(backend: str) -> tuple[str, ...]:
    """The families a backend's tartand runs: vxlan dual stack, the udp
    backend IPv4 only (as in flannel)."""
    return ("ipv4", "ipv6") if backend == "vxlan" else ("ipv4",)


def tartand_config(name: str, backend: str, fam: tuple[str, ...], memory_mb: int, pods: str,
                   underlay: str, state: str, socket: str) -> str:
    """tartand's YAML: our node 1 of generator's scheme, each family of `fam`
    with its address, gateway (a static neighbour), network and lease."""
    six = "ipv6" in fam
    ul = f"address: {UNDERLAY_IP['ipv4']}/{UNDERLAY_PREFIX['ipv4']}, gateway: {GATEWAY_IP['ipv4']}"
    network = f"Network: {POD_NETWORK['ipv4']}, SubnetLen: {SUBNET_LEN['ipv4']}"
    lease = f"subnet: {LOCAL_SUBNET['ipv4']}"
    dataplane = f"vtep_mac: '{VTEP_MAC['ipv4']}'"
    if six:
        ul += f", ipv6_address: {UNDERLAY_IP['ipv6']}/{UNDERLAY_PREFIX['ipv6']}, " \
              f"ipv6_gateway: {GATEWAY_IP['ipv6']}"
        network += f", EnableIPv6: true, IPv6Network: {POD_NETWORK['ipv6']}, " \
                   f"IPv6SubnetLen: {SUBNET_LEN['ipv6']}"
        lease += f", subnet_v6: {LOCAL_SUBNET['ipv6']}"
        dataplane += f", vtep_mac_v6: '{VTEP_MAC['ipv6']}'"
    # Room for the suite's largest table in every family it routes.
    max_routes = 131072 * len(fam)
    # The gateways need no ARP or neighbour discovery: nothing answers it.
    neighbours = ", ".join(f"static_neighbours{'_v6' if f == 'ipv6' else ''}: "
                           f"[{{ip: '{GATEWAY_IP[f]}', mac: '{GATEWAY_MAC}'}}]" for f in fam)
    return f"""\
eal: {{main_lcore: 0, memory_mb: {memory_mb}, hugepages: on, file_prefix: tps-tartand-{os.getpid()}-{name}}}
ports:
  underlay: {{name: underlay, device: '{underlay}', {ul}, mac: '{UNDERLAY_MAC}', mtu: {UNDERLAY_MTU}}}
  overlay: [{{name: pods, device: '{pods}', mac: '{OVERLAY_MAC}'}}]
workers: {{lcores: [1]}}
network: {{{network}, Backend: {{Type: {backend}}}}}
dataplane: {{{dataplane}, max_routes: {max_routes}, {neighbours}}}
node: {{name: perf-local, state_dir: {state}}}
control: {{listen: 'unix://{socket}'}}
lease: {{source: static, {lease}}}
"""


class Tartand:
    """tartand with a memif overlay and underlay, its worker on lcore 1, the
    remote nodes of generator's scheme (both families with vxlan) behind
    static gateways."""

    def __init__(self, binaries: dict, work_dir: str, backend: str, memory_mb: int,
                 name: str | None = None, fams: tuple[str, ...] | None = None):
        """`name` (default: the backend) names its directory and DPDK file
        prefix: a tartand started after another of the same backend starts
        afresh, with no state of that one's. `fams`: its address families
        (default: every one the backend has)."""
        self.bin = binaries
        name = name or backend
        self.dir = os.path.join(work_dir, f"tartand-{name}")
        os.makedirs(self.dir, exist_ok=True)
        self.sock_dir = self.dir
        self.backend = backend
        self.families = fams or families(backend)
        self.socket = os.path.join(self.dir, "tartan.sock")
        self.nodes = 0
        pods, underlay = memif_vdevs(self.sock_dir, "server")
        self.config = tartand_config(name, backend, self.families, memory_mb, pods, underlay,
                                     f"{self.dir}/state", self.socket) \
            + f"subnet_file: {self.dir}/subnet.env\n"
        path = os.path.join(self.dir, "tartan.yaml")
        with open(path, "w") as f:
            f.write(self.config)
        self.proc = Process([self.bin["tartand"], "--config", path, "--stats-interval", "0"],
                            f"tartand ({name})")
        wait_until(lambda: not self.proc.alive() or self._healthy(), 60, "tartand to be ready")
        if not self.proc.alive():
            raise Failure(f"tartand exited:\n{self.proc.output()[-3000:]}")
        _wait_for_sockets(self.sock_dir, self.proc)
        on_exit(lambda: run(["rm", "-rf", self.dir], check=False))

    def _healthy(self) -> bool:
        return succeeds([self.bin["tartanctl"], "-s", self.socket, "health"])

    def nodeload(self, args: list[str], timeout: float = 600) -> dict:
        path = os.path.join(self.dir, "nodeload.json")
        # Dual-stack nodes where tartand is: routed for both families.
        scheme = [a for f in self.families for a in node_scheme(f)]
        if "ipv6" in self.families:
            scheme.append("--dual-stack")
        # On CPU 0 with the generator and tartand's control thread: CPU 1 is
        # the DUT worker's alone.
        run(["taskset", "-c", "0", self.bin["tartan-nodeload"], "-s", self.socket, "--backend", self.backend,
             *scheme, *args, "--json", path], timeout=timeout)
        with open(path) as f:
            return json.load(f)

    def grow_to(self, nodes: int) -> dict:
        """Applies remote nodes self.nodes .. nodes-1."""
        # ApplyNodes calls as tartanctl makes them: up to 10,000 nodes and
        # 3 MiB, clear of tartand's 4 MiB control.max_message_bytes (a
        # dual-stack node is about 430 bytes).
        batch = 5000 if "ipv6" in self.families else 10000
        r = self.nodeload(["--first", str(self.nodes), "--nodes", str(nodes - self.nodes),
                           "--concurrency", "2", "--batch", str(batch)])
        self.nodes = nodes
        return r

    def stats(self) -> dict:
        self.check_alive()
        return json.loads(run([self.bin["tartanctl"], "-s", self.socket, "-o", "json", "stats"]))

    def alive(self) -> bool:
        return self.proc.alive()

    def check_alive(self) -> None:
        if not self.proc.alive():
            raise DutDied(f"tartand ({self.backend}) {how_it_ended(self.proc.proc.returncode)}:\n"
                          f"{self.proc.output()[-3000:]}")

    def stats_with_no_peer(self, timeout: float = 10) -> dict:
        """Its stats once both memif links are down: the last generator has
        gone and tartand has counted it (link_downs)."""
        got: list[dict] = []

        def down() -> bool:
            got[:] = [self.stats()]
            return not any(p.get("link_up") for p in got[0].get("ports", []))
        wait_until(down, timeout, f"tartand ({self.backend}) to see its memif peer leave")
        return got[0]

    def stop(self) -> None:
        self.proc.stop()


def worker_delta(before: dict, after: dict) -> dict:
    """Worker and drop counters between two `tartanctl stats` snapshots."""
    def workers(s):
        tot = {"loops": 0, "busy_loops": 0, "packets": 0, "busy_cycles": 0}
        for w in s.get("workers", []):
            for k in tot:
                tot[k] += int(w.get(k, 0))
        return tot
    b, a = workers(before), workers(after)
    d = {k: a[k] - b[k] for k in a}
    drops_b = {x["reason"]: int(x.get("packets", 0)) for x in before.get("drops", [])}
    drops = {}
    for x in after.get("drops", []):
        n = int(x.get("packets", 0)) - drops_b.get(x["reason"], 0)
        if n:
            drops[x["reason"]] = n
    return {"worker_packets": d["packets"],
            "busy_cycles_per_packet": d["busy_cycles"] / d["packets"] if d["packets"] else None,
            "drops": drops}


def peer_kept(before: dict, after: dict) -> None:
    """Between two stats_with_no_peer() snapshots around one generator run,
    each memif port's link went down once: when the generator left at the
    end. More means tartand lost its peer during the run."""
    downs = {p["name"]: int(p.get("link_downs", 0)) for p in before.get("ports", [])}
    for p in after.get("ports", []):
        n = int(p.get("link_downs", 0)) - downs.get(p["name"], 0)
        if n != 1:
            raise Failure(f"tartand's port {p['name']} went down {n} times during one "
                          f"generator run (expected once, when the generator left): "
                          f"{'its peer was lost mid-run' if n > 1 else 'the peer never connected'}")
