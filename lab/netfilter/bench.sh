#!/usr/bin/env bash
# Benchmarks the iptables parser and simulator on a generated kube-proxy
# dump of 10k Services (~133k rules) and compares parse+index with
# `iptables-restore --test` on the same file (run in `unshare -n`, so the
# host's rules are never touched). Prints times and ratios; asserts nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
services=${SERVICES:-10000}
go run ./lab/netfilter/gen -services "$services" > "$tmp/dump.txt" 2> "$tmp/gen.txt"
bytes=$(stat -c %s "$tmp/dump.txt")
echo "bench-netfilter: kube-proxy dump, $services Services, $(cat "$tmp/gen.txt"), $bytes bytes"

# best of 3 runs: "WALL CPU" in seconds (CPU = user + sys, which a loaded
# machine disturbs less than wall time)
best() {
  local bw='' bc='' t w c
  for _ in 1 2 3; do
    t=$( { TIMEFORMAT='%R %U %S'; time "$@" > /dev/null 2>&1; } 2>&1 | tail -1)
    w=$(echo "$t" | awk '{print $1}')
    c=$(echo "$t" | awk '{print $2 + $3}')
    bw=$(awk -v a="$bw" -v b="$w" 'BEGIN{print (a == "" || b < a) ? b : a}')
    bc=$(awk -v a="$bc" -v b="$c" 'BEGIN{print (a == "" || b < a) ? b : a}')
  done
  echo "$bw $bc"
}

tk=$(best ./bin/tkesnap trace --iptables "$tmp/dump.txt" --proto tcp --src 10.100.0.2:40000 --dst 10.96.39.15:80 --local-ip 10.100.0.1 --format json)
read -r tkw tkc <<< "$tk"
echo "tkesnap trace --iptables (parse + index + one trace): wall ${tkw}s, cpu ${tkc}s"
for tool in iptables-nft-restore iptables-legacy-restore; do
  if ! command -v "$tool" > /dev/null; then echo "$tool: not installed"; continue; fi
  if [ "$(id -u)" != 0 ]; then echo "$tool: needs root for unshare -n"; continue; fi
  read -r rw rc <<< "$(best sh -c "unshare -n $tool --test < '$tmp/dump.txt'")"
  awk -v t="$tool" -v rw="$rw" -v rc="$rc" -v kw="$tkw" -v kc="$tkc" \
    'BEGIN{printf "%s --test: wall %ss, cpu %ss  ratio %s/tkesnap: wall %.1fx, cpu %.1fx\n", t, rw, rc, t, rw/kw, rc/kc}'
done

go test -run '^$' -bench 'ParseKubeProxy10kServices' -benchmem -benchtime 3x ./parsers/iptables/ | grep '^Benchmark' | tee "$tmp/parse.txt"
awk -v size="$bytes" '{for (i=1;i<=NF;i++) if ($(i+1)=="B/op") printf "parser memory: %.1f x file size (goal < 20)\n", $i/size}' "$tmp/parse.txt"
go test -run '^$' -bench 'TraceOnePacket10kServices' -benchmem ./analysis/netfilter/ | grep '^Benchmark' | tee "$tmp/trace.txt"
awk '{for (i=1;i<=NF;i++) if ($(i+1)=="ns/op") printf "one trace after loading: %.3f ms (goal < 1 ms)\n", $i/1e6}' "$tmp/trace.txt"
