package filter

import (
	"encoding/binary"
	"net/netip"

	"tkesnap/parsers/pcap"
)

// The filter's own dissection of a frame, layer by layer from its bytes,
// the way Wireshark's dissectors walk it with their default preferences.
// The analysis decoder (parsers/pcap) keeps only the innermost packet of
// a tunnel and decodes VXLAN on flannel's port too, which is what the
// flow analysis needs; a display filter needs every layer: in Wireshark
// a field occurs once per layer that has it (the outer and the inner IP
// header of a VXLAN packet, the UDP header an ICMP error quotes), and
// `tcp.port == 80` is true when any occurrence is 80.

type lkind uint8

const (
	lIP4 lkind = iota + 1
	lIP6
	lTCP
	lUDP
	lICMP
	lICMP6
	lGRE
	lERSPAN
	lVXLAN
	lGeneve
	lDNS
)

// layer is one protocol occurrence in a frame.
type layer struct {
	kind lkind
	// quoted: inside an ICMP error's quote (Wireshark dissects it, but
	// it is not part of a connection: no TCP analysis, no HTTP).
	quoted bool
	// data: the bytes Wireshark's protocol item covers (what `contains`
	// searches): the header for IP and the tunnels, header and payload
	// for TCP, UDP, ICMP and DNS, as captured.
	data []byte

	// IP
	src, dst netip.Addr
	proto    uint8
	ttl      uint8
	id       uint32
	ipLen    int

	// TCP and UDP; have says how much of the header was captured.
	have    uint8
	sp, dp  uint16
	seq     uint32
	ack     uint32
	flags   uint8
	win     uint16
	segLen  int // tcp.len: the segment's payload length; udp.length
	payload []byte

	// ICMP / ICMPv6
	typ, code uint8

	// VXLAN / Geneve
	vni uint32

	// DNS
	dnsID, dnsQType, dnsAnswers uint16
	dnsFlags                    uint16
	dnsName                     []byte
	dnsHasQ                     bool
}

// have bits for TCP and UDP headers cut short (a snap length, an ICMP
// error quoting only 8 bytes): Wireshark adds a header's fields until
// the bytes run out.
const (
	havePorts uint8 = 1 << iota
	haveSeq
	haveFlags // ack, flags, window
	haveAll   // the whole header with its options: tcp.len, payload
)

// Well-known ports of the dissectors whose fields the filter knows, as
// Wireshark 4.0 registers them by default (udp.port/tcp.port tables).
// UDP 8472 (flannel's VXLAN) is not among them: Wireshark shows it as
// data, so the filter does too.
const (
	portDNS    = 53
	portMDNS   = 5353
	portLLMNR  = 5355
	portVXLAN  = 4789
	portGeneve = 6081
)

// maxLayers bounds the layers of one frame (tunnels in tunnels): what a
// hostile capture can make the dissector do per frame.
const maxLayers = 24

// dissect walks the frame's bytes.
func (d *Dissector) dissect(p *pcap.Packet) {
	d.ls = d.ls[:0]
	d.names = d.names[:0]
	d.sllIf = -1
	b := p.Frame
	switch p.LinkType {
	case pcap.LinkEthernet:
		d.ether(b, 0)
	case pcap.LinkSLL:
		if len(b) >= 16 {
			d.ethertype(binary.BigEndian.Uint16(b[14:]), b[16:], 0)
		}
	case pcap.LinkSLL2:
		if len(b) >= 20 {
			d.sllIf = int32(binary.BigEndian.Uint32(b[4:]))
			d.ethertype(binary.BigEndian.Uint16(b[0:]), b[20:], 0)
		}
	case pcap.LinkNull, pcap.LinkLoop:
		if len(b) >= 4 {
			af := binary.LittleEndian.Uint32(b)
			if p.LinkType == pcap.LinkLoop || af > 0xffff {
				af = binary.BigEndian.Uint32(b)
			}
			switch af {
			case 2:
				d.ip4(b[4:], 0, false)
			case 10, 24, 28, 30:
				d.ip6(b[4:], 0, false)
			}
		}
	case pcap.LinkRaw, pcap.LinkRawOld, pcap.LinkRawOld2:
		d.rawIP(b, 0, false)
	case pcap.LinkIPv4:
		d.ip4(b, 0, false)
	case pcap.LinkIPv6:
		d.ip6(b, 0, false)
	case pcap.LinkNFLOG:
		d.nflog(b)
	}
}

func (d *Dissector) add(l layer) *layer {
	d.ls = append(d.ls, l)
	return &d.ls[len(d.ls)-1]
}

func (d *Dissector) full() bool { return len(d.ls) >= maxLayers }

func (d *Dissector) rawIP(b []byte, depth int, quoted bool) {
	if len(b) == 0 {
		return
	}
	switch b[0] >> 4 {
	case 4:
		d.ip4(b, depth, quoted)
	case 6:
		d.ip6(b, depth, quoted)
	}
}

