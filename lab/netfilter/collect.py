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


FAMILY = "ip"


def handles(nft):
    pos, seen = {}, {}
    for item in json.load(open(nft))["nftables"]:
        r = item.get("rule")
        if not r or r.get("family") != FAMILY:
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
            # IPv6 has no IP ID: probes carry it in the flow label.
            key = f.get("ID", f.get("FLOWLBL"))
            if key is None:
                continue
            ipid = int(key)
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


NPKT = re.compile(r"^trace id (\w+) (\w+) (\S+) (\S+) packet: (.*)$")
NRULE = re.compile(r"^trace id (\w+) (\w+) (\S+) (\S+) rule (.*) # handle (\d+) \(verdict ([^)]*)\)")
NPOL = re.compile(r"^trace id (\w+) (\w+) (\S+) (\S+) policy (\w+)")


def nft_packet(rest):
    """Fields of an `nft monitor trace` packet line, named as xtables-monitor
    names them."""
    f = {}
    for pat, name in ((r'\biif "([^"]+)"', "IN"), (r'\boif "([^"]+)"', "OUT"),
                      (r"\bip6? saddr (\S+)", "SRC"), (r"\bip6? daddr (\S+)", "DST"),
                      (r"\bip6 flowlabel (\d+)", "FLOWLBL"), (r"\bip id (\d+)", "ID"),
                      (r"\b(?:tcp|udp) sport (\d+)", "SPORT"), (r"\b(?:tcp|udp) dport (\d+)", "DPORT"),
                      (r"\bmeta mark (0x[0-9a-f]+)", "MARK")):
        m = re.search(pat, rest)
        if m:
            f[name] = m.group(1)
    return f


def nft_traces(path, pos, probes):
    """The same as traces() for `nft -a monitor trace` output (used where
    xtables-monitor cannot print a rule, e.g. ip6 tcp port matches)."""
    by_id, cur, first = {}, {}, {}
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        m = NPKT.match(line)
        if m:
            tid, f = m.group(1), nft_packet(m.group(5))
            key = f.get("ID", f.get("FLOWLBL"))
            if key is None or not key.isdigit():
                continue
            ipid = int(key)
            if tid not in first:
                first[tid] = f
                pr = probes.get(ipid)
                if pr is None:
                    continue
                ok = f.get("SRC") == pr["srcip"] if pr["proto"] == "icmp" else f.get("SPORT") == pr["sport"]
                ok = ok or (pr["from"] == "local" and f.get("IN") == "lo")
                if not ok:
                    continue
                cur[tid] = ipid
            if tid in cur and cur[tid] == ipid:
                ev = by_id.setdefault(ipid, {"events": [], "packets": []})
                ev["packets"].append(f)
            continue
        m = NRULE.match(line)
        if m:
            tid, table, chain, text, handle, verdict = m.group(1), m.group(3), m.group(4), m.group(5), int(m.group(6)), m.group(7)
            if tid not in cur:
                continue
            v = verdict.upper()
            if v.startswith("JUMP ") or v.startswith("GOTO "):
                v = v.split()[0] + ":" + verdict.split()[1]
            if v == "DROP" and "reject" in text:
                v = "REJECT"
            by_id[cur[tid]]["events"].append({"table": table, "chain": chain, "rule": pos.get((table, chain, handle), -1),
                                              "handle": handle, "verdict": v, "text": text.strip()})
            continue
        m = NPOL.match(line)
        if m and m.group(1) in cur:
            by_id[cur[m.group(1)]]["events"].append({"table": m.group(3), "chain": m.group(4), "rule": 0, "verdict": m.group(5).upper()})
    return by_id


LTRC = re.compile(r"^TRACE: ([^:]+):([^:]+):(rule|policy|return):(\d+)\s*$")


def chain_sizes(dump):
    """Rules per (table, chain) of an iptables-save file."""
    sizes, table = {}, None
    for line in open(dump, errors="replace"):
        if line.startswith("*"):
            table = line[1:].strip()
        elif line.startswith("-A "):
            chain = line.split()[1]
            sizes[(table, chain)] = sizes.get((table, chain), 0) + 1
    return sizes


