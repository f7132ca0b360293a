package pcapflow

import (
	"net/netip"
	"slices"
	"testing"

	"tkesnap/parsers/pcap"
)

// The expiry wheel gives a flow's memory back once it has timed out, at
// the first packet a tick after its timeout, whatever other traffic
// keeps coming; and a flow that is still alive stays. Each case: one
// connection's packets, then a packet of another flow at a later time;
// the connection must be gone (Live 1: only the other flow) or not.
func TestWheelExpiresAFlowWhenItTimesOut(t *testing.T) {
	cli, srv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	tcp := func(at float64, out bool, flags uint8) *pcap.Packet {
		p := &pcap.Packet{Time: int64(at * 1e9), IPVersion: 4, Proto: pcap.ProtoTCP, Src: cli, Dst: srv, SrcPort: 40000, DstPort: 80, TCPFlags: flags, Seq: 1000, Ack: 5000}
		if !out {
			p.Src, p.Dst, p.SrcPort, p.DstPort, p.Seq, p.Ack = srv, cli, 80, 40000, 5000, 1001
		}
		pcap.SetL4(p)
		return p
	}
	dns := func(at float64, answer bool) *pcap.Packet {
		p := &pcap.Packet{Time: int64(at * 1e9), IPVersion: 4, Proto: pcap.ProtoUDP, Src: cli, Dst: srv, SrcPort: 40001, DstPort: 53, IsDNS: true, DNSID: 7, DNSQName: []byte("a.example.")}
		if answer {
			p.Src, p.Dst, p.SrcPort, p.DstPort, p.DNSResponse, p.DNSAnswers = srv, cli, 53, 40001, true, 1
		}
		pcap.SetL4(p)
		return p
	}
	const S, A, F, R = pcap.SYN, pcap.ACK, pcap.FIN, pcap.RST
	handshake := []*pcap.Packet{tcp(0, true, S), tcp(0.001, false, S|A), tcp(0.002, true, A)}
	closed := append(handshake[:3:3], tcp(1, true, F|A), tcp(1.001, false, F|A), tcp(1.002, true, A))
	for _, c := range []struct {
		name string
		pkts []*pcap.Packet
		at   float64 // time of the other flow's packet
		gone bool
	}{
		{"closed, within the close delay", closed, 5.5, false},
		{"closed, close delay over, same tick", closed, 6.01, false}, // 1.002+5 = 6.002: slot of tick 7
		{"closed, close delay over", closed, 7.01, true},
		{"reset, close delay over", append(handshake[:3:3], tcp(2, false, R)), 8.01, true},
		{"SYN unanswered, 39 s", []*pcap.Packet{tcp(0, true, S)}, 39.5, false},
		{"SYN unanswered, 40 s", []*pcap.Packet{tcp(0, true, S)}, 41.01, true},
		{"established, idle 299 s", handshake, 299, false},
		{"established, idle 300 s", handshake, 301.01, true},
		{"DNS answered, 5 s", []*pcap.Packet{dns(0, false), dns(0.01, true)}, 6.02, true},
		{"DNS unanswered, 59 s", []*pcap.Packet{dns(0, false)}, 59, false},
		{"DNS unanswered, 60 s", []*pcap.Packet{dns(0, false)}, 61.01, true},
		{"a late packet keeps it", append(handshake[:3:3], tcp(250, true, A)), 301.01, false},
		{"time going back expires nothing early", append(closed[:6:6], tcp(0.5, true, A)), 5.9, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := NewAnalyzer(DefaultLimits())
			for i, p := range c.pkts {
				p.Number = i + 1
				a.Process(p)
			}
			other := &pcap.Packet{Number: len(c.pkts) + 1, Time: int64(c.at * 1e9), IPVersion: 4, Proto: pcap.ProtoICMP, HasICMP: true, ICMPType: 8, ICMPID: 9,
				Src: netip.MustParseAddr("10.0.9.1"), Dst: netip.MustParseAddr("10.0.9.2")}
			a.Process(other)
			if got := a.Live() == 1; got != c.gone {
				t.Errorf("live flows %d at %.3f s: want the connection gone=%v", a.Live(), c.at, c.gone)
			}
			if r := a.Finish(); r.FlowCount != 2 {
				t.Errorf("%d flows, want 2", r.FlowCount)
			}
		})
	}
}

