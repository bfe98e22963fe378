#!/usr/bin/env python3
"""Pod to pod TCP (iperf3, 1 and 4 streams) and UDP in 64-byte frames
(packets per second) on the paths issue 19 compares,
in one run, interleaved, so that what else the machine does weighs on all
of them alike:

  kernel       two kernel-flannel nodes (flannel.1 VXLAN over veths and a
               bridge, as flanneld sets a node up)
  tartan-tap   a kernel-flannel node and a tartan node (tartand: net_tap
               overlay, one frame per read() and write(); af_packet underlay),
               both ways
  tartan-vnet  the same with the fast host path: a vnet_tap overlay
               (virtio-net headers, GSO packets of up to 64 KB each way,
               segmented and merged by tartand's worker)

CPU per path: what the run's processes (iperf3 both ends, tartand or the
probe) used, from a cgroup v1 cpuacct group, plus what ksoftirqd used
meanwhile (softirq work not done in a process's context); a polling core
(tartand's worker, the probe) counts as the full core it takes.

Run as root from the repository root after building:
  python3 perf/suite/pod_tcp.py [--seconds 8] [--rounds 3] [--json out.json]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from procs import Process, on_exit, run, run_script, sh, succeeds, wait_until  # noqa: E402

BUILD = os.environ.get("TARTAN_BUILD_ROOT", "build")
CGROUP = "/sys/fs/cgroup/cpuacct/hp-podtcp"
PREFIX = "hpt"  # namespaces, taps, DPDK file prefixes


def ns(name: str) -> str:
    return f"{PREFIX}{name}-{os.getpid()}"


def add_ns(name: str) -> str:
    n = ns(name)
    run(["ip", "netns", "add", n])
    on_exit(lambda: run(["ip", "netns", "del", n], check=False))
    sh(f"ip -n {n} link set lo up; ip netns exec {n} sysctl -qw net.ipv6.conf.all.disable_ipv6=1")
    return n


class Cluster:
    """A switch, kernel nodes 1 and 3, tartan node 2; a pod each (10.244.i.2)."""

    def __init__(self):
        self.sw = add_ns("sw")
        sh(f"ip -n {self.sw} link add br0 type bridge && ip -n {self.sw} link set br0 up")
        self.nodes, self.pods, self.vtep = {}, {}, {}
        self.dir = tempfile.mkdtemp(prefix=f"{PREFIX}-")
        on_exit(lambda: run(["rm", "-rf", self.dir], check=False))
        for i in (1, 3):
            self._node(i)
            sh(f"""ip -n {self.nodes[i]} addr add 192.0.2.1{i}/24 dev eth0
ip -n {self.nodes[i]} link add flannel.1 type vxlan id 1 local 192.0.2.1{i} dev eth0 dstport 8472 nolearning
ip -n {self.nodes[i]} link set flannel.1 mtu 1450 up
ip -n {self.nodes[i]} addr add 10.244.{i}.0/32 dev flannel.1""")
            self.vtep[i] = sh(f"ip netns exec {self.nodes[i]} cat /sys/class/net/flannel.1/address").strip()
            self._pod(i)
        self._node(2)
        self.device = "net_tap"
        self.tartand = self._tartand()
        self._pod(2)
        for a, b in ((1, 3), (1, 2), (3, 2)):
            self._learn(a, b)
            self._learn(b, a)

    def _node(self, i: int) -> None:
        n = self.nodes[i] = add_ns(f"n{i}")
        sh(f"""ip -n {self.sw} link add s{i} type veth peer name eth0 netns {n}
ip -n {self.sw} link set s{i} master br0 up
ip -n {n} link set eth0 up
ip netns exec {n} sysctl -qw net.ipv4.ip_forward=1""")

    def _pod(self, i: int) -> None:
        p = self.pods[i] = add_ns(f"p{i}")
        n = self.nodes[i]
        sh(f"""ip -n {n} link add veth0 type veth peer name eth0 netns {p}
