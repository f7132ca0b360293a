#!/usr/bin/env python3
"""Sends crafted IPv4/IPv6 probes (TCP SYN, UDP, ICMP/ICMPv6 echo) from the current
network namespace through a raw socket (IP_HDRINCL), so that the source
address, ports and IP ID are exactly what the recording expects; the IP ID
identifies the probe in the kernel trace and the egress capture.

stdin: one probe a line, "PROTO SRC SPORT DST DPORT IPID"."""
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def packet(proto, src, sport, dst, dport, ipid):
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    payload = b"tkesnap-probe"
    if proto == "tcp":
        pn = 6
        hdr = struct.pack("!HHIIBBHHH", sport, dport, 1000 + ipid, 0, 5 << 4, 0x02, 64240, 0, 0)
        l4 = hdr
    elif proto == "udp":
        pn = 17
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    else:
        pn = 1
        l4 = struct.pack("!BBHHH", 8, 0, 0, ipid, 1) + payload
        l4 = l4[:2] + struct.pack("!H", csum(l4)) + l4[4:]
    if pn in (6, 17):
        pseudo = s + d + struct.pack("!BBH", 0, pn, len(l4))
        c = csum(pseudo + l4)
        off = 16 if pn == 6 else 6
        l4 = l4[:off] + struct.pack("!H", c) + l4[off + 2:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ipid, 0, 64, pn, 0, s, d)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + l4


def packet6(proto, src, sport, dst, dport, ipid):
    """IPv6 has no IP ID: the flow label carries it instead."""
    s, d = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
    payload = b"tkesnap-probe"
    if proto == "tcp":
        nh = 6
        l4 = struct.pack("!HHIIBBHHH", sport, dport, 1000 + ipid, 0, 5 << 4, 0x02, 64240, 0, 0)
        off = 16
    elif proto == "udp":
        nh = 17
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        off = 6
    else:
        nh = 58
        l4 = struct.pack("!BBHHH", 128, 0, 0, ipid, 1) + payload
        off = 2
    pseudo = s + d + struct.pack("!I3xB", len(l4), nh)
    c = csum(pseudo + l4)
    l4 = l4[:off] + struct.pack("!H", c) + l4[off + 2:]
    ip = struct.pack("!IHBB16s16s", (6 << 28) | (ipid & 0xFFFFF), len(l4), nh, 64, s, d)
    return ip + l4


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock6 = None
    for line in sys.stdin:
        f = line.split()
        if len(f) != 6:
            continue
        proto, src, sport, dst, dport, ipid = f[0], f[1], int(f[2]), f[3], int(f[4]), int(f[5])
        try:
            if ":" in dst:
                if sock6 is None:
                    sock6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
                sock6.sendto(packet6(proto, src, sport, dst, dport, ipid), (dst, 0))
                time.sleep(0.03)  # not a wait: paces the probes so tracers keep them apart
                continue
            sock.sendto(packet(proto, src, sport, dst, dport, ipid), (dst, 0))
        except OSError as e:
            print("probe %d: %s" % (ipid, e), file=sys.stderr)
        time.sleep(0.03)  # not a wait: paces the probes so tracers keep them apart


if __name__ == "__main__":
    main()
