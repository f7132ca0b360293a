package netfilter

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"tkesnap/parsers/ipset"
	"tkesnap/parsers/iptables"
)

func mustParse(t testing.TB, dump string) *iptables.Ruleset {
	t.Helper()
	rs, err := iptables.Parse(strings.NewReader(dump))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Problems) > 0 {
		t.Fatalf("problems: %v", rs.Problems)
	}
	return rs
}

var node = Options{
	LocalAddrs: []netip.Addr{netip.MustParseAddr("10.0.0.4")},
	IfaceAddrs: map[string]netip.Addr{"eth0": netip.MustParseAddr("10.0.0.4")},
}

func pkt(proto, src, dst string) Packet {
	return Packet{Proto: proto, Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst), InIface: "eth0"}
}

func steps(p Path) string {
	var s []string
	for _, st := range p.Steps {
		if st.Rule == 0 {
			continue
		}
		s = append(s, st.Chain+"#"+strconv.Itoa(st.Rule))
	}
	return strings.Join(s, " ")
}

const kubeProxy = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-A - [0:0]
:KUBE-SEP-1 - [0:0]
:KUBE-SEP-2 - [0:0]
-A PREROUTING -j KUBE-SERVICES
-A OUTPUT -j KUBE-SERVICES
-A POSTROUTING -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -j MASQUERADE --random-fully
-A KUBE-SERVICES -d 172.16.255.10/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-A
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -p tcp -m tcp --dport 30080 -j KUBE-MARK-MASQ
-A KUBE-NODEPORTS -p tcp -m tcp --dport 30080 -j KUBE-SVC-A
-A KUBE-SVC-A -m statistic --mode random --probability 0.5 -j KUBE-SEP-1
-A KUBE-SVC-A -j KUBE-SEP-2
-A KUBE-SEP-1 -p tcp -m tcp -j DNAT --to-destination 172.17.0.5:8080
-A KUBE-SEP-2 -p tcp -m tcp -j DNAT --to-destination 172.17.1.6:8080
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-SERVICES - [0:0]
-A INPUT -p tcp -m tcp --dport 30000:32767 -j DROP
-A FORWARD -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -j KUBE-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -j KUBE-SERVICES
-A KUBE-FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-SERVICES -d 172.16.255.20/32 -p tcp -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
COMMIT
`

func TestClusterIPWithTwoEndpointsForksIntoTwoDNATPathsOfHalfProbability(t *testing.T) {
	res := New(mustParse(t, kubeProxy), node).Simulate(pkt("tcp", "10.0.0.9:40000", "172.16.255.10:80"))
	if len(res.Paths) != 2 {
		t.Fatalf("paths %+v", res.Paths)
	}
	dsts := map[string]float64{}
	for _, p := range res.Paths {
		dsts[p.NAT.Dst] = p.Probability
	}
	if dsts["172.17.0.5:8080"] != 0.5 || dsts["172.17.1.6:8080"] != 0.5 {
		t.Errorf("dsts %v", dsts)
	}
	// pod-to-service without the masquerade mark is dropped by FORWARD
	// policy DROP (design §6): the CNI must add accept rules.
	if res.Verdict != Drop {
		t.Errorf("verdict %s", res.Verdict)
	}
}

func TestNodePortIsDNATedSoTheInputNodePortDropNeverFires(t *testing.T) {
	res := New(mustParse(t, kubeProxy), node).Simulate(pkt("tcp", "203.0.113.7:40000", "10.0.0.4:30080"))
	if res.Verdict != Accept {
		t.Fatalf("verdict %s paths %+v", res.Verdict, res.Paths)
	}
	for _, p := range res.Paths {
		if p.Delivered != "forward" || !p.NAT.RandomFully || !strings.HasPrefix(p.NAT.Src, "10.0.0.4:") {
			t.Errorf("path %+v nat %+v", p, p.NAT)
		}
		for _, s := range p.Steps {
			if s.Chain == "INPUT" && s.Rule == 1 {
				t.Errorf("INPUT NodePort DROP fired: %+v", s)
			}
		}
	}
	// A NodePort without a DNAT rule is dropped in INPUT.
	res = New(mustParse(t, kubeProxy), node).Simulate(pkt("tcp", "203.0.113.7:40000", "10.0.0.4:30090"))
	if res.Verdict != Drop || res.Paths[0].Steps[len(res.Paths[0].Steps)-1].Line != 35 {
		t.Errorf("verdict %s steps %+v", res.Verdict, res.Paths[0].Steps)
	}
}

func TestClusterIPWithoutEndpointsIsRejectedInForwardAndForLocalSendersInOutput(t *testing.T) {
	sim := New(mustParse(t, kubeProxy), node)
	res := sim.Simulate(pkt("tcp", "172.17.0.9:40000", "172.16.255.20:80"))
	last := res.Paths[0].Steps[len(res.Paths[0].Steps)-1]
	if res.Verdict != Reject || last.Hook != "FORWARD" || last.Chain != "KUBE-SERVICES" {
		t.Errorf("forwarded: %s %+v", res.Verdict, last)
	}
	p := pkt("tcp", "10.0.0.4:40000", "172.16.255.20:80")
	p.LocalOut = true
	res = sim.Simulate(p)
	last = res.Paths[0].Steps[len(res.Paths[0].Steps)-1]
	if res.Verdict != Reject || last.Hook != "OUTPUT" {
		t.Errorf("local: %s %+v", res.Verdict, last)
	}
}

func TestGotoChainEndingWithoutVerdictAppliesTheBaseChainPolicy(t *testing.T) {
	rs := mustParse(t, `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:MGMT - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -g MGMT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A MGMT -s 10.9.9.9/32 -j ACCEPT
