package pcap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Decoder turns records into Packets with gopacket's DecodingLayerParser:
// one preallocated instance of each layer, reused for every packet, so the
// hot path (Ethernet/SLL → IP → TCP/UDP) allocates nothing.
//
// Thin wrappers around gopacket's layers copy each layer's fields into the
// Packet as it is decoded and choose the next layer: UDP 4789 and 8472
// (the Linux kernel's and flannel's VXLAN port) lead to VXLAN, 6081 to
// Geneve, 53/5353 to DNS; IP-in-IP and GRE/ERSPAN lead to the inner
// packet. Fields of an outer tunnel are overwritten by the inner packet,
// so the Packet describes the pod traffic inside an overlay; the outer
// addresses stay in Packet.Outer.
type Decoder struct {
	pkt *Packet // the packet being decoded: own, or the caller's (DecodeInto)
	own Packet

	eth    layers.Ethernet
	dot1q  layers.Dot1Q
	sll    sllLayer
	sll2   sll2Layer
	loop   layers.Loopback
	ip4    ip4Layer
	ip6    ip6Layer
	ip6ext ip6ExtLayer
	ip6frg ip6FragLayer
	tcp    tcpLayer
	udp    udpLayer
	icmp4  icmp4Layer
	icmp6  icmp6Layer
	vxlan  tunnelLayer[*layers.VXLAN]
	geneve tunnelLayer[*layers.Geneve]
	gre    tunnelLayer[*layers.GRE]
	erspan tunnelLayer[*layers.ERSPANII]
	dns    dnsLayer

	parsers map[gopacket.LayerType]*gopacket.DecodingLayerParser
	decoded []gopacket.LayerType

	frags fragCache
}

// NewDecoder builds a decoder; it is not safe for concurrent use.
func NewDecoder() *Decoder {
	d := &Decoder{decoded: make([]gopacket.LayerType, 0, 16)}
	d.pkt = &d.own
	d.sll.d, d.sll2.d, d.ip4.d, d.ip6.d, d.ip6frg.d, d.ip6ext.d = d, d, d, d, d, d
	d.tcp.d, d.udp.d, d.icmp4.d, d.icmp6.d, d.dns.d = d, d, d, d, d
	d.vxlan = tunnelLayer[*layers.VXLAN]{d: d, l: &layers.VXLAN{}, kind: EncapVXLAN}
	d.geneve = tunnelLayer[*layers.Geneve]{d: d, l: &layers.Geneve{}, kind: EncapGeneve}
	d.gre = tunnelLayer[*layers.GRE]{d: d, l: &layers.GRE{}, kind: EncapGRE}
	d.erspan = tunnelLayer[*layers.ERSPANII]{d: d, l: &layers.ERSPANII{}, kind: EncapERSPAN}
	d.parsers = map[gopacket.LayerType]*gopacket.DecodingLayerParser{}
	all := []gopacket.DecodingLayer{&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.loop,
		&d.ip4, &d.ip6, &d.ip6ext, &d.ip6frg, &d.tcp, &d.udp, &d.icmp4, &d.icmp6,
		&d.vxlan, &d.geneve, &d.gre, &d.erspan, &d.dns}
	for _, first := range []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeLinuxSLL,
		layers.LayerTypeLinuxSLL2, layers.LayerTypeLoopback, layers.LayerTypeIPv4, layers.LayerTypeIPv6} {
		p := gopacket.NewDecodingLayerParser(first)
		p.SetDecodingLayerContainer(gopacket.DecodingLayerSparse(nil))
		// Put the generic IPv6 extension skipper first so the fragment
		// header is handled by the fragment layer registered after it.
		for _, l := range all {
			p.AddDecodingLayer(l)
		}
		p.IgnoreUnsupported = true
		d.parsers[first] = p
	}
	return d
}

// Decode decodes one record. The returned Packet is owned by the decoder
// and valid until the next call.
func (d *Decoder) Decode(rec *Record) *Packet {
	d.pkt = &d.own
	return d.decode(rec)
}

// DecodeInto decodes one record into p, which the caller owns (a batch
// of packets handed to another goroutine). p's byte slices point into
// rec.Data, and into p's own DNS name buffer.
func (d *Decoder) DecodeInto(rec *Record, p *Packet) {
	d.pkt = p
	d.decode(rec)
	d.pkt = &d.own
}

