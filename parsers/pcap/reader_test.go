package pcap

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"tkesnap/internal/realdata"
)

// realDir is the shared real-world data (SOURCES.tsv says what each file
// is); tests skip when the checkout does not have it.
func realDir(t testing.TB) string {
	return realdata.Path(t, "")
}

// readAll decodes a whole capture file.
func readAll(t testing.TB, path string) (*Reader, []Packet) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return readBytes(t, data)
}

func readBytes(t testing.TB, data []byte) (*Reader, []Packet) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	d := NewDecoder()
	var out []Packet
	var rec Record
	for r.Next(&rec) == nil {
		p := *d.Decode(&rec)
		// detach byte slices from the reused buffer
		p.DNSQName = append([]byte(nil), p.DNSQName...)
		p.Payload = append([]byte(nil), p.Payload...)
		p.HTTPMethod, p.HTTPURI, p.HTTPHost = clone(p.HTTPMethod), clone(p.HTTPURI), clone(p.HTTPHost)
		out = append(out, p)
	}
	return r, out
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// capinfos recorded the link type and packet count of every shared
// capture in SOURCES.tsv; our reader must agree.
func TestRealCapturesMatchCapinfos(t *testing.T) {
	dir := realDir(t)
	f, err := os.Open(filepath.Join(dir, "SOURCES.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile(`capinfos OK: linktype=(\S+) packets=(\d+)`)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 6 || !strings.HasPrefix(cols[0], "pcap/") {
			continue
		}
		m := re.FindStringSubmatch(cols[5])
		if m == nil {
			continue
		}
		want, _ := strconv.Atoi(m[2])
		name := cols[0]
		t.Run(filepath.Base(name), func(t *testing.T) {
			r, pkts := readAll(t, filepath.Join(dir, name))
			if len(pkts) != want {
				t.Errorf("read %d packets, capinfos says %d", len(pkts), want)
			}
			if r.Problem() != "" {
				t.Errorf("clean file reported a problem: %s", r.Problem())
			}
			lt := m[1]
			if lt != "per-packet" && lt != "unknown" && len(pkts) > 0 && pkts[0].LinkType.String() != lt {
				t.Errorf("link type %s, capinfos says %s", pkts[0].LinkType, lt)
			}
		})
		n++
	}
	if n < 50 {
		t.Fatalf("only %d captures listed with capinfos results", n)
	}
}