COMMIT
`)
	res := New(rs, node).Simulate(pkt("tcp", "10.0.0.9:40000", "10.0.0.4:22"))
	// -j would come back and hit rule 2 (ACCEPT); -g skips the rest of INPUT.
	if res.Verdict != Drop {
		t.Fatalf("verdict %s %+v", res.Verdict, res.Paths)
	}
	st := res.Paths[0].Steps
	if st[len(st)-1].Rule != 0 || st[len(st)-1].Target != "DROP" {
		t.Errorf("last step %+v", st[len(st)-1])
	}
}

func TestNotrackSkipsNatAndNewNoLongerMatches(t *testing.T) {
	rs := mustParse(t, `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -d 169.254.20.10/32 -p udp -m udp --dport 53 -j NOTRACK
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 169.254.20.10/32 -j DNAT --to-destination 10.1.1.1
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate NEW -j DROP
COMMIT
`)
	opts := node
	opts.LocalAddrs = append(opts.LocalAddrs, netip.MustParseAddr("169.254.20.10"))
	res := New(rs, opts).Simulate(pkt("udp", "10.0.0.9:40000", "169.254.20.10:53"))
	if res.Verdict != Accept || res.Paths[0].NAT.Dst != "169.254.20.10:53" || res.Paths[0].Delivered != "local" {
		t.Errorf("%s %+v", res.Verdict, res.Paths[0])
	}
	// The same packet to port 54 is tracked: DNATed and forwarded.
	res = New(rs, opts).Simulate(pkt("udp", "10.0.0.9:40000", "169.254.20.10:54"))
	if res.Paths[0].NAT.Dst != "10.1.1.1:54" || res.Paths[0].Delivered != "forward" {
		t.Errorf("%+v", res.Paths[0])
	}
}

func TestUnknownOwnerMatchMakesTheVerdictAmbiguousAndCitesTheRule(t *testing.T) {
	rs := mustParse(t, `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A OUTPUT -d 168.63.129.16/32 -p tcp -m owner --uid-owner 0 -j ACCEPT
