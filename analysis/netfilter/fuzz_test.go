package netfilter

import (
	"net/netip"
	"os"
	"reflect"
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
		opts := Options{LocalAddrs: []netip.Addr{netip.MustParseAddr("10.100.0.1")}, MaxPaths: 32}
		sim := New(rs, opts)
		lrs, err := iptables.ParseString(string(data), iptables.Options{Limits: iptables.Limits{LineBytes: 4096, Problems: 20}, Lazy: true})
		if err != nil {
			t.Fatal(err)
		}
		lazySim := New(lrs, opts)
		// every chain of another lazy parse indexed from its text (the
		// skim of a long chain), rules parsed as the packet reaches them
		srs, err := iptables.ParseString(string(data), iptables.Options{Limits: iptables.Limits{LineBytes: 4096, Problems: 20}, Lazy: true})
		if err != nil {
			t.Fatal(err)
		}
		skimSim := New(srs, opts)
		for _, p := range pkts {
			res := sim.Simulate(p)
			// chains parsed when a packet enters them: the same answer
			if lres := lazySim.Simulate(p); !reflect.DeepEqual(res, lres) {
				t.Fatalf("lazy parse: %+v, eager: %+v", lres, res)
			}
			min := indexMin
			indexMin = 1
			sres := skimSim.Simulate(p)
			indexMin = min
			if !reflect.DeepEqual(res, sres) {
				t.Fatalf("skimmed chains: %+v, eager: %+v", sres, res)
			}
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
