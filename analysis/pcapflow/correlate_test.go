package pcapflow

import (
	"net/netip"
	"testing"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestCorrelationFollowsAConnectionThroughSNAT(t *testing.T) {
	// The pod sends a SYN (pod netns), the node's eth0 shows it leaving
	// MASQUERADEd to the node IP, the peer node sees it arrive.
	pod := &Point{Name: "pod", First: 0, Last: 10e9, Sigs: []Sig{{Proto: 6, Orig: ap("172.16.0.5:40000"), Resp: ap("10.0.2.7:80"), ISN: 1234, HasISN: true, Time: 1e9, Packet: 3, Answered: true}}}
	node := &Point{Name: "node", First: 0, Last: 10e9, Sigs: []Sig{{Proto: 6, Orig: ap("10.0.1.5:40000"), Resp: ap("10.0.2.7:80"), ISN: 1234, HasISN: true, Time: 1e9 + 2e5, Packet: 9, Answered: true}}}
	js := Correlate([]*Point{pod, node})
	if len(js) != 1 || !js[0].NATed || len(js[0].Seen) != 2 || len(js[0].Missing) != 0 {
		t.Fatalf("%+v", js)
	}
}

func TestCorrelationSaysWhereTheSYNDisappeared(t *testing.T) {
	a := &Point{Name: "node-a eth0", First: 0, Last: 10e9, Sigs: []Sig{{Proto: 6, Orig: ap("172.16.0.5:40000"), Resp: ap("172.16.1.9:8080"), ISN: 99, HasISN: true, Time: 1e9, Packet: 1}}}
	b := &Point{Name: "node-b eth0", First: 0, Last: 10e9, Local: map[netip.Addr]bool{netip.MustParseAddr("172.16.1.9"): true},
		Sigs: []Sig{{Proto: 6, Orig: ap("10.0.0.1:5555"), Resp: ap("172.16.1.9:8080"), ISN: 7, HasISN: true, Time: 2e9, Packet: 4, Answered: true}}}
	js := Correlate([]*Point{a, b})
	var lost *Journey
	for i := range js {
		if js[i].Seen[0].Sig.ISN == 99 {
			lost = &js[i]
		}
	}
	if lost == nil || len(lost.Missing) != 1 || lost.Missing[0] != 1 {
		t.Fatalf("%+v", js)
	}
	// A capture that was not running at the time is not blamed.
	b.First, b.Last = 20e9, 30e9
	for _, j := range Correlate([]*Point{a, b}) {
		if len(j.Missing) > 0 {
			t.Fatalf("blamed a capture that was not running: %+v", j)
		}
	}
}

func TestSameISNLaterIsAnotherConnection(t *testing.T) {
	a := &Point{Name: "a", First: 0, Last: 1e12, Sigs: []Sig{{Proto: 6, Orig: ap("1.1.1.1:1"), Resp: ap("2.2.2.2:2"), ISN: 5, HasISN: true, Time: 0}}}
	b := &Point{Name: "b", First: 0, Last: 1e12, Sigs: []Sig{{Proto: 6, Orig: ap("3.3.3.3:1"), Resp: ap("4.4.4.4:2"), ISN: 5, HasISN: true, Time: 500e9}}}
	for _, j := range Correlate([]*Point{a, b}) {
		if len(j.Seen) > 1 {
			t.Fatalf("joined connections minutes apart: %+v", j)
		}
	}
}

func TestWithoutOwnersOtherConnectionsShowThePath(t *testing.T) {
	// Plain files: two SYNs to the same service leave A; B saw the first
	// arrive (so B is on the path), not the second.
	a := &Point{Name: "a", First: 0, Last: 10e9, Sigs: []Sig{
		{Proto: 6, Orig: ap("10.0.0.1:1000"), Resp: ap("10.0.9.9:443"), ISN: 1, HasISN: true, Time: 1e9, Packet: 1, Answered: true},
		{Proto: 6, Orig: ap("10.0.0.1:1001"), Resp: ap("10.0.9.9:443"), ISN: 2, HasISN: true, Time: 2e9, Packet: 5}}}
	b := &Point{Name: "b", First: 0, Last: 10e9, Sigs: []Sig{
		{Proto: 6, Orig: ap("10.0.0.1:1000"), Resp: ap("10.0.9.9:443"), ISN: 1, HasISN: true, Time: 1e9 + 1e6, Packet: 1, Answered: true}}}
	js := Correlate([]*Point{a, b})
	if len(js) != 2 || len(js[0].Missing) != 0 || len(js[1].Missing) != 1 || js[1].Seen[0].Sig.ISN != 2 {
		t.Fatalf("%+v", js)
	}
}