func (d *Decoder) decode(rec *Record) *Packet {
	p := d.pkt
	p.reset()
	p.Number, p.Time, p.CapLen, p.Len, p.Iface = rec.Number, rec.Time, rec.CapLen, rec.Len, rec.Iface
	p.LinkType, p.Comment, p.Cut, p.Frame = rec.LinkType, rec.Comment, rec.Cut, rec.Data
	p.Snapped = rec.CapLen < rec.Len
	data := rec.Data
	var first gopacket.LayerType
	switch rec.LinkType {
	case LinkEthernet:
		first = layers.LayerTypeEthernet
	case LinkSLL:
		first = layers.LayerTypeLinuxSLL
	case LinkSLL2:
		first = layers.LayerTypeLinuxSLL2
	case LinkNull, LinkLoop:
		first = layers.LayerTypeLoopback
	case LinkIPv4:
		first = layers.LayerTypeIPv4
	case LinkIPv6:
		first = layers.LayerTypeIPv6
	case LinkRaw, LinkRawOld, LinkRawOld2:
		first = rawFirst(data)
	case LinkNFLOG:
		var ok bool
		if data, first, ok = nflogPayload(data); !ok {
			p.Malformed = "nflog"
			return p
		}
		p.addEncap(EncapNFLOG)
	default:
		return p
	}
	if first == gopacket.LayerTypeZero {
		return p
	}
	parser := d.parsers[first]
	if err := parser.DecodeLayers(data, &d.decoded); err != nil && p.Malformed == "" {
		p.Malformed = malformedName(d.decoded, first)
	}
	if p.IPVersion != 0 && p.FragOff != 0 {
		d.frags.lookup(p)
	}
	if p.Proto == ProtoTCP && p.l4 && len(p.Payload) > 0 {
		if p.SrcPort == 53 || p.DstPort == 53 {
			d.dnsOverTCP(p)
		}
		parseHTTP(p)
	}
	return p
}

// malformedName names the layer after the last one decoded.
func malformedName(decoded []gopacket.LayerType, first gopacket.LayerType) string {
	if len(decoded) == 0 {
		return first.String()
	}
	return "after " + decoded[len(decoded)-1].String()
}

func rawFirst(data []byte) gopacket.LayerType {
	if len(data) == 0 {
		return gopacket.LayerTypeZero
	}
	switch data[0] >> 4 {
	case 4:
		return layers.LayerTypeIPv4
	case 6:
		return layers.LayerTypeIPv6
	}
	return gopacket.LayerTypeZero
}

func (p *Packet) addEncap(e Encap) {
	if p.NEncap < len(p.Encaps) {
		p.Encaps[p.NEncap] = e
	}
	p.NEncap++
}

// NFLOGPayload finds NFULA_PAYLOAD in an NFLOG record
// (https://www.tcpdump.org/linktypes/LINKTYPE_NFLOG.html): a 4-byte header
// (address family, version, resource id) then TLVs with host-endian
// 16-bit length and type, padded to 4 bytes. family is the header's
// (2 AF_INET, 10 AF_INET6).
func NFLOGPayload(b []byte) (payload []byte, family byte, ok bool) {
	if len(b) < 4 {
		return nil, 0, false
	}
	family = b[0]
	b = b[4:]
	for len(b) >= 4 {
		l := int(binary.LittleEndian.Uint16(b[0:]))
		typ := binary.LittleEndian.Uint16(b[2:]) & 0x7fff
		if l < 4 || l > len(b) {
			return nil, 0, false
		}
		if typ == 9 { // NFULA_PAYLOAD
			return b[4:l], family, true
		}
		pad := (l + 3) &^ 3
		if pad > len(b) {
			break
		}
		b = b[pad:]
	}
	return nil, 0, false
}

func nflogPayload(b []byte) ([]byte, gopacket.LayerType, bool) {
	v, family, ok := NFLOGPayload(b)
	switch {
	case !ok:
		return nil, 0, false
	case family == 2: // AF_INET
		return v, layers.LayerTypeIPv4, true
	case family == 10: // AF_INET6
		return v, layers.LayerTypeIPv6, true
	}
	lt := rawFirst(v)
	return v, lt, lt != gopacket.LayerTypeZero
}

// ---- layer wrappers ----

