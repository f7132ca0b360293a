package filter

import (
	"bytes"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"tkesnap/analysis/pcapflow"
	"tkesnap/parsers/pcap"
)

// Dissector follows one capture the way Wireshark's dissectors do with
// their default preferences, so that a filter selects the frames
// Wireshark selects:
//   - every layer of a frame is dissected (layers.go): the outer and
//     inner headers of VXLAN (UDP 4789), Geneve (6081), GRE and ERSPAN,
//     IP in IP, and the datagram an ICMP error quotes; a field matches
//     if any of its occurrences does;
//   - ip.defragment, ipv6.defragment: IP fragments are reassembled; the
//     transport layer (tcp, udp and what they carry) exists only in the
//     frame that completes the datagram, and covers the whole datagram;
//   - tcp.analyze_sequence_numbers: tcp.analysis.retransmission as
//     packet-tcp.c decides it (tcpanalysis.go);
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
	start     int64
	streams   map[streamKey]*stream
	frags     map[fragKey]*fragBuf
	convs     map[convKey]*tcpConv
	env       Env
	msgs      []HTTPMsg
	ls        []layer
	names     []byte // DNS names of the frame's layers
	sllIf     int32
	segsTotal int    // unacknowledged segments remembered by the TCP analysis
	reasm     []byte // the datagram reassembled in this frame
	reasmUsed bool
}

// HTTPMsg is one HTTP request or response a frame completes. The byte
// slices are valid until the next packet.
type HTTPMsg struct {
	Request bool
	Method  []byte
	URI     []byte
	Host    []byte
	Status  uint16
	// HasStatus: the status line has a 3-digit code (Wireshark has
	// http.response without http.response.code otherwise).
	HasStatus bool
	Phrase    []byte
}

type streamKey struct {
	src, dst netip.Addr
	sp, dp   uint16
}

type stream struct {
	next uint32 // next sequence number expected
	init bool
	buf  []byte // data not yet part of a complete message
	mem  []byte // buf's memory, reused once its messages are taken
	// afterHead: the last request of the connection (the other way) was
	// HEAD, so a response has no body (Wireshark's conv_data->request_method).
	afterHead bool
	server    uint16 // the server's port, when the SYN was seen
}

// http reports whether Wireshark gives the segment's bytes to its HTTP
// dissector (packet-tcp.c decode_tcp_ports): it tries the dissector of
// the server's port (from the SYN), then of the lower port, then of the
// higher; HTTP's own ports take it, a port whose dissector takes any
// bytes (SSH on 22, TLS on 443: wsNotHTTPPorts, measured) keeps it from
// HTTP; otherwise HTTP's heuristic (a request or status line) decides.
func (s *stream) http(l *layer) bool {
	lo, hi := l.sp, l.dp
	if lo > hi {
		lo, hi = hi, lo
	}
	for _, p := range [3]uint16{s.server, lo, hi} {
		if p == 0 {
			continue
		}
		if _, ok := slices.BinarySearch(wsHTTPPorts, p); ok {
			return true
		}
		if _, ok := slices.BinarySearch(wsNotHTTPPorts, p); ok {
			return false
		}
	}
	return true
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
	maxFragBytes = 1 << 16 // an IP datagram's payload is at most 65535 bytes
	maxFragParts = 256     // pieces of one datagram (a 64 KiB datagram in 256-byte fragments)
)

// NewDissector starts a capture.
func NewDissector() *Dissector {
	return &Dissector{start: -1, streams: map[streamKey]*stream{}, frags: map[fragKey]*fragBuf{}, convs: map[convKey]*tcpConv{}}
}

// Env is the packet as the filter sees it: the frame's layers, with
// reassembly and TCP analysis applied. It is valid until the next call.
// info is the flow analysis' view of the packet (for tkesnap's own
// fields); it may be nil.
func (d *Dissector) Env(p *pcap.Packet, info *pcapflow.PacketInfo) *Env {
	if d.start < 0 {
		d.start = p.Time
	}
	d.msgs = d.msgs[:0]
	d.reasmUsed = false
	d.env = Env{P: p, Info: info, Start: d.start, dissected: true}
	e := &d.env
	d.dissect(p)
	for i := range d.ls {
		l := &d.ls[i]
		if l.kind == lTCP && !l.quoted && l.have&haveAll != 0 {
			d.analyze(e, l, p.Time)
			d.tcp(e, l)
		}
	}
	e.ls = d.ls
	e.HTTP = d.msgs
	e.sllIf = d.sllIf
	return e
}