-A OUTPUT -d 168.63.129.16/32 -p tcp -j DROP
COMMIT
`)
	p := pkt("tcp", "10.0.0.4:40000", "168.63.129.16:80")
	p.LocalOut = true
	res := New(rs, node).Simulate(p)
	if res.Verdict != Ambiguous || len(res.Paths) != 2 {
		t.Fatalf("%s %+v", res.Verdict, res.Paths)
	}
	if len(res.UnknownMatches) != 1 || !strings.Contains(res.UnknownMatches[0], "line 5") || !strings.Contains(res.UnknownMatches[0], "-m owner --uid-owner 0") {
		t.Errorf("unknown %v", res.UnknownMatches)
	}
	if res.Paths[0].Verdict != Accept || res.Paths[1].Verdict != Drop {
		t.Errorf("fork verdicts %s %s", res.Paths[0].Verdict, res.Paths[1].Verdict)
	}
}

func TestKubeMarkDropOnlyMarksAndKubeFirewallDropsInInput(t *testing.T) {
	rs := mustParse(t, `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-MARK-DROP - [0:0]
-A PREROUTING -s 203.0.113.0/24 -j KUBE-MARK-DROP
-A KUBE-MARK-DROP -j MARK --set-xmark 0x8000/0x8000
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-FIREWALL - [0:0]
-A INPUT -j KUBE-FIREWALL
-A OUTPUT -j KUBE-FIREWALL
-A KUBE-FIREWALL -m mark --mark 0x8000/0x8000 -j DROP
COMMIT
`)
	sim := New(rs, node)
	if res := sim.Simulate(pkt("tcp", "203.0.113.5:1", "10.0.0.4:443")); res.Verdict != Drop {
		t.Errorf("to the node: %s", res.Verdict)
	}
	// Forwarded traffic carries the mark but never meets KUBE-FIREWALL.
	if res := sim.Simulate(pkt("tcp", "203.0.113.5:1", "10.8.0.4:443")); res.Verdict != Accept || res.Paths[0].Mark != 0x8000 {
		t.Errorf("forwarded: %s %+v", res.Verdict, res.Paths[0])
	}
}

func TestLocalSenderToLocalAddressLoopsThroughLoWithoutNatPrerouting(t *testing.T) {
	rs := mustParse(t, `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -i lo -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -j DNAT --to-destination 10.9.9.9
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
COMMIT
`)
	p := pkt("tcp", "10.0.0.4:40000", "10.0.0.4:8080")
	p.LocalOut = true
	res := New(rs, node).Simulate(p)
	if res.Verdict != Accept || res.Paths[0].NAT.Dst != "10.0.0.4:8080" {
		t.Fatalf("%s %+v", res.Verdict, res.Paths[0])
	}
	var chains []string
	for _, s := range res.Paths[0].Steps {
		chains = append(chains, s.Table+"/"+s.Chain)
	}
	want := "raw/OUTPUT nat/OUTPUT filter/OUTPUT nat/POSTROUTING raw/PREROUTING filter/INPUT"
	if got := strings.Join(chains, " "); got != want {
		t.Errorf("steps %s, want %s", got, want)
	}
}

func TestSetMatchUsesIpsetDataAndIsAmbiguousWithout(t *testing.T) {
	rs := mustParse(t, `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m set --match-set ALLOWED src -j ACCEPT
COMMIT
`)
	if res := New(rs, node).Simulate(pkt("tcp", "10.2.0.1:1", "10.8.0.1:80")); res.Verdict != Ambiguous || len(res.UnknownMatches) != 1 {
		t.Errorf("without ipset: %s %v", res.Verdict, res.UnknownMatches)
	}
	sv, _ := ipset.Parse(strings.NewReader("create ALLOWED hash:net family inet\nadd ALLOWED 10.2.0.0/16\n"))
	opts := node
	opts.Sets = IPSets(sv)
	sim := New(rs, opts)
	if res := sim.Simulate(pkt("tcp", "10.2.0.1:1", "10.8.0.1:80")); res.Verdict != Accept {
		t.Errorf("member: %s", res.Verdict)
	}
	if res := sim.Simulate(pkt("tcp", "10.3.0.1:1", "10.8.0.1:80")); res.Verdict != Drop {
		t.Errorf("non-member: %s", res.Verdict)
	}
}

func TestSessionAffinityRecentCheckIsUndecidableUnlessListsAreEmpty(t *testing.T) {
	rs := mustParse(t, `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -m recent --rcheck --seconds 10800 --reap --name SEP1 --mask 255.255.255.255 --rsource -j DNAT --to-destination 10.1.0.1