ip -n {n} link add cni0 type bridge && ip -n {n} addr add 10.244.{i}.1/24 dev cni0
ip -n {n} link set cni0 up && ip -n {n} link set veth0 master cni0 up
ip -n {p} addr add 10.244.{i}.2/24 dev eth0 && ip -n {p} link set eth0 up
ip -n {p} route add default via 10.244.{i}.1""")

    def _tartand(self) -> Process:
        d = self.dir
        with open(f"{d}/tartan.yaml", "w") as f:
            f.write(f"""eal: {{hugepages: off, memory_mb: 256, file_prefix: {PREFIX}-{os.getpid()}}}
ports:
  underlay: {{device: 'net_af_packet0,iface=eth0,framecnt=4096', address: 192.0.2.12/24}}
  overlay: [{{name: flannel.1, device: '{self.device}0,iface=flannel.1'}}]
workers: {{lcores: [1], mempool_size: 8191}}
network: {{Network: 10.244.0.0/16, Backend: {{Type: vxlan}}}}
node: {{name: node-2, state_dir: {d}/state}}
control: {{listen: 'unix://{d}/tartan.sock'}}
lease: {{source: static, subnet: 10.244.2.0/24}}
subnet_file: {d}/subnet.env
""")
        p = Process(["ip", "netns", "exec", self.nodes[2], f"{BUILD}/control/tartand", "--config",
                     f"{d}/tartan.yaml", "--stats-interval", "0"], "tartand")
        p.wait_for_line(lambda l: "tartand: ready" in l, 0, 60)
        lease = json.loads(self.ctl("-o", "json", "lease"))
        self.vtep[2] = lease["vtep_mac"]
        return p

    def use(self, device: str) -> None:
        """Node 2's tartand with its overlay port on `device` (net_tap or vnet_tap)."""
        if device == self.device:
            return
        self.tartand.stop()
        wait_until(lambda: not succeeds(["ip", "-n", self.nodes[2], "link", "show", "flannel.1"]),
                   10, "flannel.1 gone")
        self.device = device
        self.tartand = self._tartand()
        sh(f"ip -n {self.nodes[2]} link set flannel.1 up")
        for peer in (1, 3):
            self._learn(2, peer)

    def ctl(self, *args: str) -> str:
        return run([f"{BUILD}/control/tartanctl", "--socket", f"{self.dir}/tartan.sock", *args])

    def _learn(self, who: int, peer: int) -> None:
        if who == 2:
            node = {"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": f"node-{peer}", "annotations": {
                        "flannel.alpha.coreos.com/backend-data":
                            json.dumps({"VNI": 1, "VtepMAC": self.vtep[peer]}, separators=(",", ":")),
                        "flannel.alpha.coreos.com/backend-type": "vxlan",
                        "flannel.alpha.coreos.com/kube-subnet-manager": "true",
                        "flannel.alpha.coreos.com/public-ip": f"192.0.2.1{peer}"}},
                    "spec": {"podCIDR": f"10.244.{peer}.0/24", "podCIDRs": [f"10.244.{peer}.0/24"]}}
            path = f"{self.dir}/node-{peer}.json"
            with open(path, "w") as f:
                json.dump(node, f)
            self.ctl("nodes", "apply", "-f", path)
            return
        n = self.nodes[who]
        sh(f"""ip -n {n} neigh replace 10.244.{peer}.0 lladdr {self.vtep[peer]} dev flannel.1 nud permanent
ip netns exec {n} bridge fdb replace {self.vtep[peer]} dev flannel.1 dst 192.0.2.1{peer} self permanent
ip -n {n} route replace 10.244.{peer}.0/24 via 10.244.{peer}.0 dev flannel.1 onlink""")


def ksoftirqd_ticks() -> int:
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().split()
        except OSError:
            continue
        if fields[1].startswith("(ksoftirqd/"):
            total += int(fields[13]) + int(fields[14])
    return total


