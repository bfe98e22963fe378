#!/usr/bin/env python3
"""wireguard-go's encryption and decryption per core: the baseline issue 17
sets tartan's wireguard rows against (Debian's wireguard-go, a userspace
WireGuard on a TUN device; this kernel has no WireGuard module).

Two nodes in network namespaces joined by a veth pair, each running
wireguard-go configured as flanneld configures flannel-wg (private key,
ListenPort 51820, one peer per other node: its public key, endpoint
public-ip:51820, allowed-ips its podCIDR, MTU underlay - 80, the node's
podCIDR address on the device and the cluster network routed through it).
iperf3 runs from node 1's device address to node 2's: TCP bulk (one stream)
and UDP datagrams whose IP packets are 64 and 1,400 bytes, sent as fast as
iperf3 can.

Per core: the sending wireguard-go encrypts, the receiving one decrypts.
Each side's rate is what its device's counters say it encrypted (packets
the kernel handed it) or decrypted (packets it wrote back), over the CPU
time (user + system, every thread, from /proc) its process used meanwhile.
Its TUN reads and writes are in that system time; the veth's and
iperf3's are not counted.

Run as root from the repository root:
  python3 perf/suite/wireguard_go.py [--seconds 8] [--rounds 3] [--json out.json]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from procs import Failure, Process, how_it_ended, on_exit, run, run_script, sh, wait_until  # noqa: E402

PREFIX = "wgb"  # namespaces, interfaces
PORT = 51820  # flannel's default ListenPort
UNDERLAY_MTU = 1500
# The IP packet sizes measured with UDP: the payload is what is left after
# the IPv4 (20) and UDP (8) headers. 64, 576 and 1,400 are also the imix's.
UDP_PACKETS = (64, 576, 1400)
# Simple imix: 7 packets of 64 bytes, 4 of 576, 1 of 1,400 (1,500 in the
# original, above the wireguard MTU of 1,420). iperf3 sends one size a run,
# so its rate is derived from the three rows: the time for 12 packets is
# the sum of theirs.
IMIX = ((64, 7), (576, 4), (1400, 1))


def imix_mpps(rate_of) -> float:
    """The rate over the imix, from `rate_of(size)`, the rate (in the same
    unit) at one size."""
    packets = sum(n for _, n in IMIX)
    return packets / sum(n / rate_of(size) for size, n in IMIX)


IMIX_MEAN_BYTES = sum(size * n for size, n in IMIX) / sum(n for _, n in IMIX)


def name(what: str) -> str:
    # Interface names are at most 15 bytes, and wireguard-go's UAPI socket
    # (/var/run/wireguard/<ifname>.sock) is not per namespace: the pid keeps
    # them apart from another run's.
    return f"{PREFIX}{what}{os.getpid() % 100000}"


def cpu_seconds(pid: int) -> float:
    """User and system time of every thread of `pid`, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Node:
    def __init__(self, i: int, workdir: str):
        self.i = i
        self.ns = name(f"n{i}")
        self.dev = name(f"w{i}")
        self.public_ip = f"192.0.2.{i}"
        self.pod_cidr = f"10.244.{i}.0/24"
        self.address = f"10.244.{i}.0"
        run(["ip", "netns", "add", self.ns])
        on_exit(lambda: run(["ip", "netns", "del", self.ns], check=False))
        sh(f"ip -n {self.ns} link set lo up")
        self.key = f"{workdir}/{i}.key"
        with open(self.key, "w") as f:
            f.write(run(["wg", "genkey"]).strip())
        self.public_key = run(["sh", "-c", f"wg pubkey < {self.key}"]).strip()

    def start(self) -> None:
        sock = f"/var/run/wireguard/{self.dev}.sock"
        on_exit(lambda: os.path.exists(sock) and os.remove(sock))
        self.wg = Process(["ip", "netns", "exec", self.ns, "wireguard-go", "-f", self.dev],
                          f"wireguard-go {self.dev}")
        wait_until(lambda: os.path.exists(sock), 10, f"{sock}")
        sh(f"""ip netns exec {self.ns} wg set {self.dev} listen-port {PORT} private-key {self.key}
ip -n {self.ns} link set {self.dev} mtu {UNDERLAY_MTU - 80}
ip -n {self.ns} addr add {self.address}/32 dev {self.dev}
ip -n {self.ns} link set {self.dev} up
ip -n {self.ns} route add 10.244.0.0/16 dev {self.dev} scope link""")

    def add_peer(self, peer: "Node") -> None:
        run(["ip", "netns", "exec", self.ns, "wg", "set", self.dev, "peer", peer.public_key,
             "endpoint", f"{peer.public_ip}:{PORT}", "allowed-ips", peer.pod_cidr])


def tun_counters(node: Node) -> dict:
    """The wireguard-go device's packet and byte counters. The kernel counts
    as tx what it hands wireguard-go to encrypt, and as rx what wireguard-go
    writes back decrypted: inner packets, as tartan's rows count them."""
    out = run(["ip", "netns", "exec", node.ns, "sh", "-c",
               f"cd /sys/class/net/{node.dev}/statistics && cat tx_packets tx_bytes rx_packets rx_bytes"])
    tx_packets, tx_bytes, rx_packets, rx_bytes = (int(v) for v in out.split())
    return {"tx_packets": tx_packets, "tx_bytes": tx_bytes, "rx_packets": rx_packets,
            "rx_bytes": rx_bytes}


