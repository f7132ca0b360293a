package pcapflow

import (
	"bytes"
	"net/netip"
	"syscall"
	"testing"

	"tkesnap/lab/pcap/capgen"
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

// BenchmarkAnalyze is the whole analysis of the capture make bench
// measures (lab/pcap/capgen: thousands of concurrent connections of
// HTTP, DNS, ping, refused and unanswered SYNs, VXLAN), read from memory:
// reading, decoding, flow tracking, expiry and the result, per packet.
func BenchmarkAnalyze(b *testing.B) {
	const packets = 200_000
	var buf bytes.Buffer
	if _, err := capgen.Write(&buf, packets, 300, 1); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		r, _, err := Analyze(bytes.NewReader(data), DefaultLimits(), nil)
		if err != nil || r.Packets != packets {
			b.Fatalf("%v: %d packets", err, r.Packets)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*packets), "ns/packet")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*packets), "cpu-ns/packet")
}

// cpuTime is the process's user+system CPU time in ns: with the decoder
// on a second goroutine the wall time per packet hides what both cores
// spend, and the goal (make bench) is CPU.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