type sllLayer struct {
	layers.LinuxSLL
	d *Decoder
}

func (l *sllLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := l.LinuxSLL.DecodeFromBytes(data, df); err != nil {
		return err
	}
	l.d.pkt.SLLType = uint8(l.PacketType)
	return nil
}

type sll2Layer struct {
	layers.LinuxSLL2
	d *Decoder
}

func (l *sll2Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := l.LinuxSLL2.DecodeFromBytes(data, df); err != nil {
		return err
	}
	l.d.pkt.SLLIf = int32(l.InterfaceIndex)
	l.d.pkt.SLLType = uint8(l.PacketType)
	return nil
}

type ip4Layer struct {
	layers.IPv4
	d *Decoder
}

func (l *ip4Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := l.IPv4.DecodeFromBytes(data, df); err != nil {
		return err
	}
	p := l.d.pkt
	src, dst := netip.AddrFrom4([4]byte(l.SrcIP)), netip.AddrFrom4([4]byte(l.DstIP))
	p.setIP(4, src, dst)
	p.Proto, p.TTL, p.IPID = uint8(l.Protocol), l.TTL, uint32(l.Id)
	p.FragOff, p.MoreFrag = l.FragOffset, l.Flags&layers.IPv4MoreFragments != 0
	p.IPLen = int(l.Length)
	p.IPPayload = l.IPv4.Payload
	return nil
}

func (l *ip4Layer) NextLayerType() gopacket.LayerType {
	if l.FragOffset != 0 {
		return gopacket.LayerTypeZero // a later fragment: no transport header
	}
	switch l.Protocol {
	case layers.IPProtocolIPv4, layers.IPProtocolIPv6:
		l.d.pkt.addEncap(EncapIPIP)
	}
	return l.Protocol.LayerType()
}

// setIP records an IP header; a second one means we are inside a tunnel.
func (p *Packet) setIP(v uint8, src, dst netip.Addr) {
	if p.IPVersion != 0 && !p.Outer[0].IsValid() {
		p.Outer = [2]netip.Addr{p.Src, p.Dst}
	}
	p.clearL4()
	p.IPVersion, p.Src, p.Dst = v, src, dst
	p.FragOff, p.MoreFrag, p.IPID = 0, false, 0
}

type ip6Layer struct {
	layers.IPv6
	d *Decoder
}

func (l *ip6Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := l.IPv6.DecodeFromBytes(data, df); err != nil {
		return err
	}
	p := l.d.pkt
	p.setIP(6, netip.AddrFrom16([16]byte(l.SrcIP)), netip.AddrFrom16([16]byte(l.DstIP)))
	p.Proto, p.TTL = uint8(l.NextHeader), l.HopLimit
	if l.HopByHop != nil { // gopacket decodes hop-by-hop inside the IPv6 layer (MLD has one)
		p.Proto = uint8(l.HopByHop.NextHeader)
	}
	p.IPLen = int(l.Length) + 40
	return nil
}

func (l *ip6Layer) NextLayerType() gopacket.LayerType {
	switch layers.IPProtocol(l.d.pkt.Proto) {
	case layers.IPProtocolIPv4, layers.IPProtocolIPv6:
		l.d.pkt.addEncap(EncapIPIP)
	}
	return l.IPv6.NextLayerType()
}

// ip6ExtLayer skips hop-by-hop, routing and destination options headers;
// the protocol of the packet is the header after them.
type ip6ExtLayer struct {
	layers.IPv6ExtensionSkipper
	d *Decoder
}

func (l *ip6ExtLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := l.IPv6ExtensionSkipper.DecodeFromBytes(data, df); err != nil {
		return err
	}
	l.d.pkt.Proto = uint8(l.NextHeader)
	return nil
}

type ip6FragLayer struct {
	layers.IPv6Fragment
	d *Decoder
}

func (l *ip6FragLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := l.IPv6Fragment.DecodeFromBytes(data, df); err != nil {
		return err
	}
	p := l.d.pkt
	p.Proto, p.IPID = uint8(l.NextHeader), l.Identification
	p.FragOff, p.MoreFrag = l.FragmentOffset, l.MoreFragments
	return nil
}

// NextLayerType: the first fragment (offset 0) still starts with the
// transport header, which names the flow.
func (l *ip6FragLayer) NextLayerType() gopacket.LayerType {
	if l.FragmentOffset != 0 {
		return gopacket.LayerTypeZero
	}
	return l.NextHeader.LayerType()
}

