package pcapflow

import (
	"net/netip"
	"testing"

	"tkesnap/parsers/pcap"
)

// BenchmarkProcess feeds established-connection segments of 1,000
// concurrent flows: the hot path must not allocate per packet.
func BenchmarkProcess(b *testing.B) {
	a := NewAnalyzer(DefaultLimits())
	const flows = 1000
	pkts := make([]pcap.Packet, flows*2)
	for i := range flows {
		cli := netip.AddrFrom4([4]byte{10, 244, byte(i >> 8), byte(i)})
		srv := netip.AddrFrom4([4]byte{10, 96, 0, 1})
		c := pcap.Packet{IPVersion: 4, Proto: pcap.ProtoTCP, Src: cli, Dst: srv, SrcPort: uint16(20000 + i), DstPort: 80, TCPFlags: pcap.SYN, Seq: 1000}
		pcap.SetL4(&c)
		s := c
		s.Src, s.Dst, s.SrcPort, s.DstPort, s.TCPFlags, s.Seq, s.Ack = srv, cli, 80, c.SrcPort, pcap.SYN|pcap.ACK, 5000, 1001
		pkts[2*i], pkts[2*i+1] = c, s
		a.Process(&pkts[2*i])
		a.Process(&pkts[2*i+1])
	}
	for i := range pkts {
		p := &pkts[i]
		p.TCPFlags = pcap.ACK | pcap.PSH
		p.PayloadLen = 100
		p.Seq++
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := &pkts[i%len(pkts)]
		p.Number = i
		p.Time = int64(i) * 1000
		p.Seq += 100
		p.IPID++
		a.Process(p)
	}
}
