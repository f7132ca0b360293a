package netfilter

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/parsers/ipset"
	"tkesnap/parsers/iptables"
	"tkesnap/parsers/ipvs"
)

// node-1 of the IPVS lab bundle: kube-proxy IPVS-mode iptables rules and
// ipsets as the kernel saved them, and the matching ipvsadm -Sn table.
const ipvsNode = "../../testdata/datapath/kubeproxy-bundle/nodes/node-1"

func ipvsSim(t *testing.T) (*Sim, *IPVS) {
	t.Helper()
	read := func(name string) *os.File {
		f, err := os.Open(filepath.Join(ipvsNode, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	rs, err := iptables.Parse(read("iptables-save.txt"))
	if err != nil {
		t.Fatal(err)
	}
	sets, err := ipset.Parse(read("ipset.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tb := ipvs.Parse(read("ipvsadm.txt"))
	if len(tb.Problems) > 0 {
		t.Fatal(tb.Problems)
	}
	lb := NewIPVS(tb, nil)
	node := netip.MustParseAddr("10.0.1.5")
	return New(rs, Options{LocalAddrs: []netip.Addr{node, netip.MustParseAddr("172.16.0.1")},
		IfaceAddrs: map[string]netip.Addr{"eth0": node, "cbr0": netip.MustParseAddr("172.16.0.1")},
		Sets:       IPSets(sets), Balancer: lb}), lb
}

func dests(r Result) map[string]float64 {
	out := map[string]float64{}
	for _, p := range r.Paths {
		if p.NAT != nil {
			out[p.NAT.Dst] += p.Probability
		} else {
			out["-"] += p.Probability
		}
	}
	return out
}

func TestPodToClusterIPSpreadsOverEveryRealServerByWeight(t *testing.T) {
	sim, _ := ipvsSim(t)
	r := sim.Simulate(Packet{Proto: "tcp", Src: netip.MustParseAddrPort("172.16.0.99:40000"),
		Dst: netip.MustParseAddrPort("10.96.100.20:80"), InIface: "cbr0"})
	if r.Verdict != Accept {
		t.Fatalf("verdict %s %+v", r.Verdict, r)
	}
	got := dests(r)
	if len(got) != 2 || got["172.16.0.10:8080"] != 0.5 || got["172.16.1.11:8080"] != 0.5 {
		t.Fatalf("%v", got)
	}
	for _, p := range r.Paths {
		if p.Delivered != "ipvs" {
			t.Errorf("delivered %q", p.Delivered)
		}
	}
}

func TestDrainedRealServerGetsNoNewConnections(t *testing.T) {
	sim, lb := ipvsSim(t)
	dns := netip.MustParseAddrPort("10.96.0.10:53")
	r := sim.Simulate(Packet{Proto: "udp", Src: netip.MustParseAddrPort("172.16.0.99:5353"), Dst: dns, InIface: "cbr0"})
	got := dests(r)
	if len(got) != 2 || got["172.16.1.8:53"] != 0 {
		t.Fatalf("weight-0 server must not be a path: %v", got)
	}
	if n := lb.Note("udp", dns); !strings.Contains(n, "weight 0") {
		t.Fatalf("note %q", n)
	}
}

func TestVirtualServiceWithoutRealServerIsRejected(t *testing.T) {
	sim, _ := ipvsSim(t)
	r := sim.Simulate(Packet{Proto: "tcp", Src: netip.MustParseAddrPort("172.16.0.99:40000"),
		Dst: netip.MustParseAddrPort("10.96.100.40:80"), InIface: "cbr0"})
	if r.Verdict != Reject {
		t.Fatalf("%s %+v", r.Verdict, r.Paths)
	}
}

func TestVIPsOnKubeIPVS0AreLocal(t *testing.T) {
	sim, lb := ipvsSim(t)
	for _, a := range []string{"10.96.0.1", "10.96.100.50", "10.0.1.200"} {
		if !sim.IsLocal(netip.MustParseAddr(a)) {
			t.Errorf("%s should be local (kube-ipvs0)", a)
		}
	}
	if sim.IsLocal(netip.MustParseAddr("10.96.100.99")) {
		t.Error("10.96.100.99 is no virtual service on node-1")
	}
	if lb.Service("tcp", netip.MustParseAddrPort("10.96.100.50:80")) == nil || !strings.Contains(lb.Note("tcp", netip.MustParseAddrPort("10.96.100.50:80")), "persistent 10800") {
		t.Error("sticky service persistence note")
	}
}

func TestExternalClientToNodePortIsMasqueraded(t *testing.T) {
	sim, _ := ipvsSim(t)
	r := sim.Simulate(Packet{Proto: "tcp", Src: netip.MustParseAddrPort("10.0.0.9:50000"),
		Dst: netip.MustParseAddrPort("10.0.1.5:30080"), InIface: "eth0"})
	if r.Verdict != Accept || len(r.Paths) != 2 {
		t.Fatalf("%s %d paths", r.Verdict, len(r.Paths))
	}
	for _, p := range r.Paths {
		// KUBE-NODE-PORT marks it (set KUBE-NODE-PORT-TCP), KUBE-POSTROUTING masquerades
		if p.NAT == nil || !strings.HasPrefix(p.NAT.Src, "10.0.1.5:") {
			t.Errorf("path %+v not masqueraded to the node IP", p.NAT)
		}
	}
}

func TestCatchAllPortServiceAndNilTable(t *testing.T) {
	tb := ipvs.ParseString("-A -t 10.0.0.1:0 -s rr -p 300\n-a -t 10.0.0.1:0 -r 10.0.0.2:0 -g -w 1\n")
	lb := NewIPVS(tb, nil)
	b, ok := lb.Pick("tcp", netip.MustParseAddrPort("10.0.0.1:8443"))
	if !ok || len(b) != 1 || b[0].Addr != netip.MustParseAddrPort("10.0.0.2:8443") || b[0].Forward != "route" {
		t.Fatalf("%v %v", b, ok)
	}
	if IPVSFromTable(nil) != nil {
		t.Fatal("nil table must give a nil Balancer")
	}
}