type tcpLayer struct {
	layers.TCP
	d *Decoder
}

func (l *tcpLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	p := l.d.pkt
	// gopacket needs the whole header with options; a header cut by the
	// snap length still names the flow, so read the fixed part ourselves.
	if len(data) >= 14 {
		p.l4 = true
		p.L4 = data
		p.SrcPort = binary.BigEndian.Uint16(data[0:])
		p.DstPort = binary.BigEndian.Uint16(data[2:])
		p.Seq = binary.BigEndian.Uint32(data[4:])
		p.Ack = binary.BigEndian.Uint32(data[8:])
		p.TCPFlags = data[13]
	}
	// The fixed header is all the analysis needs; gopacket's TCP layer
	// would also parse every option (RFC 9293 §3.1) on the hot path.
	if len(data) < 20 {
		df.SetTruncated()
		return errTCPShort
	}
	off := int(data[12]>>4) * 4
	if off < 20 {
		return errTCPOffset
	}
	if p.MoreFrag {
		l.d.frags.store(p)
	}
	p.Window = binary.BigEndian.Uint16(data[14:])
	if off > len(data) {
		df.SetTruncated()
		return errTCPShort
	}
	l.TCP.Contents, l.TCP.Payload = data[:off], data[off:]
	p.Payload = data[off:]
	p.PayloadLen = len(p.Payload)
	if p.IPLen > 0 && p.FragOff == 0 && !p.MoreFrag {
		if n := l.d.ipPayloadLen(data) - off; n > p.PayloadLen {
			p.PayloadLen = n
		}
	}
	return nil
}

// ipPayloadLen is the transport segment length the IP header announces.
func (d *Decoder) ipPayloadLen(seg []byte) int {
	p := d.pkt
	if p.IPVersion == 4 {
		return p.IPLen - int(d.ip4.IHL)*4
	}
	// IPv6 payload length covers extension headers too; the segment
	// starts after them, so subtract what lies between.
	return p.IPLen - 40 - (len(d.ip6.Payload) - len(seg))
}

func (l *tcpLayer) NextLayerType() gopacket.LayerType { return gopacket.LayerTypeZero }

var (
	errTCPShort  = errors.New("TCP header cut short")
	errTCPOffset = errors.New("TCP data offset below 5 words")
)

type udpLayer struct {
	layers.UDP
	d *Decoder
}

func (l *udpLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	p := l.d.pkt
	if len(data) >= 4 {
		p.l4 = true
		p.L4 = data
		p.SrcPort = binary.BigEndian.Uint16(data[0:])
		p.DstPort = binary.BigEndian.Uint16(data[2:])
	}
	if err := l.UDP.DecodeFromBytes(data, df); err != nil {
		return err
	}
	p.Payload = l.UDP.Payload
	p.PayloadLen = max(int(l.Length)-8, len(p.Payload))
	if p.MoreFrag {
		l.d.frags.store(p)
	}
	return nil
}

// NextLayerType picks tunnels and DNS by port. Port 8472 is the Linux
// kernel's default VXLAN port (ip link add ... type vxlan without dstport)
// and flannel's vxlan backend; gopacket only knows IANA's 4789.
func (l *udpLayer) NextLayerType() gopacket.LayerType {
	p := l.d.pkt
	if p.MoreFrag || p.FragOff != 0 {
		return gopacket.LayerTypeZero // a partial datagram: do not parse its payload
	}
	for _, port := range [2]uint16{p.DstPort, p.SrcPort} {
		switch port {
		case 4789, 8472:
			return layers.LayerTypeVXLAN
		case 6081:
			return layers.LayerTypeGeneve
		case 53, 5353, 5355:
			return layers.LayerTypeDNS
		}
	}
	return gopacket.LayerTypeZero
}

type icmp4Layer struct {
	layers.ICMPv4
	d *Decoder
}