-A PREROUTING -j DNAT --to-destination 10.1.0.2
COMMIT
`)
	res := New(rs, node).Simulate(pkt("tcp", "10.2.0.1:1", "10.8.0.1:80"))
	if res.Verdict != Ambiguous || len(res.Paths) != 2 {
		t.Errorf("%s %d paths", res.Verdict, len(res.Paths))
	}
	opts := node
	opts.RecentEmpty = true
	res = New(rs, opts).Simulate(pkt("tcp", "10.2.0.1:1", "10.8.0.1:80"))
	if res.Verdict != Accept || len(res.Paths) != 1 || res.Paths[0].NAT.Dst != "10.1.0.2:80" {
		t.Errorf("%s %+v", res.Verdict, res.Paths)
	}
}

type fakeIPVS map[string][]Backend

func (f fakeIPVS) Pick(proto string, dst netip.AddrPort) ([]Backend, bool) {
	b, ok := f[proto+" "+dst.String()]
	return b, ok
}

func (f fakeIPVS) VIPs() []netip.Addr { return []netip.Addr{netip.MustParseAddr("172.16.255.30")} }

func TestIPVSVirtualServiceIsBalancedAfterFilterInputAndMasqueradedOnTheWayOut(t *testing.T) {
	rs := mustParse(t, `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -j MARK --set-xmark 0x4000/0x4000
-A POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -d 172.16.255.30/32 -p tcp -m tcp --dport 81 -j DROP
COMMIT
`)
	opts := node
	opts.Balancer = fakeIPVS{
		"tcp 172.16.255.30:80": {{Addr: netip.MustParseAddrPort("172.17.0.5:8080"), Weight: 1}, {Addr: netip.MustParseAddrPort("172.17.0.6:8080"), Weight: 3}},
		"tcp 172.16.255.30:82": {},
	}
	sim := New(rs, opts)
	res := sim.Simulate(pkt("tcp", "10.0.0.9:40000", "172.16.255.30:80"))
	if res.Verdict != Accept || len(res.Paths) != 2 || res.Paths[1].Probability != 0.75 {
		t.Fatalf("%s %+v", res.Verdict, res.Paths)
	}
	if p := res.Paths[1]; p.NAT.Dst != "172.17.0.6:8080" || p.NAT.Src != "10.0.0.4:40000" || p.Delivered != "ipvs" {
		t.Errorf("%+v %+v", p, p.NAT)
	}
	if res := sim.Simulate(pkt("tcp", "10.0.0.9:40000", "172.16.255.30:81")); res.Verdict != Drop {
		t.Errorf("filter INPUT runs before IPVS: %s", res.Verdict)
	}
	if res := sim.Simulate(pkt("tcp", "10.0.0.9:40000", "172.16.255.30:82")); res.Verdict != Reject {
		t.Errorf("no real server: %s", res.Verdict)
	}
}

func TestChainFanOutIsBoundedAndSaidToBeIncomplete(t *testing.T) {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	for i := 0; i < 40; i++ {
		b.WriteString(":C" + string(rune('A'+i%26)) + string(rune('a'+i/26)) + " - [0:0]\n")
	}
	name := func(i int) string { return "C" + string(rune('A'+i%26)) + string(rune('a'+i/26)) }
	b.WriteString("-A INPUT -j " + name(0) + "\n")
	for i := 0; i < 39; i++ {
		for k := 0; k < 3; k++ {
			b.WriteString("-A " + name(i) + " -j " + name(i+1) + "\n")
		}
	}
	b.WriteString("COMMIT\n")
	res := New(mustParse(t, b.String()), node).Simulate(pkt("tcp", "10.0.0.9:1", "10.0.0.4:22"))
	if res.Verdict != Ambiguous || !res.Truncated {
		t.Errorf("%s truncated=%v", res.Verdict, res.Truncated)
	}
}

func TestIP6TablesDumpRejectsWithICMPv6Match(t *testing.T) {
	rs := mustParse(t, `# Generated by ip6tables-save v1.8.7 on Mon
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT
-A INPUT -s fd00::/8 -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -j REJECT --reject-with tcp-reset
COMMIT
`)
	opts := Options{LocalAddrs: []netip.Addr{netip.MustParseAddr("fd00::4")}}
	sim := New(rs, opts)
	p := Packet{Proto: "icmp", Src: netip.MustParseAddrPort("[fd00::9]:0"), Dst: netip.MustParseAddrPort("[fd00::4]:0"), InIface: "eth0"}
	if res := sim.Simulate(p); res.Verdict != Accept {
		t.Errorf("ping6: %s %+v", res.Verdict, res.Paths)
	}
	p = Packet{Proto: "tcp", Src: netip.MustParseAddrPort("[fd00::9]:4000"), Dst: netip.MustParseAddrPort("[fd00::4]:22"), InIface: "eth0"}
	if res := sim.Simulate(p); res.Verdict != Accept {
		t.Errorf("ssh: %s", res.Verdict)
	}
	p.Src = netip.MustParseAddrPort("[2001:db8::9]:4000")
	if res := sim.Simulate(p); res.Verdict != Reject {
		t.Errorf("ssh from outside: %s", res.Verdict)
	}
	if rs.Family != 6 {
		t.Errorf("family %d", rs.Family)
	}
}

// Verified in a netns with both backends (a nat INPUT MARK rule and a
// security INPUT rule matching that mark; counters after one packet):
// legacy registers security at NF_IP_PRI_SECURITY (50) before nat INPUT
// (100), iptables-nft registers its security chains at priority 150.
func TestSecurityTableRunsBeforeNatInputWithLegacyAndAfterWithNft(t *testing.T) {
	dump := `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A INPUT -p udp -m udp --dport 9999 -j MARK --set-xmark 0x1/0xffffffff
