package netfilter

import (
	"math"
	"net/netip"
	"testing"

	"tkesnap/parsers/iptables"
)

// Ground truth of the real dumps (testdata/netfilter/real, SOURCES.tsv of
// the shared data set).

func parseFile(t *testing.T, path string) *iptables.Ruleset {
	t.Helper()
	rs, err := iptables.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestPodToGoldpingerWithoutEndpointsIsRejectedOnTheRealAKSNode(t *testing.T) {
	rs := parseFile(t, "../../testdata/netfilter/real/aks-azure-npm-2021-filter-only-iptables-save.txt")
	sim := New(rs, Options{LocalAddrs: []netip.Addr{netip.MustParseAddr("10.240.0.4")}})
	res := sim.Simulate(Packet{Proto: "tcp", Src: netip.MustParseAddrPort("10.240.0.30:40000"),
		Dst: netip.MustParseAddrPort("10.0.153.59:8080"), InIface: "azure0", OutIface: "eth0"})
	if res.Verdict != Reject {
		t.Fatalf("verdict %s %+v", res.Verdict, res.Paths)
	}
	last := res.Paths[0].Steps[len(res.Paths[0].Steps)-1]
	if last.Chain != "KUBE-SERVICES" || last.Hook != "FORWARD" || last.Note != "reject-with icmp-port-unreachable" {
		t.Errorf("deciding step %+v", last)
	}
}

func TestNodeToMetricsServerWithoutEndpointsIsRejectedInOutputOnTheRealAKSNode(t *testing.T) {
	rs := parseFile(t, "../../testdata/netfilter/real/aks-azure-npm-2022-04-full-iptables-save.txt")
	sim := New(rs, Options{LocalAddrs: []netip.Addr{netip.MustParseAddr("10.240.0.4")}})
	p := Packet{Proto: "tcp", Src: netip.MustParseAddrPort("10.240.0.4:40000"), Dst: netip.MustParseAddrPort("10.0.52.70:443"), LocalOut: true}
	res := sim.Simulate(p)
	if res.Verdict != Reject || res.Paths[0].Steps[len(res.Paths[0].Steps)-1].Line != 399 {
		t.Errorf("verdict %s %+v", res.Verdict, res.Paths)
	}
	// From a pod the packet meets Azure NPM's ipset rules in FORWARD first:
	// without the node's ipsets that part is undecidable.
	p = Packet{Proto: "tcp", Src: netip.MustParseAddrPort("10.240.0.30:40000"), Dst: netip.MustParseAddrPort("10.0.52.70:443"), InIface: "eth0"}
	if res := sim.Simulate(p); res.Verdict != Ambiguous || len(res.UnknownMatches) == 0 {
		t.Errorf("from a pod: %s %v", res.Verdict, res.UnknownMatches)
	}
}

func TestKEP2086InternalTrafficPolicyLocalKeepsOnlyTheNodeLocalEndpoint(t *testing.T) {
	rs := parseFile(t, "../../testdata/netfilter/rulesets/kep2086-itp.rules")
	sim := New(rs, Options{LocalAddrs: []netip.Addr{netip.MustParseAddr("10.100.0.1")}})
	pod := netip.MustParseAddrPort("10.244.1.50:40000")
	res := sim.Simulate(Packet{Proto: "tcp", Src: pod, Dst: netip.MustParseAddrPort("10.96.226.141:80"), InIface: "cni0"})
	if len(res.Paths) != 1 || res.Paths[0].NAT.Dst != "10.244.1.4:80" {
		t.Errorf("ITP Local: %+v", res.Paths)
	}
	// Feature gate off: the KUBE-SVC chain spreads over all three
	// endpoints, 1/3 each (0.33333333349, then 0.5 of the rest).
	res = sim.Simulate(Packet{Proto: "tcp", Src: pod, Dst: netip.MustParseAddrPort("10.96.226.141:81"), InIface: "cni0"})
	if len(res.Paths) != 3 {
		t.Fatalf("paths %+v", res.Paths)
	}
	for _, p := range res.Paths {
		if math.Abs(p.Probability-1.0/3) > 1e-6 {
			t.Errorf("%s: probability %v", p.NAT.Dst, p.Probability)
		}
	}
}

func TestKEPFragmentWithoutTableHeaderIsAmbiguousNotSilentlyAccepted(t *testing.T) {
	rs := parseFile(t, "../../testdata/netfilter/real/kep2086-kind-worker2-iptables-save-fragment-itp-local.txt")
	res := New(rs, Options{}).Simulate(Packet{Proto: "tcp", Src: netip.MustParseAddrPort("10.244.1.50:1"),
		Dst: netip.MustParseAddrPort("10.96.226.141:80"), InIface: "eth0"})
	// No table header: nothing is hooked, and the verdict cannot be
	// trusted — the fragment's table and hook are unknown.
	if res.Verdict != Ambiguous || len(res.UnknownMatches) != 1 {
		t.Errorf("%s %v", res.Verdict, res.UnknownMatches)
	}
	for _, p := range res.Paths {
		if len(p.Steps) != 0 {
			t.Errorf("steps %+v", p.Steps)
		}
	}
}
