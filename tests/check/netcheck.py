#!/usr/bin/env python3
# Tiny TCP/UDP servers and clients for test-netpolicy-apply.sh.
#   netcheck.py serve tcp|udp ADDRESS PORT    answers "NAME PEER-ADDRESS" to each connection/datagram
#   netcheck.py connect tcp|udp ADDRESS PORT  prints the answer; exit 1 (and the error) when there is none
import socket
import sys


def serve(proto, address, port):
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((address, port))
    name = "%s:%d/%s" % (address, port, proto)
    if proto == "tcp":
        s.listen(16)
        while True:
            c, peer = s.accept()
            c.sendall(("%s %s\n" % (name, peer[0])).encode())
            c.close()
    while True:
        _, peer = s.recvfrom(512)
        s.sendto(("%s %s\n" % (name, peer[0])).encode(), peer)


def connect(proto, address, port):
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, kind)
    s.settimeout(3)
    try:
        s.connect((address, port))
        if proto == "udp":
            s.send(b"ping")
        print(s.recv(512).decode().strip())
    except OSError as e:
        print("no answer: %s" % e)
        sys.exit(1)


if __name__ == "__main__":
    op, proto, address, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    (serve if op == "serve" else connect)(proto, address, port)
