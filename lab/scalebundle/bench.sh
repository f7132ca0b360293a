#!/usr/bin/env bash
# bench-scale (lab/scale.mk). Bundles are generated once per version of
# the generator into $SCALE_DIR (default /tmp/tkesnap-scale) and reused.
# NODES="5 25 50" and RUNS (median of, default 3) may be set; REDTEAM=0
# skips the 2 GiB red-team bundle.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. lab/measure.sh
GO=${GO:-go}
RUNS=${RUNS:-3}
NODES=${NODES:-5 25 50}
ver=$(git log -1 --format=%h -- lab/scalebundle lab/kube/gen 2>/dev/null || echo dev)
dir=${SCALE_DIR:-/tmp/tkesnap-scale}/$ver
mkdir -p "$dir"
$GO build -o "$dir/scalebundle" ./lab/scalebundle
$GO build -o "$dir/linescan" ./lab/linescan
gen() { # name args...: generate once
  local name=$1
  shift
  if [ ! -f "$dir/$name/.done" ]; then
    rm -rf "${dir:?}/$name"
    "$dir/scalebundle" -dir "$dir/$name" "$@" > /dev/null
    touch "$dir/$name/.done"
  fi
}
echo "== bench-scale: analyze on cluster-scale bundles; medians of $RUNS; $(load)"
printf "%-28s %7s %7s %9s %9s %9s  %s\n" bundle unpacked wall cpu "peak RSS" "per node" "floor: cat / linescan of the dumps (wall)"
declare -A wall
for n in $NODES; do
  gen "n$n" -nodes "$n" -pods 20000
done
curve="scale (analyze --format json):"
row() { # label bundle-dir nodes
  local label=$1 b=$2 n=$3 w c m cw lw lc
  read -r w c m <<< "$(measure "$RUNS" ./bin/tkesnap analyze "$b" --format json)"
  read -r cw _ _ <<< "$(measure 1 sh -c "cat $b/nodes/*/ip*tables*save.txt")"
  read -r lw lc _ <<< "$(measure 1 "$dir/linescan" $b/nodes/*/ip*tables*save.txt)"
  wall[$label]=$w
  awk -v l="$label" -v u="$(du -sm "$b/" | cut -f1)" -v w="$w" -v c="$c" -v m="$m" -v n="$n" -v cw="$cw" -v lw="$lw" -v lc="$lc" \
    'BEGIN{printf "%-28s %5d MB %6.2fs %8.2fs %6d MiB %7.3fs  %.2fs / %.2fs (analyze is %.0fx / %.0fx the wall", l, u, w, c, m/1024, (n>0?w/n:0), cw, lw, w/(cw>0.01?cw:0.01), w/(lw>0.01?lw:0.01); if (lc >= 0.01) printf ", %.0fx the linescan cpu", c/lc; print ")"}'
  curve="$curve $(awk -v l="$label" -v w="$w" -v c="$c" -v m="$m" -v lw="$lw" 'BEGIN{printf "%s %.1fs wall %.1fs cpu %d MiB (%.0fx linescan wall)", l, w, c, m/1024, w/(lw>0.01?lw:0.01)}');"
}
for n in $NODES; do
  row "$n nodes" "$dir/n$n" "$n"
done
first=${NODES%% *}
last=${NODES##* }
awk -v a="${wall[$first nodes]}" -v b="${wall[$last nodes]}" -v na="$first" -v nb="$last" \
  'BEGIN{printf "linearity: %d -> %d nodes (%.0fx) takes %.1fx the time\n", na, nb, nb/na, b/a}'
awk -v w="${wall[$last nodes]}" -v nb="$last" 'BEGIN{if (nb == 50) printf "50 nodes vs budget 15 s: %.2fx of the budget\n", w/15}'
summary "$curve (budget at 50 nodes: 15 s wall, 1.5 GiB)"
gen nft5 -nodes 5 -pods 20000 -nft
row "5 nodes, nft host (x2 dumps)" "$dir/nft5" 5
if [ "${REDTEAM:-1}" != 0 ]; then
  gen redteam -redteam
  b=$dir/redteam
  /usr/bin/time -f '%e %U %S %M' -o "$dir/red.time" ./bin/tkesnap analyze "$b" --format json > "$dir/red.json" 2> "$dir/red.err" && rc=0 || rc=$?
  read -r w u s m < <(tail -1 "$dir/red.time")
  awk -v w="$w" -v m="$m" -v rc="$rc" 'BEGIN{printf "red team 8 nodes x 4 x 64 MiB: exit %d, wall %.1fs, peak RSS %d MiB (budget 2048 MiB)\n", rc, w, m/1024}'
  grep -o '"message": *"not analysed[^"]*"' "$dir/red.json" | head -1 | sed 's/^/  budget message: /' || true
  echo "  dumps not analysed (over the budget): $(grep -c '"message": *"not analysed' "$dir/red.json" || true) of 32"
fi
if [ -n "${PROFILE:-}" ]; then
  TKESNAP_CPUPROFILE="$dir/cpu.prof" ./bin/tkesnap analyze "$dir/n$last" --format json > /dev/null || true
  echo "profile of $last nodes, top five (flat):"
  $GO tool pprof -top -nodecount=5 ./bin/tkesnap "$dir/cpu.prof" 2>/dev/null | tail -5
fi