func (l *icmp4Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := l.ICMPv4.DecodeFromBytes(data, df); err != nil {
		return err
	}
	p := l.d.pkt
	p.l4 = false
	p.HasICMP = true
	p.ICMPType, p.ICMPCode = l.TypeCode.Type(), l.TypeCode.Code()
	p.ICMPID = l.Id
	p.Payload, p.PayloadLen = l.ICMPv4.Payload, len(l.ICMPv4.Payload)
	// Echo request/reply: identifier as "source port", like Zeek's and
	// Community ID's treatment of ICMP (type/code as ports).
	if p.IsICMPError() {
		p.Quote = parseQuote(l.ICMPv4.Payload)
	}
	return nil
}

func (l *icmp4Layer) NextLayerType() gopacket.LayerType { return gopacket.LayerTypeZero }

type icmp6Layer struct {
	layers.ICMPv6
	d *Decoder
}

func (l *icmp6Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := l.ICMPv6.DecodeFromBytes(data, df); err != nil {
		return err
	}
	p := l.d.pkt
	p.l4 = false
	p.HasICMP = true
	p.ICMPType, p.ICMPCode = l.TypeCode.Type(), l.TypeCode.Code()
	p.Payload, p.PayloadLen = l.ICMPv6.Payload, len(l.ICMPv6.Payload)
	if (p.ICMPType == 128 || p.ICMPType == 129) && len(p.Payload) >= 2 {
		p.ICMPID = binary.BigEndian.Uint16(p.Payload)
	}
	// Error messages: 4 unused/MTU/pointer bytes, then the quoted packet.
	if p.ICMPType < 128 && len(l.ICMPv6.Payload) >= 4 {
		p.Quote = parseQuote(l.ICMPv6.Payload[4:])
	}
	return nil
}

func (l *icmp6Layer) NextLayerType() gopacket.LayerType { return gopacket.LayerTypeZero }

// parseQuote reads the IP header and first transport bytes an ICMP error
// quotes. It is tolerant: whatever is present is used.
func parseQuote(b []byte) Quote {
	var q Quote
	if len(b) < 1 {
		return q
	}
	var l4 []byte
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return q
		}
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || ihl > len(b) {
			return q
		}
		q.Src, q.Dst = netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
		q.Proto = b[9]
		q.IPID = binary.BigEndian.Uint16(b[4:])
		if binary.BigEndian.Uint16(b[6:])&0x1fff == 0 {
			l4 = b[ihl:]
		}
	case 6:
		if len(b) < 40 {
			return q
		}
		q.Src, q.Dst = netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
		q.Proto = b[6]
		l4 = b[40:]
	default:
		return q
	}
	q.Valid = true
	if (q.Proto == ProtoTCP || q.Proto == ProtoUDP) && len(l4) >= 4 {
		q.SrcPort = binary.BigEndian.Uint16(l4[0:])
		q.DstPort = binary.BigEndian.Uint16(l4[2:])
		if q.Proto == ProtoTCP && len(l4) >= 8 {
			q.Seq = binary.BigEndian.Uint32(l4[4:])
		}
	}
	return q
}

// tunnelLayer records that the packet went through a tunnel header.
type tunnelLayer[L gopacket.DecodingLayer] struct {
	l    L
	d    *Decoder
	kind Encap
}

func (t *tunnelLayer[L]) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := t.l.DecodeFromBytes(data, df); err != nil {
		return err
	}
	p := t.d.pkt
	p.addEncap(t.kind)
	switch v := any(t.l).(type) {
	case *layers.VXLAN:
		p.VNI = v.VNI
	case *layers.Geneve:
		p.VNI = v.VNI
	case *layers.GRE:
		if v.Protocol == layers.EthernetTypeERSPAN && len(v.Contents) == 4 {
			p.Encaps[min(p.NEncap-1, len(p.Encaps)-1)] = EncapERSPAN
		}
	}
	return nil
}

func (t *tunnelLayer[L]) CanDecode() gopacket.LayerClass    { return t.l.CanDecode() }
func (t *tunnelLayer[L]) NextLayerType() gopacket.LayerType { return t.l.NextLayerType() }
func (t *tunnelLayer[L]) LayerPayload() []byte              { return t.l.LayerPayload() }

type dnsLayer struct {
	layers.DNS
	d *Decoder
}

func (l *dnsLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := l.DNS.DecodeFromBytes(data, df); err != nil {
		return err
	}
	l.d.pkt.setDNS(&l.DNS)
	return nil
}

func (l *dnsLayer) NextLayerType() gopacket.LayerType { return gopacket.LayerTypeZero }

