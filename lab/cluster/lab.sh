#!/usr/bin/env bash
# The netns lab cluster: builds a fake two-node TKE cluster out of network
# namespaces, runs the REAL collector against it (cluster mode against a
# real kube-apiserver + fake tccli, node mode inside each node netns with
# captures while real traffic flows), injects one fault per scenario and
# writes the merged bundles to testdata/bundles/<scenario>/.
#
#   lab/cluster/lab.sh all                 every scenario (make lab)
#   lab/cluster/lab.sh run SCENARIO...     some scenarios
#   lab/cluster/lab.sh up SCENARIO         build and leave it running (debug)
#   lab/cluster/lab.sh down                tear down what up/run built
#
# Needs root, ip, iptables, nft, tcpdump, python3, curl, kubectl, etcd and
# the lab kube-apiserver (/work/shared/tools/kube-apiserver-lab.sh build).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
COLLECT=$REPO/collector/tkesnap-collect.sh
APISH=${KUBE_APISERVER_LAB:-/work/shared/tools/kube-apiserver-lab.sh}
OUTDIR=${LAB_OUT:-$REPO/testdata/bundles}
W=${LAB_WORK:-/tmp/tkesnap-lab-cluster}
export ETCD_PORT=${LAB_ETCD_PORT:-23850} API_PORT=${LAB_API_PORT:-16543}
export SERVICE_CIDR=172.16.252.0/22
LABGEN=$W/labgen
# shellcheck source=lab/lib/wait.sh
. "$REPO/lab/lib/wait.sh"

log() { echo "lab: $*" >&2; }

need() {
	[ "$(id -u)" = 0 ] || { log "must run as root (network namespaces)"; exit 1; }
	local t
	for t in ip iptables-restore nft tcpdump python3 curl kubectl etcd go; do
		command -v "$t" >/dev/null || { log "missing tool: $t"; exit 1; }
	done
}

NODES=(10.0.1.11 10.0.1.12)
NODE_NS=(tks-n1 tks-n2)
POD_CIDR=(172.16.0.0/26 172.16.0.64/26)
# pod: ns name node-index ip
PODS=("default client-0 0 172.16.0.2" "default web-0 0 172.16.0.3" "default web-1 1 172.16.0.66" "kube-system coredns-0 1 172.16.0.67")

nsx() { ip netns exec "$@"; }

bg() { # bg PIDNAME NETNS CMD...: start a lab process in NETNS, remember its pid
	# `ip netns exec` execs CMD, so $! is CMD's own pid (what down kills).
	ip netns exec "${@:2}" >"$W/log/$1.log" 2>&1 &
	echo $! >"$W/pids/$1"
}

