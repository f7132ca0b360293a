#!/usr/bin/env bash
# Which iptables backend's NAT does the kernel apply when iptables-legacy
# and iptables-nft both hold nat rules for one flow? Measured in network
# namespaces, one fresh set per case and order (the hook registration order
# is per netns), with the backends' rules loaded in the order given:
#
#   client (10.244.0.5, a "pod") -- router (the node: both backends) -- peer
#   c0 10.244.0.5/24             r0 10.244.0.1/24                  p0 192.168.50.10/24
#                                r1 192.168.50.1/24 + .2/24           + .11/24 (the "IDC")
#
# The client pings the peer (or the "ClusterIP" 10.96.0.10, DNATed by the
# router); the router's conntrack entry (reply tuple) says which source
# the peer saw and which destination was chosen. What the kernel does
# (net/netfilter/nf_nat_core.c, nf_nat_inet_fn, Linux >= 4.18): both nat
# tables are entries of one nat lookup hook; for a NEW connection whose
# manip is not set up the entries run in priority order and the first one
# that binds the manip wins; a table that ends with ACCEPT/RETURN without
# a NAT target binds nothing and the next entry runs; only after every
# entry does nf_nat_alloc_null_binding bind "no change". Of two entries of
# equal priority (legacy and nft nat are both -100 DNAT, 100 SNAT) the one
# registered last runs first (nf_hook_entries_grow inserts before an equal
# priority). So an exemption in one backend cannot stop the other's
# MASQUERADE, and two different bindings are decided by registration order.
#
# Output: one line per case and order, "case order observed expected ok";
# exit 1 when the kernel disagrees with the expectation.
# Needs root, iproute2, iptables-legacy, iptables-nft, conntrack, ping.
# Usage: lab/netfilter/backends.sh
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "backends.sh: needs root (network namespaces)" >&2; exit 2; fi
for t in ip iptables-legacy iptables-nft conntrack ping; do
	command -v "$t" >/dev/null || { echo "backends.sh: $t missing (apt-get install iproute2 iptables conntrack iputils-ping)" >&2; exit 2; }