func TestDecodesTheShapesTKENodesProduce(t *testing.T) {
	dir := filepath.Join(realDir(t), "pcap")
	cases := []struct {
		name  string
		file  string
		check func(t *testing.T, r *Reader, p []Packet)
	}{
		{"flannel VXLAN on UDP 8472 shows the pod addresses inside", "tcpdump-vxlan-udp8472-flannel-port-icmp.pcap", func(t *testing.T, r *Reader, p []Packet) {
			x := p[0]
			if x.NEncap != 1 || x.Encaps[0] != EncapVXLAN || x.Src != netip.MustParseAddr("192.168.203.3") || x.Dst != netip.MustParseAddr("192.168.203.5") || x.ICMPType != 8 {
				t.Errorf("packet 1: %+v", x)
			}
			if !x.Outer[0].IsValid() {
				t.Errorf("outer addresses lost")
			}
		}},
		{"tcpdump -i any (SLL2) keeps the interface index", "zeek-linux-sll2-ping-arp.pcap", func(t *testing.T, r *Reader, p []Packet) {
			if p[0].SLLIf <= 0 || p[0].IPVersion != 4 || p[2].IPVersion != 6 || p[2].ICMPType != 128 {
				t.Errorf("sll2: if=%d v=%d/%d type=%d", p[0].SLLIf, p[0].IPVersion, p[2].IPVersion, p[2].ICMPType)
			}
		}},
		{"nanosecond pcap with Linux cooked v1", "tcpdump-tcp-handshake-sll-nanosec.pcap", func(t *testing.T, r *Reader, p []Packet) {
			if p[0].Time%1000 == 0 && p[1].Time%1000 == 0 && p[2].Time%1000 == 0 {
				t.Errorf("nanosecond timestamps lost: %d %d %d", p[0].Time, p[1].Time, p[2].Time)
			}
			if p[0].TCPFlags != SYN || p[1].TCPFlags != SYN|ACK || p[0].DstPort != 80 {
				t.Errorf("handshake flags %x %x", p[0].TCPFlags, p[1].TCPFlags)
			}
		}},
		{"big-endian pcapng", "gopacket-pcapng-be-test001.pcapng", func(t *testing.T, r *Reader, p []Packet) {
			if len(p) != 4 || p[0].LinkType != LinkEthernet {
				t.Errorf("%d packets", len(p))
			}
		}},
		{"pcapng sections number interfaces globally", "gopacket-pcapng-le-test202-multi-section.pcapng", func(t *testing.T, r *Reader, p []Packet) {
			if len(r.Interfaces()) != 5 || p[7].Iface != 4 || p[7].LinkType != LinkNull || p[3].Iface != 2 {
				t.Errorf("ifaces %d, last packet iface %d", len(r.Interfaces()), p[7].Iface)
			}
			if c := r.Comments(); len(c) != 3 || c[2] != "test202 SHB-2" {
				t.Errorf("section comments: %q", c)
			}
			if r.Interfaces()[3].Dropped != 43 {
				t.Errorf("interface statistics: dropped %d, want 43", r.Interfaces()[3].Dropped)
			}
		}},
		{"NFLOG (iptables -j NFLOG) carries DNS answers", "tcpdump-nflog-dns.pcap", func(t *testing.T, r *Reader, p []Packet) {
			if !p[0].IsDNS || !p[0].DNSResponse || string(p[0].DNSQName) != "example.com" || p[0].Encaps[0] != EncapNFLOG {
				t.Errorf("nflog dns: %+v", p[0])
			}
		}},
		{"raw IPv4 link type", "zeek-tcp-timeout-with-pings-rawip.pcap", func(t *testing.T, r *Reader, p []Packet) {
			if p[0].IPVersion != 4 || p[0].Proto != ProtoTCP {
				t.Errorf("raw ip: %+v", p[0])
			}
		}},
		{"BSD loopback (DLT_NULL) with IPv6 HTTP", "gopacket-test-loopback-null.pcap", func(t *testing.T, r *Reader, p []Packet) {
			if string(p[0].HTTPMethod) != "GET" || string(p[0].HTTPHost) != "localhost:8080" || p[2].HTTPStatus != 200 {
				t.Errorf("http: %q %q %d", p[0].HTTPMethod, p[0].HTTPHost, p[2].HTTPStatus)
			}
		}},
		{"ICMP port unreachable quotes the UDP flow it rejects", "zeek-icmp-port-unreachable-udp.pcap", func(t *testing.T, r *Reader, p []Packet) {
			q := p[0].Quote
			if !q.Valid || q.Proto != ProtoUDP || q.Src != netip.MustParseAddr("192.168.1.1") || q.SrcPort != 53 || p[0].ICMPType != 3 || p[0].ICMPCode != 3 {
				t.Errorf("quote: %+v", q)
			}
		}},
		{"ICMP unreachable without a quoted datagram", "zeek-icmp-destunreach-no-context.pcap", func(t *testing.T, r *Reader, p []Packet) {
			if p[0].Quote.Valid || !p[0].IsICMPError() {
				t.Errorf("quote should be absent: %+v", p[0].Quote)
			}
		}},
		{"Geneve inside VXLAN", "zeek-geneve-vxlan-dns-truncated.pcap", func(t *testing.T, r *Reader, p []Packet) {
			if p[0].NEncap != 2 || p[0].Encaps[0] != EncapGeneve || p[0].Encaps[1] != EncapVXLAN || p[0].DstPort != 53 {
				t.Errorf("nested tunnels: %v %d", p[0].Encaps, p[0].DstPort)
			}
		}},
		{"ERSPAN mirrored DNS", "zeek-erspan-dns-servfail-nxdomain.pcap", func(t *testing.T, r *Reader, p []Packet) {
			n := 0
			for _, x := range p {
				if x.IsDNS && x.DNSRcode == 2 {
					n++
				}
			}
			if n == 0 {
				t.Errorf("no SERVFAIL decoded inside ERSPAN")
			}
		}},
		{"gzip-compressed pcapng", "zeek-udp-many-unanswered-calls.pcapng.gz", func(t *testing.T, r *Reader, p []Packet) {
			if !r.Gzip() || r.Format() != "pcapng" || len(p) != 189 {
				t.Errorf("gzip %v format %s packets %d", r.Gzip(), r.Format(), len(p))
			}
		}},
		{"DNS over TCP", "tcpdump-dns-over-tcp.pcap", func(t *testing.T, r *Reader, p []Packet) {
			n := 0
			for _, x := range p {
				if x.IsDNS {
					n++
				}
			}
			if n != 2 {
				t.Errorf("DNS messages over TCP: %d, want query and answer", n)
			}
		}},
		{"GSO super-packet larger than the MTU is not corrupt", "tcpdump-gso-ipv4-vxlan-ipv4.pcap", func(t *testing.T, r *Reader, p []Packet) {
			if p[0].Malformed != "" || p[0].Proto != ProtoTCP || p[0].Encaps[0] != EncapVXLAN {
				t.Errorf("gso: %q proto %d", p[0].Malformed, p[0].Proto)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, p := readAll(t, filepath.Join(dir, c.file))
			if len(p) == 0 {
				t.Fatal("no packets")
			}
			c.check(t, r, p)
		})
	}
}

// A capture cut anywhere keeps every whole packet before the cut, the
// partial last one marked Cut, and says where it ends.
func TestTruncatedCaptureKeepsWhatWasRead(t *testing.T) {
	dir := filepath.Join(realDir(t), "pcap")
	for _, file := range []string{"zeek-http-get.pcap", "zeek-pcapng-multi-interface-dns.pcapng"} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		_, full := readBytes(t, data)
		for cut := len(data) - 1; cut > len(data)-400 && cut > 64; cut -= 7 {
			r, got := readBytes(t, data[:cut])
			if r.Problem() == "" && (len(got) == len(full) || got[len(got)-1].Cut) {
				// Only a cut exactly between records looks like a clean end.
				t.Fatalf("%s cut at %d: no problem reported", file, cut)
			}
			if len(got) > len(full) || len(got) < len(full)-4 {
				t.Fatalf("%s cut at %d: %d packets of %d", file, cut, len(got), len(full))
			}
			for i := range got {
				if i < len(got)-1 && got[i].Cut {
					t.Fatalf("%s: packet %d marked cut before the end", file, i+1)
				}
			}
		}
	}
}