func (p *Packet) setDNS(m *layers.DNS) {
	p.IsDNS = true
	p.DNSID, p.DNSResponse = m.ID, m.QR
	p.DNSOpcode, p.DNSRcode = uint8(m.OpCode), uint8(m.ResponseCode)
	p.DNSAnswers = m.ANCount
	p.DNSQName = p.DNSQName[:0]
	if len(m.Questions) > 0 {
		p.DNSQName = append(p.DNSQName, m.Questions[0].Name...)
		p.DNSQType = uint16(m.Questions[0].Type)
	}
}

// dnsOverTCP decodes a DNS message at the start of a TCP segment
// (RFC 1035 §4.2.2: a two-byte length prefix). Messages split over
// several segments are not reassembled.
func (d *Decoder) dnsOverTCP(p *Packet) {
	b := p.Payload
	if len(b) < 14 {
		return
	}
	n := int(binary.BigEndian.Uint16(b))
	if n < 12 || n > len(b)-2 {
		return
	}
	if d.dns.DNS.DecodeFromBytes(b[2:2+n], gopacket.NilDecodeFeedback) == nil {
		p.setDNS(&d.dns.DNS)
	}
}

// parseHTTP reads an HTTP/1.x request line and Host header, or a status
// line, at the start of a TCP segment (RFC 9112 §3, §4). Only the first
// segment of a message is looked at; that is what display filters and
// the error findings need.
func parseHTTP(p *Packet) {
	b := p.Payload
	if len(b) < 12 {
		return
	}
	eol := bytes.IndexByte(b, '\n')
	if eol < 0 {
		eol = len(b)
	}
	line := bytes.TrimRight(b[:eol], "\r")
	if bytes.HasPrefix(line, []byte("HTTP/1.")) && len(line) >= 12 && line[8] == ' ' {
		code := 0
		for _, c := range line[9:12] {
			if c < '0' || c > '9' {
				return
			}
			code = code*10 + int(c-'0')
		}
		if code < 100 || code > 999 {
			return
		}
		p.HTTPStatus = uint16(code)
		if len(line) > 13 {
			p.HTTPReason = line[13:]
		}
		return
	}
	// METHOD SP request-target SP HTTP/1.x
	sp := bytes.IndexByte(line, ' ')
	if sp < 1 || sp > 20 {
		return
	}
	for _, c := range line[:sp] {
		if !(c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return
		}
	}
	last := bytes.LastIndexByte(line, ' ')
	if last <= sp || !bytes.HasPrefix(line[last+1:], []byte("HTTP/")) {
		return
	}
	p.HTTPMethod, p.HTTPURI = line[:sp], line[sp+1:last]
	// Host header among the following lines.
	var rest []byte
	if eol < len(b) {
		rest = b[eol+1:]
	}
	for len(rest) > 0 {
		e := bytes.IndexByte(rest, '\n')
		var h []byte
		if e < 0 {
			h, rest = rest, nil
		} else {
			h, rest = rest[:e], rest[e+1:]
		}
		h = bytes.TrimRight(h, "\r")
		if len(h) == 0 {
			break
		}
		if len(h) > 5 && h[4] == ':' && (h[0]|0x20) == 'h' && (h[1]|0x20) == 'o' && (h[2]|0x20) == 's' && (h[3]|0x20) == 't' {
			p.HTTPHost = bytes.TrimSpace(h[5:])
			break
		}
	}
}

// fragCache remembers the ports of recent first fragments so that later
// fragments of the same datagram count for the same flow. Fixed size: a
// capture full of fragments cannot grow it.
type fragCache struct {
	ent  [256]fragEntry
	next int
}

type fragEntry struct {
	src, dst netip.Addr
	proto    uint8
	id       uint32
	sp, dp   uint16
}

func (c *fragCache) store(p *Packet) {
	c.ent[c.next] = fragEntry{p.Src, p.Dst, p.Proto, p.IPID, p.SrcPort, p.DstPort}
	c.next = (c.next + 1) % len(c.ent)
}

func (c *fragCache) lookup(p *Packet) {
	for i := range c.ent {
		e := &c.ent[i]
		if e.id == p.IPID && e.proto == p.Proto && e.src == p.Src && e.dst == p.Dst {
			p.SrcPort, p.DstPort, p.l4 = e.sp, e.dp, true
			return
		}
	}
}