down() {
	local f
	if [ -d "$W/pids" ]; then
		for f in "$W"/pids/*; do
			[ -f "$f" ] || continue
			kill "$(cat "$f")" 2>/dev/null || true
			rm -f "$f"
		done
	fi
	stop_apiserver
	local n
	for n in $(ip netns list | awk '{print $1}' | grep -E '^tks-(vpc|idc|n[0-9]|p-)'); do
		ip netns del "$n" 2>/dev/null || true
		rm -rf "/etc/netns/$n"
	done
	if [ -f "$W/created-etc-cni" ]; then
		rmdir /etc/cni 2>/dev/null || true
		rm -f "$W/created-etc-cni"
	fi
}

topology() {
	ip netns add tks-vpc
	nsx tks-vpc ip link set lo up
	nsx tks-vpc ip link add br0 type bridge
	nsx tks-vpc ip link set br0 up
	# The VPC gateway: packets routed to it for a CIDR it has no route for
	# die here (ip_forward off), as in a VPC without that route.
	nsx tks-vpc ip addr add 10.0.1.1/24 dev br0
	nsx tks-vpc sysctl -qw net.ipv4.ip_forward=0
	local i j ns
	for i in "${!NODES[@]}"; do
		ns=${NODE_NS[$i]}
		ip netns add "$ns"
		nsx "$ns" ip link set lo up
		ip -n tks-vpc link add "vn-$ns" type veth peer name eth0 netns "$ns"
		nsx tks-vpc ip link set "vn-$ns" master br0 up
		nsx "$ns" ip addr add "${NODES[$i]}/24" dev eth0
		nsx "$ns" ip link set eth0 up
		nsx "$ns" ip route add default via 10.0.1.1
		nsx "$ns" ip route add 192.168.100.0/24 dev eth0
		nsx "$ns" sysctl -qw net.ipv4.ip_forward=1
		for j in "${!NODES[@]}"; do
			[ "$i" = "$j" ] || nsx "$ns" ip route add "${POD_CIDR[$j]}" via "${NODES[$j]}" dev eth0
		done
		mkdir -p "/etc/netns/$ns"
		printf 'nameserver 183.60.83.19\nnameserver 183.60.82.98\n' >"/etc/netns/$ns/resolv.conf"
		mkdir -p "$W/cni"
	done
	# IDC host behind "Direct Connect": on the bridge, routes back to the VPC and pods.
	ip netns add tks-idc
	nsx tks-idc ip link set lo up
	ip -n tks-vpc link add vn-idc type veth peer name eth0 netns tks-idc
	nsx tks-vpc ip link set vn-idc master br0 up
	nsx tks-idc ip addr add 192.168.100.10/24 dev eth0
	nsx tks-idc ip link set eth0 up
	nsx tks-idc ip route add 10.0.1.0/24 dev eth0
	for i in "${!NODES[@]}"; do nsx tks-idc ip route add "${POD_CIDR[$i]}" via "${NODES[$i]}" dev eth0; done
	# Pods: routed /32s behind a veth with proxy ARP (every pod packet
	# crosses the node's netfilter, as kube-proxy expects).
	local p pns pname pnode pip pnet host
	for p in "${PODS[@]}"; do
		read -r pns pname pnode pip <<<"$p"
		pnet="tks-p-$pname"
		host="vp-$pname"
		ns=${NODE_NS[$pnode]}
		ip netns add "$pnet"
		nsx "$pnet" ip link set lo up
		ip -n "$ns" link add "$host" type veth peer name eth0 netns "$pnet"
		nsx "$ns" ip link set "$host" up
		nsx "$ns" sysctl -qw "net.ipv4.conf.$host.proxy_arp=1"
		nsx "$ns" ip route add "$pip/32" dev "$host"
		nsx "$pnet" ip addr add "$pip/32" dev eth0
		nsx "$pnet" ip link set eth0 up
		nsx "$pnet" ip route add 169.254.1.1 dev eth0 scope link
		nsx "$pnet" ip route add default via 169.254.1.1 dev eth0
		mkdir -p "/etc/netns/$pnet"
		printf 'nameserver 172.16.252.2\nsearch %s.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n' "$pns" >"/etc/netns/$pnet/resolv.conf"
	done
	# Each node's /etc/cni/net.d: `ip netns exec` bind-mounts
	# /etc/netns/NS/cni over /etc/cni, which must exist on the host.
	if [ ! -e /etc/cni ]; then
		mkdir /etc/cni
		touch "$W/created-etc-cni"
	fi
	for i in "${!NODES[@]}"; do
		ns=${NODE_NS[$i]}
		mkdir -p "/etc/netns/$ns/cni/net.d"
		# routed veth pods, as this lab wires them (ptp + host-local)
		cat >"/etc/netns/$ns/cni/net.d/10-lab-ptp.conflist" <<CNI
{
  "cniVersion": "0.4.0",
  "name": "lab-ptp",
  "plugins": [
    {"type": "ptp", "mtu": 1500, "ipMasq": false,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "${POD_CIDR[$i]}"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}
  ]
}
CNI
	done
}

ready() { # ready NAME CMD...: retry CMD until it succeeds (10 s)
	local _t
	for _t in $(seq 1 40); do
		"${@:2}" >/dev/null 2>&1 && return 0
		sleep 0.25
	done
	log "server $1 did not come up: $(tr '\n' ' ' <"$W/log/srv-$1.log" 2>/dev/null)"
	local n
	for n in $(ip netns list | awk '{print $1}' | grep -E '^tks-'); do
		log "$n: $(ip netns exec "$n" ss -ltnH 2>&1 | tr '\n' ' ') | $(ip netns exec "$n" ip -br addr 2>&1 | tr '\n' ' ')"
	done
	return 1
}

servers() {
	mkdir -p "$W/www"
	echo "lab web ok" >"$W/www/index.html"
	local p pns pname pnode pip
	for p in "${PODS[@]}"; do
		read -r pns pname pnode pip <<<"$p"
		case $pname in
		web-*) bg "srv-$pname" "tks-p-$pname" python3 -m http.server 8080 --bind "$pip" --directory "$W/www" ;;
		coredns-*) bg "srv-$pname" "tks-p-$pname" python3 "$HERE/dns.py" serve "$pip" ;;
		esac
	done
	bg srv-idc tks-idc python3 -m http.server 80 --bind 192.168.100.10 --directory "$W/www"
	# wait until every server answers from its own node (faults come later)
	for p in "${PODS[@]}"; do
		read -r pns pname pnode pip <<<"$p"
		case $pname in
		web-*) ready "$pname" nsx "${NODE_NS[$pnode]}" curl -s -m 1 -o /dev/null "http://$pip:8080/" ;;
		coredns-*) ready "$pname" sh -c "ip netns exec ${NODE_NS[$pnode]} python3 $HERE/dns.py query $pip kubernetes.default | grep -q answer" ;;
		esac
	done
	ready idc nsx tks-idc curl -s -m 1 -o /dev/null http://192.168.100.10/
	# kube-proxy stand-ins: they hold kube-proxy's command line in each
	# node's netns (the rules themselves are loaded below by lab.sh).
	mkdir -p "$W/bin"
	cat >"$W/bin/kube-proxy" <<'KP'
#!/bin/sh
# lab stand-in for kube-proxy: only its command line matters
trap 'kill $s 2>/dev/null; exit 0' TERM INT
while :; do sleep 3600 & s=$!; wait $s; done # not a wait: the stand-in idles until TERM
KP
	chmod +x "$W/bin/kube-proxy"
	local i
	for i in "${!NODES[@]}"; do
		bg "kube-proxy-$i" "${NODE_NS[$i]}" "$W/bin/kube-proxy" --proxy-mode=iptables --cluster-cidr=172.16.0.0/16 \
			--hostname-override="${NODES[$i]}" --kubeconfig=/var/lib/kube-proxy/config --v=2
	done
	# the collector reads kube-proxy's command line: each stand-in has
	# exec'd (ip netns exec replaces itself with it) before collection
	for i in "${!NODES[@]}"; do
		wait_until 20 "kube-proxy stand-in $i" grep -q -a -- --proxy-mode "/proc/$(cat "$W/pids/kube-proxy-$i")/cmdline"
	done
}

stop_apiserver() { # stop what `start` started and wait until it is gone (ports free)
	local pids="" p _t
	[ -d "$W/api" ] || return 0
	for p in "$W"/api/*.pid; do [ -f "$p" ] && pids="$pids $(cat "$p")"; done
	"$APISH" stop "$W/api" >/dev/null 2>&1 || true
	for p in $pids; do
		for _t in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
	done
}

API_SEQ=0
apiserver() { # apiserver SCENARIO: fresh API server holding the scenario's objects
	stop_apiserver
	# A stopped apiserver can take a while to release its port: use new ports each time.
	API_SEQ=$((API_SEQ + 1))
	export API_PORT=$((${LAB_API_PORT:-16543} + API_SEQ)) ETCD_PORT=$((${LAB_ETCD_PORT:-23850} + 20 * API_SEQ))
	rm -rf "$W/api"
	"$APISH" start "$W/api" >"$W/log/apiserver-start.log" 2>&1 || { cat "$W/log/apiserver-start.log" >&2; return 1; }
	export KUBECONFIG=$W/api/kubeconfig
	"$LABGEN" objects "$1" >"$W/objects.yaml"
	kubectl apply -f "$W/objects.yaml" >"$W/log/apply.log"
	local kind ns name patch
	while read -r kind ns name patch; do
		if [ "$ns" = - ]; then
			kubectl patch "$kind" "$name" --subresource=status --type=merge -p "$patch" >/dev/null
		else
			kubectl patch "$kind" -n "$ns" "$name" --subresource=status --type=merge -p "$patch" >/dev/null
		fi
	done < <("$LABGEN" status "$1")
}

kube_proxy_rules() { # from what the API server returns, via the cluster collector's files
	local c=$1 i
	for i in "${!NODES[@]}"; do
		"$LABGEN" iptables "${NODES[$i]}" "$c/cluster/services.yaml" "$c/cluster/endpointslices.yaml" \
			"$c/cluster/configmaps-kube-system.yaml" >"$W/rules-$i.txt"
		nsx "${NODE_NS[$i]}" iptables-restore <"$W/rules-$i.txt"
	done
}

inject() { # node-side faults; cloud and kube faults are in labgen's objects/cloud
	local f
	for f in $FAULTS; do
		case $f in
		sg-pod-cidr)
			# The node SG of 10.0.1.12 drops pod-CIDR sources: emulated on the VPC bridge port.
			nsx tks-vpc nft add table bridge sg
			nsx tks-vpc nft 'add chain bridge sg in { type filter hook forward priority 0; }'
			nsx tks-vpc nft add rule bridge sg in oifname vn-tks-n2 ip saddr 172.16.0.0/16 drop
			;;
		forward-drop) nsx tks-n2 iptables -I FORWARD 1 -d 172.16.0.64/26 -p tcp --dport 8080 -j DROP ;;
		ip-forward-off) nsx tks-n2 sysctl -qw net.ipv4.ip_forward=0 ;;
		route-missing) nsx tks-n1 ip route del 172.16.0.64/26 ;;
		backend-split)
			# an old tool still using the legacy backend (both hook netfilter)
			nsx tks-n2 iptables-legacy -I FORWARD 1 -d 172.16.0.64/26 -p tcp --dport 8080 -j DROP
			;;
		netpol-deny)
			# what a policy CNI installs for default/web-allow-frontend (no pod is app=frontend)
			nsx tks-n2 iptables -N LAB-NETPOL-WEB
			nsx tks-n2 iptables -A LAB-NETPOL-WEB -m comment --comment "netpol default/web-allow-frontend: no allowed peer" -j DROP
			nsx tks-n2 iptables -I FORWARD 1 -d 172.16.0.66/32 -p tcp -m comment --comment "netpol ingress to app=web" -j LAB-NETPOL-WEB
			;;
		esac
	done
}

traffic() { # real flows from client-0 while the captures run
	local c="nsx tks-p-client-0" s=$1 i
	# the collectors' captures listen (each logs it once every tcpdump does)
	if [ -n "$CAPTURE_HOST$CAPTURE_PORT" ]; then
		for i in "${!NODES[@]}"; do
			wait_until 60 "captures of node $i" grep -q 'captures listening' "$W/log/collect-node-$i.log"
		done
	fi
	{
		case $s in
		healthy)
			$c curl -s -m 2 -o /dev/null -w 'web-1 %{http_code}\n' http://172.16.0.66:8080/ || true
			$c curl -s -m 2 -o /dev/null -w 'svc web %{http_code}\n' http://172.16.252.10/ || true
			$c python3 "$HERE/dns.py" query 172.16.252.2 kubernetes.default.svc.cluster.local || true
			$c curl -s -m 2 -o /dev/null -w 'idc %{http_code}\n' http://192.168.100.10/ || true
			;;
		sg-pod-cidr | forward-drop | ip-forward-off | route-missing | backend-split | netpol-deny)
			$c curl -s -m 3 -o /dev/null -w 'web-1 %{http_code}\n' http://172.16.0.66:8080/ || echo "web-1 failed rc=$?"
			;;
		svc-no-endpoints) $c curl -s -m 3 -o /dev/null -w 'api %{http_code}\n' http://172.16.252.20/ || echo "api failed rc=$?" ;;
		targetport-mismatch)
			local _k
			for _k in 1 2 3 4; do $c curl -s -m 2 -o /dev/null -w 'svc web %{http_code}\n' http://172.16.252.10/ || echo "svc web failed rc=$?"; done
			;;
		dns-no-endpoints) $c python3 "$HERE/dns.py" query 172.16.252.2 kubernetes.default.svc.cluster.local || true ;;
		masq-idc) $c curl -s -m 2 -o /dev/null -w 'idc %{http_code}\n' http://192.168.100.10/ || echo "idc failed rc=$?" ;;
		sample)
			$c curl -s -m 3 -o /dev/null -w 'web-1 %{http_code}\n' http://172.16.0.66:8080/ || echo "web-1 failed rc=$?"
			local _k
			for _k in 1 2 3; do $c curl -s -m 2 -o /dev/null -w 'svc web %{http_code}\n' http://172.16.252.10/ || echo "svc web failed rc=$?"; done
			;;
		esac
	} >"$W/log/traffic-$s.log" 2>&1
}

run_one() {
	local s=$1
	log "== $s"
	down
	mkdir -p "$W/log" "$W/pids" "$W/out"
	rm -rf "${W:?}/out/"* "$W/cloud"
	eval "$("$LABGEN" info "$s")"
	topology
	servers
	apiserver "$s"
	"$LABGEN" cloud "$s" "$W/cloud"
	# cluster mode: real kubectl against the API server, the fake tccli on PATH
	PATH="$HERE:$PATH" TKESNAP_LAB_CLOUD=$W/cloud TKESNAP_LAB_TCCLI_LOG=$W/log/tccli.log \
		bash "$COLLECT" --cluster --cluster-id cls-lab00001 --region ap-guangzhou -o "$W/out/cluster.tgz" >/dev/null
	rm -rf "$W/cluster" && mkdir -p "$W/cluster"
	tar -C "$W/cluster" --strip-components=1 -xzf "$W/out/cluster.tgz"
	kube_proxy_rules "$W/cluster"
	inject
	# node mode in each node netns, captures on eth0 and in one pod netns
	local i capargs=() pods=(client-0 web-1) pids=()
	[ -n "$CAPTURE_HOST" ] && capargs+=(--capture-host "$CAPTURE_HOST")
	[ -n "$CAPTURE_PORT" ] && capargs+=(--capture-port "$CAPTURE_PORT")
	for i in "${!NODES[@]}"; do
		local cap=()
		if [ ${#capargs[@]} -gt 0 ]; then
			local podns=default
			cap=("${capargs[@]}" --seconds "$CAPTURE_SECONDS" --pod-netns "tks-p-${pods[$i]}" --pod "$podns/${pods[$i]}")
		fi
		nsx "${NODE_NS[$i]}" bash "$COLLECT" --node --node-name "${NODES[$i]}" --conntrack-lines 2000 \
			"${cap[@]}" -o "$W/out/node-$i.tgz" >/dev/null 2>"$W/log/collect-node-$i.log" &
		pids+=($!)
	done
	traffic "$s"
	wait "${pids[@]}"
	bash "$COLLECT" --merge "$W/out/cluster.tgz" "$W/out/node-0.tgz" "$W/out/node-1.tgz" -o "$W/out/$s.tgz" >/dev/null
	local dest="$OUTDIR/$s"
	rm -rf "$dest" && mkdir -p "$dest"
	tar -C "$dest" --strip-components=1 -xzf "$W/out/$s.tgz"
	chmod -R u+rwX,go+rX "$dest"
	find "$dest" -type f -exec chmod 644 {} +
	if [ "$s" != healthy ]; then "$LABGEN" flows "$s" >"$dest/flows.json"; fi
	if [ "$s" = healthy ] && grep -qE ' 000|failed|timeout' "$W/log/traffic-$s.log"; then
		log "healthy traffic failed: $(tr '\n' ';' <"$W/log/traffic-$s.log")"
		exit 1
	fi
	log "$s: $(du -sh "$dest" | cut -f1) — traffic: $(tr '\n' ';' <"$W/log/traffic-$s.log")"
}

main() {
	local cmd=${1:-all}
	shift || true
	need
	mkdir -p "$W/log" "$W/pids"
	(cd "$REPO" && go build -o "$LABGEN" ./lab/cluster/labgen)
	"$APISH" build >/dev/null
	trap down EXIT
	case $cmd in
	all)
		local s
		for s in $("$LABGEN" list); do run_one "$s"; done
		"$LABGEN" describe >"$OUTDIR/README.md"
		;;
	run)
		for s in "$@"; do run_one "$s"; done
		"$LABGEN" describe >"$OUTDIR/README.md"
		;;
	up)
		run_one "${1:-healthy}"
		trap - EXIT
		log "lab is up (KUBECONFIG=$W/api/kubeconfig); '$0 down' removes it"
		;;
	down) down ;;
	*) sed -n '2,12p' "$0"; exit 2 ;;
	esac
}

main "$@"