// An ICMP error quoting a connection that has timed out is about no live
// connection, whether or not its memory was given back yet: the flow
// does not count it (here a second SYN 50 s later is a new, unanswered
// connection).
func TestICMPErrorAfterTimeoutIsNotTheFlows(t *testing.T) {
	cli, srv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	for _, sweep := range []int{0, 1} {
		a := NewAnalyzer(DefaultLimits())
		a.sweepMin = sweep
		syn := &pcap.Packet{Number: 1, Time: 0, IPVersion: 4, Proto: pcap.ProtoTCP, Src: cli, Dst: srv, SrcPort: 40000, DstPort: 80, TCPFlags: pcap.SYN, Seq: 1000}
		pcap.SetL4(syn)
		a.Process(syn)
		icmp := &pcap.Packet{Number: 2, Time: 40.5e9, IPVersion: 4, Proto: pcap.ProtoICMP, HasICMP: true, ICMPType: 3, ICMPCode: 1,
			Src: netip.MustParseAddr("10.0.0.254"), Dst: cli,
			Quote: pcap.Quote{Valid: true, Src: cli, Dst: srv, Proto: pcap.ProtoTCP, SrcPort: 40000, DstPort: 80, Seq: 1000}}
		a.Process(icmp)
		r := a.Finish()
		if len(r.ICMP) != 1 || r.ICMP[0].FlowPacket != 0 {
			t.Errorf("sweep %d: ICMP events %+v: want one, quoting no live flow", sweep, r.ICMP)
		}
		if len(r.Unanswered) != 1 {
			t.Errorf("sweep %d: %d unanswered SYNs, want 1 (the error came after the flow timed out)", sweep, len(r.Unanswered))
		}
	}
}

// Unanswered DNS queries grouped by server and name give the same issue
// whatever order their flows ended in (the flow table's order at the end
// of a capture is random per run): named after the earliest query, its
// client, the earliest packets ascending.
func TestDNSNoResponseGroupIndependentOfOrder(t *testing.T) {
	srv := netip.MustParseAddr("10.96.0.10")
	q := func(client string, name string, pkts ...int) DNSIssue {
		return DNSIssue{Server: srv, Client: netip.MustParseAddr(client), Name: name, Count: len(pkts), Packets: pkts}
	}
	var many []DNSIssue
	for i := range 30 {
		many = append(many, q("10.0.0.9", "b.example.", 1000-10*i))
	}
	for _, c := range []struct {
		name    string
		queries []DNSIssue
		want    DNSIssue
	}{
		{"two queries", []DNSIssue{q("10.0.0.2", "A.example.", 700, 701), q("10.0.0.1", "a.example.", 5021)},
			DNSIssue{Server: srv, Client: netip.MustParseAddr("10.0.0.2"), Name: "A.example.", Count: 3, Packets: []int{700, 701, 5021}}},
		{"three, the earliest last", []DNSIssue{q("10.0.0.3", "a.example.", 783525), q("10.0.0.2", "a.example.", 702197), q("10.0.0.1", "a.example.", 5021)},
			DNSIssue{Server: srv, Client: netip.MustParseAddr("10.0.0.1"), Name: "a.example.", Count: 3, Packets: []int{5021, 702197, 783525}}},
		{"more than 20 packets: the earliest 20", many,
			DNSIssue{Server: srv, Client: netip.MustParseAddr("10.0.0.9"), Name: "b.example.", Count: 30,
				Packets: []int{710, 720, 730, 740, 750, 760, 770, 780, 790, 800, 810, 820, 830, 840, 850, 860, 870, 880, 890, 900}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, order := range [][]int{identity(len(c.queries)), reversed(len(c.queries))} {
				r := &Result{}
				for _, i := range order {
					e := c.queries[i]
					e.Packets = append([]int(nil), e.Packets...)
					r.addDNSNoResponse(DefaultLimits(), e)
				}
				if len(r.DNSNoResponse) != 1 {
					t.Fatalf("%d issues, want 1", len(r.DNSNoResponse))
				}
				got := r.DNSNoResponse[0]
				got.time = 0
				if got.Client != c.want.Client || got.Name != c.want.Name || got.Count != c.want.Count || !slices.Equal(got.Packets, c.want.Packets) {
					t.Errorf("order %v: %+v, want %+v", order, got, c.want)
				}
			}
		})
	}
}

func identity(n int) []int {
	o := make([]int, n)
	for i := range o {
		o[i] = i
	}
	return o
}

func reversed(n int) []int {
	o := identity(n)
	slices.Reverse(o)
	return o
}
