// Package capgen writes the synthetic but realistic capture of `make
// bench` (lab/pcap/gen) and of the pcap Go benchmarks: thousands of
// concurrent connections as a node's eth0 would see them — HTTP over TCP
// (handshake, request, response of one or more segments, FIN exchange;
// some 404/504), SYNs retried and never answered, SYNs refused by RST,
// DNS over UDP (some NXDOMAIN, some unanswered), ICMP echo, and pod
// traffic inside VXLAN (UDP 8472).
package capgen

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
)

// Write writes a classic pcap of n packets to w from conc concurrent
// sessions (300: about 8k packets/s, a busy node); the same seed writes
// the same bytes. It returns the number of sessions started.
func Write(w io.Writer, n, conc int, seed uint64) (sessions int, err error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	g := &gen{w: bw, r: rand.New(rand.NewPCG(seed, 7)), now: 1_700_000_000e9}
	g.header()
	for i := 0; i < conc; i++ {
		g.start(g.now + int64(g.r.IntN(1e9)))
	}
	for g.count < n {
		s := heap.Pop(&g.q).(*session)
		if s.at > g.now {
			g.now = s.at
		}
		if s.step(g) {
			heap.Push(&g.q, s)
		} else {
			g.start(g.now + int64(g.r.IntN(20e6)))
		}
	}
	return g.sessions, bw.Flush()
}

// jsonBody is what an API answers: text, as real bodies are.
var jsonBody = func() []byte {
	var b []byte
	for i := 0; len(b) < 2000; i++ {
		b = fmt.Appendf(b, `{"id":%d,"name":"item-%d","price":%d.99,"tags":["a","b"]},`, i, i, i%97)
	}
	return b
}()

type gen struct {
	w        *bufio.Writer
	r        *rand.Rand
	now      int64
	count    int
	sessions int
	q        queue
	buf      [2048]byte
	port     uint16
}

type kind int

const (
	kHTTP kind = iota
	kSynDrop
	kRefused
	kDNS
	kPing
	kVXLAN
)

type session struct {
	kind       kind
	at         int64
	i          int
	cli, srv   [4]byte
	cport      uint16
	sport      uint16
	cseq, sseq uint32
	status     string
	segs       int
	id         uint16
}

type queue []*session

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].at < q[j].at }
func (q queue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)        { *q = append(*q, x.(*session)) }
func (q *queue) Pop() any          { o := *q; x := o[len(o)-1]; *q = o[:len(o)-1]; return x }

// addr picks from a pool as a node sees it: some thousands of pod IPs
// talking to a few hundred Services/pods, not a random /16 (tcpdump's
// address-string cache degrades to linear search with 100k addresses).
func (g *gen) addr(net byte, pool int) [4]byte {
	i := g.r.IntN(pool)
	return [4]byte{10, net, byte(i / 250), byte(1 + i%250)}
}

func (g *gen) start(at int64) {
	g.sessions++
	g.port++
	if g.port < 10000 {
		g.port = 10000
	}
	s := &session{at: at, cli: g.addr(244, 2000), srv: g.addr(96, 300), cport: g.port, sport: 80,
		cseq: g.r.Uint32(), sseq: g.r.Uint32(), id: uint16(g.r.Uint32())}
	switch x := g.r.IntN(100); {
	case x < 62:
		s.kind = kHTTP
		s.status = "200 OK"
		if y := g.r.IntN(100); y < 3 {
			s.status = "404 Not Found"
		} else if y < 4 {
			s.status = "504 Gateway Timeout"
		}
		s.segs = 1 + g.r.IntN(4)
	case x < 66:
		s.kind = kSynDrop
		s.sport = 8080
	case x < 70:
		s.kind = kRefused
		s.sport = 9090
	case x < 88:
		s.kind = kDNS
		s.sport = 53
		s.srv = [4]byte{10, 96, 0, 10}
	case x < 93:
		s.kind = kPing
	default:
		s.kind = kVXLAN
		s.sport = 8080
		s.segs = 1 + g.r.IntN(3)
	}
	heap.Push(&g.q, s)
}

const (
	fFIN = 1
	fSYN = 2
	fRST = 4
	fPSH = 8
	fACK = 16
)

