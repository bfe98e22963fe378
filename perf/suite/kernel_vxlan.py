"""The kernel baseline: a node as flanneld configures it (flannel.1, a VXLAN
device with VNI 1, dstport 8472, nolearning, MTU the underlay's minus 50 (the
suite's underlay is 1600, as tartan's); an onlink route,
permanent neighbour and FDB entry per remote node), in a network namespace
whose packet processing is steered to CPU 1, fed by tartan-perf through
af_packet on veth pairs from a second namespace on CPU 0.

Packets per second per core is what CPU 1 forwarded divided by the share of
CPU 1 spent in the kernel (system, irq and softirq time in /proc/stat), so a
generator that cannot fill the core does not flatter or hurt the kernel."""

import os

from memif_dut import UNDERLAY_MTU
from procs import on_exit, run, sh

FRAMES = 4096  # af_packet ring depth (its default, 512, overflows here)


def _mac(ns: str, dev: str) -> str:
    return sh(f"ip netns exec {ns} cat /sys/class/net/{dev}/address").strip()


def _dotted(ip: int) -> str:
    return ".".join(str((ip >> s) & 255) for s in (24, 16, 8, 0))


def cpu_busy_jiffies(cpu: int) -> tuple[int, int]:
    """(kernel, total) jiffies of one CPU so far: system, irq and softirq
    time, where forwarding happens; other processes' user time is not the
    kernel path's."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                v = [int(x) for x in line.split()[1:]]
                return v[2] + v[5] + v[6], sum(v)
    raise RuntimeError(f"cpu{cpu} not in /proc/stat")


class KernelNode:
    def __init__(self, tag: str, nodes: int = 1):
        self.gen = f"tpk-gen-{tag}"
        self.dut = f"tpk-dut-{tag}"
        for ns in (self.gen, self.dut):
            run(["ip", "netns", "add", ns])
            on_exit(lambda ns=ns: run(["ip", "netns", "del", ns], check=False))
        # Pod side: gpod (generator) <-> vpod (the node's cni0 stand-in);
        # underlay: gul (generator as the rest of the network) <-> eth0.
        sh(f"""
ip link add gpod netns {self.gen} type veth peer name vpod netns {self.dut}
ip link add gul netns {self.gen} type veth peer name eth0 netns {self.dut}
for d in gpod gul lo; do ip -n {self.gen} link set $d up; done
for d in vpod eth0 lo; do ip -n {self.dut} link set $d up; done
ip netns exec {self.dut} sysctl -qw net.ipv4.ip_forward=1
for k in all default vpod eth0; do ip netns exec {self.dut} sysctl -qw net.ipv4.conf.$k.rp_filter=0; done
ip -n {self.dut} addr add 192.0.2.19/24 dev eth0
ip -n {self.dut} route add default via 192.0.2.1 dev eth0
ip -n {self.dut} addr add 10.0.1.1/24 dev vpod
ip -n {self.dut} link add flannel.1 type vxlan id 1 local 192.0.2.19 dev eth0 dstport 8472 nolearning
ip -n {self.dut} link set eth0 mtu {UNDERLAY_MTU}
ip -n {self.gen} link set gul mtu {UNDERLAY_MTU}
ip -n {self.dut} link set flannel.1 mtu {UNDERLAY_MTU - 50} up
ip -n {self.dut} addr add 10.0.1.0/32 dev flannel.1
""")
        self.gen_pod_mac = _mac(self.gen, "gpod")
        self.gen_ul_mac = _mac(self.gen, "gul")
        self.pod_gw_mac = _mac(self.dut, "vpod")
        self.ul_mac = _mac(self.dut, "eth0")
        self.vtep_mac = _mac(self.dut, "flannel.1")
        batch = [f"neigh replace 192.0.2.1 lladdr {self.gen_ul_mac} dev eth0 nud permanent"]
        # The pods: .2 to .252 (tartan-perf's local pods) at the generator.
        batch += [f"neigh replace 10.0.1.{h} lladdr {self.gen_pod_mac} dev vpod nud permanent"
                  for h in range(2, 253)]
        # Remote node k as flanneld programs it (generator.SCHEME's numbering).
        for k in range(nodes):
            subnet = _dotted((10 << 24) + ((2 + k) << 8))
            mac = "0e:00:" + ":".join(f"{b:02x}" for b in (2 + k).to_bytes(4, "big"))
            public = _dotted(0xAC100002 + k)  # 172.16.0.2 + k
            batch += [f"neigh replace {subnet} lladdr {mac} dev flannel.1 nud permanent",
                      f"route replace {subnet}/24 via {subnet} dev flannel.1 onlink"]
            run(["ip", "netns", "exec", self.dut, "bridge", "fdb", "replace", mac, "dev",
                 "flannel.1", "dst", public, "self", "permanent"])
        path = f"/tmp/tpk-{tag}.batch"
        with open(path, "w") as f:
            f.write("\n".join(batch) + "\n")
        run(["ip", "-n", self.dut, "-batch", path])
        os.unlink(path)
        # Receive processing of the node's interfaces on CPU 1 (RPS), of the
        # generator's on CPU 0: CPU 1 does the node's whole forwarding path.
        for dev, ns, mask in (("vpod", self.dut, "2"), ("eth0", self.dut, "2"),
                              ("gpod", self.gen, "1"), ("gul", self.gen, "1")):
            sh(f"ip netns exec {ns} sh -c 'echo {mask} > /sys/class/net/{dev}/queues/rx-0/rps_cpus'")

    def vdevs(self) -> list[str]:
        """tartan-perf's port 0 (pod side) and port 1 (underlay)."""
        return [f"net_af_packet0,iface=gpod,framecnt={FRAMES}",
                f"net_af_packet1,iface=gul,framecnt={FRAMES}"]

    def counters(self) -> dict:
        """What flannel.1 has sent and received so far."""
        out = {}
        for key in ("tx_packets", "rx_packets", "tx_dropped", "rx_dropped"):
            out[key] = int(sh(f"ip netns exec {self.dut} cat "
                              f"/sys/class/net/flannel.1/statistics/{key}"))
        return out
