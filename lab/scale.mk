# Whole-bundle scale (issue 19): analyze on generated cluster-scale bundles
# (lab/scalebundle: 5k Services, 20k pods, an ~11 MB kube-proxy dump per
# node) at 5, 25 and 50 nodes, an nft host's bundle (every dump saved
# twice), and the red team's 8 nodes x four 64 MiB dumps. Prints wall,
# CPU and peak RSS against the budget (50 nodes: 15 s, 1.5 GiB) and the
# floor (cat / a bare line scanner over the same dumps).
BENCH_TARGETS += bench-scale

.PHONY: bench-scale
bench-scale: build
	@GO=$(GO) ./lab/scalebundle/bench.sh
