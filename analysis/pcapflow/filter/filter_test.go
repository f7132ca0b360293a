package filter

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"tkesnap/analysis/pcapflow"
	"tkesnap/internal/realdata"
	"tkesnap/parsers/pcap"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func realPcap(t testing.TB) string {
	return realdata.Path(t, "pcap")
}

// matching runs a filter over a capture and returns the frame numbers.
func matching(t testing.TB, path, expr string) []int {
	t.Helper()
	f, err := Compile(expr)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var got []int
	d := NewDissector()
	_, _, err = pcapflow.Analyze(fh, pcapflow.DefaultLimits(), func(p *pcap.Packet, info *pcapflow.PacketInfo) {
		if f.Match(d.Env(p, info)) {
			got = append(got, p.Number)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestGuideFilters(t *testing.T) {
	dir := realPcap(t)
	// http.request.uri=="/mytest" is the guide's form; the shared capture
	// has /regular_file.html in packet 4.
	if got := matching(t, filepath.Join(dir, "zeek-http-404-responses.pcap"), `http.request.uri=="/regular_file.html"`); !reflect.DeepEqual(got, []int{4}) {
		t.Errorf("uri filter: %v", got)
	}
	if got := matching(t, filepath.Join(dir, "zeek-http-404-responses.pcap"), `tcp contains "regular_file"`); !reflect.DeepEqual(got, []int{4}) {
		t.Errorf("contains filter: %v", got)
	}
}

func TestSemantics(t *testing.T) {
	dir := realPcap(t)
	nmap := filepath.Join(dir, "zeek-nmap-syn-refused-and-unanswered.pcap")
	cases := []struct {
		name, file, expr string
		want             []int
	}{
		{"SYN-ACKs by flags", "zeek-http-get.pcap", `tcp.flags.syn == 1 and tcp.flags.ack == 1`, []int{2}},
		{"not and parentheses", "zeek-http-get.pcap", `tcp.flags.syn==1 && !(tcp.flags.ack==1)`, []int{1}},
		{"flag field alone tests existence, as in Wireshark", "tcpdump-tcp-handshake-sll-nanosec.pcap", `tcp.flags.syn`, []int{1, 2, 3}},
		{"CIDR on ip.addr", "zeek-icmp-net-unreachable.pcap", `ip.addr == 10.0.0.0/8`, []int{1}},
		{"CIDR that does not match", "zeek-icmp-net-unreachable.pcap", `ip.addr == 192.168.0.0/16`, nil},
		{"!= is all-not-equal", "tcpdump-dns-udp-query-response.pcap", `ip.addr != 192.168.1.11`, nil},
		// Each 404's body arrives two segments after its status line: the
		// response belongs to the frame that completes it (tshark: 8 19 30 41).
		{"in with a range", "zeek-http-404-responses.pcap", `http.response.code in {400..499 500}`, []int{8, 19, 30, 41}},
		{"frame.number comparisons", "zeek-http-get.pcap", `frame.number >= 13 || frame.number < 2`, []int{1, 13, 14}},
		{"dns rcode", "zeek-dns-long-connection-incl-nxdomain.pcap", `dns.flags.rcode == 3`, []int{20}},
		{"matches is a regular expression", "zeek-dns-refused.pcap", `dns.qry.name matches "(?i)^dhcp\\."`, []int{2, 3}},
		{"icmp type and code", "zeek-icmp-port-unreachable-udp.pcap", `icmp.type == 3 and icmp.code == 3`, []int{1}},
		{"udp port either side", "tcpdump-dns-udp-query-response.pcap", `udp.port == 53`, []int{1, 2}},
		{"byte string contains", "zeek-http-404-responses.pcap", `tcp.payload contains 47:45:54`, []int{4, 15, 26, 37}},
		{"time relative", "zeek-tcp-retransmit-timeout.pcapng", `frame.time_relative > 100`, []int{3}},
		{"retransmission", "zeek-tcp-retransmit-timeout.pcapng", `tcp.analysis.retransmission`, []int{3}},
	}
	_ = nmap
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := matching(t, filepath.Join(dir, c.file), c.expr)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s: got %v, want %v", c.expr, got, c.want)
			}
		})
	}
}

