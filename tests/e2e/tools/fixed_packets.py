#!/usr/bin/env python3
"""Sends an ICMP echo request and a TCP SYN to DST (IPv4 or IPv6) whose
every header field is fixed here (TOS or traffic class with ECN bits,
flow label, IP id, TTL or hop limit, identifiers, sequence numbers, TCP
options, payload), through a raw socket that takes the IP header as given,
so the pod's kernel routes them as it routes any packet of the pod's. Two
nodes' tunnel frames of these packets can then be compared field by field.

The echo request carries ECT(1), the SYN CE (which a tunnel's outer header
carries as ECT(0), RFC 6040).

fixed_packets.py DST
"""
import socket
import sys

from scapy.all import ICMP, IP, TCP, ICMPv6EchoRequest, IPv6, raw  # noqa: E402

dst = sys.argv[1]
family = socket.AF_INET6 if ":" in dst else socket.AF_INET
# The source address the kernel would pick for DST.
probe = socket.socket(family, socket.SOCK_DGRAM)
probe.connect((dst, 9))
src = probe.getsockname()[0]
probe.close()

payload = b"tartan wire format " * 3
syn = TCP(sport=40001, dport=5201, seq=123456789, flags="S", window=64240,
          options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (12345, 0)), ("NOP", None),
                   ("WScale", 7)])
if family == socket.AF_INET6:
    packets = [IPv6(src=src, dst=dst, tc=0xb9, fl=0x12345, hlim=64)
               / ICMPv6EchoRequest(id=0x7a7a, seq=1, data=payload),
               IPv6(src=src, dst=dst, tc=0x23, fl=0xabcde, hlim=64) / syn]
else:
    packets = [IP(src=src, dst=dst, tos=0xb9, id=0x1234, flags="DF", ttl=64)
               / ICMP(id=0x7a7a, seq=1) / payload,
               IP(src=src, dst=dst, tos=0x23, id=0x1235, flags="DF", ttl=64) / syn]
# IPPROTO_RAW: the header is ours (IP_HDRINCL, and IPv6's equivalent).
sock = socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_RAW)
for p in packets:
    sock.sendto(raw(p), (dst, 0))
