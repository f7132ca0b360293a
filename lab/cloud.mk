# Tencent Cloud model and SG engine (issue 7): benchmarks of the hot paths
# (one packet through 101 rules; a /8 × all ports block split exactly) and
# of the tccli JSON loaders, plus regeneration of the cloud scenarios.
BENCH_TARGETS += bench-cloud
LAB_TARGETS += lab-cloud-scenarios
.PHONY: bench-cloud lab-cloud-scenarios

bench-cloud:
	@echo "== bench-cloud: SG evaluation (per packet, per CIDR×port block) and tccli JSON parsing"
	@$(GO) test -run '^$$' -bench . -benchtime 2000x -benchmem ./analysis/sg ./parsers/tencent | grep -E '^Benchmark'

# Rewrites testdata/cloud/scenarios/*/ from generate.py (deterministic).
lab-cloud-scenarios:
	cd testdata/cloud/scenarios && python3 generate.py
