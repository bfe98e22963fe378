#!/usr/bin/env python3
"""Keeps one WireGuard transport message (type 4) to send again later, as an
attacker on the underlay could: `capture` waits on IFACE for the first one
from SRC_IP to port 51820 and writes its whole frame to FILE (printing
"ready" once listening, "captured" when done); `send` puts FILE's frame
back on IFACE unchanged.

wg_transport.py capture IFACE SRC_IP FILE [TIMEOUT_S]
wg_transport.py send IFACE FILE
"""
import sys

from scapy.all import IP, UDP, Ether, conf, raw, sendp, sniff  # noqa: E402

conf.verb = 0
mode, iface = sys.argv[1], sys.argv[2]
if mode == "send":
    with open(sys.argv[3], "rb") as f:
        sendp(Ether(f.read()), iface=iface)
    sys.exit(0)

src, path = sys.argv[3], sys.argv[4]
timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 20


def transport(p):
    return (IP in p and UDP in p and p[IP].src == src and p[UDP].dport == 51820
            and bytes(p[UDP].payload)[:1] == b"\x04")


got = sniff(iface=iface, lfilter=transport, count=1, timeout=timeout,
            started_callback=lambda: print("ready", flush=True))
if not got:
    print("no transport message from " + src, flush=True)
    sys.exit(1)
with open(path, "wb") as f:
    f.write(raw(got[0]))
print("captured", flush=True)