// defragment stores one fragment (off, more fragments, its payload);
// when the datagram is complete it returns the datagram's payload.
func (d *Dissector) defragment(k fragKey, off int, mf bool, data []byte) ([]byte, bool) {
	if off+len(data) > maxFragBytes {
		return nil, false
	}
	b := d.frags[k]
	if b == nil {
		if len(d.frags) >= maxFrags {
			clear(d.frags)
		}
		b = &fragBuf{total: -1}
		d.frags[k] = b
	}
	if len(b.parts) >= maxFragParts {
		delete(d.frags, k) // bounded work: a datagram of too many pieces is given up
		return nil, false
	}
	b.parts = append(b.parts, fragPart{off, bytes.Clone(data)})
	if !mf {
		b.total = off + len(data)
	}
	if b.total < 0 {
		return nil, false
	}
	// complete when the parts cover [0, total): walk forward from 0,
	// each step to the furthest end of a part that starts at or before
	// the covered prefix (parts are few; no allocation)
	covered := 0
	for covered < b.total {
		next := covered
		for _, x := range b.parts {
			if x.off <= covered && x.off+len(x.data) > next {
				next = x.off + len(x.data)
			}
		}
		if next == covered {
			return nil, false
		}
		covered = next
	}
	// The datagram lives until the next frame: one buffer reused (a
	// second datagram completed in the same frame, inside the first,
	// gets its own).
	whole := d.reasm[:0]
	if d.reasmUsed || cap(whole) < b.total {
		whole = make([]byte, b.total)
	}
	whole = whole[:b.total]
	for _, x := range b.parts {
		if x.off < b.total {
			copy(whole[x.off:], x.data)
		}
	}
	if !d.reasmUsed {
		d.reasm, d.reasmUsed = whole, true
	}
	delete(d.frags, k)
	return whole, true
}

// tcp follows the segment's stream and collects the HTTP messages it
// completes.
func (d *Dissector) tcp(e *Env, l *layer) {
	src, dst := d.addrsOf(l)
	k := streamKey{src, dst, l.sp, l.dp}
	s := d.streams[k]
	if s == nil {
		if len(d.streams) >= maxStreams {
			clear(d.streams)
		}
		s = &stream{}
		d.streams[k] = s
	}
	syn, fin, rst := l.flags&pcap.SYN != 0, l.flags&pcap.FIN != 0, l.flags&pcap.RST != 0
	if syn {
		*s = stream{next: l.seq + 1, init: true, mem: s.mem}
		// Wireshark tries the server's port (known from the SYN) first.
		s.server = l.dp
		if l.flags&pcap.ACK != 0 {
			s.server = l.sp
		}
		if rk := (streamKey{dst, src, l.dp, l.sp}); d.streams[rk] != nil {
			d.streams[rk].server = s.server
		}
		return
	}
	if rst {
		s.buf = s.buf[:0]
		return
	}
	n := len(l.payload)
	if n == 0 && !fin {
		return
	}
	if !s.init {
		s.init, s.next = true, l.seq
	}
	if n > 0 {
		switch d := int32(l.seq - s.next); {
		case d < 0:
			// Repeats data already seen (retransmission, out of order):
			// Wireshark does not give it to HTTP.
			return
		case d > 0:
			// A gap (segments not captured): what was pending cannot
			// complete; start over at this segment.
			s.buf = s.buf[:0]
		}
		if l.segLen > n {
			// Snapped: the rest of the segment is missing.
			s.buf = s.buf[:0]
			s.next = l.seq + uint32(l.segLen)
			return
		}
		s.next = l.seq + uint32(n)
		if len(s.buf)+n > maxStreamBuf {
			s.buf = s.buf[:0]
			return
		}
		// The messages taken from buf at the last segment are no longer
		// referenced: move what is pending to the front of the memory.
		s.buf = s.mem[:copy(s.mem[:cap(s.mem)], s.buf)]
		s.buf = append(s.buf, l.payload...)
		s.mem = s.buf[:0]
	}
	if fin {
		s.next++
	}
	if !s.http(l) {
		s.buf = s.buf[:0]
		return
	}
	e.httpPayload = l.payload
	rk := streamKey{dst, src, l.dp, l.sp}
	rev := d.streams[rk]
	if rev == nil && len(d.streams) < maxStreams {
		rev = &stream{}
		d.streams[rk] = rev
	}
	d.parse(e, s, rev, fin)
}

