#!/usr/bin/env bash
# Records kube-proxy nodes for the reconcile tests.
#
# node-1, node-2 (IPVS mode): the iptables rules and ipsets of
# lab/datapath/ipvs/ are loaded into a network namespace with
# iptables-restore / ipset restore and saved back (so the files are the
# kernel's own iptables-save -c / ipset save output), next to a real
# kube-ipvs0 dummy holding the Service VIPs (ip -j addr/link/route).
# IPVS itself is not available in this kernel: ipvsadm.txt of each node is
# written in the exact `ipvsadm -Sn` format in testdata (see README there).
#
# node-3, node-4 (iptables mode): lab/datapath/iptables/gen.py writes the
# rules kube-proxy v1.28 programs for the bundle's Services (node-4 with
# faults), loaded with iptables-restore and saved with iptables-save -c.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-testdata/datapath/kubeproxy-bundle}
[ "$(id -u)" = 0 ] || { echo "ipvsnode.sh: needs root"; exit 2; }
for t in ip iptables-restore iptables-save ipset; do
	command -v $t >/dev/null || { echo "ipvsnode.sh: missing $t (apt-get install iproute2 iptables ipset)"; exit 2; }
done
cleanup() { for n in node-1 node-2 node-3 node-4; do ip netns del "dpi-$n" 2>/dev/null || true; done; }
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
	if [ "$n" = node-2 ]; then
		# fault: kube-proxy did not add web's ClusterIP to KUBE-CLUSTER-IP
		x ipset del KUBE-CLUSTER-IP 10.96.100.20,tcp:80
	fi
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
for spec in node-3:7:2: node-4:8:3:drop-web-ep,stale-dns-ep,no-affinity,no-reject,no-nodeport; do
	IFS=: read -r n host pod faults <<<"$spec"
	ns=dpi-$n
	ip netns add "$ns"
	y() { ip netns exec "$ns" "$@"; }
	y ip link set lo up
	y ip link add eth0 type veth peer name eth0p
	y ip addr add "10.0.1.$host/24" dev eth0
	y ip link set eth0 up
	y ip route add default via 10.0.1.1
	y ip link add cbr0 type bridge
	y ip addr add "172.16.$pod.1/24" dev cbr0
	y ip link set cbr0 up
	# shellcheck disable=SC2086 # faults are separate words
	python3 lab/datapath/iptables/gen.py "$n" ${faults//,/ } | y iptables-restore
	d="$OUT/nodes/$n"
	mkdir -p "$d"
	y iptables-save -c >"$d/iptables-save.txt"
	y ip -j addr >"$d/ip-addr.json"
	y ip -j -d link >"$d/ip-link.json"
	y ip -j route show table all >"$d/ip-route.json"
	y ip -j rule >"$d/ip-rule.json"
	printf '# kube-proxy as seen from node %s\nfound: true\npid: 700\nmode: iptables\nmode_source: flag --proxy-mode\ncmdline: /usr/local/bin/kube-proxy --proxy-mode=iptables --cluster-cidr=172.16.0.0/16 --hostname-override=%s\n' "$n" "$n" >"$d/kube-proxy.txt"
done
python3 lab/datapath/manifest.py "$OUT"
echo "recorded into $OUT"
