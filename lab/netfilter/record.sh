#!/usr/bin/env bash
# Records how the real kernel treats probe packets for each ruleset in
# testdata/netfilter/rulesets: loads the ruleset into a lab node netns with
# iptables-nft-restore, adds raw TRACE rules, runs `xtables-monitor --trace`
# and tcpdump, sends the probes, and writes testdata/netfilter/kernel/<name>/
#   iptables-save.txt   the ruleset as the kernel holds it (TRACE rules included)
#   ipset.txt           ipset save, when the ruleset uses sets
# (kernel/<name>.legacy/ for the rulesets of rulesets/legacy.list, loaded
# with iptables-legacy-restore and traced through nfnetlink_log + tshark)
#   probes.json         per probe: the tuple, the kernel's rule-by-rule trace
#                       (nft handles mapped to chain positions) and egress packets
# The Go differential test (analysis/netfilter/kernel_test.go) replays them.
# Needs root, iproute2, iptables (nft backend, xtables-monitor), nftables,
# ipset, tcpdump, conntrack, python3.
# Usage: lab/netfilter/record.sh [NAME...]   (default: every ruleset)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=lab/lib/wait.sh
. "$root/lab/lib/wait.sh"
rules=$root/testdata/netfilter/rulesets
out=${OUT:-$root/testdata/netfilter/kernel}
p=tkslab
if [ "$(id -u)" != 0 ]; then echo "record.sh: needs root (network namespaces)" >&2; exit 1; fi
for t in ip iptables-nft-restore ip6tables-nft-restore iptables-legacy-restore xtables-monitor nft tcpdump tshark ipset python3; do
  command -v "$t" >/dev/null || { echo "record.sh: $t missing (apt-get install iptables nftables ipset tcpdump iproute2)" >&2; exit 1; }
done
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$rules"/*.rules; do names+=("$(basename "$f" .rules)"); done
  # rulesets also recorded with the legacy backend (as NAME.legacy)
  while read -r n _; do
    case "$n" in ''|'#'*) continue ;; esac
    names+=("$n.legacy")
  done < "$rules/legacy.list"
