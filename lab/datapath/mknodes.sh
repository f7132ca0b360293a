#!/usr/bin/env bash
# Builds small "TKE nodes" as network namespaces, checks with real traffic
# which of them can forward pod traffic, and records what the collector
# would capture on each (ip -j, sysctl net.*, iptables-save -c, conntrack,
# ss) into testdata/datapath/bundle/nodes/<node>/ — a tkesnap bundle the
# node checks are tested on. Needs root, iproute2, iptables (legacy + nft),
# conntrack, ping. Namespaces are prefixed dpl- and removed at the end.
#
# Topology (GlobalRouter style: the VPC routes each node's pod CIDR to it):
#
#   dpl-vpc: bridge br0 10.0.1.1/24, routes 172.16.N.0/24 via node N
#   node ns: eth0 on br0, cbr0 bridge with the node's pod CIDR, one pod ns
#
#   10.0.1.5  healthy-a      172.16.0.0/24  healthy
#   10.0.1.6  healthy-b      172.16.1.0/24  healthy
#   10.0.1.7  fwd-off        172.16.2.0/24  net.ipv4.ip_forward = 0
#   10.0.1.8  route-missing  172.16.3.0/24  host-gw style, no default route, lacks a route to 172.16.1.0/24
#   10.0.1.9  unreachable    172.16.4.0/24  stale "unreachable 172.16.1.0/24" route
#   10.0.1.10 rp-strict      172.16.5.0/24  rp_filter=1, 172.16.0.0/24 routed via a second NIC eth1
#   10.0.1.11 brnf-off       172.16.6.0/24  net.bridge.bridge-nf-call-iptables = 0
#   10.0.1.12 split-backend  172.16.7.0/24  rules in both iptables-legacy and iptables-nft
#   10.0.1.13 cbr0-fwd-off   172.16.8.0/24  net.ipv4.conf.cbr0.forwarding = 0 (ip_forward = 1)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-testdata/datapath/bundle}
# shellcheck source=lab/lib/wait.sh
. lab/lib/wait.sh
RESULTS=testdata/datapath/lab-results.txt
[ "$(id -u)" = 0 ] || { echo "mknodes.sh: needs root (network namespaces)"; exit 2; }
for t in ip iptables-legacy-save iptables-nft-save conntrack ss ping; do
	command -v $t >/dev/null || { echo "mknodes.sh: missing $t (apt-get install iproute2 iptables conntrack iputils-ping)"; exit 2; }
done

NODES="healthy-a:5:0 healthy-b:6:1 fwd-off:7:2 route-missing:8:3 unreachable:9:4 rp-strict:10:5 brnf-off:11:6 split-backend:12:7 cbr0-fwd-off:13:8"
ns() { echo "dpl-$1"; }
cleanup() {
	for n in vpc healthy-a-pod2 brnf-off-pod2 $(for x in $NODES; do echo "${x%%:*} ${x%%:*}-pod"; done) ; do
		ip netns del "$(ns "$n")" 2>/dev/null || true
	done
}
trap cleanup EXIT
cleanup

x() { ip netns exec "$(ns "$1")" "${@:2}"; }

ip netns add "$(ns vpc)"
x vpc ip link add br0 type bridge
x vpc ip addr add 10.0.1.1/24 dev br0
x vpc ip link set br0 up
x vpc ip link set lo up
x vpc sysctl -qw net.ipv4.ip_forward=1
x vpc ip link add br1 type bridge
x vpc ip addr add 10.0.2.1/24 dev br1
x vpc ip link set br1 up

for spec in $NODES; do
	IFS=: read -r name host pod <<<"$spec"
	ip netns add "$(ns "$name")"
	ip netns add "$(ns "$name-pod")"
	x "$name" ip link set lo up
	x "$name" sysctl -qw net.ipv4.ip_forward=1
	# eth0 into the VPC bridge
	ip link add "dpl$host" type veth peer name eth0 netns "$(ns "$name")"
	ip link set "dpl$host" netns "$(ns vpc)"
	x vpc ip link set "dpl$host" master br0 up
	x "$name" ip addr add "10.0.1.$host/24" dev eth0
	x "$name" ip link set eth0 up
	# cbr0 with the pod CIDR, one pod
	x "$name" ip link add cbr0 type bridge
	x "$name" ip addr add "172.16.$pod.1/24" dev cbr0
	x "$name" ip link set cbr0 up
	x "$name" ip link add veth0 type veth peer name eth0 netns "$(ns "$name-pod")"
	x "$name" ip link set veth0 master cbr0 up
	x "$name-pod" ip link set lo up
	x "$name-pod" ip addr add "172.16.$pod.2/24" dev eth0
	x "$name-pod" ip link set eth0 up
	x "$name-pod" ip route add default via "172.16.$pod.1"
	# the VPC route table of a GlobalRouter cluster
	x vpc ip route add "172.16.$pod.0/24" via "10.0.1.$host"
	if [ "$name" != route-missing ]; then
		x "$name" ip route add default via 10.0.1.1
	fi
	# kube-proxy's and the CNI's sysctls
	x "$name" sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
	x "$name" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
	printf 'nameserver 10.0.1.2\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n' >"/tmp/dpl-resolv-$name"