func (d *Dissector) ether(b []byte, depth int) {
	if len(b) < 14 {
		return
	}
	d.ethertype(binary.BigEndian.Uint16(b[12:]), b[14:], depth)
}

func (d *Dissector) ethertype(t uint16, b []byte, depth int) {
	for t == 0x8100 || t == 0x88a8 || t == 0x9100 {
		if len(b) < 4 {
			return
		}
		t, b = binary.BigEndian.Uint16(b[2:]), b[4:]
	}
	switch t {
	case 0x0800:
		d.ip4(b, depth, false)
	case 0x86dd:
		d.ip6(b, depth, false)
	}
}

// nflog finds NFULA_PAYLOAD (https://www.tcpdump.org/linktypes/LINKTYPE_NFLOG.html).
func (d *Dissector) nflog(b []byte) {
	v, family, ok := pcap.NFLOGPayload(b)
	switch {
	case !ok:
	case family == 2:
		d.ip4(v, 0, false)
	case family == 10:
		d.ip6(v, 0, false)
	default:
		d.rawIP(v, 0, false)
	}
}

func (d *Dissector) ip4(b []byte, depth int, quoted bool) {
	if len(b) < 20 || b[0]>>4 != 4 || d.full() || depth > 8 {
		return
	}
	hl := int(b[0]&0x0f) * 4
	if hl < 20 || hl > len(b) {
		return
	}
	tot := int(binary.BigEndian.Uint16(b[2:]))
	end := min(tot, len(b))
	if tot == 0 && !quoted {
		end = len(b) // TSO/GSO: the length is not filled in
	}
	if end < hl {
		end = hl
	}
	// The ip item covers the header (packet-ip.c: proto_ip, hlen).
	l := d.add(layer{kind: lIP4, quoted: quoted, data: b[:hl],
		src: netip.AddrFrom4([4]byte(b[12:16])), dst: netip.AddrFrom4([4]byte(b[16:20])),
		proto: b[9], ttl: b[8], id: uint32(binary.BigEndian.Uint16(b[4:])), ipLen: tot})
	fo := binary.BigEndian.Uint16(b[6:])
	off, mf := int(fo&0x1fff)*8, fo&0x2000 != 0
	payload := b[hl:end]
	reported := max(tot-hl, len(payload))
	if tot == 0 {
		reported = len(payload)
	}
	proto, src, dst, id := l.proto, l.src, l.dst, l.id
	if (off != 0 || mf) && d.fragment(fragKey{src, dst, id, proto}, off, mf, payload, tot > hl && len(payload) == tot-hl, depth, quoted) {
		return
	}
	d.transport(proto, payload, reported, depth, quoted)
}

// fragment takes an IPv4 or IPv6 fragment (ip.defragment): one captured
// whole joins its datagram, and the frame completing it carries the
// datagram's transport. It reports whether that settles the frame's
// transport; false for a first fragment that cannot be reassembled (its
// own bytes are dissected).
func (d *Dissector) fragment(k fragKey, off int, mf bool, payload []byte, whole bool, depth int, quoted bool) bool {
	if !quoted && whole {
		if dg, done := d.defragment(k, off, mf, payload); done {
			d.transport(k.proto, dg, len(dg), depth, quoted)
		}
		return true
	}
	return off != 0 // a later fragment: data only
}

func (d *Dissector) ip6(b []byte, depth int, quoted bool) {
	if len(b) < 40 || b[0]>>4 != 6 || d.full() || depth > 8 {
		return
	}
	plen := int(binary.BigEndian.Uint16(b[4:]))
	end := min(40+plen, len(b))
	if plen == 0 && !quoted {
		end = len(b)
	}
	l := d.add(layer{kind: lIP6, quoted: quoted, data: b[:40],
		src: netip.AddrFrom16([16]byte(b[8:24])), dst: netip.AddrFrom16([16]byte(b[24:40])),
		proto: b[6], ttl: b[7], ipLen: 40 + plen})
	src, dst := l.src, l.dst
	nh, rest := b[6], b[40:end]
	reported := max(plen, len(rest))
	for {
		switch nh {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(rest) < 8 {
				return
			}
			n := (int(rest[1]) + 1) * 8
			if n > len(rest) {
				return
			}
			nh, rest, reported = rest[0], rest[n:], reported-n
			continue
		case 44: // fragment header
			if len(rest) < 8 {
				return
			}
			fo := binary.BigEndian.Uint16(rest[2:])
			off, mf := int(fo>>3)*8, fo&1 != 0
			id := binary.BigEndian.Uint32(rest[4:])
			nh, rest, reported = rest[0], rest[8:], reported-8
			if off == 0 && !mf {
				continue // an atomic fragment
			}
			if d.fragment(fragKey{src, dst, id, nh}, off, mf, rest, len(rest) == reported, depth, quoted) {
				return
			}
		}
		break
	}
	d.transport(nh, rest, reported, depth, quoted)
}