// step writes the session's next packet; false when the session is over.
func (s *session) step(g *gen) bool {
	rtt := int64(200e3 + g.r.IntN(800e3))
	i := s.i
	s.i++
	switch s.kind {
	case kHTTP, kVXLAN:
		c2s := func(flags uint8, payload []byte) { g.tcp(s, true, flags, payload) }
		s2c := func(flags uint8, payload []byte) { g.tcp(s, false, flags, payload) }
		switch {
		case i == 0:
			c2s(fSYN, nil)
		case i == 1:
			s2c(fSYN|fACK, nil)
		case i == 2:
			c2s(fACK, nil)
		case i == 3:
			c2s(fPSH|fACK, []byte(fmt.Sprintf("GET /api/v1/items/%d HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n", s.id)))
		case i == 4:
			s2c(fACK, nil)
		case i == 5:
			body := jsonBody[:300+g.r.IntN(1000)]
			s2c(fPSH|fACK, append([]byte("HTTP/1.1 "+s.status+"\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n"), body...))
		case i < 5+s.segs:
			s2c(fACK, jsonBody[:1400])
		case i == 5+s.segs:
			c2s(fACK, nil)
		case i == 6+s.segs:
			c2s(fFIN|fACK, nil)
		case i == 7+s.segs:
			s2c(fFIN|fACK, nil)
		case i == 8+s.segs:
			c2s(fACK, nil)
			return false
		}
		s.at = g.now + rtt/2
		return true
	case kSynDrop:
		// Linux retries a SYN after 1 s, 2 s, 4 s (tcp_syn_retries).
		g.tcp(s, true, fSYN, nil)
		s.cseq-- // same ISN on every retry
		if i == 3 {
			return false
		}
		s.at = g.now + int64(1e9)<<i
		return true
	case kRefused:
		if i == 0 {
			g.tcp(s, true, fSYN, nil)
			s.at = g.now + rtt
			return true
		}
		s.sseq = 0
		g.tcpAck(s, false, fRST|fACK, s.cseq)
		return false
	case kDNS:
		name := fmt.Sprintf("svc-%d.default.svc.cluster.local", s.id%500)
		if i == 0 {
			g.dns(s, true, name, 0)
			if g.r.IntN(50) == 0 {
				return false // never answered
			}
			s.at = g.now + rtt
			return true
		}
		rc := byte(0)
		if s.id%20 == 0 {
			rc = 3
		}
		g.dns(s, false, name, rc)
		return false
	case kPing:
		g.icmp(s, i%2 == 0, uint16(i/2))
		if i == 7 {
			return false
		}
		if i%2 == 0 {
			s.at = g.now + rtt
		} else {
			s.at = g.now + 1e9
		}
		return true
	}
	return false
}

// ---- packet writers ----

func (g *gen) header() {
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 262144)
	binary.LittleEndian.PutUint32(h[20:], 1)
	g.w.Write(h[:])
}

func (g *gen) record(frame []byte) {
	var h [16]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(g.now/1e9))
	binary.LittleEndian.PutUint32(h[4:], uint32(g.now%1e9/1e3))
	binary.LittleEndian.PutUint32(h[8:], uint32(len(frame)))
	binary.LittleEndian.PutUint32(h[12:], uint32(len(frame)))
	g.w.Write(h[:])
	g.w.Write(frame)
	g.count++
}

func eth(b []byte) int {
	copy(b[0:6], []byte{2, 0, 0, 0, 0, 1})
	copy(b[6:12], []byte{2, 0, 0, 0, 0, 2})
	b[12], b[13] = 0x08, 0x00
	return 14
}

func ip4(b []byte, src, dst [4]byte, proto byte, payload int, id uint16) int {
	b[0], b[1] = 0x45, 0
	binary.BigEndian.PutUint16(b[2:], uint16(20+payload))
	binary.BigEndian.PutUint16(b[4:], id)
	b[6], b[7], b[8], b[9] = 0x40, 0, 64, proto
	b[10], b[11] = 0, 0
	copy(b[12:16], src[:])
	copy(b[16:20], dst[:])
	return 20
}

func (g *gen) tcp(s *session, c2s bool, flags uint8, payload []byte) {
	ack := s.sseq
	if !c2s {
		ack = s.cseq
	}
	if flags&fACK == 0 {
		ack = 0
	}
	g.writeTCP(s, c2s, flags, ack, payload)
}

func (g *gen) tcpAck(s *session, c2s bool, flags uint8, ack uint32) {
	g.writeTCP(s, c2s, flags, ack, nil)
}

