#!/usr/bin/env bash
# bench-datapath: Go benchmarks of the node datapath hot paths, and the
# netlink route parser against jq reading the same `ip -j route` JSON.
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}
echo "== bench-datapath"
$GO test -run '^$' -bench 'Parse10kServices' -benchtime 20x -benchmem ./parsers/ipvs | grep -E '^Benchmark'
$GO test -run '^$' -bench 'ReconcileIPVS10kServices|NodeRoutes1000Peers' -benchtime 5x ./analysis/checks | grep -E '^Benchmark'
out=$($GO test -run '^$' -bench 'ParseRoutes100k' -benchtime 10x -benchmem ./parsers/netlink | grep -E '^Benchmark')
echo "$out"
go_ns=$(echo "$out" | awk '{print $3}')
if command -v jq >/dev/null && command -v python3 >/dev/null; then
	f=$(mktemp /tmp/tkesnap-routes.XXXXXX.json)
	trap 'rm -f "$f"' EXIT
	python3 - "$f" <<'PY'
import sys
with open(sys.argv[1], "w") as w:
    w.write('[{"dst":"default","gateway":"10.0.1.1","dev":"eth0","flags":[]}')
    for i in range(100000):
        w.write(',{"dst":"172.%d.%d.%d","dev":"eni%d","scope":"link","flags":[]}' % (16 + (i >> 16), i >> 8 & 255, i & 255, i % 8))
    w.write("]\n")
PY
	best=""
	for _ in 1 2 3; do
		s=$(date +%s%N)
		jq -c '[.[] | {dst, gateway, dev, table}] | length' "$f" >/dev/null
		e=$(date +%s%N)
		t=$((e - s))
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	awk -v g="$go_ns" -v j="$best" 'BEGIN { printf "ip -j route, 100k routes: tkesnap %.1f ms, jq %.1f ms (jq/tkesnap = %.2fx)\n", g/1e6, j/1e6, j/g }'
else
	echo "jq or python3 missing: no reference comparison"
fi
