package filter

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strconv"

	"tkesnap/analysis/pcapflow"
	"tkesnap/parsers/pcap"
)

// Dissector follows one capture the way Wireshark's dissectors do with
// their default preferences, so that a filter selects the frames
// Wireshark selects:
//   - ip.defragment: IPv4 fragments are reassembled; the transport layer
//     (tcp, udp and their fields) exists only in the frame that completes
//     the datagram, and covers the whole reassembled segment;
//   - tcp.desegment_tcp_streams, http.desegment_headers/body,
//     http.dechunk_body: an HTTP message belongs to the frame whose
//     segment completes it (request line and headers, and the body by
//     Content-Length or chunked encoding); a segment may complete several
//     (pipelining);
//   - tcp.no_subdissector_on_error: a segment that repeats data already
//     seen (retransmission, out of order) is not given to HTTP;
//   - HTTP is recognized on any TCP port by its request or status line,
//     as tshark 4.0 does (a request to port 2222 is HTTP to it too).
//
// Feed it every packet of the capture in order.
type Dissector struct {
	start   int64
	streams map[streamKey]*stream
	frags   map[fragKey]*fragBuf
	env     Env
	view    pcap.Packet // the transport of a reassembled datagram
	msgs    []HTTPMsg
}

// HTTPMsg is one HTTP request or response a frame completes. The byte
// slices are valid until the next packet.
type HTTPMsg struct {
	Request bool
	Method  []byte
	URI     []byte
	Host    []byte
	Status  uint16
	Phrase  []byte
}

type streamKey struct {
	src, dst netip.Addr
	sp, dp   uint16
}

type stream struct {
	next uint32 // next sequence number expected
	init bool
	buf  []byte // data not yet part of a complete message
}

type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
}

type fragBuf struct {
	parts []fragPart
	total int // datagram payload length, once the last fragment is seen
}

type fragPart struct {
	off  int
	data []byte
}

// Limits: what a stream or datagram may hold before it is given up (a
// capture cannot make the dissector grow without bound).
const (
	maxStreamBuf = 1 << 20
	maxStreams   = 1 << 16
	maxFrags     = 4096
)

// NewDissector starts a capture.
func NewDissector() *Dissector {
	return &Dissector{start: -1, streams: map[streamKey]*stream{}, frags: map[fragKey]*fragBuf{}}
}

// Env is the packet as the filter sees it, with reassembly applied. It
// is valid until the next call.
func (d *Dissector) Env(p *pcap.Packet, info *pcapflow.PacketInfo) *Env {
	if d.start < 0 {
		d.start = p.Time
	}
	d.msgs = d.msgs[:0]
	d.env = Env{P: p, Info: info, Start: d.start, dissected: true}
	e := &d.env
	if p.IPVersion == 4 && (p.FragOff != 0 || p.MoreFrag) {
		if !d.defragment(p) {
			// Wireshark shows a fragment that does not complete its
			// datagram as IP only.
			v := &d.view
			*v = *p
			pcap.ClearL4(v)
			v.HTTPMethod, v.HTTPURI, v.HTTPHost, v.HTTPStatus, v.HTTPReason = nil, nil, nil, 0, nil
			e.P = v
			return e
		}
		e.P = &d.view
	}
	if e.P.HasTCP() {
		d.tcp(e)
	}
	e.HTTP = d.msgs
	return e
}

