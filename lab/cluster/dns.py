#!/usr/bin/env python3
"""Lab DNS: `dns.py serve IP` answers every A query with 172.16.252.1
(like CoreDNS for kubernetes.default); `dns.py query SERVER NAME` sends one
query and prints the answer or "timeout"."""
import socket
import struct
import sys


def serve(ip):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, 53))
    while True:
        data, peer = s.recvfrom(512)
        if len(data) < 12:
            continue
        qid = data[:2]
        q = data[12:]
        end = q.index(b"\x00") + 5
        question = q[:end]
        hdr = qid + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0)
        ans = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 30, 4) + socket.inet_aton("172.16.252.1")
        s.sendto(hdr + question + ans, peer)


def query(server, name):
    q = b"\x12\x34" + struct.pack(">HHHHH", 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    for _ in range(2):
        try:
            s.sendto(q, (server, 53))
            data, _ = s.recvfrom(512)
            print("answer", socket.inet_ntoa(data[-4:]))
            return
        except socket.timeout:
            continue
        except OSError as e:
            print("error", e)
            return
    print("timeout")


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        query(sys.argv[2], sys.argv[3])