func (g *gen) writeTCP(s *session, c2s bool, flags uint8, ack uint32, payload []byte) {
	b := g.buf[:]
	o := 0
	src, dst, sp, dp, seq := s.cli, s.srv, s.cport, s.sport, &s.cseq
	if !c2s {
		src, dst, sp, dp, seq = s.srv, s.cli, s.sport, s.cport, &s.sseq
	}
	inner := 20 + 20 + len(payload)
	if s.kind == kVXLAN {
		// outer Ethernet/IPv4/UDP 8472/VXLAN, node to node
		o += eth(b[o:])
		on := [4]byte{192, 168, src[2], 1}
		dn := [4]byte{192, 168, dst[2], 2}
		o += ip4(b[o:], on, dn, 17, 8+8+14+inner, s.id)
		binary.BigEndian.PutUint16(b[o:], 40000+uint16(sp%1000))
		binary.BigEndian.PutUint16(b[o+2:], 8472)
		binary.BigEndian.PutUint16(b[o+4:], uint16(8+8+14+inner))
		b[o+6], b[o+7] = 0, 0
		o += 8
		b[o], b[o+1], b[o+2], b[o+3], b[o+4], b[o+5], b[o+6], b[o+7] = 0x08, 0, 0, 0, 0, 0, 1, 0
		o += 8
	}
	o += eth(b[o:])
	o += ip4(b[o:], src, dst, 6, 20+len(payload), s.id+uint16(s.i))
	binary.BigEndian.PutUint16(b[o:], sp)
	binary.BigEndian.PutUint16(b[o+2:], dp)
	binary.BigEndian.PutUint32(b[o+4:], *seq)
	binary.BigEndian.PutUint32(b[o+8:], ack)
	b[o+12], b[o+13] = 0x50, flags
	binary.BigEndian.PutUint16(b[o+14:], 64240)
	b[o+16], b[o+17], b[o+18], b[o+19] = 0, 0, 0, 0
	o += 20
	o += copy(b[o:], payload)
	adv := uint32(len(payload))
	if flags&(fSYN|fFIN) != 0 {
		adv++
	}
	*seq += adv
	g.record(b[:o])
}

func (g *gen) dns(s *session, query bool, name string, rcode byte) {
	b := g.buf[:]
	var msg []byte
	flags := uint16(0x0100)
	an := uint16(0)
	if !query {
		flags = 0x8180 | uint16(rcode)
		if rcode == 0 {
			an = 1
		}
	}
	msg = binary.BigEndian.AppendUint16(msg, s.id)
	msg = binary.BigEndian.AppendUint16(msg, flags)
	msg = binary.BigEndian.AppendUint16(msg, 1)
	msg = binary.BigEndian.AppendUint16(msg, an)
	msg = append(msg, 0, 0, 0, 0)
	for _, l := range splitDots(name) {
		msg = append(msg, byte(len(l)))
		msg = append(msg, l...)
	}
	msg = append(msg, 0, 0, 1, 0, 1)
	if an == 1 {
		msg = append(msg, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 244, 3, 7)
	}
	o := eth(b)
	src, dst, sp, dp := s.cli, s.srv, s.cport, uint16(53)
	if !query {
		src, dst, sp, dp = s.srv, s.cli, 53, s.cport
	}
	o += ip4(b[o:], src, dst, 17, 8+len(msg), s.id)
	binary.BigEndian.PutUint16(b[o:], sp)
	binary.BigEndian.PutUint16(b[o+2:], dp)
	binary.BigEndian.PutUint16(b[o+4:], uint16(8+len(msg)))
	b[o+6], b[o+7] = 0, 0
	o += 8
	o += copy(b[o:], msg)
	g.record(b[:o])
}

func splitDots(s string) []string {
	var out []string
	st := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			out = append(out, s[st:i])
			st = i + 1
		}
	}
	return append(out, s[st:])
}

func (g *gen) icmp(s *session, req bool, seq uint16) {
	b := g.buf[:]
	o := eth(b)
	src, dst, typ := s.cli, s.srv, byte(8)
	if !req {
		src, dst, typ = s.srv, s.cli, 0
	}
	o += ip4(b[o:], src, dst, 1, 8+56, s.id+seq)
	b[o], b[o+1], b[o+2], b[o+3] = typ, 0, 0, 0
	binary.BigEndian.PutUint16(b[o+4:], s.id)
	binary.BigEndian.PutUint16(b[o+6:], seq)
	o += 8
	for i := 0; i < 56; i++ {
		b[o+i] = byte(i)
	}
	o += 56
	g.record(b[:o])
}
