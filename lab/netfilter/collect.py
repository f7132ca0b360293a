#!/usr/bin/env python3
"""Turns one lab run into probes.json: for each probe, the kernel's trace
(xtables-monitor --trace) as (table, chain, rule position, verdict) with nft
rule handles mapped to 1-based chain positions (`nft -a -j list ruleset`),
the packet as the last traced hook saw it, and the packets that left the
node (tcpdump -i any, direction Out), matched by IP ID.

usage: collect.py probes.txt trace.txt nft.json egress.txt > probes.json"""
import json
import re
import sys


def handles(nft):
    pos, seen = {}, {}
    for item in json.load(open(nft))["nftables"]:
        r = item.get("rule")
        if not r or r.get("family") != "ip":
            continue
        k = (r["table"], r["chain"])
        seen[k] = seen.get(k, 0) + 1
        pos[(r["table"], r["chain"], r["handle"])] = seen[k]
    return pos


PKT = re.compile(r"^PACKET: \d+ (\w+) (.*)$")
TRC = re.compile(r"^\s*TRACE: \d+ (\w+) ([^:]+):([^:]+):(rule|policy|return):?(\S*)\s*(.*)$")


def kv(s):
    out = {}
    for tok in s.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    return out


def traces(path, pos, probes):
    """Events per IP ID, in order. A trace (one skb) belongs to a probe when
    its first packet carries the probe's IP ID and source port (or, for
    icmp, source address): packets the node itself sends (RSTs, ICMP
    errors) may reuse an IP ID."""
    by_id, cur, first = {}, {}, {}
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        m = PKT.match(line)
        if m:
            tid, f = m.group(1), kv(m.group(2))
            if "ID" not in f:
                continue
            ipid = int(f["ID"])
            if tid not in first:
                first[tid] = f
                pr = probes.get(ipid)
                if pr is None:
                    continue
                if pr["proto"] == "icmp":
                    ok = f.get("SRC") == pr["srcip"]
                else:
                    ok = f.get("SPORT") == pr["sport"]
                # a local probe to a local address comes back on lo, maybe
                # with a new source port (MASQUERADE --random-fully)
                ok = ok or (pr["from"] == "local" and f.get("IN") == "lo")
                if not ok:
                    continue
                cur[tid] = ipid
            if tid not in cur:
                continue
            ev = by_id.setdefault(ipid, {"events": [], "packets": []})
            ev["packets"].append({k: f[k] for k in ("IN", "OUT", "SRC", "DST", "SPORT", "DPORT", "MARK") if k in f})
            continue
        m = TRC.match(line)
        if not m:
            continue
        tid, table, chain, kind, rest, text = m.groups()
        if tid not in cur:
            continue
        ev = by_id[cur[tid]]
        if kind == "policy":
            ev["events"].append({"table": table, "chain": chain, "rule": 0, "verdict": rest})
        elif kind == "rule":
            h, _, verdict = rest.partition(":")
            handle = int(h, 16)
            # nft prints NFT_RETURN (-5) as a number; REJECT is an xt target
            # whose verdict is NF_DROP after it sent the error.
            if verdict == "0xfffffffb":
                verdict = "RETURN"
            if verdict == "DROP" and re.search(r"-j REJECT\b", text):
                verdict = "REJECT"
            ev["events"].append({"table": table, "chain": chain, "rule": pos.get((table, chain, handle), -1),
                                 "handle": handle, "verdict": verdict, "text": text.strip()})
    return by_id


EGR = re.compile(r"^\S+ (\S+)\s+Out\s+IP \(.*\bid (\d+),.*proto (\w+)")
ADDR = re.compile(r"^\s+(\d+\.\d+\.\d+\.\d+)(?:\.(\d+))? > (\d+\.\d+\.\d+\.\d+)(?:\.(\d+))?:")


def egress(path, probes):
    """Packets leaving the node with a probe's IP ID, except those going back
    to the probe's source (the node's own replies)."""
    out, pending = {}, None
    for line in open(path, errors="replace"):
        m = EGR.match(line)
        if m:
            pending = (m.group(1), int(m.group(2)), m.group(3).lower())
            continue
        if pending:
            a = ADDR.match(line)
            if a:
                iface, ipid, proto = pending
                src = a.group(1) + (":" + a.group(2) if a.group(2) and proto != "icmp" else "")
                dst = a.group(3) + (":" + a.group(4) if a.group(4) and proto != "icmp" else "")
                pr = probes.get(ipid)
                if pr and a.group(3) != pr["srcip"]:
                    out.setdefault(ipid, []).append({"iface": iface, "src": src, "dst": dst})
            pending = None
    return out


def main():
    probes_txt, trace_txt, nft_json, egress_txt = sys.argv[1:5]
    pos = handles(nft_json)
    sent = {}
    for line in open(probes_txt):
        i, proto, src, sport, dst, dport, ipid, frm = line.split()
        sent[int(ipid)] = {"proto": proto, "srcip": src, "sport": sport, "from": frm}
    tr = traces(trace_txt, pos, sent)
    eg = egress(egress_txt, sent)
    probes = []
    for line in open(probes_txt):
        i, proto, src, sport, dst, dport, ipid, frm = line.split()
        ipid = int(ipid)
        s = src if proto == "icmp" else "%s:%s" % (src, sport)
        d = dst if proto == "icmp" else "%s:%s" % (dst, dport)
        t = tr.get(ipid, {"events": [], "packets": []})
        probes.append({"id": int(i), "proto": proto, "src": s, "dst": d, "from": frm, "ipid": ipid,
                       "events": t["events"], "packets": t["packets"], "egress": eg.get(ipid, [])})
    json.dump({"probes": probes}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