// defragment stores one fragment; when it completes the datagram, d.view
// holds the packet with the reassembled transport.
func (d *Dissector) defragment(p *pcap.Packet) bool {
	k := fragKey{p.Src, p.Dst, p.IPID, p.Proto}
	b := d.frags[k]
	if b == nil {
		if len(d.frags) >= maxFrags {
			clear(d.frags)
		}
		b = &fragBuf{total: -1}
		d.frags[k] = b
	}
	off := int(p.FragOff) * 8
	data := p.IPPayload
	b.parts = append(b.parts, fragPart{off, bytes.Clone(data)})
	if !p.MoreFrag {
		b.total = off + len(data)
	}
	if b.total < 0 {
		return false
	}
	// complete when the parts cover [0, total)
	whole := make([]byte, b.total)
	covered := make([]bool, b.total)
	for _, x := range b.parts {
		if x.off+len(x.data) > b.total {
			continue
		}
		copy(whole[x.off:], x.data)
		for i := x.off; i < x.off+len(x.data); i++ {
			covered[i] = true
		}
	}
	for _, c := range covered {
		if !c {
			return false
		}
	}
	delete(d.frags, k)
	v := &d.view
	*v = *p
	v.FragOff, v.MoreFrag = 0, false
	v.HTTPMethod, v.HTTPURI, v.HTTPHost, v.HTTPStatus, v.HTTPReason = nil, nil, nil, 0, nil
	switch p.Proto {
	case pcap.ProtoTCP:
		if len(whole) < 20 {
			return false
		}
		hl := int(whole[12]>>4) * 4
		if hl < 20 || hl > len(whole) {
			return false
		}
		v.SrcPort, v.DstPort = binary.BigEndian.Uint16(whole[0:]), binary.BigEndian.Uint16(whole[2:])
		v.Seq, v.Ack = binary.BigEndian.Uint32(whole[4:]), binary.BigEndian.Uint32(whole[8:])
		v.TCPFlags, v.Window = whole[13], binary.BigEndian.Uint16(whole[14:])
		v.L4, v.Payload, v.PayloadLen = whole, whole[hl:], len(whole)-hl
		pcap.SetL4(v)
	case pcap.ProtoUDP:
		if len(whole) < 8 {
			return false
		}
		v.SrcPort, v.DstPort = binary.BigEndian.Uint16(whole[0:]), binary.BigEndian.Uint16(whole[2:])
		v.L4, v.Payload, v.PayloadLen = whole, whole[8:], len(whole)-8
		pcap.SetL4(v)
	default:
		v.L4, v.Payload, v.PayloadLen = whole, whole, len(whole)
	}
	return true
}

// tcp follows the segment's stream and collects the HTTP messages it
// completes.
func (d *Dissector) tcp(e *Env) {
	p := e.P
	k := streamKey{p.Src, p.Dst, p.SrcPort, p.DstPort}
	s := d.streams[k]
	if s == nil {
		if len(d.streams) >= maxStreams {
			clear(d.streams)
		}
		s = &stream{}
		d.streams[k] = s
	}
	syn, fin, rst := p.TCPFlags&pcap.SYN != 0, p.TCPFlags&pcap.FIN != 0, p.TCPFlags&pcap.RST != 0
	if syn {
		*s = stream{next: p.Seq + 1, init: true, buf: s.buf[:0]}
		return
	}
	if rst {
		s.buf = s.buf[:0]
		return
	}
	n := len(p.Payload)
	if n == 0 && !fin {
		return
	}
	if !s.init {
		s.init, s.next = true, p.Seq
	}
	if n > 0 {
		switch d := int32(p.Seq - s.next); {
		case d < 0:
			// Repeats data already seen (retransmission, out of order):
			// Wireshark does not give it to HTTP.
			return
		case d > 0:
			// A gap (segments not captured): what was pending cannot
			// complete; start over at this segment.
			s.buf = s.buf[:0]
		}
		if p.PayloadLen > n {
			// Snapped: the rest of the segment is missing.
			s.buf = s.buf[:0]
			s.next = p.Seq + uint32(p.PayloadLen)
			return
		}
		s.next = p.Seq + uint32(n)
		if len(s.buf)+n > maxStreamBuf {
			s.buf = s.buf[:0]
			return
		}
		s.buf = append(s.buf, p.Payload...)
	}
	if fin {
		s.next++
	}
	d.parse(e, s, fin)
}

// parse takes the complete messages off the front of s.buf.
func (d *Dissector) parse(e *Env, s *stream, fin bool) {
	for len(s.buf) > 0 {
		b := s.buf
		eol := bytes.IndexByte(b, '\n')
		if eol < 0 {
			if fin {
				s.buf = s.buf[:0]
			}
			return // the first line is not complete yet
		}
		msg, ok := firstLine(bytes.TrimRight(b[:eol], "\r"))
		if !ok {
			// Not the start of a message: Wireshark shows it as a
			// continuation (the http protocol, no request fields).
			e.httpData = true
			s.buf = s.buf[:0]
			return
		}
		hdrEnd := headersEnd(b)
		if hdrEnd < 0 {
			if fin {
				s.buf = s.buf[:0]
			}
			return
		}
		headers := b[eol+1 : hdrEnd]
		body, chunked, toFIN := bodyLength(msg, headers)
		end := hdrEnd
		switch {
		case chunked:
			n, ok := chunkedEnd(b[hdrEnd:])
			if !ok {
				return
			}
			end += n
		case toFIN:
			if !fin {
				return // the body ends with the connection
			}
			end = len(b)
		default:
			if len(b)-hdrEnd < body {
				return
			}
			end += body
		}
		msg.Host = header(headers, "host")
		d.msgs = append(d.msgs, msg)
		s.buf = s.buf[end:]
	}
	if len(s.buf) == 0 {
		s.buf = nil
	}
}

