package filter

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"tkesnap/parsers/pcap"
)

// BenchmarkDissectMatch is the per-packet cost `tkesnap pcap --filter`
// adds to reading and analysing a capture: the filter's Dissector (every
// layer: tunnels, ICMP quotes, IP reassembly, TCP analysis, HTTP
// reassembly) and one filter, on packets already decoded as the flow
// analysis decodes them, from captures with tunnels, IP fragments, HTTP
// and DNS; a fresh Dissector per pass over them. Steady state must not
// allocate per packet (only new conversations, streams and fragments
// do).
func BenchmarkDissectMatch(b *testing.B) {
	var pkts []pcap.Packet
	dec := pcap.NewDecoder()
	for _, name := range []string{"zeek-vxlan-encapsulated-http.pcap", "zeek-wikipedia-dns-nxdomain-http.pcap",
		"zeek-erspan-dns-servfail-nxdomain.pcap", "zeek-http-many-methods-400-403-405-411.pcap"} {
		data, err := os.ReadFile(filepath.Join(realPcap(b), name))
		if err != nil {
			b.Fatal(err)
		}
		r, err := pcap.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			var rec pcap.Record
			if err := r.Next(&rec); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
			rec.Data = bytes.Clone(rec.Data)
			pkts = append(pkts, pcap.Packet{})
			dec.DecodeInto(&rec, &pkts[len(pkts)-1])
		}
	}
	f, err := Compile(`tcp.port == 80 && http.request.uri contains "a" || udp.port == 53 || tcp.analysis.retransmission`)
	if err != nil {
		b.Fatal(err)
	}
	var d *Dissector
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(pkts)
		if j == 0 {
			d = NewDissector()
		}
		f.Match(d.Env(&pkts[j], nil))
	}
}