func TestErrorsNameTheColumn(t *testing.T) {
	cases := []struct {
		expr string
		col  int
	}{
		{`tcp.prot == 80`, 1},
		{`ip.src == 10.0.0.300`, 11},
		{`tcp.port == 80 and`, 19},
		{`tcp.port = 80`, 10},
		{`(tcp.port == 80`, 16},
		{`http.request.uri == "/x`, 21},
		{`tcp.port == "a"`, 13},
		{`frame.len contains "x"`, 20},
		{`tcp == 1`, 5},
		{`dns.qry.name matches "("`, 22},
		{`tcp.port in {80`, 16},
		{``, 1},
		{`ip.addr == 10.0.0.0/33`, 12},
		{`tcp.port == 80 ip.src == 1.2.3.4`, 16},
	}
	for _, c := range cases {
		_, err := Compile(c.expr)
		e, ok := err.(*Error)
		if !ok {
			t.Errorf("%q: error %v", c.expr, err)
			continue
		}
		if e.Col != c.col {
			t.Errorf("%q: column %d (%s), want %d", c.expr, e.Col, e.Msg, c.col)
		}
	}
}

// On these captures our filters select exactly the frames tshark selects
// (default preferences: TCP and HTTP reassembly, IP defragmentation on),
// frame for frame: no known disagreement is tolerated here. tshark's
// answers are its recording (testdata/tshark-frames.json, see
// TestFramesAgreeWithTshark; make test-tshark asks it live).
func TestAgreesWithTshark(t *testing.T) {
	dir := realPcap(t)
	files := []string{"zeek-http-404-responses.pcap", "zeek-nmap-syn-refused-and-unanswered.pcap", "zeek-dns-long-connection-incl-nxdomain.pcap",
		"zeek-pop3-syn-refused.pcap", "zeek-http-get.pcap", "zeek-icmp-port-unreachable-udp.pcap", "zeek-wikipedia-dns-nxdomain-http.pcap",
		"tcpdump-dns-over-tcp.pcap", "zeek-tcp-timeout-with-pings-rawip.pcap", "zeek-linux-sll2-ping-arp.pcap",
		"zeek-tcp-retransmit-timeout.pcapng", "zeek-tls-expired-cert.pcap"}
	exprs := []string{
		`tcp.flags.syn == 1 && tcp.flags.ack == 0`,
		`tcp.flags.reset == 1`,
		`ip.addr == 192.168.0.0/16`,
		`tcp.port in {80, 110, 443}`,
		`dns.flags.rcode == 3`,
		`dns.qry.name contains "wiki"`,
		`udp.port == 53 and not dns.flags.response == 1`,
		`http.request.method == "GET"`,
		`http.response.code >= 400`,
		`icmp.type == 3 or icmp.type == 8`,
		`tcp contains "HTTP"`,
		`frame.len > 100 && !tcp`,
		`ip.src == 192.168.1.71 and tcp.dstport == 80`,
		`icmpv6`,
		`tcp.len > 0`,
		`tcp.analysis.retransmission`,
	}
	var rec recorded
	data, err := os.ReadFile(recordedPath)
	if err == nil {
		err = json.Unmarshal(data, &rec)
	}
	if err != nil {
		t.Fatalf("%s: %v", recordedPath, err)
	}
	agree := 0
	for _, e := range exprs {
		same := true
		for _, f := range files {
			want, ok := rec.Captures[f][e]
			if !ok {
				t.Fatalf("the recording lacks %s on %s: add it to diffFilters and re-record with -update", e, f)
			}
			if got := matching(t, filepath.Join(dir, f), e); !slices.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
				t.Errorf("%q on %s: ours %v, %s %v", e, f, got, rec.Tshark, want)
				same = false
			}
		}
		if same {
			agree++
		}
	}
	t.Logf("filters agreeing with %s on %d captures: %d of %d", rec.Tshark, len(files), agree, len(exprs))
}

