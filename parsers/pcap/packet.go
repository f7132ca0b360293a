package pcap

import "net/netip"

// TCP flag bits as in the TCP header's flags byte (RFC 9293 §3.1).
const (
	FIN uint8 = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

// IP protocol numbers used by the analysis.
const (
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
)

// Encap is a tunnel the decoder went through to reach the inner packet.
type Encap uint8

const (
	EncapNone Encap = iota
	EncapVXLAN
	EncapGeneve
	EncapGRE
	EncapERSPAN
	EncapIPIP // IPv4/IPv6 in IPv4/IPv6
	EncapNFLOG
)

func (e Encap) String() string {
	return [...]string{"", "vxlan", "geneve", "gre", "erspan", "ipip", "nflog"}[e]
}

// Quote is the start of the datagram an ICMP error carries back
// (RFC 792: the IP header plus the first 8 bytes of its payload; RFC 4443
// for ICMPv6): it names the flow the error belongs to.
type Quote struct {
	Valid   bool
	Src     netip.Addr
	Dst     netip.Addr
	Proto   uint8
	SrcPort uint16
	DstPort uint16
	Seq     uint32 // TCP sequence number of the quoted segment
	IPID    uint16
}

// Packet is one decoded packet. Byte-slice fields point into the record
// buffer and are valid only until the next packet is read; copy what must
// outlive it.
type Packet struct {
	Number   int
	Time     int64 // ns since the Unix epoch
	CapLen   int
	Len      int
	Iface    int
	LinkType LinkType
	Comment  string
	Frame    []byte // the captured bytes of the record

	// Cut: the file ended inside this record. Snapped: the capture kept
	// fewer bytes than the packet had (snaplen); normal with -s 96 etc.
	Cut     bool
	Snapped bool
	// Malformed names the first layer that failed to decode ("" if none).
	Malformed string

	Encaps  [4]Encap
	NEncap  int
	VNI     uint32 // VXLAN/Geneve network identifier of the innermost tunnel
	Outer   [2]netip.Addr
	SLLIf   int32 // SLL2 interface index (-1 when not SLL2)
	SLLType uint8 // SLL/SLL2 packet type: 0 to us, 4 outgoing, ...

	IPVersion uint8 // 0 when the packet is not IP
	Src, Dst  netip.Addr
	Proto     uint8
	TTL       uint8
	IPID      uint32 // IPv4 identification or IPv6 fragment identification
	FragOff   uint16 // in 8-byte units
	MoreFrag  bool
	IPLen     int // IP total length from the header
	// IPPayload is what follows the (innermost) IPv4 header as captured:
	// a fragment's share of the datagram.
	IPPayload []byte

	l4               bool // a TCP/UDP header was decoded
	SrcPort, DstPort uint16
	TCPFlags         uint8
	Seq, Ack         uint32
	Window           uint16
	// L4 is the transport segment as captured: header and payload (what
	// Wireshark's `tcp contains` searches).
	L4 []byte
	// Payload is the transport payload present in the capture;
	// PayloadLen is its length per the headers (larger when snapped).
	Payload    []byte
	PayloadLen int

	HasICMP  bool
	ICMPID   uint16 // echo identifier
	ICMPType uint8
	ICMPCode uint8
	Quote    Quote

	IsDNS       bool
	DNSID       uint16
	DNSResponse bool
	DNSOpcode   uint8
	DNSRcode    uint8
	DNSQName    []byte
	DNSQType    uint16
	DNSAnswers  uint16

	HTTPMethod []byte
	HTTPURI    []byte
	HTTPHost   []byte
	HTTPStatus uint16
	HTTPReason []byte
}

// SetL4 marks a hand-built packet as having its TCP/UDP header decoded
// (tests and benchmarks that construct packets without a capture).
func SetL4(p *Packet) { p.l4 = true }

// ClearL4 forgets a packet's transport layer (a display filter's view of
// an IP fragment that does not complete its datagram).
func ClearL4(p *Packet) { p.clearL4() }

// HasTCP and HasUDP report the transport decoded.
func (p *Packet) HasTCP() bool { return p.IPVersion != 0 && p.Proto == ProtoTCP && p.l4 }
func (p *Packet) HasUDP() bool { return p.IPVersion != 0 && p.Proto == ProtoUDP && p.l4 }

// IsICMPError reports an ICMP/ICMPv6 error message (which quotes a packet).
func (p *Packet) IsICMPError() bool {
	if !p.HasICMP {
		return false
	}
	if p.Proto == ProtoICMP {
		switch p.ICMPType {
		case 3, 4, 5, 11, 12:
			return true
		}
		return false
	}
	return p.ICMPType < 128
}

func (p *Packet) reset() {
	*p = Packet{SLLIf: -1, DNSQName: p.DNSQName[:0]}
}

// clearL4 forgets transport fields when a tunnel's inner IP header
// replaces the outer one.
func (p *Packet) clearL4() {
	p.l4, p.L4 = false, nil
	p.SrcPort, p.DstPort = 0, 0
	p.TCPFlags, p.Seq, p.Ack, p.Window = 0, 0, 0, 0
	p.Payload, p.PayloadLen = nil, 0
	p.HasICMP, p.ICMPType, p.ICMPCode, p.Quote = false, 0, 0, Quote{}
	p.IsDNS = false
}
