#!/usr/bin/env bash
# make bench (captures): on one generated capture of realistic traffic
# (lab/pcap/gen: ≥1M packets, thousands of concurrent connections: HTTP,
# unanswered and refused SYNs, DNS, ping, VXLAN 8472) time
#   tkesnap pcap F                     (decode + flows + findings)
#   tshark -n -r F -q -z conv,tcp      (Wireshark's conversation table)
#   tcpdump -nn -r F > /dev/null       (decode and print every packet)
# and print wall time, peak RSS and ratios. tkesnap also runs on a capture
# twice as large: its peak RSS must not grow with the file (flows are
# summarized and dropped as they end). Then the Go benchmarks of the
# decode and flow hot paths (allocations per packet).
#   PCAP_BENCH_PACKETS=1000000 BENCH_DIR=/tmp/x lab/pcap/bench.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${PCAP_BENCH_PACKETS:-1000000}
DIR=${BENCH_DIR:-$(mktemp -d)}
BIN=${TKESNAP:-bin/tkesnap}
mkdir -p "$DIR" "$(dirname "$BIN")"
go build -o "$BIN" ./cmd/tkesnap
F=$DIR/bench-$N.pcap
F2=$DIR/bench-$((2 * N)).pcap
[ -s "$F" ] || go run ./lab/pcap/gen -n "$N" -o "$F"
[ -s "$F2" ] || go run ./lab/pcap/gen -n "$((2 * N))" -o "$F2"
cat "$F" "$F2" >/dev/null # page cache: every tool reads from memory

if [ ! -x /usr/bin/time ]; then
	echo "bench-pcap: /usr/bin/time missing (apt-get install time): cannot measure peak RSS" >&2
	exit 1
fi
# measure RUNS CMD...: best of RUNS as "wall_s cpu_s peak_kb". The
# machine may be shared: CPU time (user+sys) is the steadier number, the
# ratios use it; wall time is printed beside it.
measure() {
	local runs=$1 best=""
	shift
	for _ in $(seq "$runs"); do
		/usr/bin/time -f "%e %U %S %M" -o "$DIR/time" "$@" >/dev/null 2>"$DIR/stderr" || {
			echo "bench-pcap: $* failed: $(tail -n3 "$DIR/stderr")" >&2
			return 1
		}
		local line
		line=$(tail -n1 "$DIR/time" | awk '{ printf "%.2f %.2f %d", $1, $2 + $3, $4 }')
		if [ -z "$best" ] || awk -v a="$line" -v b="$best" 'BEGIN { split(a, x, " "); split(b, y, " "); exit !(x[2] < y[2]) }'; then
			best=$line
		fi
	done
	echo "$best"
}

row() { printf '%-40s %8s %8s %8d MB\n' "$1" "$2" "$3" $(($4 / 1024)); }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }'; }

printf '\n== capture benchmark: %s (%s packets, %s)\n' "$F" "$N" "$(du -h "$F" | cut -f1)"
printf '%-40s %8s %8s %11s\n' "tool (best of runs)" "wall s" "cpu s" "peak RSS"
read -r ow oc ok < <(measure 3 "$BIN" pcap "$F")
row "tkesnap pcap ($N packets)" "$ow" "$oc" "$ok"
read -r ow2 oc2 ok2 < <(measure 3 "$BIN" pcap "$F2")
row "tkesnap pcap ($((2 * N)) packets)" "$ow2" "$oc2" "$ok2"
tc=0 dc=0
if command -v tshark >/dev/null; then
	read -r tw tc tk < <(measure 2 tshark -n -r "$F" -q -z conv,tcp)
	row "tshark -n -q -z conv,tcp" "$tw" "$tc" "$tk"
else
	echo "tshark not installed: no comparison (apt-get install tshark)"
fi
if command -v tcpdump >/dev/null; then
	read -r dw dc dk < <(measure 3 tcpdump -nn -r "$F")
	row "tcpdump -nn -r (to /dev/null)" "$dw" "$dc" "$dk"
else
	echo "tcpdump not installed: no comparison (apt-get install tcpdump)"
fi
echo
echo "tkesnap vs tshark conv,tcp (cpu): $(ratio "$tc" "$oc")x faster (goal >= 10x)"
echo "tkesnap vs tcpdump -nn -r  (cpu): $(ratio "$dc" "$oc")x faster (goal >= 1x)"
echo "tkesnap peak RSS, 2x packets / 1x packets: $(ratio "$ok2" "$ok") (goal ~1: memory independent of file size)"
echo
GOMAXPROCS=${GOMAXPROCS:-2} go test -run '^$' -bench . -benchmem ./parsers/pcap ./analysis/pcapflow