// firstLine parses a request line (METHOD SP target SP HTTP/x) or a
// status line (HTTP/x SP code SP phrase).
func firstLine(line []byte) (HTTPMsg, bool) {
	if bytes.HasPrefix(line, []byte("HTTP/")) {
		sp := bytes.IndexByte(line, ' ')
		if sp < 0 || len(line) < sp+4 {
			return HTTPMsg{}, false
		}
		code, err := strconv.Atoi(string(line[sp+1 : sp+4]))
		if err != nil || code < 100 || code > 999 {
			return HTTPMsg{}, false
		}
		m := HTTPMsg{Status: uint16(code)}
		if len(line) > sp+5 {
			m.Phrase = line[sp+5:]
		}
		return m, true
	}
	sp := bytes.IndexByte(line, ' ')
	if sp < 1 || sp > 20 {
		return HTTPMsg{}, false
	}
	for _, c := range line[:sp] {
		if !(c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return HTTPMsg{}, false
		}
	}
	last := bytes.LastIndexByte(line, ' ')
	if last <= sp || !bytes.HasPrefix(line[last+1:], []byte("HTTP/")) {
		return HTTPMsg{}, false
	}
	return HTTPMsg{Request: true, Method: line[:sp], URI: line[sp+1 : last]}, true
}

// headersEnd is the offset after the empty line ending the headers, -1
// if it has not arrived.
func headersEnd(b []byte) int {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		switch {
		case i+1 < len(b) && b[i+1] == '\n':
			return i + 2
		case i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n':
			return i + 3
		}
	}
	return -1
}

func header(h []byte, name string) []byte {
	for len(h) > 0 {
		e := bytes.IndexByte(h, '\n')
		var l []byte
		if e < 0 {
			l, h = h, nil
		} else {
			l, h = h[:e], h[e+1:]
		}
		l = bytes.TrimRight(l, "\r")
		c := bytes.IndexByte(l, ':')
		if c > 0 && bytes.EqualFold(bytes.TrimSpace(l[:c]), []byte(name)) {
			return bytes.TrimSpace(l[c+1:])
		}
	}
	return nil
}

// bodyLength: the body's length by Content-Length, chunked encoding, or
// (a response with neither) up to the end of the connection.
func bodyLength(m HTTPMsg, h []byte) (n int, chunked, toFIN bool) {
	if te := header(h, "transfer-encoding"); te != nil && bytes.Contains(bytes.ToLower(te), []byte("chunked")) {
		return 0, true, false
	}
	if cl := header(h, "content-length"); cl != nil {
		if v, err := strconv.Atoi(string(cl)); err == nil && v >= 0 {
			return v, false, false
		}
	}
	if m.Request || m.Status < 200 || m.Status == 204 || m.Status == 304 {
		return 0, false, false
	}
	return 0, false, true
}

// chunkedEnd is the length of a complete chunked body (RFC 9112 §7.1).
func chunkedEnd(b []byte) (int, bool) {
	off := 0
	for {
		e := bytes.IndexByte(b[off:], '\n')
		if e < 0 {
			return 0, false
		}
		line := bytes.TrimRight(b[off:off+e], "\r")
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, err := strconv.ParseUint(string(bytes.TrimSpace(line)), 16, 31)
		if err != nil {
			return len(b), true // malformed: Wireshark gives up on the body here
		}
		off += e + 1
		if size == 0 {
			// trailers end with an empty line
			for {
				e := bytes.IndexByte(b[off:], '\n')
				if e < 0 {
					return 0, false
				}
				l := bytes.TrimRight(b[off:off+e], "\r")
				off += e + 1
				if len(l) == 0 {
					return off, true
				}
			}
		}
		off += int(size)
		if off > len(b) {
			return 0, false
		}
		if e := bytes.IndexByte(b[off:], '\n'); e < 0 {
			return 0, false
		} else {
			off += e + 1
		}
	}
}
