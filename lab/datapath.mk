# Node datapath (issue 5): lab recordings and benchmarks.
BENCH_TARGETS += bench-datapath
LAB_RECORD_TARGETS += lab-record-datapath

# 10k-service IPVS table: ipvsadm -Sn parse, and the kube-proxy reconcile
# of a node against 10k Services / EndpointSlices.
bench-datapath:
	@echo "== bench-datapath: 10k-service IPVS table (40k lines) parse + kube-proxy reconcile"
	@$(GO) test -run '^$$' -bench 'Parse10kServices' -benchtime 20x -benchmem ./parsers/ipvs | grep -E '^Benchmark'
	@$(GO) test -run '^$$' -bench 'ReconcileIPVS10kServices' -benchtime 5x ./analysis/checks | grep -E '^Benchmark'

# Re-record the lab nodes (root, network namespaces).
lab-record-datapath:
	./lab/datapath/mknodes.sh
	./lab/datapath/kubeproxy-nodes.sh
