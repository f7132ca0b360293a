package pcapflow

import (
	"net/netip"
	"strings"
	"testing"

	"tkesnap/parsers/pcap"
)

// seg is one TCP segment of a scripted connection: ">" from the client
// (10.0.0.1:40000), "<" from the server (10.0.0.2:80); flags S A F R P,
// "D" adds a payload.
func script(t *testing.T, steps string) *Flow {
	t.Helper()
	a := NewAnalyzer(DefaultLimits())
	cli, srv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	cseq, sseq := uint32(1000), uint32(5000)
	cSyn, sSyn := false, false // a retried SYN keeps its sequence number
	for i, st := range strings.Fields(steps) {
		p := &pcap.Packet{Number: i + 1, Time: int64(i) * 1e6, IPVersion: 4, Proto: pcap.ProtoTCP, IPID: uint32(i)}
		pcap.SetL4(p)
		out := st[0] == '>'
		if out {
			p.Src, p.Dst, p.SrcPort, p.DstPort, p.Seq, p.Ack = cli, srv, 40000, 80, cseq, sseq
		} else {
			p.Src, p.Dst, p.SrcPort, p.DstPort, p.Seq, p.Ack = srv, cli, 80, 40000, sseq, cseq
		}
		for _, c := range st[1:] {
			switch c {
			case 'S':
				p.TCPFlags |= pcap.SYN
			case 'A':
				p.TCPFlags |= pcap.ACK
			case 'F':
				p.TCPFlags |= pcap.FIN
			case 'R':
				p.TCPFlags |= pcap.RST
			case 'D':
				p.TCPFlags |= pcap.PSH | pcap.ACK
				p.PayloadLen = 100
			}
		}
		adv := uint32(p.PayloadLen)
		if p.TCPFlags&pcap.FIN != 0 {
			adv++
		}
		if p.TCPFlags&pcap.SYN != 0 {
			if out && !cSyn {
				cSyn = true
				adv++
			} else if !out && !sSyn {
				sSyn = true
				adv++
			}
			if out {
				p.Seq = 1000
			} else {
				p.Seq = 5000
			}
		}
		if out {
			cseq += adv
		} else {
			sseq += adv
		}
		a.Process(p)
	}
	r := a.Finish()
	if len(r.Flows) != 1 {
		t.Fatalf("%s: %d flows", steps, len(r.Flows))
	}
	return r.Flows[0]
}

// Zeek's conn_state for every state, from scripted connections.
func TestEveryZeekConnState(t *testing.T) {
	cases := []struct{ steps, state, history string }{
		{">S", "S0", "S"},
		{">S >S >S", "S0", "S"},
		{">S <SA >A >D <A", "S1", "ShADa"},
		{">S <SA >A >D <D >F <FA >A", "SF", "ShADdFf"},
		{">S <RA", "REJ", "Sr"},
		{">S <SA >A >D >F", "S2", "ShADF"},
		{">S <SA >A <D <F", "S3", "ShAdf"},
		{">S <SA >A >D >R", "RSTO", "ShADR"},
		{">S <SA >A >D <R", "RSTR", "ShADr"},
		{">S >R", "RSTOS0", "SR"},
		{"<SA <R", "RSTRH", "^hr"},
		{">S >F", "SH", "SF"},
		{"<SA <F", "SHR", "^hf"},
		{">D <D", "OTH", "Dd"},
	}
	for _, c := range cases {
		f := script(t, c.steps)
		if f.State != c.state || f.History != c.history {
			t.Errorf("%-28s %s %s, want %s %s", c.steps, f.State, f.History, c.state, c.history)
		}
	}
}

func TestSynRetriesAreOneAttemptWithGaps(t *testing.T) {
	f := script(t, ">S >S >S")
	if f.SynCount != 3 || len(f.SynGaps()) != 2 || f.Retransmissions != 2 {
		t.Errorf("syns %d gaps %v rxmit %d", f.SynCount, f.SynGaps(), f.Retransmissions)
	}
}