fi
tmp=$(mktemp -d)
cleanup() {
  if [ -n "${mon:-}" ]; then kill "$mon" 2>/dev/null || true; fi
  if [ -n "${dump:-}" ]; then kill "$dump" 2>/dev/null || true; fi
  "$here/topology.sh" down "$p"
  rm -rf "$tmp"
}
trap cleanup EXIT
node() { ip netns exec "$p-node" "$@"; }
for name in "${names[@]}"; do
  echo "== $name"
  # NAME.legacy: the ruleset NAME loaded with iptables-legacy; its TRACE
  # lines go through nfnetlink_log (group 0) to tshark.
  dir=$out/$name
  backend=nft
  case "$name" in *.legacy) backend=legacy name=${name%.legacy} ;; esac
  # a ruleset whose name ends in -v6 is an ip6tables dump probed over IPv6
  v=4 ipt=iptables fam=ip
  case "$name" in *-v6) v=6 ipt=ip6tables fam=ip6 ;; esac
  # -bridge: cni0 is a bridge with pods podA/podB on ports vethA/vethB
  case "$name" in
    *-bridge) "$here/topology.sh" up "$p" bridge ;;
    *) if [ "$v" = 6 ]; then "$here/topology.sh" up "$p" v6; else "$here/topology.sh" up "$p"; fi ;;
  esac
  mkdir -p "$dir"
  if [ -f "$rules/$name.ipset" ]; then node ipset restore < "$rules/$name.ipset"; fi
  node "$ipt-$backend-restore" < "$rules/$name.rules"
  # TRACE everything the node sees or sends (raw is the first table).
  node "$ipt-$backend" -t raw -I PREROUTING 1 -j TRACE
  node "$ipt-$backend" -t raw -I OUTPUT 1 -j TRACE
  node "$ipt-$backend-save" > "$dir/iptables-save.txt"
  if [ -f "$rules/$name.ipset" ]; then node ipset save > "$dir/ipset.txt"; else rm -f "$dir/ipset.txt"; fi
  node nft -a -j list ruleset > "$tmp/nft.json"
  if [ "$backend" = legacy ]; then
    node sh -c 'echo nfnetlink_log > /proc/sys/net/netfilter/nf_log/2'
    mtool=legacy
    node tshark -i nflog:0 -l -T fields -e nflog.prefix -e ip.id -e tcp.srcport -e udp.srcport -e ip.src -e ip.dst -e tcp.dstport -e udp.dstport > "$tmp/trace.txt" 2> "$tmp/tshark.err" & mon=$!
    # tshark takes a while to start on a loaded machine: wait until it
    # captures, or the first probes go untraced
    wait_until 20 "tshark capturing on nflog" grep -q "Capturing on" "$tmp/tshark.err"
  elif [ "$v" = 6 ]; then
    # xtables-monitor 1.8.9 dies printing ip6 rules with tcp port matches
    # ("unsupported layer 4 protocol value"): IPv6 uses nft's own tracer.
    mtool=nft; node nft -a monitor trace > "$tmp/trace.txt" 2>&1 & mon=$!
  else
    mtool=xtables; node xtables-monitor --trace > "$tmp/trace.txt" 2>&1 & mon=$!
  fi
  node tcpdump -i any -nn -v -l -U > "$tmp/egress.txt" 2>/dev/null & dump=$!
  # Warm up: send a UDP packet with IP ID / flow label 999 (not a probe)
  # from the client until both the tracer and tcpdump show it, so no probe
  # goes untraced.
  warm="udp 10.100.0.2 9999 10.100.0.1 9 999"
  [ "$v" = 6 ] && warm="udp fd00:100::2 9999 fd00:100::1 9 999"
  seen() { # seen ID: the tracer and tcpdump have both printed packet ID
    local re="ID=$1 |FLOWLBL=$1 |flowlabel $1 |ip id $1 |$(printf '0x%04x' "$1")"
    grep -qE "$re" "$tmp/trace.txt" && grep -qE "id $1[ ,]|flowlabel $(printf '0x%05x' "$1")" "$tmp/egress.txt"
  }
  for _ in $(seq 100); do
    echo "$warm" | ip netns exec "$p-client" python3 "$here/probe.py"
    seen 999 && break
    sleep 0.2
  done
  seen 999 || { echo "record.sh: tracer or tcpdump never showed the warm-up packet" >&2; exit 1; }
  # Probe i gets source port 20000+i and IP ID (IPv6: flow label) 1000+i.
  i=0
  : > "$tmp/probes.txt"
  for from in eth0 cni0 local podA podB; do : > "$tmp/send-$from.txt"; done
  while read -r proto src dst from _; do
    case "$proto" in ''|'#'*) continue ;; esac
    i=$((i + 1))
    # DST is IP[:PORT], IPv6 as [IP]:PORT or a bare IP
    case "$dst" in
      \[*) daddr=${dst#[}; daddr=${daddr%%]*}; dport=${dst##*]:}; [ "$dport" = "$dst" ] && dport=0 ;;
      *:*:*) daddr=$dst dport=0 ;;
      *:*) daddr=${dst%%:*} dport=${dst#*:} ;;
      *) daddr=$dst dport=0 ;;
    esac
    echo "$proto $src $((20000 + i)) $daddr $dport $((1000 + i))" >> "$tmp/send-$from.txt"
    echo "$i $proto $src $((20000 + i)) $daddr $dport $((1000 + i)) $from" >> "$tmp/probes.txt"
  done < "$rules/$name.probes"
  ip netns exec "$p-client" python3 "$here/probe.py" < "$tmp/send-eth0.txt"
  if [ -s "$tmp/send-cni0.txt" ]; then ip netns exec "$p-pods" python3 "$here/probe.py" < "$tmp/send-cni0.txt"; fi
  for x in A B; do
    if [ -s "$tmp/send-pod$x.txt" ]; then ip netns exec "$p-pod$x" python3 "$here/probe.py" < "$tmp/send-pod$x.txt"; fi
  done
  node python3 "$here/probe.py" < "$tmp/send-local.txt"
  # an end marker (ID 998, not a probe) sent after every probe: once both
  # tools have printed it, they have printed every probe before it
  echo "${warm% 999} 998" | ip netns exec "$p-client" python3 "$here/probe.py"
  wait_until 30 "end marker in the trace and tcpdump output" seen 998
  kill "$mon" "$dump"; wait "$mon" "$dump" 2>/dev/null || true
  mon='' dump=''
  python3 "$here/collect.py" "$tmp/probes.txt" "$tmp/trace.txt" "$tmp/nft.json" "$tmp/egress.txt" "$fam" "$mtool" "$dir/iptables-save.txt" > "$dir/probes.json"
  echo "   $(grep -c '"id"' "$dir/probes.json") probes recorded"
  "$here/topology.sh" down "$p"
done
