#!/usr/bin/env bash
# Records the capture lab: real tcpdump captures of real failures in
# network namespaces, stored small as bundle folders in
# testdata/pcap/lab/<scenario>/ (captures/<node>/*.pcap + .json written like
# the collector's, nodes/<node>/ip-addr.json and ip-link.json, the client
# pod in cluster/pods.yaml). analysis/checks and cmd/tkesnap tests read
# them; CI does not need root.
#
# Topology (one "pod" behind one "node", one peer node):
#
#   pod netns             node-a netns                  node-b netns
#   eth0 10.244.1.10 ── veth-pod 10.244.1.1
#                         eth0 192.168.0.1  ─────────── eth0 192.168.0.2 (+ .4)
#                         (ip_forward, MASQUERADE        http :8080, dns :53,
#                          in the snat scenario)         udp sink :5000
#
# Scenarios:
#   snat     MASQUERADE on node-a: node-b sees 192.168.0.1, the pod sees
#            itself; HTTP 200 for /lbtest, 404 for /mytest; tcpdump -i any
#            on node-a (SLL2 with interface indexes)
#   drop     a connection that works, then FORWARD DROP on node-a: the SYN
#            retries leave the pod and never reach node-b
#   reject   REJECT --reject-with tcp-reset (TCP 9090), plain REJECT
#            (ICMP port unreachable, UDP 9091), a prohibit route (ICMP
#            admin prohibited) for 172.31.0.0/16
#   dns      NXDOMAIN from the DNS server, a second server address whose
#            queries are dropped, a name that resolves
#   oneway   UDP datagrams to a receiver that never answers
#   cut      the collector's `tcpdump -w - | head -c N` cutting a capture
#            mid-packet
#
# Needs root, ip, tcpdump, iptables, python3, curl. Usage:
#   lab/pcap/record.sh [scenario...]     (default: all)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-testdata/pcap/lab}
P=tkpcap
LAB=$(cd lab/pcap && pwd)
# shellcheck source=lab/lib/wait.sh
. lab/lib/wait.sh
PY=$(command -v python3 || true)

if [ "$(id -u)" != 0 ]; then
	echo "lab/pcap: needs root for network namespaces; skipped"
	exit 0
fi
for t in ip tcpdump iptables curl python3; do
	command -v "$t" >/dev/null || {
		echo "lab/pcap: $t missing (apt-get install -y iproute2 tcpdump iptables curl python3); skipped"
		exit 0
	}
done

ns() { ip netns exec "$P-$1" "${@:2}"; }
PIDS=()
down() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	PIDS=()
	for n in pod nodea nodeb; do ip netns del "$P-$n" 2>/dev/null || true; done
}
trap down EXIT

up() { # up MASQ(0|1)
	down
	for n in pod nodea nodeb; do
		ip netns add "$P-$n"
		ns "$n" ip link set lo up
	done
	ip link add veth-pod netns "$P-nodea" type veth peer name eth0 netns "$P-pod"
	ip link add eth0 netns "$P-nodea" type veth peer name eth0 netns "$P-nodeb"
	ns pod ip addr add 10.244.1.10/24 dev eth0
	ns pod ip link set eth0 up
	ns pod ip route add default via 10.244.1.1
	ns nodea ip addr add 10.244.1.1/24 dev veth-pod
	ns nodea ip addr add 192.168.0.1/24 dev eth0
	ns nodea ip link set veth-pod up
	ns nodea ip link set eth0 up
	ns nodea sysctl -qw net.ipv4.ip_forward=1
	ns nodeb ip addr add 192.168.0.2/24 dev eth0
	ns nodeb ip addr add 192.168.0.4/24 dev eth0
	ns nodeb ip link set eth0 up
	ns nodeb ip route add 10.244.1.0/24 via 192.168.0.1
	# offloads would hand tcpdump GSO super-packets; real NICs differ, the
	# lab keeps packets as the wire sees them
	for n in pod nodea nodeb; do
		for d in $(ns "$n" ls /sys/class/net); do
			ns "$n" ethtool -K "$d" tso off gso off gro off >/dev/null 2>&1 || true
		done
	done
	if [ "$1" = 1 ]; then
		# ip-masq-agent without the peer CIDR in NonMasqueradeCIDRs
		ns nodea iptables -t nat -A POSTROUTING -s 10.244.1.0/24 ! -d 10.244.0.0/16 -o eth0 -j MASQUERADE
	fi
	ip netns exec "$P-nodeb" "$PY" "$LAB/netlab.py" http 8080 &
	PIDS+=($!)
	ip netns exec "$P-nodeb" "$PY" "$LAB/netlab.py" dns 192.168.0.2 &
	PIDS+=($!)
	ip netns exec "$P-nodeb" "$PY" "$LAB/netlab.py" sink 5000 &
	PIDS+=($!)
	wait_until 20 "http server on node-b :8080" sh -c "ip netns exec $P-nodeb ss -ltnH 'sport = :8080' | grep -q ."
	wait_until 20 "dns server on node-b :53" sh -c "ip netns exec $P-nodeb ss -lunH 'sport = :53' | grep -q ."
	wait_until 20 "udp sink on node-b :5000" sh -c "ip netns exec $P-nodeb ss -lunH 'sport = :5000' | grep -q ."
}