// addrsOf is the IP header a transport layer sits in: the nearest IP
// layer before it.
func (d *Dissector) addrsOf(l *layer) (netip.Addr, netip.Addr) {
	for i := len(d.ls) - 1; i >= 0; i-- {
		if &d.ls[i] == l {
			for j := i - 1; j >= 0; j-- {
				if d.ls[j].kind == lIP4 || d.ls[j].kind == lIP6 {
					return d.ls[j].src, d.ls[j].dst
				}
			}
			break
		}
	}
	return netip.Addr{}, netip.Addr{}
}

// parse takes the complete messages off the front of s.buf.
func (d *Dissector) parse(e *Env, s, rev *stream, fin bool) {
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
		if msg.Request && rev != nil {
			rev.afterHead = string(msg.Method) == "HEAD"
		}
		if !msg.Request && s.afterHead {
			body, chunked, toFIN = 0, false, false
		}
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
}

// firstLine recognizes the start of a message as Wireshark's HTTP
// dissector does (is_http_request_or_reply, basic_request_dissector,
// basic_response_dissector): a status line starts with "HTTP/" (or
// "ICY"), its code is the 3 characters after the first space; a request
// line's first token (up to a space or the end of the line, after an
// optional "M-") is one of the methods Wireshark knows, the URI is the
// next token (possibly empty), and the version is not required.
func firstLine(line []byte) (HTTPMsg, bool) {
	if bytes.HasPrefix(line, []byte("HTTP/")) || bytes.HasPrefix(line, []byte("ICY")) {
		m := HTTPMsg{}
		_, rest := httpToken(line)
		code, rest := httpToken(rest)
		if len(code) >= 3 {
			if c, err := strconv.ParseUint(string(code[:3]), 10, 16); err == nil {
				m.Status, m.HasStatus = uint16(c), true
				if len(rest) > 0 {
					m.Phrase = rest
				}
			}
		}
		return m, true
	}
	name := line
	if bytes.HasPrefix(name, []byte("M-")) {
		name = name[2:]
	}
	if sp := bytes.IndexByte(name, ' '); sp >= 0 {
		name = name[:sp]
	}
	if !wiresharkMethods[string(name)] {
		return HTTPMsg{}, false
	}
	method, rest := httpToken(line)
	uri, _ := httpToken(rest)
	return HTTPMsg{Request: true, Method: method, URI: uri}, true
}

// httpToken is the text up to the next space and what follows the spaces
// after it (Wireshark's get_token_len).
func httpToken(b []byte) (tok, rest []byte) {
	sp := bytes.IndexByte(b, ' ')
	if sp < 0 {
		return b, b[len(b):]
	}
	rest = b[sp:]
	for len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	return b[:sp], rest
}

// wiresharkMethods are the request methods Wireshark 4.0's HTTP
// dissector recognizes (packet-http.c, is_http_request_or_reply),
// notifications (NOTIFY, SUBSCRIBE, UNSUBSCRIBE) included: a message
// starting with another word is not HTTP to it.
var wiresharkMethods = map[string]bool{}

func init() {
	for _, m := range strings.Fields(`GET PUT COPY HEAD LOCK MOVE POLL POST BCOPY BMOVE MKCOL TRACE PATCH LABEL MERGE
		DELETE SEARCH UNLOCK REPORT UPDATE NOTIFY BDELETE CONNECT OPTIONS CHECKIN PROPFIND CHECKOUT CCM_POST
		SUBSCRIBE PROPPATCH BPROPFIND BPROPPATCH UNCHECKOUT MKACTIVITY MKWORKSPACE RPC_CONNECT RPC_IN_DATA
		UNSUBSCRIBE RPC_OUT_DATA VERSION-CONTROL BASELINE-CONTROL SSTP_DUPLEX_POST`) {
		wiresharkMethods[m] = true
	}
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
