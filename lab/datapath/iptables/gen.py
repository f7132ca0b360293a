#!/usr/bin/env python3
"""Writes kube-proxy iptables-mode rules (v1.28 layout, pkg/proxy/iptables/
proxier.go) for the Services of testdata/datapath/kubeproxy-bundle/cluster/ as
iptables-restore input, for one node. Chain names are computed here
independently of tkesnap's Go code (sha256 + base32, first 16 chars).

usage: gen.py NODE [fault ...]
faults: drop-web-ep     web's KUBE-SVC lacks 172.16.1.11:8080
        stale-dns-ep    kube-dns udp still sends to 172.16.1.99:53
        no-affinity     sticky has no -m recent rules
        no-reject       empty (no endpoints) has no REJECT rule
        no-nodeport     web's NodePort 30080 rule is missing
"""
import base64, hashlib, sys

node, faults = sys.argv[1], set(sys.argv[2:])
CLUSTER_CIDR = "172.16.0.0/16"


def h(s):
    return base64.b32encode(hashlib.sha256(s.encode()).digest()).decode()[:16]


def spn(ns, name, port):
    return f"{ns}/{name}" + (f":{port}" if port else "")


# ns, name, portname, proto, clusterIP, port, nodePort, endpoints, affinity, lbIPs, etpLocal
SVCS = [
    ("default", "kubernetes", "https", "tcp", "10.96.0.1", 443, 0, [("10.0.1.100", 6443, "")], False, [], False),
    ("kube-system", "kube-dns", "dns", "udp", "10.96.0.10", 53, 0, [("172.16.0.5", 53, "node-1"), ("172.16.1.7", 53, "node-2")], False, [], False),
    ("kube-system", "kube-dns", "dns-tcp", "tcp", "10.96.0.10", 53, 0, [("172.16.0.5", 53, "node-1"), ("172.16.1.7", 53, "node-2")], False, [], False),
    ("default", "web", "http", "tcp", "10.96.100.20", 80, 30080, [("172.16.0.10", 8080, "node-1"), ("172.16.1.11", 8080, "node-2")], False, [], False),
    ("default", "api", "", "tcp", "10.96.100.30", 443, 31443, [("172.16.1.20", 8443, "node-2")], False, ["10.0.1.200"], True),
    ("default", "empty", "http", "tcp", "10.96.100.40", 80, 0, [], False, [], False),
    ("default", "sticky", "http", "tcp", "10.96.100.50", 80, 0, [("172.16.0.30", 8080, "node-1")], True, [], False),
]