// Every layer of a frame counts, as in Wireshark: the outer and inner
// headers of a VXLAN packet both give ip.addr and a udp layer, a field
// matches if any occurrence does. Expected frames follow from how
// fuzzFrames builds them.
func TestEveryLayerCounts(t *testing.T) {
	cases := []struct {
		expr string
		want []int
	}{
		{`tcp.port == 80 && http.request.uri == "/x" && http.host == "h"`, []int{1}},
		{`dns.qry.name == "a.example" && udp.port == 5353 && ipv6.addr == fd00::2`, []int{2}},
		{`ip.addr == 192.168.0.1 && ip.addr == 10.244.1.1 && icmp.type == 8 && vxlan.vni == 1`, []int{3}},
		{`udp.port == 4789`, []int{3}},
		{`udp`, []int{2, 3}},
		{`ip.src == 10.244.0.1`, []int{3}},
		{`ip.src != 10.244.0.1`, []int{1}}, // != is "no occurrence equals"
		{`!ip && !ipv6`, []int{4}},
		{`frame contains "ping"`, []int{3}},
	}
	for _, c := range cases {
		f, err := Compile(c.expr)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		d := NewDissector()
		var got []int
		for _, p := range fuzzFrames(t) {
			if f.Match(d.Env(p, nil)) {
				got = append(got, p.Number)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: frames %v, want %v", c.expr, got, c.want)
		}
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{`tcp contains "lbtest"`, `http.request.uri=="/mytest"`, `ip.addr == 10.0.0.0/8 && !(tcp.port in {80 443..445})`,
		`dns.qry.name matches "a.*"`, `frame.time_relative >= 1.5 or udp`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := Compile(s)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("%q: error of type %T", s, err)
			}
			return
		}
		if flt.String() != s {
			t.Fatalf("String() = %q, compiled from %q", flt.String(), s)
		}
		// a filter and its negation disagree on every packet, and a
		// filter and-ed with itself agrees with it
		not, err := Compile("!(" + s + ")")
		if err != nil {
			t.Fatalf("%q compiles but its negation does not: %v", s, err)
		}
		twice, err := Compile("(" + s + ") && (" + s + ")")
		if err != nil {
			t.Fatalf("%q compiles but (s) && (s) does not: %v", s, err)
		}
		d := NewDissector()
		for _, p := range fuzzFrames(t) {
			e := d.Env(p, nil)
			m := flt.Match(e)
			if not.Match(e) == m {
				t.Fatalf("%q and its negation both say %v on frame %d", s, m, p.Number)
			}
			if twice.Match(e) != m {
				t.Fatalf("%q and (s) && (s) disagree on frame %d", s, p.Number)
			}
		}
	})
}

// fuzzFrames are the frames FuzzCompile's filters are evaluated on: TCP
// over IPv4 with an HTTP request, DNS over UDP over IPv6, ICMP over
// VXLAN, and a frame that is not IP.
func fuzzFrames(t testing.TB) []*pcap.Packet {
	ser := func(ls ...gopacket.SerializableLayer) []byte {
		sb := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			t.Fatal(err)
		}
		return bytes.Clone(sb.Bytes())
	}
	eth := func(et layers.EthernetType) *layers.Ethernet {
		return &layers.Ethernet{SrcMAC: advMAC, DstMAC: advMAC, EthernetType: et}
	}
	ip4 := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 1, ACK: true, PSH: true, Window: 100}
	_ = tcp.SetNetworkLayerForChecksum(ip4)
	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: net.ParseIP("fd00::1"), DstIP: net.ParseIP("fd00::2")}
	udp := &layers.UDP{SrcPort: 5353, DstPort: 53}
	_ = udp.SetNetworkLayerForChecksum(ip6)
	dns := &layers.DNS{ID: 7, Questions: []layers.DNSQuestion{{Name: []byte("a.example"), Type: layers.DNSTypeA, Class: layers.DNSClassIN}}}
	outer := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{192, 168, 0, 1}, DstIP: net.IP{192, 168, 0, 2}}
	vx := &layers.UDP{SrcPort: 50000, DstPort: 4789}
	_ = vx.SetNetworkLayerForChecksum(outer)
	inner := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: net.IP{10, 244, 0, 1}, DstIP: net.IP{10, 244, 1, 1}}
	frames := [][]byte{
		ser(eth(layers.EthernetTypeIPv4), ip4, tcp, gopacket.Payload("GET /x HTTP/1.1\r\nHost: h\r\n\r\n")),
		ser(eth(layers.EthernetTypeIPv6), ip6, udp, dns),
		ser(eth(layers.EthernetTypeIPv4), outer, vx, &layers.VXLAN{ValidIDFlag: true, VNI: 1}, eth(layers.EthernetTypeIPv4), inner,
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}, gopacket.Payload("ping")),
		ser(eth(layers.EthernetTypeARP), gopacket.Payload(make([]byte, 28))),
	}
	var out []*pcap.Packet
	for i, f := range frames {
		out = append(out, &pcap.Packet{Number: i + 1, Time: int64(i) * 1e6, LinkType: pcap.LinkEthernet, Frame: f, Len: len(f), CapLen: len(f)})
	}
	return out
}
