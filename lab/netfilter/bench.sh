#!/usr/bin/env bash
# Benchmarks `tkesnap trace --iptables` (parse + index + one trace, the
# whole process) on a generated kube-proxy dump of 10k Services (~133k
# rules) against its references, `iptables-nft-restore --test` and
# `iptables-legacy-restore --test` on the same file (run in `unshare -n`,
# so the host's rules are never touched), and against the floor: `cat`
# and a bare Go line scanner over the file. Prints medians and ratios
# (goal: >= 10x nft, >= 20x legacy); asserts nothing. trace --iptables
# maps the file, reads every line's table, chain and declaration, skims a
# long chain (KUBE-SERVICES) for each rule's destination and parses the
# rules the packet is tested against (iptables.Options.Lazy); the parse
# of every rule, as analyze does it, is BenchmarkParseFile10kServices
# below.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. lab/measure.sh
GO=${GO:-go}
RUNS=${RUNS:-9}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
services=${SERVICES:-10000}
$GO run ./lab/netfilter/gen -services "$services" > "$tmp/dump.txt" 2> "$tmp/gen.txt"
$GO build -o "$tmp/linescan" ./lab/linescan
bytes=$(stat -c %s "$tmp/dump.txt")
echo "== bench-netfilter: kube-proxy dump, $services Services, $(cat "$tmp/gen.txt"), $bytes bytes; medians of $RUNS; $(load)"

read -r tkw tkc tkm <<< "$(measure "$RUNS" ./bin/tkesnap trace --iptables "$tmp/dump.txt" --proto tcp --src 10.100.0.2:40000 --dst 10.96.39.15:80 --local-ip 10.100.0.1 --format json)"
printf "%-44s wall %6.3fs  cpu %6.3fs  peak RSS %4d MiB\n" "tkesnap trace --iptables" "$tkw" "$tkc" $((tkm / 1024))
sum="iptables trace --iptables, $services Services: wall ${tkw}s cpu ${tkc}s;"
row() { # name wall cpu rss: the figure and tkesnap's speed-up over it
  awk -v t="$1" -v w="$2" -v c="$3" -v m="$4" -v kw="$tkw" -v kc="$tkc" \
    'BEGIN{printf "%-44s wall %6.3fs  cpu %6.3fs  peak RSS %4d MiB  -> tkesnap is %.1fx (wall), %.1fx (cpu)\n", t, w, c, m/1024, w/kw, c/kc}'
  sum="$sum $(awk -v t="${1%% *}" -v w="$2" -v c="$3" -v kw="$tkw" -v kc="$tkc" 'BEGIN{printf "%.1fx/%.1fx %s", w/kw, c/kc, t}');"
}
for tool in iptables-nft-restore iptables-legacy-restore; do
  if ! command -v "$tool" > /dev/null; then echo "$tool: not installed (make deps)"; continue; fi
  if [ "$(id -u)" != 0 ]; then echo "$tool: needs root for unshare -n"; continue; fi
  read -r w c m <<< "$(measure "$RUNS" sh -c "unshare -n $tool --test < '$tmp/dump.txt'")"
  row "$tool --test" "$w" "$c" "$m"
done
echo "floor (tkesnap's time as a multiple of it):"
for f in "cat" "linescan"; do
  if [ "$f" = cat ]; then read -r w c m <<< "$(measure "$RUNS" cat "$tmp/dump.txt")"; else read -r w c m <<< "$(measure "$RUNS" "$tmp/linescan" "$tmp/dump.txt")"; fi
  # a CPU time under a millisecond is not compared
  awk -v t="$f" -v w="$w" -v c="$c" -v kw="$tkw" -v kc="$tkc" \
    'BEGIN{printf "  %-42s wall %6.3fs  cpu %6.3fs  -> tkesnap is %.1fx its wall", t, w, c, kw/(w>0.001?w:0.001); if (c >= 0.001) printf ", %.1fx its cpu", kc/c; print ""}'
  sum="$sum $(awk -v t="$f" -v w="$w" -v c="$c" -v kw="$tkw" -v kc="$tkc" 'BEGIN{printf "floor %s %.0fx", t, kw/(w>0.001?w:0.001); if (c >= 0.001) printf "/%.0fx", kc/c}');"
done
summary "$sum (ratios: wall/cpu, reference time over tkesnap's; floor: tkesnap's over the floor's; goal >= 10x nft, >= 20x legacy)"

$GO test -run '^$' -bench 'Parse(File|KubeProxy|SharedDump)10kServices' -benchmem -benchtime 3x ./parsers/iptables/ | grep '^Benchmark' | tee "$tmp/parse.txt"
awk -v size="$bytes" '{for (i=1;i<=NF;i++) if ($(i+1)=="B/op") printf "%s memory allocated: %.1f x file size (goal < 20)\n", $1, $i/size}' "$tmp/parse.txt"
$GO test -run '^$' -bench 'TraceOnePacket10kServices' -benchmem ./analysis/netfilter/ | grep '^Benchmark' | tee "$tmp/trace.txt"
awk '{for (i=1;i<=NF;i++) if ($(i+1)=="ns/op") printf "one trace after loading: %.3f ms (goal < 1 ms)\n", $i/1e6}' "$tmp/trace.txt"
if [ -n "${PROFILE:-}" ]; then
  TKESNAP_CPUPROFILE="$tmp/cpu.prof" ./bin/tkesnap trace --iptables "$tmp/dump.txt" --proto tcp --src 10.100.0.2:40000 --dst 10.96.39.15:80 --local-ip 10.100.0.1 --format json > /dev/null
  echo "profile, top five (flat):"
  $GO tool pprof -top -nodecount=5 ./bin/tkesnap "$tmp/cpu.prof" 2>/dev/null | tail -5
fi
