#!/usr/bin/env python3
"""Sends VXLAN carrying an ICMP echo for a pod: the right VNI and VTEP MAC,
from SRC_IP (a host that is no node, or a node's own public IP), with the
outer UDP checksum computed, zero (allowed by RFC 7348) or wrong.

spoof_vxlan.py IFACE SRC_IP DST_IP VTEP_MAC POD_IP [COUNT]
               [--udp-checksum good|zero|bad] [--inner-src IP] [--icmp-id N]
"""
import argparse

from scapy.all import Ether, ICMP, IP, UDP, VXLAN, conf, raw, sendp  # noqa: E402

parser = argparse.ArgumentParser()
for name in ("iface", "src", "dst", "vtep_mac", "pod"):
    parser.add_argument(name)
parser.add_argument("count", nargs="?", type=int, default=5)
parser.add_argument("--udp-checksum", choices=("good", "zero", "bad"), default="good")
parser.add_argument("--inner-src", default="10.244.99.9")
parser.add_argument("--icmp-id", type=lambda s: int(s, 0), default=0x7a7a)
a = parser.parse_args()
conf.verb = 0
inner = (Ether(dst=a.vtep_mac, src="0e:66:66:66:66:66") / IP(src=a.inner_src, dst=a.pod, ttl=63)
         / ICMP(id=a.icmp_id))
udp = UDP(sport=40000, dport=8472)
if a.udp_checksum == "zero":
    udp.chksum = 0
frame = Ether(dst="ff:ff:ff:ff:ff:ff") / IP(src=a.src, dst=a.dst) / udp / VXLAN(vni=1, flags=0x08) / inner
if a.udp_checksum == "bad":
    # The right checksum with bits flipped: wrong, and still not zero.
    frame = Ether(raw(frame))
    frame[UDP].chksum ^= 0x5a5a
sendp(frame, iface=a.iface, count=a.count, inter=0.05)