CAPS=()
# cap NS IFACE NODE NAME POD: start tcpdump like the collector does
cap() {
	local n=$1 ifc=$2 node=$3 name=$4 pod=${5:-}
	local dir="$DIR/captures/$node"
	mkdir -p "$dir"
	date -u +%Y-%m-%dT%H:%M:%S.%3NZ >"$TMP/$node.$name.start"
	# not through the ns function: $! must be tcpdump itself
	ip netns exec "$P-$n" tcpdump -i "$ifc" -n -U -s 0 -w "$dir/$name.pcap" 2>"$TMP/$node.$name.err" &
	CAPS+=("$!:$node:$name:$ifc:$pod")
}

stopcaps() { # stop all captures and write their metadata
	# the last segments of the scenario's connections have left (no
	# connection to the servers is still closing), and every tcpdump has
	# written what the kernel gave it (SIGINT drops what is still in the ring)
	local port
	for port in 8080 9090; do
		wait_until 20 "quiet TCP :$port in the pod" no_open_tcp "$P-pod" "$port"
		wait_until 20 "quiet TCP :$port on node-b" no_open_tcp "$P-nodeb" "$port"
	done
	for c in "${CAPS[@]}"; do
		local pid node name ifc pod
		IFS=: read -r pid node name ifc pod <<<"$c"
		wait_until 20 "tcpdump $node/$name drained" tcpdump_drained "$pid" "$TMP/$node.$name.err"
	done
	# SIGTERM: background jobs of a script ignore SIGINT; tcpdump ends
	# cleanly on either and prints its counters
	for c in "${CAPS[@]}"; do kill -TERM "${c%%:*}" 2>/dev/null || true; done
	for c in "${CAPS[@]}"; do
		local pid node name ifc pod
		IFS=: read -r pid node name ifc pod <<<"$c"
		wait "$pid" 2>/dev/null || true
		local got drop
		got=$(sed -nE 's/^([0-9]+) packets? captured.*/\1/p' "$TMP/$node.$name.err" | tail -n1)
		drop=$(sed -nE 's/^([0-9]+) packets? dropped by kernel.*/\1/p' "$TMP/$node.$name.err" | tail -n1)
		printf '{"node":"%s","interface":"%s","pod":"%s","filter":"","start":"%s","stop":"%s","seconds":60,"max_packets":100000,"max_bytes":%d,"packets_captured":%d,"packets_received":%d,"packets_dropped_by_kernel":%d,"truncated":false,"command":"tcpdump -i %s -n -U -w -"}\n' \
			"$node" "$ifc" "$pod" "$(cat "$TMP/$node.$name.start")" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" \
			$((50 << 20)) "${got:-0}" "${got:-0}" "${drop:-0}" "$ifc" >"$DIR/captures/$node/$name.json"
	done
	CAPS=()
}