// transport dissects an IP payload. reported is its length per the IP
// header (larger than b when the capture cut it).
func (d *Dissector) transport(proto uint8, b []byte, reported, depth int, quoted bool) {
	if d.full() {
		return
	}
	switch proto {
	case pcap.ProtoTCP:
		d.tcpLayer(b, reported, depth, quoted)
	case pcap.ProtoUDP:
		d.udpLayer(b, depth, quoted)
	case pcap.ProtoICMP:
		d.icmpLayer(lICMP, b, depth, quoted)
	case pcap.ProtoICMPv6:
		d.icmpLayer(lICMP6, b, depth, quoted)
	case 4:
		d.ip4(b, depth+1, quoted)
	case 41:
		d.ip6(b, depth+1, quoted)
	case 47:
		d.gre(b, depth+1, quoted)
	}
}

func (d *Dissector) tcpLayer(b []byte, reported, depth int, quoted bool) {
	if len(b) < 4 {
		return
	}
	l := d.add(layer{kind: lTCP, quoted: quoted, data: b, have: havePorts,
		sp: binary.BigEndian.Uint16(b[0:]), dp: binary.BigEndian.Uint16(b[2:])})
	if len(b) >= 8 {
		l.have |= haveSeq
		l.seq = binary.BigEndian.Uint32(b[4:])
	}
	if len(b) < 20 {
		return // Wireshark stops at the missing byte (the data offset)
	}
	l.have |= haveFlags
	l.ack, l.flags, l.win = binary.BigEndian.Uint32(b[8:]), b[13], binary.BigEndian.Uint16(b[14:])
	hl := int(b[12]>>4) * 4
	if hl < 20 || hl > len(b) {
		return
	}
	l.have |= haveAll
	l.payload = b[hl:]
	l.segLen = max(reported-hl, 0)
	if quoted {
		l.segLen = len(l.payload)
	}
	if len(l.payload) > 0 && (l.sp == portDNS || l.dp == portDNS) {
		// DNS over TCP: a two-byte length, then the message
		if pl := l.payload; len(pl) >= 2 {
			d.dns(pl[2:], quoted)
		}
	}
}

func (d *Dissector) udpLayer(b []byte, depth int, quoted bool) {
	if len(b) < 8 {
		return
	}
	ulen := int(binary.BigEndian.Uint16(b[4:]))
	end := len(b)
	if ulen >= 8 && ulen < end {
		end = ulen
	}
	l := d.add(layer{kind: lUDP, quoted: quoted, data: b[:end], have: havePorts | haveAll,
		sp: binary.BigEndian.Uint16(b[0:]), dp: binary.BigEndian.Uint16(b[2:]), segLen: ulen, payload: b[8:end]})
	if ulen < 8 {
		return // a bogus length: Wireshark stops here
	}
	// Wireshark tries the lower port's dissector first, then the higher.
	lo, hi := l.sp, l.dp
	if lo > hi {
		lo, hi = hi, lo
	}
	payload := l.payload
	for _, port := range [2]uint16{lo, hi} {
		switch port {
		case portDNS, portMDNS, portLLMNR:
			d.dns(payload, quoted)
			return
		case portVXLAN:
			d.vxlan(payload, depth+1, quoted)
			return
		case portGeneve:
			d.geneve(payload, depth+1, quoted)
			return
		}
	}
}

func (d *Dissector) icmpLayer(k lkind, b []byte, depth int, quoted bool) {
	if len(b) == 0 {
		return
	}
	l := d.add(layer{kind: k, quoted: quoted, data: b, typ: b[0], have: havePorts})
	if len(b) < 2 {
		return
	}
	l.code, l.have = b[1], havePorts|haveAll
	isErr := false
	if k == lICMP {
		switch l.typ {
		case 3, 4, 5, 11, 12:
			isErr = true
		}
	} else {
		isErr = l.typ < 128
	}
	// An error quotes the datagram that caused it: Wireshark dissects
	// the quote as IP (not when it is itself inside a quote).
	if isErr && !quoted && len(b) > 8 {
		if k == lICMP {
			d.ip4(b[8:], depth+1, true)
		} else {
			d.ip6(b[8:], depth+1, true)
		}
	}
}

