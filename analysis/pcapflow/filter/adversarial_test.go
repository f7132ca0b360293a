package filter

import (
	"bytes"
	"net"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// adversarialPath is a capture made to separate per-segment filtering
// from Wireshark's reassembly: an HTTP request line split over two
// segments, a header split, pipelined requests in one segment and across
// segments, a retransmitted request, a response whose body arrives
// later, a chunked response, a response ended by FIN, HTTP bytes on a
// port that is not HTTP's, a word only in a TCP option (header bytes),
// IPv4 fragments of a TCP segment and of a UDP datagram and IPv6
// fragments of a UDP datagram with the word across the fragment boundary,
// and a connection whose SYN is sent twice and whose segments arrive out
// of order, again and as a keep-alive (TCP analysis). writeAdversarial
// makes it (run with -update to rewrite it).
const adversarialPath = "testdata/adversarial.pcap"

type advWriter struct {
	w   *pcapgo.Writer
	buf *bytes.Buffer
	t0  time.Time
	n   int
	id  uint16
}

func (a *advWriter) write(t testing.TB, ls ...gopacket.SerializableLayer) {
	t.Helper()
	sb := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	a.n++
	b := sb.Bytes()
	if err := a.w.WritePacket(gopacket.CaptureInfo{Timestamp: a.t0.Add(time.Duration(a.n) * 10 * time.Millisecond), CaptureLength: len(b), Length: len(b)}, b); err != nil {
		t.Fatal(err)
	}
}

var (
	advCli = net.IP{10, 1, 0, 1}
	advSrv = net.IP{10, 1, 0, 2}
	advMAC = net.HardwareAddr{2, 0, 0, 0, 0, 1}
)

func (a *advWriter) eth() *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: advMAC, DstMAC: advMAC, EthernetType: layers.EthernetTypeIPv4}
}

func (a *advWriter) ip(src, dst net.IP, proto layers.IPProtocol) *layers.IPv4 {
	a.id++
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: a.id, Protocol: proto, SrcIP: src, DstIP: dst}
}

// conn is one TCP connection; seq numbers advance as data is sent.
type conn struct {
	a              *advWriter
	cport, sport   uint16
	cseq, sseq     uint32
	opts           []layers.TCPOption
	fragmentNextAt int // split the next client segment into IP fragments at this payload offset
}

func (c *conn) seg(t testing.TB, fromClient bool, flags string, data string) {
	t.Helper()
	src, dst, sp, dp, seq, ack := advCli, advSrv, c.cport, c.sport, c.cseq, c.sseq
	if !fromClient {
		src, dst, sp, dp, seq, ack = advSrv, advCli, c.sport, c.cport, c.sseq, c.cseq
	}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: seq, Ack: ack, Window: 502, Options: c.opts}
	for _, f := range flags {
		switch f {
		case 'S':
			tcp.SYN = true
		case 'A':
			tcp.ACK = true
		case 'P':
			tcp.PSH = true
		case 'F':
			tcp.FIN = true
		case 'R':
			tcp.RST = true
		}
	}
	ip := c.a.ip(src, dst, layers.IPProtocolTCP)
	_ = tcp.SetNetworkLayerForChecksum(ip)
	n := uint32(len(data))
	if tcp.SYN || tcp.FIN {
		n++
	}
	if fromClient {
		c.cseq += n
	} else {
		c.sseq += n
	}
	if fromClient && c.fragmentNextAt > 0 {
		at := c.fragmentNextAt
		c.fragmentNextAt = 0
		sb := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp, gopacket.Payload(data)); err != nil {
			t.Fatal(err)
		}
		c.a.fragments(t, ip, sb.Bytes()[20:], at)
		return
	}
	c.a.write(t, c.a.eth(), ip, tcp, gopacket.Payload(data))
}