nodefiles() { # ip -j state of both nodes, the client pod object
	for pair in nodea:node-a nodeb:node-b; do
		local n=${pair%%:*} node=${pair#*:}
		mkdir -p "$DIR/nodes/$node"
		ns "$n" ip -j addr >"$DIR/nodes/$node/ip-addr.json"
		ns "$n" ip -j -d link >"$DIR/nodes/$node/ip-link.json"
	done
	mkdir -p "$DIR/cluster"
	cat >"$DIR/cluster/pods.yaml" <<-'YAML'
		apiVersion: v1
		kind: List
		items:
		- apiVersion: v1
		  kind: Pod
		  metadata: {name: client, namespace: default, labels: {app: client}}
		  spec: {nodeName: node-a, containers: [{name: c, image: busybox}]}
		  status:
		    phase: Running
		    hostIP: 192.168.0.1
		    podIP: 10.244.1.10
		    podIPs: [{ip: 10.244.1.10}]
		    conditions: [{type: Ready, status: "True"}]
	YAML
}

begin() { # begin SCENARIO MASQ
	DIR="$OUT/$1"
	rm -rf "$DIR"
	mkdir -p "$DIR"
	up "$2"
	nodefiles
	cap pod eth0 node-a pod-default_client default/client
	cap nodea eth0 node-a node-eth0
	cap nodeb eth0 node-b node-eth0
	listening
}

listening() { # every capture started so far listens
	local c pid node name ifc pod
	for c in "${CAPS[@]}"; do
		IFS=: read -r pid node name ifc pod <<<"$c"
		wait_until 20 "tcpdump $node/$name listening" tcpdump_listening "$TMP/$node.$name.err"
	done
}

scenario_snat() {
	begin snat 1
	cap nodea any node-a node-any
	listening
	ns pod curl -s -o /dev/null --max-time 3 http://192.168.0.2:8080/lbtest
	ns pod curl -s -o /dev/null --max-time 3 http://192.168.0.2:8080/mytest
	stopcaps
}

scenario_drop() {
	begin drop 0
	ns pod curl -s -o /dev/null --max-time 3 http://192.168.0.2:8080/lbtest
	ns nodea iptables -I FORWARD -p tcp --dport 8080 -j DROP
	ns pod curl -s -o /dev/null --max-time 4 http://192.168.0.2:8080/lbtest || true
	stopcaps
}

scenario_reject() {
	begin reject 0
	ns nodeb iptables -A INPUT -p tcp --dport 9090 -j REJECT --reject-with tcp-reset
	ns nodeb iptables -A INPUT -p udp --dport 9091 -j REJECT
	ns nodea ip route add prohibit 172.31.0.0/16
	ns pod curl -s -o /dev/null --max-time 2 http://192.168.0.2:9090/ || true
	ns pod "$PY" "$LAB/netlab.py" send 192.168.0.2 9091 1
	ns pod curl -s -o /dev/null --max-time 2 http://172.31.0.5:80/ || true
	stopcaps
}

scenario_dns() {
	begin dns 0
	ns nodeb iptables -A INPUT -d 192.168.0.4 -p udp --dport 53 -j DROP
	ns pod "$PY" "$LAB/netlab.py" query 192.168.0.2 web.default.svc.cluster.local
	ns pod "$PY" "$LAB/netlab.py" query 192.168.0.2 nosuch.default.svc.cluster.local
	ns pod "$PY" "$LAB/netlab.py" query 192.168.0.4 web.default.svc.cluster.local 2
	stopcaps
}

scenario_oneway() {
	begin oneway 0
	ns pod "$PY" "$LAB/netlab.py" send 192.168.0.2 5000 5
	stopcaps
}

scenario_cut() {
	DIR="$OUT/cut"
	rm -rf "$DIR"
	mkdir -p "$DIR/captures/node-a"
	up 0
	# exactly the collector's pipeline: the byte limit cuts mid-packet
	(ns nodea timeout -s INT 4 tcpdump -i eth0 -n -U -w - 2>"$TMP/cut.err" | head -c 1500 >"$DIR/captures/node-a/node-eth0.pcap") &
	local p=$!
	wait_until 20 "tcpdump listening" tcpdump_listening "$TMP/cut.err"
	ns pod curl -s -o /dev/null --max-time 2 http://192.168.0.2:8080/lbtest
	wait "$p" || true
	printf '{"node":"node-a","interface":"eth0","pod":"","filter":"","seconds":4,"max_packets":100000,"max_bytes":1500,"packets_captured":0,"packets_received":0,"packets_dropped_by_kernel":0,"truncated":true,"command":"tcpdump -i eth0 -n -U -w -"}\n' \
		>"$DIR/captures/node-a/node-eth0.json"
}

manifest() { # manifest DIR: manifest.json listing the files, as the collector's
	local dir=$1 first=1
	{
		printf '{"format":"tkesnap-bundle/v1","created":"%s","collector_version":"lab/pcap","files":[' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		(cd "$dir" && find . -type f ! -name manifest.json | sed 's#^\./##' | sort) | while read -r f; do
			[ $first = 1 ] || printf ','
			first=0
			printf '{"path":"%s","command":"lab/pcap/record.sh","exit_code":0,"bytes":%d}' "$f" "$(wc -c <"$dir/$f")"
		done
		printf ']}\n'
	} >"$dir/manifest.json"
}

if [ "${1:-}" = manifests ]; then
	for d in "$OUT"/*/; do manifest "${d%/}"; done
	exit 0
fi

TMP=$(mktemp -d)
all=(snat drop reject dns oneway cut)
for s in "${@:-${all[@]}}"; do
	echo "lab/pcap: recording $s"
	"scenario_$s"
	manifest "$OUT/$s"
done
down
rm -rf "$TMP"
du -sh "$OUT"
