#!/usr/bin/env python3
"""Tiny servers and clients for lab/pcap/record.sh (no dig/nc needed).

  netlab.py http PORT                 HTTP/1.1: /lbtest -> 200, anything else -> 404
  netlab.py dns ADDR                  DNS on ADDR:53/udp: *.cluster.local names starting
                                      with "web." -> A 10.96.0.10, others -> NXDOMAIN
  netlab.py query SERVER NAME [TMO]   one A query, prints the rcode or "timeout"
  netlab.py sink PORT                 UDP receiver that never answers
  netlab.py send ADDR PORT N          N UDP datagrams, 200 ms apart
"""
import http.server
import random
import socket
import struct
import sys
import time


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        code = 200 if self.path == "/lbtest" else 404
        body = (b"lbtest ok\n" if code == 200 else b"not found\n")
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def qname(name):
    out = b""
    for label in name.strip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def dns_server(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    while True:
        data, peer = s.recvfrom(4096)
        if len(data) < 12:
            continue
        qid = data[:2]
        # question: name up to the zero label, then type+class
        i = 12
        labels = []
        while i < len(data) and data[i] != 0:
            n = data[i]
            labels.append(data[i + 1:i + 1 + n].decode(errors="replace"))
            i += 1 + n
        q = data[12:i + 5]
        name = ".".join(labels)
        if name.startswith("web."):
            hdr = qid + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0)
            ans = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 30, 4) + socket.inet_aton("10.96.0.10")
            s.sendto(hdr + q + ans, peer)
        else:
            hdr = qid + struct.pack(">HHHHH", 0x8183, 1, 0, 0, 0)  # NXDOMAIN
            s.sendto(hdr + q, peer)


def query(server, name, tmo):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(tmo)
    qid = random.randint(0, 65535)
    msg = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname(name) + struct.pack(">HH", 1, 1)
    s.sendto(msg, (server, 53))
    try:
        data, _ = s.recvfrom(4096)
        print("rcode", data[3] & 0x0F)
    except socket.timeout:
        print("timeout")


def sink(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    while True:
        s.recvfrom(4096)


def send(addr, port, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(n):
        s.sendto(b"ping %d from the pod" % i, (addr, port))
        time.sleep(0.2)  # not a wait: datagrams spread over time like a real one-way stream


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "http":
        http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[2])), H).serve_forever()
    elif cmd == "dns":
        dns_server(sys.argv[2])
    elif cmd == "query":
        query(sys.argv[2], sys.argv[3], float(sys.argv[4]) if len(sys.argv) > 4 else 2.0)
    elif cmd == "sink":
        sink(int(sys.argv[2]))
    elif cmd == "send":
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