// fragments writes an IPv4 datagram's payload as two fragments, the
// first carrying the transport header and at bytes of payload (rounded
// up to 8).
func (a *advWriter) fragments(t testing.TB, ip *layers.IPv4, payload []byte, at int) {
	t.Helper()
	cut := (at + 20 + 7) / 8 * 8
	if cut >= len(payload) {
		t.Fatalf("fragment cut %d beyond payload %d", cut, len(payload))
	}
	first := *ip
	first.Flags = layers.IPv4MoreFragments
	second := *ip
	second.FragOffset = uint16(cut / 8)
	a.write(t, a.eth(), &first, gopacket.Payload(payload[:cut]))
	a.write(t, a.eth(), &second, gopacket.Payload(payload[cut:]))
}

// udp6Fragments writes a UDP datagram over IPv6 as two fragments, the
// first with the UDP header and at bytes of payload (a multiple of 8
// with the header).
func (a *advWriter) udp6Fragments(t testing.TB, payload []byte, at int) {
	t.Helper()
	src, dst := net.ParseIP("fd00::1"), net.ParseIP("fd00::2")
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: src, DstIP: dst}
	udp := &layers.UDP{SrcPort: 5001, DstPort: 9998}
	_ = udp.SetNetworkLayerForChecksum(ip)
	sb := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	dgram := sb.Bytes()[40:] // UDP header and payload
	cut := (8 + at) / 8 * 8
	a.id++
	for i, part := range [][]byte{dgram[:cut], dgram[cut:]} {
		off := 0
		if i == 1 {
			off = cut
		}
		fh := make([]byte, 8)
		fh[0] = byte(layers.IPProtocolUDP)
		mf := uint16(0)
		if i == 0 {
			mf = 1
		}
		fh[2], fh[3] = byte((uint16(off)|mf)>>8), byte(uint16(off)|mf)
		fh[4], fh[5], fh[6], fh[7] = 0, 0, byte(a.id>>8), byte(a.id)
		hdr := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolIPv6Fragment, SrcIP: src, DstIP: dst}
		a.write(t, &layers.Ethernet{SrcMAC: advMAC, DstMAC: advMAC, EthernetType: layers.EthernetTypeIPv6}, hdr,
			gopacket.Payload(append(fh, part...)))
	}
}

func (c *conn) open(t testing.TB) {
	c.seg(t, true, "S", "")
	c.seg(t, false, "SA", "")
	c.seg(t, true, "A", "")
}