def legacy_traces(path, probes, sizes):
    """Legacy iptables TRACE lines captured from nfnetlink_log by tshark
    ("prefix<TAB>ip.id<TAB>tcp.srcport<TAB>udp.srcport<TAB>src<TAB>dst<TAB>
    tcp.dstport<TAB>udp.dstport"). ipt_do_table numbers rules from 1 in
    their chain and logs every rule that matched ("rule"), the policy
    ("policy", numbered after the last rule) and implicit returns; it has no
    verdicts (the test reads them from the dump) and does not log the TRACE
    rule itself."""
    by_id = {}
    for line in open(path, errors="replace"):
        # ICMP errors quote the original header: keep the outer values
        f = [x.split(",")[0] for x in line.rstrip("\n").split("\t")]
        if len(f) < 6:
            continue
        m = LTRC.match(f[0])
        if not m or not f[1]:
            continue
        ipid = int(f[1], 16) if f[1].startswith("0x") else int(f[1])
        pr = probes.get(ipid)
        if pr is None:
            continue
        sport = f[2] or f[3]
        if pr["proto"] == "icmp":
            if f[4] != pr["srcip"] and not (pr["from"] == "local"):
                continue
        elif sport != pr["sport"] and pr["from"] != "local":
            continue
        table, chain, kind, num = m.group(1), m.group(2), m.group(3), int(m.group(4))
        ev = by_id.setdefault(ipid, {"events": [], "packets": []})
        pk = {"SRC": f[4], "DST": f[5]}
        if sport:
            pk["SPORT"] = sport
            pk["DPORT"] = f[6] or f[7]
        ev["packets"].append(pk)
        # ipt_do_table calls an unconditional rule with a standard verdict
        # (-j ACCEPT/DROP/RETURN and no match) "return" in a user chain and
        # "policy" in a built-in one, like the chain's hidden tail rule
        # (number = rules + 1) that really is the return or the policy.
        n = sizes.get((table, chain), 0)
        if kind == "return" and num > n:
            continue
        rule = num if kind == "rule" or num <= n else 0
        ev["events"].append({"table": table, "chain": chain, "rule": rule, "verdict": ""})
    return by_id


EGR = re.compile(r"^\S+ (\S+)\s+Out\s+IP \(.*\bid (\d+),.*proto (\w+)")
ADDR = re.compile(r"^\s+(\d+\.\d+\.\d+\.\d+)(?:\.(\d+))? > (\d+\.\d+\.\d+\.\d+)(?:\.(\d+))?:")
EGR6 = re.compile(r"^\S+ (\S+)\s+Out\s+IP6 \(flowlabel 0x([0-9a-f]+),.*next-header (\w+) \(\d+\) payload length: \d+\) (\S+) > (\S+):")


def split6(a, proto):
    """fd00::1.80 -> ("fd00::1", "80") for tcp/udp."""
    if proto in ("tcp", "udp") and "." in a:
        host, port = a.rsplit(".", 1)
        return host, port
    return a, None


def egress(path, probes):
    """Packets leaving the node with a probe's IP ID, except those going back
    to the probe's source (the node's own replies)."""
    out, pending = {}, None
    for line in open(path, errors="replace"):
        m6 = EGR6.match(line)
        if m6:
            iface, ipid, proto = m6.group(1), int(m6.group(2), 16), m6.group(3).lower()
            (sa, sp), (da, dp) = split6(m6.group(4), proto), split6(m6.group(5), proto)
            pr = probes.get(ipid)
            if pr and da != pr["srcip"]:
                out.setdefault(ipid, []).append({"iface": iface, "src": "[%s]:%s" % (sa, sp) if sp else sa,
                                                 "dst": "[%s]:%s" % (da, dp) if dp else da})
            pending = None
            continue
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
    global FAMILY
    probes_txt, trace_txt, nft_json, egress_txt = sys.argv[1:5]
    if len(sys.argv) > 5:
        FAMILY = sys.argv[5]
    monitor = sys.argv[6] if len(sys.argv) > 6 else "xtables"
    pos = handles(nft_json)
    sent = {}
    for line in open(probes_txt):
        i, proto, src, sport, dst, dport, ipid, frm = line.split()
        sent[int(ipid)] = {"proto": proto, "srcip": src, "sport": sport, "from": frm}
    if monitor == "legacy":
        tr = legacy_traces(trace_txt, sent, chain_sizes(sys.argv[7]))
    elif monitor == "nft":
        tr = nft_traces(trace_txt, pos, sent)
    else:
        tr = traces(trace_txt, pos, sent)
    eg = egress(egress_txt, sent)
    probes = []
    for line in open(probes_txt):
        i, proto, src, sport, dst, dport, ipid, frm = line.split()
        ipid = int(ipid)
        if ":" in src:
            s = src if proto == "icmp" else "[%s]:%s" % (src, sport)
            d = dst if proto == "icmp" else "[%s]:%s" % (dst, dport)
        else:
            s = src if proto == "icmp" else "%s:%s" % (src, sport)
            d = dst if proto == "icmp" else "%s:%s" % (dst, dport)
        t = tr.get(ipid, {"events": [], "packets": []})
        probes.append({"id": int(i), "proto": proto, "src": s, "dst": d, "from": frm, "ipid": ipid,
                       "events": t["events"], "packets": t["packets"], "egress": eg.get(ipid, [])})
    json.dump({"probes": probes}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
