# Netfilter simulator lab (lab/netfilter/): kernel recordings replayed by
# analysis/netfilter/kernel_test.go, and the parse/trace benchmark.
LAB_RECORD_TARGETS += lab-record-netfilter
BENCH_TARGETS += bench-netfilter

.PHONY: lab-record-netfilter bench-netfilter
lab-record-netfilter:
	./lab/netfilter/record.sh

bench-netfilter: build
	./lab/netfilter/bench.sh