// gre: RFC 2784/2890 header, then the protocol it names: IP, Ethernet
// (transparent bridging) or ERSPAN (type II with a sequence number,
// type I without; type III).
func (d *Dissector) gre(b []byte, depth int, quoted bool) {
	if len(b) < 4 || depth > 8 {
		return
	}
	gl := d.add(layer{kind: lGRE, quoted: quoted, data: b[:4]})
	fl := binary.BigEndian.Uint16(b[0:])
	proto := binary.BigEndian.Uint16(b[2:])
	if fl&7 != 0 {
		return // version 1 (PPTP): not followed
	}
	n := 4
	if fl&0x8000 != 0 {
		n += 4
	}
	if fl&0x2000 != 0 {
		n += 4
	}
	seq := fl&0x1000 != 0
	if seq {
		n += 4
	}
	if n > len(b) {
		return
	}
	gl.data = b[:n]
	rest := b[n:]
	switch proto {
	case 0x0800:
		d.ip4(rest, depth, quoted)
	case 0x86dd:
		d.ip6(rest, depth, quoted)
	case 0x6558:
		d.ether(rest, depth)
	case 0x88be: // ERSPAN type II (type I without a GRE sequence number)
		if !seq {
			d.add(layer{kind: lERSPAN, quoted: quoted, data: rest[:0]})
			d.ether(rest, depth)
			return
		}
		if len(rest) < 8 {
			return
		}
		d.add(layer{kind: lERSPAN, quoted: quoted, data: rest[:8]})
		d.ether(rest[8:], depth)
	case 0x22eb: // ERSPAN type III
		if len(rest) < 12 {
			return
		}
		h := 12
		if rest[11]&1 != 0 { // O: platform-specific subheader
			h += 8
		}
		d.add(layer{kind: lERSPAN, quoted: quoted, data: rest[:min(h, len(rest))]})
		if h <= len(rest) {
			d.ether(rest[h:], depth)
		}
	}
}

func (d *Dissector) vxlan(b []byte, depth int, quoted bool) {
	if len(b) < 8 || depth > 8 || d.full() {
		return
	}
	d.add(layer{kind: lVXLAN, quoted: quoted, data: b[:8], vni: uint32(b[4])<<16 | uint32(b[5])<<8 | uint32(b[6])})
	d.ether(b[8:], depth)
}

func (d *Dissector) geneve(b []byte, depth int, quoted bool) {
	if len(b) < 8 || depth > 8 || d.full() {
		return
	}
	n := 8 + int(b[0]&0x3f)*4
	d.add(layer{kind: lGeneve, quoted: quoted, data: b[:min(n, len(b))], vni: uint32(b[4])<<16 | uint32(b[5])<<8 | uint32(b[6])})
	if n > len(b) {
		return
	}
	switch binary.BigEndian.Uint16(b[2:]) {
	case 0x6558:
		d.ether(b[n:], depth)
	case 0x0800:
		d.ip4(b[n:], depth, quoted)
	case 0x86dd:
		d.ip6(b[n:], depth, quoted)
	}
}

// dns reads the header and the first question (RFC 1035 §4.1). As in
// Wireshark, the header's fields exist when its 12 bytes do, even if
// the rest of the message was cut off.
func (d *Dissector) dns(b []byte, quoted bool) {
	if len(b) < 12 || d.full() {
		return
	}
	l := d.add(layer{kind: lDNS, quoted: quoted, data: b,
		dnsID: binary.BigEndian.Uint16(b[0:]), dnsFlags: binary.BigEndian.Uint16(b[2:]),
		dnsAnswers: binary.BigEndian.Uint16(b[6:])})
	if binary.BigEndian.Uint16(b[4:]) == 0 {
		return
	}
	start := len(d.names)
	off, end, ok := d.dnsName(b, 12)
	if !ok || end+4 > len(b) {
		d.names = d.names[:start]
		return
	}
	_ = off
	l.dnsName = d.names[start:len(d.names):len(d.names)]
	l.dnsQType = binary.BigEndian.Uint16(b[end:])
	l.dnsHasQ = true
}

// dnsName appends the dotted name at off to d.names (compression
// pointers followed, bounded) and returns the offset after it.
func (d *Dissector) dnsName(b []byte, off int) (int, int, bool) {
	end := -1
	first := true
	for hops := 0; hops < 64; hops++ {
		if off >= len(b) {
			return 0, 0, false
		}
		c := int(b[off])
		switch {
		case c == 0:
			if end < 0 {
				end = off + 1
			}
			if first {
				d.names = append(d.names, "<Root>"...)
			}
			return off, end, true
		case c&0xc0 == 0xc0:
			if off+1 >= len(b) {
				return 0, 0, false
			}
			if end < 0 {
				end = off + 2
			}
			off = (c&0x3f)<<8 | int(b[off+1])
			continue
		case c&0xc0 != 0:
			return 0, 0, false
		}
		if off+1+c > len(b) {
			return 0, 0, false
		}
		if !first {
			d.names = append(d.names, '.')
		}
		first = false
		d.names = append(d.names, b[off+1:off+1+c]...)
		off += 1 + c
	}
	return 0, 0, false
}
