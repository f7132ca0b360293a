# Sourced by the lab bench scripts. measure N CMD...: runs CMD N times and
# prints "WALL CPU RSS_KB", each the median over the runs (the machine may
# be shared: medians move less than single runs; CPU = user + sys), to
# the microsecond (lab/runstat: time(1) prints hundredths of a second,
# too coarse for a 0.06 s command).
RUNSTAT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/bin/runstat
(cd "$(dirname "${BASH_SOURCE[0]}")/.." && ${GO:-go} build -o "$RUNSTAT" ./lab/runstat)
measure() { "$RUNSTAT" "$@"; }

# load: the 1-minute load average and the core count, printed with every
# figure (a loaded machine makes wall times longer).
load() { echo "load $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores"; }

# summary LINE: one headline figure, repeated at the end of make bench
# (BENCH_SUMMARY is set by the Makefile; a script run alone prints only).
summary() { if [ -n "${BENCH_SUMMARY:-}" ]; then echo "$*" >> "$BENCH_SUMMARY"; fi; }
