#!/usr/bin/env bash
# make bench (captures): on one generated capture of realistic traffic
# (lab/pcap/gen: ≥1M packets, thousands of concurrent connections: HTTP,
# unanswered and refused SYNs, DNS, ping, VXLAN 8472) time
#   tkesnap pcap F --format json       (decode + flows + findings + report)
#   tshark -n -r F -q -z conv,tcp      (Wireshark's conversation table)
#   tcpdump -nn -r F > /dev/null       (decode and print every packet)
# and the floor: cat F, and lab/pcapdecode (the project's reader and
# decoder alone, no flows). Prints medians (wall, CPU = user+sys, peak
# RSS) and tkesnap's ratio against each (goal: >= 15x tshark by CPU).
# tkesnap also runs on a capture twice as large: its peak RSS must not
# grow with the file (flows are summarized and dropped as they end).
# Then the Go benchmarks of the decode and flow hot paths and of the
# whole command in process (BenchmarkPcapJSON, CPU per packet).
#   PCAP_BENCH_PACKETS=1000000 BENCH_DIR=/tmp/x RUNS=3 lab/pcap/bench.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
. lab/measure.sh
GO=${GO:-go}
N=${PCAP_BENCH_PACKETS:-1000000}
RUNS=${RUNS:-3}
DIR=${BENCH_DIR:-$(mktemp -d)}
BIN=${TKESNAP:-bin/tkesnap}
mkdir -p "$DIR" "$(dirname "$BIN")"
$GO build -o "$BIN" ./cmd/tkesnap
$GO build -o "$DIR/pcapdecode" ./lab/pcapdecode
F=$DIR/bench-$N.pcap
F2=$DIR/bench-$((2 * N)).pcap
[ -s "$F" ] || $GO run ./lab/pcap/gen -n "$N" -o "$F"
[ -s "$F2" ] || $GO run ./lab/pcap/gen -n "$((2 * N))" -o "$F2"
cat "$F" "$F2" >/dev/null # page cache: every tool reads from memory

printf '\n== bench-pcap: %s (%s packets, %s); medians of %s; %s\n' "$F" "$N" "$(du -h "$F" | cut -f1)" "$RUNS" "$(load)"
read -r ow oc ok <<< "$(measure "$RUNS" "$BIN" pcap "$F" --format json)"
read -r ow2 oc2 ok2 <<< "$(measure "$RUNS" "$BIN" pcap "$F2" --format json)"
printf '%-44s wall %6.2fs  cpu %6.2fs  peak RSS %4d MiB\n' "tkesnap pcap --format json ($N packets)" "$ow" "$oc" $((ok / 1024))
printf '%-44s wall %6.2fs  cpu %6.2fs  peak RSS %4d MiB\n' "tkesnap pcap --format json ($((2 * N)) packets)" "$ow2" "$oc2" $((ok2 / 1024))
sum="pcap --format json, $N packets: wall ${ow}s cpu ${oc}s, peak RSS $((ok / 1024)) MiB ($((ok2 / 1024)) MiB at 2x);"
row() { # name wall cpu rss: the figure and tkesnap's speed-up over it
	awk -v t="$1" -v w="$2" -v c="$3" -v m="$4" -v kw="$ow" -v kc="$oc" \
		'BEGIN{printf "%-44s wall %6.2fs  cpu %6.2fs  peak RSS %4d MiB  -> tkesnap is %.1fx (wall), %.1fx (cpu)\n", t, w, c, m/1024, w/kw, c/kc}'
	sum="$sum $(awk -v t="${1%% *}" -v w="$2" -v c="$3" -v kw="$ow" -v kc="$oc" 'BEGIN{printf "%.1fx/%.1fx %s", w/kw, c/kc, t}');"
}
if command -v tshark >/dev/null; then
	read -r w c m <<< "$(measure "$RUNS" tshark -n -r "$F" -q -z conv,tcp)"
	row "tshark -n -q -z conv,tcp (goal >= 15x)" "$w" "$c" "$m"
else
	echo "tshark not installed: no comparison (make deps)"
fi
if command -v tcpdump >/dev/null; then
	read -r w c m <<< "$(measure "$RUNS" tcpdump -nn -r "$F")"
	row "tcpdump -nn -r (to /dev/null)" "$w" "$c" "$m"
else
	echo "tcpdump not installed: no comparison (make deps)"
fi
echo "floor (tkesnap's time as a multiple of it):"
floor() { # name wall cpu
	# a CPU time under a millisecond is not compared
	awk -v t="$1" -v w="$2" -v c="$3" -v kw="$ow" -v kc="$oc" \
		'BEGIN{printf "  %-42s wall %6.2fs  cpu %6.2fs  -> tkesnap is %.1fx its wall", t, w, c, kw/(w>0.001?w:0.001); if (c >= 0.001) printf ", %.1fx its cpu", kc/c; print ""}'
	sum="$sum $(awk -v t="${1%% *}" -v w="$2" -v c="$3" -v kw="$ow" -v kc="$oc" 'BEGIN{printf "floor %s %.1fx", t, kw/(w>0.001?w:0.001); if (c >= 0.001) printf "/%.1fx", kc/c}');"
}
read -r w c _ <<< "$(measure "$RUNS" cat "$F")"
floor "cat" "$w" "$c"
read -r w c _ <<< "$(measure "$RUNS" "$DIR/pcapdecode" "$F")"
floor "decode-loop (lab/pcapdecode)" "$w" "$c"
awk -v a="$ok" -v b="$ok2" 'BEGIN{printf "peak RSS, 2x packets / 1x packets: %.2f (goal ~1: memory independent of file size)\n", b/a}'
summary "$sum (goal >= 15x tshark)"
echo
GOMAXPROCS=${GOMAXPROCS:-2} $GO test -run '^$' -bench . -benchmem ./parsers/pcap ./analysis/pcapflow
GOMAXPROCS=${GOMAXPROCS:-2} $GO test -run '^$' -bench PcapJSON -benchmem ./cmd/tkesnap