nat_chains, nat, filt_chains, filt = [], [], [], []
for ns, name, pn, proto, cip, port, nport, eps, aff, lbs, local in SVCS:
    sp = spn(ns, name, pn)
    svc = "KUBE-SVC-" + h(sp + proto)
    ext = "KUBE-EXT-" + h(sp + proto)
    svl = "KUBE-SVL-" + h(sp + proto)
    if name == "kube-dns" and proto == "udp" and "stale-dns-ep" in faults:
        eps = eps + [("172.16.1.99", 53, "node-2")]
    cl_eps = list(eps)
    if name == "web" and "drop-web-ep" in faults:
        cl_eps = [e for e in eps if e[0] != "172.16.1.11"]
    local_eps = [e for e in eps if e[2] == node]
    if not eps:
        if "no-reject" not in faults:
            filt.append(f'-A KUBE-SERVICES -d {cip}/32 -p {proto} -m comment --comment "{sp} has no endpoints" -m {proto} --dport {port} -j REJECT --reject-with icmp-port-unreachable')
        continue
    nat_chains.append(svc)
    nat.append(f'-A KUBE-SERVICES -d {cip}/32 -p {proto} -m comment --comment "{sp} cluster IP" -m {proto} --dport {port} -j {svc}')
    nat.append(f'-A {svc} ! -s {CLUSTER_CIDR} -d {cip}/32 -p {proto} -m comment --comment "{sp} cluster IP" -m {proto} --dport {port} -j KUBE-MARK-MASQ')
    for i, (ip, tp, _) in enumerate(cl_eps):
        ep = f"{ip}:{tp}"
        sep = "KUBE-SEP-" + h(sp + proto + ep)
        if aff and "no-affinity" not in faults:
            nat.append(f'-A {svc} -m comment --comment "{sp} -> {ep}" -m recent --rcheck --seconds 10800 --reap --name {sep} --mask 255.255.255.255 --rsource -j {sep}')
    n = len(cl_eps)
    for i, (ip, tp, _) in enumerate(cl_eps):
        ep = f"{ip}:{tp}"
        sep = "KUBE-SEP-" + h(sp + proto + ep)
        nat_chains.append(sep)
        if i < n - 1:
            nat.append(f'-A {svc} -m comment --comment "{sp} -> {ep}" -m statistic --mode random --probability {1.0 / (n - i):.11f} -j {sep}')
        else:
            nat.append(f'-A {svc} -m comment --comment "{sp} -> {ep}" -j {sep}')
        nat.append(f'-A {sep} -s {ip}/32 -m comment --comment "{sp}" -j KUBE-MARK-MASQ')
        rec = f" -m recent --set --name {sep} --mask 255.255.255.255 --rsource" if aff and "no-affinity" not in faults else ""
        nat.append(f'-A {sep} -p {proto} -m comment --comment "{sp}"{rec} -m {proto} -j DNAT --to-destination {ep}')
    if nport or lbs:
        has_ext = bool(local_eps) if local else True
        if has_ext:
            nat_chains.append(ext)
            if local:
                nat_chains.append(svl)
                nat.append(f'-A {ext} -s {CLUSTER_CIDR} -m comment --comment "pod traffic for {sp} external destinations" -j {svc}')
                nat.append(f'-A {ext} -m comment --comment "masquerade LOCAL traffic for {sp} external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ')
                nat.append(f'-A {ext} -m comment --comment "route LOCAL traffic for {sp} external destinations" -m addrtype --src-type LOCAL -j {svc}')
                nat.append(f'-A {ext} -j {svl}')
                for ip, tp, _ in local_eps:
                    ep = f"{ip}:{tp}"
                    nat.append(f'-A {svl} -m comment --comment "{sp} -> {ep}" -j KUBE-SEP-{h(sp + proto + ep)}')
            else:
                nat.append(f'-A {ext} -m comment --comment "masquerade traffic for {sp} external destinations" -j KUBE-MARK-MASQ')
                nat.append(f'-A {ext} -j {svc}')
            for lb in lbs:
                nat.append(f'-A KUBE-SERVICES -d {lb}/32 -p {proto} -m comment --comment "{sp} loadbalancer IP" -m {proto} --dport {port} -j {ext}')
            if nport and not (name == "web" and "no-nodeport" in faults):
                nat.append(f'-A KUBE-NODEPORTS -p {proto} -m comment --comment "{sp}" -m {proto} --dport {nport} -j {ext}')
        else:
            for lb in lbs:
                filt.append(f'-A KUBE-EXTERNAL-SERVICES -d {lb}/32 -p {proto} -m comment --comment "{sp} has no local endpoints" -m {proto} --dport {port} -j DROP')
            if nport:
                filt.append(f'-A KUBE-EXTERNAL-SERVICES -p {proto} -m comment --comment "{sp} has no local endpoints" -m addrtype --dst-type LOCAL -m {proto} --dport {nport} -j DROP')

print("*nat")
for c in ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]:
    print(f":{c} ACCEPT [0:0]")
for c in ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"] + sorted(set(nat_chains)):
    print(f":{c} - [0:0]")
print('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')
print('-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')
print('-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING')
print("-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000")
print("-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN")
print("-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0")
print('-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully')
for r in nat:
    print(r)
print('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS')
print("COMMIT")
print("*filter")
for c in ["INPUT", "FORWARD", "OUTPUT"]:
    print(f":{c} ACCEPT [0:0]")
for c in ["KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL", "KUBE-FORWARD", "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL", "KUBE-SERVICES"]:
    print(f":{c} - [0:0]")
print('-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL')
print('-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS')
print('-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES')
print("-A INPUT -j KUBE-FIREWALL")
print('-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL')
print('-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD')
print('-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')
print('-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES')
print('-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL')
print('-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')
print("-A OUTPUT -j KUBE-FIREWALL")
print('-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP')
print('-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP')
print('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT')
print('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT')
for r in filt:
    print(r)
print("COMMIT")
