package netfilter

import (
	"bytes"
	"net/netip"
	"testing"

	"tkesnap/lab/netfilter/kubeproxygen"
	"tkesnap/parsers/iptables"
)

// BenchmarkTraceOnePacket10kServices traces a packet to the last of 10k
// kube-proxy Services (the worst case: it crosses the whole KUBE-SERVICES
// chain) after the ruleset is parsed and indexed. Goal: < 1 ms per trace.
func BenchmarkTraceOnePacket10kServices(b *testing.B) {
	var buf bytes.Buffer
	if _, err := kubeproxygen.Write(&buf, 10000); err != nil {
		b.Fatal(err)
	}
	rs, err := iptables.Parse(&buf)
	if err != nil {
		b.Fatal(err)
	}
	sim := New(rs, Options{LocalAddrs: []netip.Addr{netip.MustParseAddr("10.100.0.1")}})
	p := Packet{Proto: "tcp", Src: netip.MustParseAddrPort("10.100.0.2:40000"),
		Dst: netip.AddrPortFrom(netip.MustParseAddr(kubeproxygen.ClusterIP(9999)), 80), InIface: "eth0"}
	if res := sim.Simulate(p); len(res.Paths) != kubeproxygen.Endpoints || res.Verdict != Accept {
		b.Fatalf("%s %d paths", res.Verdict, len(res.Paths))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		sim.Simulate(p)
	}
}

// BenchmarkLazyParseAndTrace10kServices is trace --iptables without the
// process: a 10k-Service dump in memory parsed with chains on use, then
// one packet traced (the parse is most of it).
func BenchmarkLazyParseAndTrace10kServices(b *testing.B) {
	var buf bytes.Buffer
	if _, err := kubeproxygen.Write(&buf, 10000); err != nil {
		b.Fatal(err)
	}
	text := buf.String()
	p := Packet{Proto: "tcp", Src: netip.MustParseAddrPort("10.100.0.2:40000"),
		Dst: netip.AddrPortFrom(netip.MustParseAddr(kubeproxygen.ClusterIP(9999)), 80), InIface: "eth0"}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		rs, err := iptables.ParseString(text, iptables.Options{Limits: iptables.DefaultLimits(), Lazy: true})
		if err != nil {
			b.Fatal(err)
		}
		sim := New(rs, Options{LocalAddrs: []netip.Addr{netip.MustParseAddr("10.100.0.1")}})
		if res := sim.Simulate(p); len(res.Paths) != kubeproxygen.Endpoints || res.Verdict != Accept {
			b.Fatalf("%s %d paths", res.Verdict, len(res.Paths))
		}
	}
}
