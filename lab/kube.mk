# Kubernetes model and checks (issue 6): the scale benchmark — 50 nodes,
# 5,000 Services, 50,000 pods in kubectl YAML, loaded and checked on 2
# cores; prints wall time, CPU time and peak RSS against the budget
# (10 s, 1 GiB).
BENCH_TARGETS += bench-kube

bench-kube:
	@GOMAXPROCS=2 $(GO) run ./lab/kube/scale
	@GOMAXPROCS=2 $(GO) test -run '^$$' -bench 'BenchmarkKube' -benchmem ./analysis/checks ./parsers/kube
