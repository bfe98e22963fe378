"""The kernel baseline: a dual-stack node as flanneld configures it
(flannel.1, a VXLAN device with VNI 1, dstport 8472, nolearning, MTU the
underlay's minus 50 (the suite's underlay is 1600, as tartan's), and
flannel-v6.1 likewise with our public IPv6 as its local address, created
with the same MTU, which the kernel clamps to the underlay's minus 70; per
remote node and family an onlink route, a permanent neighbour and an FDB
entry, as handleSubnetEvents programs them), in a network namespace
whose packet processing is steered to CPU 1, fed by tartan-perf through
af_packet on veth pairs from a second namespace on CPU 0.

Packets per second per core is what CPU 1 forwarded divided by the share of
CPU 1 spent in the kernel (system, irq and softirq time in /proc/stat), so a
generator that cannot fill the core does not flatter or hurt the kernel."""

import os

import ipaddress

from generator import FAMILIES, LOCAL_SUBNET, VTEP_BASE
from memif_dut import GATEWAY_IP, UNDERLAY_IP, UNDERLAY_MTU, UNDERLAY_PREFIX
from procs import on_exit, run, sh

FRAMES = 4096  # af_packet ring depth (its default, 512, overflows here)


def _mac(ns: str, dev: str) -> str:
    return sh(f"ip netns exec {ns} cat /sys/class/net/{dev}/address").strip()


# The VXLAN device flanneld makes for each family.
DEVICE = {"ipv4": "flannel.1", "ipv6": "flannel-v6.1"}


def _remote_subnet(family: str, k: int) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """Remote node k's podCIDR: the one after ours by 1+k (generator's scheme)."""
    local = ipaddress.ip_network(LOCAL_SUBNET[family])
    return ipaddress.ip_network((int(local.network_address) + (1 + k) * local.num_addresses,
                                 local.prefixlen))


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
ip netns exec {self.dut} sysctl -qw net.ipv6.conf.all.forwarding=1
for k in all default vpod eth0; do ip netns exec {self.dut} sysctl -qw net.ipv4.conf.$k.rp_filter=0; done
ip -n {self.dut} link set eth0 mtu {UNDERLAY_MTU}
ip -n {self.gen} link set gul mtu {UNDERLAY_MTU}
ip -n {self.dut} link add flannel.1 type vxlan id 1 local {UNDERLAY_IP['ipv4']} dev eth0 dstport 8472 nolearning
ip -n {self.dut} link set flannel.1 mtu {UNDERLAY_MTU - 50} up
ip -n {self.dut} link add flannel-v6.1 mtu {UNDERLAY_MTU - 50} type vxlan id 1 local {UNDERLAY_IP['ipv6']} dev eth0 dstport 8472 nolearning
ip -n {self.dut} link set flannel-v6.1 up
""")
        self.gen_pod_mac = _mac(self.gen, "gpod")
        self.gen_ul_mac = _mac(self.gen, "gul")
        self.pod_gw_mac = _mac(self.dut, "vpod")
        self.ul_mac = _mac(self.dut, "eth0")
        self.vtep_mac = {f: _mac(self.dut, DEVICE[f]) for f in FAMILIES}
        batch = []
        for f in FAMILIES:
            local = ipaddress.ip_network(LOCAL_SUBNET[f])
            # nodad: the addresses are usable at once.
            nodad = " nodad" if f == "ipv6" else ""
            batch += [f"addr add {UNDERLAY_IP[f]}/{UNDERLAY_PREFIX[f]} dev eth0{nodad}",
                      f"route add {'::/0' if f == 'ipv6' else 'default'} via {GATEWAY_IP[f]} dev eth0",
                      f"neigh replace {GATEWAY_IP[f]} lladdr {self.gen_ul_mac} dev eth0 nud permanent",
                      f"addr add {local.network_address + 1}/{local.prefixlen} dev vpod{nodad}",
                      # The lease's network address on the VXLAN device (/32, /128).
                      f"addr add {local.network_address}/{local.max_prefixlen} dev {DEVICE[f]}{nodad}"]
            # The pods: .2 to .252 (tartan-perf's local pods) at the generator.
            batch += [f"neigh replace {local.network_address + h} lladdr {self.gen_pod_mac} "
                      f"dev vpod nud permanent" for h in range(2, 253)]
            # Remote node k as flanneld programs it (generator's numbering).
            for k in range(nodes):
                subnet = _remote_subnet(f, k)
                mac = f"0e:0{6 if f == 'ipv6' else 0}:" + ":".join(
                    f"{b:02x}" for b in (2 + k).to_bytes(4, "big"))
                public = ipaddress.ip_address(VTEP_BASE[f]) + k
                batch += [f"neigh replace {subnet.network_address} lladdr {mac} dev {DEVICE[f]} "
                          "nud permanent",
                          f"route replace {subnet} via {subnet.network_address} dev {DEVICE[f]} onlink"]
                run(["ip", "netns", "exec", self.dut, "bridge", "fdb", "replace", mac, "dev",
                     DEVICE[f], "dst", str(public), "self", "permanent"])
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

    def counters(self, family: str) -> dict:
        """What the family's VXLAN device has sent and received so far."""
        out = {}
        for key in ("tx_packets", "rx_packets", "tx_dropped", "rx_dropped"):
            out[key] = int(sh(f"ip netns exec {self.dut} cat "
                              f"/sys/class/net/{DEVICE[family]}/statistics/{key}"))
        return out