done

# faults
x fwd-off sysctl -qw net.ipv4.ip_forward=0
x cbr0-fwd-off sysctl -qw net.ipv4.conf.cbr0.forwarding=0
# host-gw style node: routes to peers' pod CIDRs via the peer, one missing
x route-missing ip route add 172.16.0.0/24 via 10.0.1.5
x route-missing ip route add 10.0.0.0/8 via 10.0.1.1
x unreachable ip route add unreachable 172.16.1.0/24
# a second NIC; the route to healthy-a's pods leaves by it, but healthy-a's
# pods arrive on eth0 (the VPC routes to the node's primary IP)
ip link add dpl10b type veth peer name eth1 netns "$(ns rp-strict)"
ip link set dpl10b netns "$(ns vpc)"
x vpc ip link set dpl10b master br1 up
x rp-strict ip addr add 10.0.2.10/24 dev eth1
x rp-strict ip link set eth1 up
x rp-strict ip route add 172.16.0.0/24 via 10.0.2.1 dev eth1
x rp-strict sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.eth0.rp_filter=1
x brnf-off sysctl -qw net.bridge.bridge-nf-call-iptables=0
x split-backend iptables-legacy -t nat -N KUBE-SERVICES
x split-backend iptables-legacy -t nat -A PREROUTING -j KUBE-SERVICES
x split-backend iptables-legacy -t nat -A KUBE-SERVICES -d 10.96.0.1/32 -p tcp --dport 443 -j DNAT --to-destination 10.0.1.5:6443
x split-backend iptables-nft -t filter -A FORWARD -s 172.16.0.0/16 -j ACCEPT
x split-backend iptables-nft -t nat -A POSTROUTING -s 172.16.7.0/24 ! -d 172.16.0.0/16 -j MASQUERADE

# a healthy kube-proxy-less baseline for every node: masquerade pod
# traffic leaving the cluster CIDR, like ip-masq-agent
for spec in $NODES; do
	IFS=: read -r name host pod <<<"$spec"
	[ "$name" = split-backend ] && continue
	x "$name" iptables-nft -t nat -A POSTROUTING -s "172.16.$pod.0/24" ! -d 172.16.0.0/16 -j MASQUERADE
	x "$name" iptables-nft -t filter -A FORWARD -s 172.16.0.0/16 -j ACCEPT
	x "$name" iptables-nft -t filter -A FORWARD -d 172.16.0.0/16 -j ACCEPT
done