COMMIT
*security
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p udp -m udp --dport 9999 -m mark --mark 0x1 -j ACCEPT
-A INPUT -p udp -m udp --dport 9999 -j ACCEPT
COMMIT
`
	for _, tc := range []struct {
		backend string
		rule    int
	}{{"legacy", 2}, {"nf_tables", 1}} {
		opts := node
		opts.Backend = tc.backend
		res := New(mustParse(t, dump), opts).Simulate(pkt("udp", "10.0.0.9:2000", "10.0.0.4:9999"))
		var sec int
		for _, s := range res.Paths[0].Steps {
			if s.Table == "security" {
				sec = s.Rule
			}
		}
		if sec != tc.rule {
			t.Errorf("%s: security INPUT rule %d matched, want %d", tc.backend, sec, tc.rule)
		}
	}
}

func TestPhysdevIsBridgedOnlyForFramesTheBridgeForwardsBetweenPorts(t *testing.T) {
	rs := mustParse(t, `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m physdev --physdev-is-bridged -j ACCEPT
-A FORWARD -m physdev --physdev-in veth+ -d 8.8.8.8/32 -j ACCEPT
COMMIT
`)
	sim := New(rs, node)
	p := pkt("tcp", "172.17.0.5:1", "172.17.0.6:80")
	p.InIface, p.Bridged, p.PhysIn, p.PhysOut = "cni0", true, "vethA", "vethB"
	if res := sim.Simulate(p); res.Verdict != Accept || res.Paths[0].Steps[0].Rule != 1 {
		t.Errorf("pod to pod on the bridge: %s %+v", res.Verdict, res.Paths[0].Steps)
	}
	p.Dst, p.PhysOut = netip.MustParseAddrPort("8.8.8.8:53"), ""
	if res := sim.Simulate(p); res.Verdict != Accept || res.Paths[0].Steps[0].Rule != 2 {
		t.Errorf("pod routed out: %s %+v", res.Verdict, res.Paths[0].Steps)
	}
	p.Bridged, p.PhysIn = false, ""
	if res := sim.Simulate(p); res.Verdict != Drop {
		t.Errorf("not bridged: %s", res.Verdict)
	}
}

func TestPodReachingItselfThroughAServiceOnABridgeDependsOnHairpinMode(t *testing.T) {
	rs := mustParse(t, `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 172.17.0.5:8080
