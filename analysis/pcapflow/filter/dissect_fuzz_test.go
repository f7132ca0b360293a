package filter

import (
	"os"
	"path/filepath"
	"testing"

	"tkesnap/parsers/pcap"
)

// FuzzDissect feeds arbitrary frames (and a second frame, so that
// reassembly and TCP analysis carry state) to the filter's Dissector
// under every link type it reads. Properties: no panic; at most
// maxLayers layers; a TCP or UDP payload lies inside its layer's bytes;
// a filter and its negation disagree.
func FuzzDissect(f *testing.F) {
	for _, name := range []string{"zeek-vxlan-encapsulated-http.pcap", "zeek-erspan-dns-servfail-nxdomain.pcap",
		"zeek-icmp-port-unreachable-udp.pcap", "zeek-geneve-vxlan-dns-truncated.pcap"} {
		data, err := os.ReadFile(filepath.Join(realPcap(f), name))
		if err != nil {
			f.Fatal(err)
		}
		// a pcap's first record starts after the 24-byte file header and
		// the 16-byte record header
		if len(data) > 40 {
			f.Add(uint16(pcap.LinkEthernet), data[40:min(len(data), 600)], data[40:min(len(data), 200)])
		}
	}
	for _, fr := range fuzzFrames(f) {
		f.Add(uint16(pcap.LinkEthernet), fr.Frame, fr.Frame)
	}
	links := []pcap.LinkType{pcap.LinkEthernet, pcap.LinkSLL, pcap.LinkSLL2, pcap.LinkNull, pcap.LinkLoop, pcap.LinkRaw,
		pcap.LinkIPv4, pcap.LinkIPv6, pcap.LinkNFLOG}
	flt, err := Compile(`tcp.port == 80 || udp || icmp.type == 3 || ip.addr == 10.0.0.0/8 || dns.flags.response == 1 || http.request || tcp.analysis.retransmission`)
	if err != nil {
		f.Fatal(err)
	}
	not, err := Compile(`!(tcp.port == 80 || udp || icmp.type == 3 || ip.addr == 10.0.0.0/8 || dns.flags.response == 1 || http.request || tcp.analysis.retransmission)`)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, link uint16, a, b []byte) {
		lt := links[int(link)%len(links)]
		d := NewDissector()
		for i, fr := range [][]byte{a, b, a} {
			p := &pcap.Packet{Number: i + 1, Time: int64(i) * 1000, LinkType: lt, Frame: fr, Len: len(fr), CapLen: len(fr)}
			e := d.Env(p, nil)
			if len(e.ls) > maxLayers {
				t.Fatalf("%d layers", len(e.ls))
			}
			for _, l := range e.ls {
				if (l.kind == lTCP || l.kind == lUDP) && len(l.payload) > 0 && !within(l.payload, l.data) {
					t.Fatalf("layer %d: payload outside the layer's bytes", l.kind)
				}
			}
			if flt.Match(e) == not.Match(e) {
				t.Fatalf("a filter and its negation agree on frame %d", i+1)
			}
		}
	})
}

// within reports whether s lies inside b's memory.
func within(s, b []byte) bool {
	if len(s) == 0 {
		return true
	}
	if len(b) == 0 {
		return false
	}
	for i := 0; i+len(s) <= len(b); i++ {
		if &b[i] == &s[0] {
			return true
		}
	}
	return false
}