func writeAdversarial(t testing.TB, path string) {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	a := &advWriter{w: w, buf: &buf, t0: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}

	// 1. request line split over two segments; the response's body
	//    arrives in a later segment than its status line.
	c := &conn{a: a, cport: 40001, sport: 80, cseq: 1000, sseq: 5000}
	c.open(t)
	c.seg(t, true, "PA", "GET /myt")
	c.seg(t, true, "PA", "est HTTP/1.1\r\nHost: lb.example\r\n\r\n")
	c.seg(t, false, "PA", "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\n12345")
	c.seg(t, false, "PA", "67890")
	// 2. a header split: the second segment completes the request
	c.seg(t, true, "PA", "GET /hdr HTTP/1.1\r\nHo")
	c.seg(t, true, "PA", "st: b.example\r\n\r\n")
	c.seg(t, false, "PA", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	// 3. two pipelined requests in one segment, then one that starts in
	//    the same segment as a complete one and ends in the next
	c.seg(t, true, "PA", "GET /one HTTP/1.1\r\nHost: c.example\r\n\r\nGET /two HTTP/1.1\r\nHost: c.example\r\n\r\n")
	c.seg(t, true, "PA", "GET /three HTTP/1.1\r\nHost: c.example\r\n\r\nGET /fo")
	c.seg(t, true, "PA", "ur HTTP/1.1\r\nHost: c.example\r\n\r\n")
	// 4. a chunked response in three segments
	c.seg(t, false, "PA", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
	c.seg(t, false, "PA", "lo\r\n")
	c.seg(t, false, "PA", "0\r\n\r\n")
	// 5. a request, then the same segment again (retransmission)
	seq := c.cseq
	c.seg(t, true, "PA", "POST /retx HTTP/1.1\r\nHost: lbtest.example\r\nContent-Length: 3\r\n\r\nabc")
	c.cseq = seq
	c.seg(t, true, "PA", "POST /retx HTTP/1.1\r\nHost: lbtest.example\r\nContent-Length: 3\r\n\r\nabc")
	c.seg(t, false, "PA", "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
	c.seg(t, true, "FA", "")
	c.seg(t, false, "FA", "")
	c.seg(t, true, "A", "")

	// 6. a response without length, ended by the server's FIN (8080)
	d := &conn{a: a, cport: 40002, sport: 8080, cseq: 7000, sseq: 9000}
	d.open(t)
	d.seg(t, true, "PA", "GET /close HTTP/1.0\r\n\r\n")
	d.seg(t, false, "PA", "HTTP/1.0 500 Internal Server Error\r\n\r\npart one ")
	d.seg(t, false, "PA", "part two")
	d.seg(t, false, "FA", "")
	d.seg(t, true, "FA", "")

	// 7. HTTP bytes on a port Wireshark does not decode as HTTP
	e := &conn{a: a, cport: 40003, sport: 2222, cseq: 100, sseq: 200}
	e.open(t)
	e.seg(t, true, "PA", "GET /mytest HTTP/1.1\r\nHost: lbtest\r\n\r\n")
	e.seg(t, true, "RA", "")

	// 8. the word only in the TCP header (an experimental option, RFC
	//    6994 kind 254), then a request whose IP datagram is fragmented
	//    with "lbtest" across the fragment boundary
	f := &conn{a: a, cport: 40004, sport: 80, cseq: 300, sseq: 400}
	f.opts = []layers.TCPOption{{OptionType: 254, OptionLength: 10, OptionData: []byte("lbtest\x00\x00")}}
	f.open(t)
	f.opts = nil
	f.fragmentNextAt = 16
	f.seg(t, true, "PA", "GET /frag?q=xxxxlbtest HTTP/1.1\r\nHost: frag.example\r\n\r\n")
	f.seg(t, false, "PA", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	f.seg(t, true, "RA", "")

	// 9. a UDP datagram in two fragments, "lbtest" across the boundary
	ip := a.ip(advCli, advSrv, layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: 5000, DstPort: 9999}
	_ = udp.SetNetworkLayerForChecksum(ip)
	sb := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, udp,
		gopacket.Payload("0123456789abcdefghijlbtest-and-more-bytes-after-it")); err != nil {
		t.Fatal(err)
	}
	a.fragments(t, ip, sb.Bytes()[20:], 10)

	// 10. an IPv6 UDP datagram in two fragments (RFC 8200 §4.5),
	//     "lbtest" across the boundary
	a.udp6Fragments(t, []byte("0123456789abcdefghijklmnopqrstuvwxyz-lbtest-and-more-after-it"), 48)

	// 11. TCP analysis: a SYN sent again (retransmission), a segment
	//     after a gap, the missing one soon after (out of order, not a
	//     retransmission), the same one again later (retransmission), a
	//     keep-alive (one byte before nextseq: not a retransmission)
	g := &conn{a: a, cport: 40005, sport: 80, cseq: 7000, sseq: 8000}
	g.seg(t, true, "S", "")
	g.cseq = 7000
	g.seg(t, true, "S", "")
	g.seg(t, false, "SA", "")
	g.seg(t, true, "A", "")
	base := g.cseq
	g.seg(t, true, "PA", "aaaaaaaaaa")
	g.cseq = base + 20
	g.seg(t, true, "PA", "cccccccccc")
	g.cseq = base + 10
	g.seg(t, true, "PA", "bbbbbbbbbb")
	g.cseq = base + 10
	a.n += 100 // a second later
	g.seg(t, true, "PA", "bbbbbbbbbb")
	g.cseq = base + 29
	g.seg(t, true, "A", "c")
	g.seg(t, false, "A", "")

	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