func TestGzipPcapAndBothByteOrders(t *testing.T) {
	dir := filepath.Join(realDir(t), "pcap")
	data, err := os.ReadFile(filepath.Join(dir, "zeek-http-get.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	_, want := readBytes(t, data)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(data)
	w.Close()
	_, got := readBytes(t, gz.Bytes())
	if len(got) != len(want) {
		t.Fatalf("gzip: %d packets, want %d", len(got), len(want))
	}
	be := swapPcap(data)
	_, got = readBytes(t, be)
	if len(got) != len(want) {
		t.Fatalf("big-endian: %d packets, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Time != want[i].Time || got[i].Src != want[i].Src || got[i].Seq != want[i].Seq {
			t.Fatalf("big-endian packet %d differs", i+1)
		}
	}
}

// swapPcap rewrites a little-endian pcap as big-endian.
func swapPcap(b []byte) []byte {
	out := append([]byte(nil), b...)
	sw := func(o, n int) {
		for i := 0; i < n/2; i++ {
			out[o+i], out[o+n-1-i] = out[o+n-1-i], out[o+i]
		}
	}
	sw(0, 4)
	sw(4, 2)
	sw(6, 2)
	for _, o := range []int{8, 12, 16, 20} {
		sw(o, 4)
	}
	off := 24
	for off+16 <= len(out) {
		incl := int(uint32(b[off+8]) | uint32(b[off+9])<<8 | uint32(b[off+10])<<16 | uint32(b[off+11])<<24)
		for i := 0; i < 4; i++ {
			sw(off+4*i, 4)
		}
		off += 16 + incl
	}
	return out
}

func TestNotACapture(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("hello world, not a capture")} {
		if _, err := NewReader(bytes.NewReader(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	_ = io.EOF
}

// if_tsresol: 10^-n (ms, µs, ns, ps) or 2^-n ticks, plus if_tsoffset.
func TestPcapngTimestampResolutions(t *testing.T) {
	cases := []struct {
		ifc  Interface
		ts   uint64
		want int64
	}{
		{Interface{exp: 6}, 1_700_000_000_123_456, 1_700_000_000_123_456_000},
		{Interface{exp: 3}, 1_700_000_000_123, 1_700_000_000_123_000_000},
		{Interface{exp: 9}, 1_700_000_000_123_456_789, 1_700_000_000_123_456_789},
		{Interface{exp: 12}, 1_000_000_000_123_456, 1_000_000_000_123},
		{Interface{pow2: true, exp: 10}, 1024 * 3, 3_000_000_000},
		{Interface{pow2: true, exp: 1}, 3, 1_500_000_000},
		{Interface{exp: 6, offset: 10e9}, 1_000_000, 11e9},
	}
	for _, c := range cases {
		if got := c.ifc.toNanos(c.ts); got != c.want {
			t.Errorf("%+v ts %d: %d, want %d", c.ifc, c.ts, got, c.want)
		}
	}
}