COMMIT
`)
	opts := node
	opts.Route = func(netip.Addr, uint32) (string, bool) { return "cbr0", true }
	opts.BridgePort = func(a netip.Addr) (string, bool) {
		return map[string]string{"172.17.0.5": "vethA", "172.17.0.6": "vethB"}[a.String()], true
	}
	p := pkt("tcp", "172.17.0.5:40000", "10.96.0.10:80")
	p.InIface, p.Bridged, p.PhysIn = "cbr0", true, "vethA"
	res := New(rs, opts).Simulate(p)
	if res.Verdict != Ambiguous || len(res.Paths) != 2 || res.Paths[1].Verdict != Drop || len(res.UnknownMatches) != 1 {
		t.Fatalf("unknown hairpin mode: %s %+v %v", res.Verdict, res.Paths, res.UnknownMatches)
	}
	opts.HairpinMode = "on"
	if res := New(rs, opts).Simulate(p); res.Verdict != Accept || res.Paths[0].BridgePort != "vethA" {
		t.Errorf("hairpin on: %s %+v", res.Verdict, res.Paths)
	}
	opts.HairpinMode = "off"
	if res := New(rs, opts).Simulate(p); res.Verdict != Drop {
		t.Errorf("hairpin off: %s", res.Verdict)
	}
	p.Src = netip.MustParseAddrPort("172.17.0.6:40000")
	p.PhysIn = "vethB"
	if res := New(rs, opts).Simulate(p); res.Verdict != Accept || res.Paths[0].BridgePort != "vethA" {
		t.Errorf("other pod: %s %+v", res.Verdict, res.Paths)
	}
}

// Session affinity (-m recent --rcheck) cannot be decided from a dump and
// sits in front of the statistic branches: each undecided fork splits its
// parent's probability in half and marks the paths Undecided, so the
// paths' probabilities still sum to 1 (they summed to 2 when each side of
// an undecided fork kept the whole).
func TestUndecidedForksSplitTheProbabilityAndPathsSumToOne(t *testing.T) {
	rs := mustParse(t, `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SVC-X - [0:0]
:KUBE-SEP-A - [0:0]
:KUBE-SEP-B - [0:0]
-A PREROUTING -d 172.16.255.50/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-X
-A KUBE-SVC-X -m recent --name KUBE-SEP-A --mask 255.255.255.255 --rsource --rcheck --seconds 10800 --reap -j KUBE-SEP-A
-A KUBE-SVC-X -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-A
-A KUBE-SVC-X -j KUBE-SEP-B
-A KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination 172.17.0.5:8080
-A KUBE-SEP-B -p tcp -m tcp -j DNAT --to-destination 172.17.0.6:8080
COMMIT
`)
	res := New(rs, node).Simulate(pkt("tcp", "10.0.0.9:40000", "172.16.255.50:80"))
	if len(res.Paths) != 3 {
		t.Fatalf("paths %+v", res.Paths)
	}
	sum := 0.0
	for _, p := range res.Paths {
		sum += p.Probability
		if !p.Undecided || len(p.Assumptions) == 0 {
			t.Errorf("path to %s rests on the recent match but is not marked undecided: %+v", p.NAT.Dst, p)
		}
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("probabilities sum to %v, want 1: %+v", sum, res.Paths)
	}
	want := []float64{0.5, 0.25, 0.25} // recent hit; miss then statistic A; miss then B
	for i, p := range res.Paths {
		if math.Abs(p.Probability-want[i]) > 1e-9 {
			t.Errorf("path %d (%s): probability %v, want %v", i, p.NAT.Dst, p.Probability, want[i])
		}
	}
}

// steps names rules by their full number: rule 10 is "#10", not the rune
// after '9'.
func TestStepsNamesRulesFromTenUp(t *testing.T) {
	p := Path{Steps: []Step{{Chain: "A", Rule: 9}, {Chain: "B", Rule: 10}, {Chain: "C", Rule: 0}, {Chain: "D", Rule: 123}}}
	if got, want := steps(p), "A#9 B#10 D#123"; got != want {
		t.Errorf("steps = %q, want %q", got, want)
	}
}