def iperf(src_ns: str, dst_ns: str, dst_ip: str, streams: int, seconds: int,
          extra_pids: list[int], udp_payload: int = 0) -> tuple[float, float]:
    """(Gbit/s received, CPU cores used) of one iperf3 run; with
    udp_payload, UDP datagrams of that size sent as fast as iperf3 can, and
    (Mpps received, cores) instead."""
    os.makedirs(CGROUP, exist_ok=True)
    server = Process(["ip", "netns", "exec", dst_ns, "iperf3", "-s", "-1", "-p", "5301"], "iperf3 -s")
    wait_until(lambda: ":5301" in run(["ip", "netns", "exec", dst_ns, "ss", "-ltn"]), 10,
               "iperf3 server")
    udp = ["-u", "-b", "0", "-l", str(udp_payload)] if udp_payload else []
    client = Process(["ip", "netns", "exec", src_ns, "iperf3", "-c", dst_ip, "-p", "5301", "-t",
                      str(seconds), "-P", str(streams), "-J", *udp], "iperf3 -c")
    for pid in [server.proc.pid, client.proc.pid] + extra_pids:
        with open(f"{CGROUP}/cgroup.procs", "w") as f:
            f.write(str(pid))
    with open(f"{CGROUP}/cpuacct.usage") as f:
        used0 = int(f.read())
    soft0, t0 = ksoftirqd_ticks(), time.monotonic()
    client.proc.wait(seconds + 60)
    with open(f"{CGROUP}/cpuacct.usage") as f:
        used1 = int(f.read())
    soft1, t1 = ksoftirqd_ticks(), time.monotonic()
    server.stop()
    result = json.loads(client.output())
    cores = ((used1 - used0) / 1e9 + (soft1 - soft0) / os.sysconf("SC_CLK_TCK")) / (t1 - t0)
    if udp_payload:
        total = result["end"]["sum"]
        return (total["packets"] - total["lost_packets"]) / total["seconds"] / 1e6, cores
    return result["end"]["sum_received"]["bits_per_second"] / 1e9, cores


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json")
    o = ap.parse_args()
    on_exit(lambda: os.path.isdir(CGROUP) and os.rmdir(CGROUP))
    c = Cluster()
    runs = []
    # (kind, streams, UDP payload): TCP bulk, and 64-byte frames of UDP
    # (18 bytes of payload) for packets per second.
    kinds = (("tcp", 1, 0), ("tcp", 4, 0), ("udp64", 1, 18))
    unit = {"tcp": "Gbit/s", "udp64": "Mpps"}

    def measure(name, src, dst, ip, kind, streams, payload, pids, rnd):
        rate, cores = iperf(src, dst, ip, streams, o.seconds, pids, payload)
        runs.append({"path": name, "kind": kind, "streams": streams, "round": rnd, "rate": rate,
                     "unit": unit[kind], "cores": cores})
        print(f"{name:20} {kind:5} P{streams} {rate:6.2f} {unit[kind]:6} {cores:5.2f} cores",
              flush=True)

    for rnd in range(o.rounds):
        for kind, streams, payload in kinds:
            measure("kernel", c.pods[1], c.pods[3], "10.244.3.2", kind, streams, payload, [], rnd)
            for device in ("net_tap", "vnet_tap"):
                c.use(device)
                tag = device.split("_")[0]
                for name, src, dst, ip in ((f"kernel->tartan-{tag}", c.pods[1], c.pods[2], "10.244.2.2"),
                                           (f"tartan-{tag}->kernel", c.pods[2], c.pods[1], "10.244.1.2")):
                    measure(name, src, dst, ip, kind, streams, payload, [c.tartand.proc.pid], rnd)
    print(f"\nmedians over {o.rounds} rounds")
    print("path                 kind  streams    rate unit    cores  per core   (min..max)")
    for kind, streams, _ in kinds:
        for name in dict.fromkeys(r["path"] for r in runs):
            rs = [r for r in runs if r["path"] == name and r["kind"] == kind and r["streams"] == streams]
            rate = statistics.median(r["rate"] for r in rs)
            cores = statistics.median(r["cores"] for r in rs)
            print(f"{name:20} {kind:5} {streams:7} {rate:7.2f} {unit[kind]:6} {cores:6.2f} "
                  f"{rate / cores:9.2f}   ({min(r['rate'] for r in rs):.2f}..{max(r['rate'] for r in rs):.2f})")
    if o.json:
        with open(o.json, "w") as f:
            json.dump(runs, f, indent=1)
    return 0


if __name__ == "__main__":
    run_script(main, "pod_tcp")
