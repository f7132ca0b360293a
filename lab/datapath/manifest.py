#!/usr/bin/env python3
"""Writes manifest.json for a lab bundle: one record per file, with the
command that made it. usage: manifest.py BUNDLE-DIR"""
import json, os, sys, datetime
root = sys.argv[1]
cmds = {"ip-addr.json": "ip -j addr show", "ip-route.json": "ip -j route show table all",
        "ip-rule.json": "ip -j rule show", "ip-neigh.json": "ip -j neigh show",
        "ip-link.json": "ip -j -d link show", "sysctl.txt": "sysctl -a (net.*)",
        "iptables-save.txt": "iptables-save -c", "iptables-legacy-save.txt": "iptables-legacy-save -c",
        "iptables-nft-save.txt": "iptables-nft-save -c", "conntrack-stats.txt": "conntrack -S",
        "conntrack.txt": "conntrack -L", "ss.txt": "ss -tunapH", "resolv.conf": "cat /etc/resolv.conf",
        "nodes.yaml": "kubectl get nodes -o yaml (hand-written)", "services.yaml": "kubectl get services -A -o yaml (hand-written)",
        "endpointslices.yaml": "kubectl get endpointslices -A -o yaml (hand-written)", "ipvsadm.txt": "ipvsadm -Sn (hand-built, exact format)",
        "ipset.txt": "ipset save", "kube-proxy.txt": "kube-proxy mode (collector summary)", "README.md": ""}
files = []
for d, _, names in sorted(os.walk(root)):
    for n in sorted(names):
        if n == "manifest.json":
            continue
        p = os.path.relpath(os.path.join(d, n), root)
        rec = {"path": p, "command": cmds.get(n, ""), "exit_code": 0, "bytes": os.path.getsize(os.path.join(d, n))}
        if p.startswith("nodes/"):
            rec["node"] = p.split("/")[1]
        files.append(rec)
json.dump({"format": "tkesnap-bundle/v1", "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "collector_version": "lab/datapath", "cluster": {"type": "lab"}, "files": files},
          open(os.path.join(root, "manifest.json"), "w"), indent=1)