# a ClusterIP-like DNAT to a second pod on the same bridge: the reply is
# bridged straight back to the client, so only bridge-nf-call-iptables=1
# lets conntrack undo the DNAT (kubeadm's preflight requires it)
for np in healthy-a:0 brnf-off:6; do
	name=${np%%:*} pod=${np##*:}
	ip netns add "$(ns "$name-pod2")"
	x "$name" ip link add veth1 type veth peer name eth0 netns "$(ns "$name-pod2")"
	x "$name" ip link set veth1 master cbr0 up
	x "$name-pod2" ip link set lo up
	x "$name-pod2" ip addr add "172.16.$pod.3/24" dev eth0
	x "$name-pod2" ip link set eth0 up
	x "$name-pod2" ip route add default via "172.16.$pod.1"
	x "$name" iptables-nft -t nat -A PREROUTING -d 10.96.0.50/32 -p tcp --dport 80 -j DNAT --to-destination "172.16.$pod.3:8080"
	x "$name-pod2" python3 -m http.server 8080 --bind "172.16.$pod.3" >/dev/null 2>&1 &
	echo $! >"/tmp/dpl-http-$name"
done
for np in healthy-a:0 brnf-off:6; do
	wait_until 20 "http server in ${np%%:*}-pod2" sh -c "ip netns exec $(ns "${np%%:*}-pod2") ss -ltnH 'sport = :8080' | grep -q ."
done

# real traffic: which pod → pod flows work (the kernel's answer)
mkdir -p "$(dirname "$RESULTS")"
{
	echo "# pod-to-pod ping results from lab/datapath/mknodes.sh (kernel $(uname -r)); 'ok' = answered"
	for spec in $NODES; do
		IFS=: read -r name host pod <<<"$spec"
		for dst in healthy-a:0 healthy-b:1; do
			dn=${dst%%:*}; dp=${dst##*:}
			[ "$dn" = "$name" ] && continue
			if x "$name-pod" ping -c1 -W1 "172.16.$dp.2" >/dev/null 2>&1; then r=ok; else r=fail; fi
			echo "$name-pod(172.16.$pod.2) -> $dn-pod(172.16.$dp.2): $r"
		done
		# and towards this node's pod from healthy-a's pod
		if [ "$name" != healthy-a ]; then
			if x healthy-a-pod ping -c1 -W1 "172.16.$pod.2" >/dev/null 2>&1; then r=ok; else r=fail; fi
			echo "healthy-a-pod(172.16.0.2) -> $name-pod(172.16.$pod.2): $r"
		fi
	done
	for name in healthy-a brnf-off; do
		if x "$name-pod" timeout 3 bash -c 'exec 3<>/dev/tcp/10.96.0.50/80' 2>/dev/null; then r=ok; else r=fail; fi
		echo "$name-pod -> 10.96.0.50:80 (DNAT to a pod on the same bridge): $r"
		kill "$(cat "/tmp/dpl-http-$name")" 2>/dev/null || true
		rm -f "/tmp/dpl-http-$name"
	done
} >"$RESULTS"
cat "$RESULTS"

# capture what the collector would (same commands as the node collector)
for spec in $NODES; do
	IFS=: read -r name host pod <<<"$spec"
	d="$OUT/nodes/$name"
	rm -rf "$d"
	mkdir -p "$d"
	x "$name" ip -j addr >"$d/ip-addr.json"
	x "$name" ip -j route show table all >"$d/ip-route.json"
	x "$name" ip -j rule >"$d/ip-rule.json"
	x "$name" ip -j neigh >"$d/ip-neigh.json"
	x "$name" ip -j -d link >"$d/ip-link.json"
	x "$name" sysctl -a 2>/dev/null | grep '^net\.' | grep -v -e '^net.ipv6.conf.*stable_secret' >"$d/sysctl.txt" || true
	x "$name" iptables-save -c >"$d/iptables-save.txt"
	if [ "$name" = split-backend ]; then
		x "$name" iptables-legacy-save -c >"$d/iptables-legacy-save.txt"
		x "$name" iptables-nft-save -c >"$d/iptables-nft-save.txt"
	fi
	x "$name" conntrack -S >"$d/conntrack-stats.txt" 2>/dev/null || true
	x "$name" conntrack -L >"$d/conntrack.txt" 2>&1 || true
	x "$name" ss -tunapH >"$d/ss.txt"
	cp "/tmp/dpl-resolv-$name" "$d/resolv.conf"
	rm -f "/tmp/dpl-resolv-$name"
done
# conntrack-full: nf_conntrack_max is global (settable in the initial
# namespace only) and filling 262144 entries is too slow for a lab run, so
# this node is DERIVED from healthy-b's real capture: nf_conntrack_count
# raised to 95% of nf_conntrack_max and drop/insert_failed counters set on
# CPU 1, in the exact format the kernel printed them.
d="$OUT/nodes/conntrack-full"
rm -rf "$d"
cp -r "$OUT/nodes/healthy-b" "$d"
max=$(sed -n 's/^net.netfilter.nf_conntrack_max = //p' "$d/sysctl.txt")
sed -i "s/^net.netfilter.nf_conntrack_count = .*/net.netfilter.nf_conntrack_count = $((max * 95 / 100))/" "$d/sysctl.txt"
sed -i '2s/insert_failed=0 drop=0 early_drop=0/insert_failed=17 drop=2301 early_drop=12/' "$d/conntrack-stats.txt"

# the Kubernetes Node objects (what kubectl get nodes -o yaml would say)
mkdir -p "$OUT/cluster"
{
	echo "apiVersion: v1"
	echo "kind: List"
	echo "items:"
	for spec in $NODES; do
		IFS=: read -r name host pod <<<"$spec"
		cat <<YAML
- apiVersion: v1
  kind: Node
  metadata:
    name: $name
    labels:
      kubernetes.io/hostname: $name
  spec:
    podCIDR: 172.16.$pod.0/24
    podCIDRs:
    - 172.16.$pod.0/24
  status:
    addresses:
    - type: InternalIP
      address: 10.0.1.$host
    - type: Hostname
      address: $name
YAML
	done
} >"$OUT/cluster/nodes.yaml"

# manifest.json: one record per file, with the command that made it
python3 lab/datapath/manifest.py "$OUT"
echo "recorded into $OUT"