done
# names unique per run: the pid, and a counter per case
p=tksbe$$
n=0
made=()
cleanup() {
	local ns
	for ns in "${made[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT

up() {
	n=$((n + 1))
	c=$p-c$n r=$p-r$n q=$p-p$n
	ip netns add "$c"
	made+=("$c")
	ip netns add "$r"
	made+=("$r")
	ip netns add "$q"
	made+=("$q")
	ip link add c0 netns "$c" type veth peer name r0 netns "$r"
	ip link add r1 netns "$r" type veth peer name p0 netns "$q"
	ip -n "$c" addr add 10.244.0.5/24 dev c0
	ip -n "$r" addr add 10.244.0.1/24 dev r0
	ip -n "$r" addr add 192.168.50.1/24 dev r1
	ip -n "$r" addr add 192.168.50.2/24 dev r1
	ip -n "$q" addr add 192.168.50.10/24 dev p0
	ip -n "$q" addr add 192.168.50.11/24 dev p0
	for ns in "$c" "$r" "$q"; do ip -n "$ns" link set lo up; done
	ip -n "$c" link set c0 up
	ip -n "$r" link set r0 up
	ip -n "$r" link set r1 up
	ip -n "$q" link set p0 up
	ip -n "$c" route add default via 10.244.0.1
	# the peer answers either source: the pod's network via the router
	ip -n "$q" route add 10.244.0.0/16 via 192.168.50.1
	ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
}

# load BACKEND RULES...: each rule is one "iptables -t nat" argument string
load() {
	local be=$1
	shift
	local rule
	for rule in "$@"; do
		# shellcheck disable=SC2086
		ip netns exec "$r" "iptables-$be" -t nat $rule
	done
}

# The rule sets (as ip-masq-agent and kube-proxy write them).
# exempt: ip-masq-agent with the IDC 192.168.50.0/24 in NonMasqueradeCIDRs
exempt=("-N IP-MASQ-AGENT" "-A POSTROUTING -m addrtype ! --dst-type LOCAL -j IP-MASQ-AGENT"
	"-A IP-MASQ-AGENT -d 10.244.0.0/16 -j RETURN" "-A IP-MASQ-AGENT -d 192.168.50.0/24 -j RETURN"
	"-A IP-MASQ-AGENT -j MASQUERADE")
# masq: an older ip-masq-agent configuration without the IDC
masq=("-N IP-MASQ-AGENT" "-A POSTROUTING -m addrtype ! --dst-type LOCAL -j IP-MASQ-AGENT"
	"-A IP-MASQ-AGENT -d 10.244.0.0/16 -j RETURN" "-A IP-MASQ-AGENT -j MASQUERADE")
# accept: a script's explicit ACCEPT for the IDC, nothing else
accept=("-A POSTROUTING -d 192.168.50.0/24 -j ACCEPT")
# snat2: SNAT to the node's second address
snat2=("-A POSTROUTING -s 10.244.0.0/16 -d 192.168.50.0/24 -j SNAT --to-source 192.168.50.2")
# dnat10 / dnat11: a ClusterIP DNATed to one endpoint or the other
dnat10=("-A PREROUTING -d 10.96.0.10/32 -p icmp -j DNAT --to-destination 192.168.50.10")
dnat11=("-A PREROUTING -d 10.96.0.10/32 -p icmp -j DNAT --to-destination 192.168.50.11")

# observe DST FIELD: ping DST from the client once, then print the router's
# conntrack entry's reply source (FIELD=dst: the destination chosen) or
# reply destination (FIELD=src: the source the peer saw).
observe() {
	local dst=$1 field=$2 line
	ip netns exec "$c" ping -c1 -W5 -q "$dst" >/dev/null
	line=$(ip netns exec "$r" conntrack -L -p icmp 2>/dev/null | grep "src=10.244.0.5 dst=$dst" | head -n1)
	# reply tuple: the second src=/dst= pair
	if [ "$field" = src ]; then
		echo "$line" | grep -o 'dst=[0-9.]*' | sed -n 2p | cut -d= -f2
	else
		echo "$line" | grep -o 'src=[0-9.]*' | sed -n 2p | cut -d= -f2
	fi
}

fail=0
# run NAME BE1 SET1 BE2 SET2 DST FIELD EXPECT: load backend BE1 with the
# rule set (array) named SET1, then BE2 with SET2, and observe
run() {
	local name=$1 be1=$2 set1=$3 be2=$4 set2=$5 dst=$6 field=$7 want=$8 got ok=ok
	up
	local -n r1s=$set1 r2s=$set2
	load "$be1" "${r1s[@]}"
	load "$be2" "${r2s[@]}"
	got=$(observe "$dst" "$field")
	if [ "$got" != "$want" ]; then ok=MISMATCH fail=1; fi
	printf '%s %s-first(%s)-then-%s(%s) %s %s %s\n' "$name" "$be1" "$set1" "$be2" "$set2" "$got" "$want" "$ok"
}

# pick BE LEGACYSET NFTSET: the rule set backend BE gets in a case
pick() { if [ "$1" = legacy ]; then echo "$2"; else echo "$3"; fi; }
for order in "legacy nft" "nft legacy"; do
	read -r a b <<<"$order"
	# one backend exempts the IDC (RETURN, or a bare ACCEPT), the other
	# masquerades it: the masquerading one binds whatever the order
	run snat-legacy-masq-nft-exempt "$a" "$(pick "$a" masq exempt)" "$b" "$(pick "$b" masq exempt)" 192.168.50.10 src 192.168.50.1
	run snat-nft-masq-legacy-exempt "$a" "$(pick "$a" exempt masq)" "$b" "$(pick "$b" exempt masq)" 192.168.50.10 src 192.168.50.1
	run snat-legacy-masq-nft-accept "$a" "$(pick "$a" masq accept)" "$b" "$(pick "$b" masq accept)" 192.168.50.10 src 192.168.50.1
	run snat-both-exempt "$a" exempt "$b" exempt 192.168.50.10 src 10.244.0.5
	# both bind, differently: the backend registered last runs first
	run snat-legacy-snat2-nft-masq "$a" "$(pick "$a" snat2 masq)" "$b" "$(pick "$b" snat2 masq)" 192.168.50.10 src "$(pick "$b" 192.168.50.2 192.168.50.1)"
	run dnat-legacy-10-nft-11 "$a" "$(pick "$a" dnat10 dnat11)" "$b" "$(pick "$b" dnat10 dnat11)" 10.96.0.10 dst "$(pick "$b" 192.168.50.10 192.168.50.11)"
done
exit "$fail"
