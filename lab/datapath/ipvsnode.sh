#!/usr/bin/env bash
# Records a kube-proxy IPVS-mode node: the iptables rules and ipsets of
# lab/datapath/ipvs/ are loaded into a network namespace with
# iptables-restore / ipset restore and saved back (so the files are the
# kernel's own iptables-save -c / ipset save output), next to a real
# kube-ipvs0 dummy holding the Service VIPs (ip -j addr/link/route).
# IPVS itself is not available in this kernel: ipvsadm.txt of each node is
# written in the exact `ipvsadm -Sn` format in testdata (see README there).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-testdata/datapath/ipvs-bundle}
[ "$(id -u)" = 0 ] || { echo "ipvsnode.sh: needs root"; exit 2; }
for t in ip iptables-restore iptables-save ipset; do
	command -v $t >/dev/null || { echo "ipvsnode.sh: missing $t (apt-get install iproute2 iptables ipset)"; exit 2; }
done
cleanup() { for n in node-1 node-2; do ip netns del "dpi-$n" 2>/dev/null || true; done; }
trap cleanup EXIT
cleanup
host=5 pod=0
for n in node-1 node-2; do
	ns=dpi-$n
	ip netns add "$ns"
	x() { ip netns exec "$ns" "$@"; }
	x ip link set lo up
	x ip link add eth0 type veth peer name eth0p
	x ip addr add "10.0.1.$host/24" dev eth0
	x ip link set eth0 up
	x ip route add default via 10.0.1.1
	x ip link add cbr0 type bridge
	x ip addr add "172.16.$pod.1/24" dev cbr0
	x ip link set cbr0 up
	# the dummy module is not available here: a veth stands in for the
	# kube-ipvs0 dummy (only its name and addresses matter)
	x ip link add kube-ipvs0 type veth peer name kube-ipvs0p
	for vip in 10.96.0.1 10.96.0.10 10.96.100.20 10.96.100.30 10.96.100.40 10.96.100.50 10.0.1.200; do
		x ip addr add "$vip/32" dev kube-ipvs0
	done
	x ipset restore <lab/datapath/ipvs/ipset.restore
	x iptables-restore <lab/datapath/ipvs/iptables.restore
	d="$OUT/nodes/$n"
	mkdir -p "$d"
	x iptables-save -c >"$d/iptables-save.txt"
	x ipset save >"$d/ipset.txt"
	x ip -j addr >"$d/ip-addr.json"
	x ip -j -d link >"$d/ip-link.json"
	x ip -j route show table all >"$d/ip-route.json"
	x ip -j rule >"$d/ip-rule.json"
	host=$((host + 1)) pod=$((pod + 1))
done
echo "recorded into $OUT"
