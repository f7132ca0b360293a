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

# best of 3 wall-clock runs, in seconds
best() {
  local b=
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N)
    "$@" > /dev/null 2>&1 || true
    e=$(date +%s.%N)
    b=$(awk -v b="$b" -v d="$(awk -v s="$s" -v e="$e" 'BEGIN{print e-s}')" 'BEGIN{if (b == "" || d < b) print d; else print b}')
  done
  echo "$b"
}

tk=$(best ./bin/tkesnap trace --iptables "$tmp/dump.txt" --proto tcp --src 10.100.0.2:40000 --dst 10.96.39.15:80 --local-ip 10.100.0.1 --format json)
echo "tkesnap trace --iptables (parse + index + one trace): ${tk}s"
for tool in iptables-nft-restore iptables-legacy-restore; do
  if ! command -v "$tool" > /dev/null; then echo "$tool: not installed"; continue; fi
  if [ "$(id -u)" != 0 ]; then echo "$tool: needs root for unshare -n"; continue; fi
  ref=$(best sh -c "unshare -n $tool --test < '$tmp/dump.txt'")
  awk -v t="$tool" -v r="$ref" -v k="$tk" 'BEGIN{printf "%s --test: %ss  ratio %s/tkesnap = %.1fx\n", t, r, t, r/k}'
done

go test -run '^$' -bench 'ParseKubeProxy10kServices' -benchmem -benchtime 3x ./parsers/iptables/ | grep '^Benchmark' | tee "$tmp/parse.txt"
awk -v size="$bytes" '{for (i=1;i<=NF;i++) if ($(i+1)=="B/op") printf "parser memory: %.1f x file size (goal < 20)\n", $i/size}' "$tmp/parse.txt"
go test -run '^$' -bench 'TraceOnePacket10kServices' -benchmem ./analysis/netfilter/ | grep '^Benchmark' | tee "$tmp/trace.txt"
awk '{for (i=1;i<=NF;i++) if ($(i+1)=="ns/op") printf "one trace after loading: %.3f ms (goal < 1 ms)\n", $i/1e6}' "$tmp/trace.txt"
