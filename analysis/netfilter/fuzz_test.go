package netfilter

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"tkesnap/parsers/iptables"
)

// FuzzSimulate: whatever a dump holds (loops, gotos into missing chains,
// bad targets), simulating packets through it terminates without panic and
// every path has a verdict.
func FuzzSimulate(f *testing.F) {
	for _, name := range []string{"kube-proxy-1.28-nft.rules", "calico.rules", "semantics.rules"} {
		if b, err := os.ReadFile("../../testdata/netfilter/rulesets/" + name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A A -j B\n-A B -g A\n-A A -m owner --uid-owner 0 -j B\nCOMMIT\n"))
	pkts := []Packet{
		{Proto: "tcp", Src: netip.MustParseAddrPort("10.100.0.2:40000"), Dst: netip.MustParseAddrPort("10.96.0.10:80"), InIface: "eth0"},
		{Proto: "udp", Src: netip.MustParseAddrPort("10.100.0.1:40000"), Dst: netip.MustParseAddrPort("10.100.0.1:53"), LocalOut: true},
		{Proto: "icmp", Src: netip.MustParseAddrPort("10.244.1.5:0"), Dst: netip.MustParseAddrPort("8.8.8.8:0"), InIface: "cni0"},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := iptables.ParseLimits(strings.NewReader(string(data)), iptables.Limits{LineBytes: 4096, Problems: 20})
		if err != nil {
			return
		}
		sim := New(rs, Options{LocalAddrs: []netip.Addr{netip.MustParseAddr("10.100.0.1")}, MaxPaths: 32})
		for _, p := range pkts {
			res := sim.Simulate(p)
			sum := 0.0
			for _, path := range res.Paths {
				switch path.Verdict {
				case Accept, Drop, Reject, Ambiguous:
				default:
					t.Fatalf("path verdict %q", path.Verdict)
				}
				sum += path.Probability
			}
			// every fork, statistic or undecided, splits its parent's
			// probability: the paths always add up to 1
			if len(res.Paths) > 0 && !res.Truncated && (sum < 1-1e-9 || sum > 1+1e-9) {
				t.Fatalf("path probabilities sum to %v", sum)
			}
		}
	})
}