def iperf(src: Node, dst: Node, seconds: int, packet: int) -> dict:
    """One iperf3 run from src to dst (packet: UDP IP packet size; 0: TCP):
    what src's wireguard-go encrypted and dst's decrypted, per second and
    per core of each process."""
    server = Process(["ip", "netns", "exec", dst.ns, "iperf3", "-s", "-1", "-p", "5301",
                      "-B", dst.address], "iperf3 -s")
    wait_until(lambda: ":5301" in run(["ip", "netns", "exec", dst.ns, "ss", "-ltn"]), 10,
               "iperf3 server")
    udp = ["-u", "-b", "0", "-l", str(packet - 28)] if packet else []
    sent0, got0 = tun_counters(src), tun_counters(dst)
    cpu0 = (cpu_seconds(src.wg.proc.pid), cpu_seconds(dst.wg.proc.pid), time.monotonic())
    client = Process(["ip", "netns", "exec", src.ns, "iperf3", "-c", dst.address, "-B",
                      src.address, "-p", "5301", "-t", str(seconds), *udp], "iperf3 -c")
    client.proc.wait(seconds + 60)
    cpu1 = (cpu_seconds(src.wg.proc.pid), cpu_seconds(dst.wg.proc.pid), time.monotonic())
    sent1, got1 = tun_counters(src), tun_counters(dst)
    server.stop()
    if client.proc.returncode != 0:
        raise Failure(f"iperf3 -c {how_it_ended(client.proc.returncode)}:\n{client.output()[-2000:]}")
    wall = cpu1[2] - cpu0[2]
    encrypted = sent1["tx_packets"] - sent0["tx_packets"]
    decrypted = got1["rx_packets"] - got0["rx_packets"]
    return {
        "encrypt_mpps": encrypted / wall / 1e6,
        "encrypt_gbps": (sent1["tx_bytes"] - sent0["tx_bytes"]) * 8 / wall / 1e9,
        "encrypt_cores": (cpu1[0] - cpu0[0]) / wall,
        "decrypt_mpps": decrypted / wall / 1e6,
        "decrypt_gbps": (got1["rx_bytes"] - got0["rx_bytes"]) * 8 / wall / 1e9,
        "decrypt_cores": (cpu1[1] - cpu0[1]) / wall,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=8, help="length of each iperf3 run")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each kind (median, min-max)")
    ap.add_argument("--json", help="write every run here")
    o = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix=f"{PREFIX}-")
    on_exit(lambda: run(["rm", "-rf", workdir], check=False))
    n1, n2 = Node(1, workdir), Node(2, workdir)
    sh(f"""ip -n {n1.ns} link add eth0 type veth peer name eth0 netns {n2.ns}
ip -n {n1.ns} addr add {n1.public_ip}/24 dev eth0
ip -n {n2.ns} addr add {n2.public_ip}/24 dev eth0
ip -n {n1.ns} link set eth0 mtu {UNDERLAY_MTU} up
ip -n {n2.ns} link set eth0 mtu {UNDERLAY_MTU} up""")
    for n in (n1, n2):
        n.start()
    n1.add_peer(n2)
    n2.add_peer(n1)
    run(["ip", "netns", "exec", n1.ns, "ping", "-c", "1", "-W", "5", "-I", n1.address, n2.address])

    kinds = [("tcp", 0)] + [(f"udp{p}", p) for p in UDP_PACKETS]
    runs = []
    for rnd in range(o.rounds):
        for kind, packet in kinds:
            r = iperf(n1, n2, o.seconds, packet)
            r.update(kind=kind, round=rnd)
            runs.append(r)
            print(f"{kind:7} encrypt {r['encrypt_mpps']:6.3f} Mpps {r['encrypt_gbps']:6.2f} Gbit/s "
                  f"on {r['encrypt_cores']:.2f} cores; decrypt {r['decrypt_mpps']:6.3f} Mpps "
                  f"{r['decrypt_gbps']:6.2f} Gbit/s on {r['decrypt_cores']:.2f} cores", flush=True)
    print(f"\nwireguard-go per core of its process (inner packets), median of {o.rounds} "
          "rounds (min..max)")
    print("kind     encrypt Mpps/core   Gbit/s/core      decrypt Mpps/core   Gbit/s/core")
    for kind, _ in kinds:
        rs = [r for r in runs if r["kind"] == kind]

        def per_core(side, unit):
            v = [r[f"{side}_{unit}"] / r[f"{side}_cores"] for r in rs]
            return f"{statistics.median(v):7.3f} ({min(v):.3f}..{max(v):.3f})"

        print(f"{kind:7}  {per_core('encrypt', 'mpps'):>24} {per_core('encrypt', 'gbps'):>24}   "
              f"{per_core('decrypt', 'mpps'):>24} {per_core('decrypt', 'gbps'):>24}")
    # Per round, from that round's three UDP rows.
    for side in ("encrypt", "decrypt"):
        v = []
        for rnd in range(o.rounds):
            by_size = {r["kind"]: r[f"{side}_mpps"] / r[f"{side}_cores"] for r in runs
                       if r["round"] == rnd}
            v.append(imix_mpps(lambda size: by_size[f"udp{size}"]))
        print(f"imix {side}: {statistics.median(v):.3f} ({min(v):.3f}..{max(v):.3f}) Mpps/core, "
              f"{statistics.median(v) * IMIX_MEAN_BYTES * 8 / 1e3:.3f} Gbit/s/core "
              f"(7:4:1 of 64/576/1400 B, mean {IMIX_MEAN_BYTES:.0f} B)")
    if o.json:
        with open(o.json, "w") as f:
            json.dump(runs, f, indent=1)
    return 0


if __name__ == "__main__":
    run_script(main, "wireguard_go")
