# Node datapath (issue 5): lab recordings and benchmarks.
BENCH_TARGETS += bench-datapath
LAB_RECORD_TARGETS += lab-record-datapath

# 10k-service IPVS table (ipvsadm -Sn parse, kube-proxy reconcile of a node
# against 10k Services) and 100k-route ip -j parse compared with jq.
bench-datapath:
	@GO=$(GO) ./lab/datapath/bench.sh

# Re-record the lab nodes (root, network namespaces).
lab-record-datapath:
	./lab/datapath/mknodes.sh
	./lab/datapath/kubeproxy-nodes.sh
