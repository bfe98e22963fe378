#!/usr/bin/env python3
"""Many UDP flows between two pods.

receive PORT SECONDS         count datagrams per source port; print "port count" lines
send HOST PORT FLOWS COUNT   COUNT datagrams from each of FLOWS source ports (20000+i)
"""
import collections
import socket
import sys
import time


def receive(port, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    s.settimeout(0.2)
    counts = collections.Counter()
    end = time.time() + seconds
    while time.time() < end:
        try:
            _, (_, src) = s.recvfrom(2048)
            counts[src] += 1
        except socket.timeout:
            pass
    for src, n in sorted(counts.items()):
        print(src, n)


def send(host, port, flows, count):
    socks = []
    for i in range(flows):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", 20000 + i))
        socks.append(s)
    for n in range(count):
        for i, s in enumerate(socks):
            s.sendto(b"flow %d packet %d" % (i, n), (host, port))
        time.sleep(0.01)


if __name__ == "__main__":
    if sys.argv[1] == "receive":
        receive(int(sys.argv[2]), float(sys.argv[3]))
    else:
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
