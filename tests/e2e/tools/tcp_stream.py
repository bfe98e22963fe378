#!/usr/bin/env python3
"""A checksummed TCP stream between two pods.

serve PORT            accept one connection, print "<bytes> <sha256>" after EOF
send HOST PORT BYTES  send BYTES pseudo-random bytes, print "<bytes> <sha256>"
"""
import hashlib
import random
import socket
import sys


def serve(port):
    try:  # both families where the pod has IPv6 (dual-stack clusters)
        srv = socket.create_server(("::", port), family=socket.AF_INET6, dualstack_ipv6=True)
    except OSError:
        srv = socket.create_server(("0.0.0.0", port))
    with srv:
        srv.settimeout(120)
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(120)
            h, n = hashlib.sha256(), 0
            while True:
                chunk = conn.recv(1 << 16)
                if not chunk:
                    break
                h.update(chunk)
                n += len(chunk)
    print(n, h.hexdigest(), flush=True)


def send(host, port, total):
    block = random.Random(7).randbytes(1 << 20)
    h, sent = hashlib.sha256(), 0
    with socket.create_connection((host, port), timeout=120) as s:
        while sent < total:
            piece = block[: min(len(block), total - sent)]
            s.sendall(piece)
            h.update(piece)
            sent += len(piece)
        s.shutdown(socket.SHUT_WR)
        s.recv(1)
    print(sent, h.hexdigest(), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
