# Sourced by the lab bench scripts. measure N CMD...: runs CMD N times and
# prints "WALL CPU RSS_KB", each the median over the runs (the machine may
# be shared: medians move less than single runs; CPU = user + sys).
measure() {
  local n=$1 i out
  shift
  local tf
  tf=$(mktemp)
  for ((i = 0; i < n; i++)); do
    /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" > /dev/null 2>&1 || true
    tail -1 "$tf"
  done | awk '{w[NR]=$1; c[NR]=$2+$3; m[NR]=$4}
    function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    END { printf "%.3f %.3f %d\n", med(w, NR), med(c, NR), med(m, NR) }'
  rm -f "$tf"
}

# load: the 1-minute load average and the core count, printed with every
# figure (a loaded machine makes wall times longer).
load() { echo "load $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores"; }

# summary LINE: one headline figure, repeated at the end of make bench
# (BENCH_SUMMARY is set by the Makefile; a script run alone prints only).
summary() { if [ -n "${BENCH_SUMMARY:-}" ]; then echo "$*" >> "$BENCH_SUMMARY"; fi; }
