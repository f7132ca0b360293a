// Package pcapflow follows the connections of a capture: it keys packets
// by 5-tuple, runs Zeek's per-endpoint TCP state machine to give each
// connection Zeek's conn_state and history, times SYN retries and the
// handshake, pairs DNS queries with answers and HTTP requests with
// responses, and ties ICMP errors to the flow they quote. Memory is
// bounded by the connections alive at one time: finished and idle flows
// are handed to a Sink and forgotten.
package pcapflow

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"regexp"

	"tkesnap/parsers/pcap"
)

// endpoint states of Zeek's TCP analyzer (TCP_ENDPOINT_*).
type epState uint8

const (
	stInactive epState = iota
	stSynSent
	stSynAckSent
	stPartial
	stEstablished
	stClosed
	stReset
)

// Key identifies a flow regardless of direction: the smaller endpoint
// first. For ICMP echo the identifier stands in for both ports.
// Addresses are stored as 16-byte arrays, not netip.Addr, so the key has
// no pointers: the flow map is then not scanned by the garbage collector
// and hashes fewer bytes.
type Key struct {
	A, B   [16]byte
	PA, PB uint16
	Proto  uint8
}

// MakeKey orders the two endpoints; swapped reports whether src is B.
func MakeKey(proto uint8, src, dst netip.Addr, sp, dp uint16) (k Key, swapped bool) {
	a, b := src.As16(), dst.As16()
	// bytes.Compare of the 16 bytes, as two big-endian words (a call
	// and a loop less per packet)
	be := binary.BigEndian
	ah, al, bh, bl := be.Uint64(a[:8]), be.Uint64(a[8:]), be.Uint64(b[:8]), be.Uint64(b[8:])
	if ah < bh || ah == bh && (al < bl || al == bl && sp <= dp) {
		return Key{a, b, sp, dp, proto}, false
	}
	return Key{b, a, dp, sp, proto}, true
}

// Endpoint is one side of a connection.
type Endpoint struct {
	Addr  netip.Addr `json:"addr"`
	Port  uint16     `json:"port"`
	Pkts  int        `json:"pkts"`
	Bytes int64      `json:"bytes"`         // IP bytes
	Data  int64      `json:"payload_bytes"` // transport payload bytes

	state, prev epState
	isn         uint32
	hasISN      bool
	maxSeq      uint32 // highest seq+len seen
	seqInit     bool
	lastSYN     uint32
	lastFIN     uint32
	lastRST     uint32
	histMask    uint16
	rxmit       int
	// last packet, for duplicate-frame detection
	lastID    uint32
	lastSeq   uint32
	lastAck   uint32
	lastFlags uint8
	lastLen   int
	lastTime  int64
}

// AddrPort is the endpoint as address:port.
func (e Endpoint) AddrPort() netip.AddrPort { return netip.AddrPortFrom(e.Addr, e.Port) }

// Attempt is one SYN the originator sent.
type Attempt struct {
	Packet int   `json:"packet"`
	Time   int64 `json:"time"`
	ISN    uint32
	IPID   uint32
}

// Flow is one connection (TCP), or UDP/ICMP conversation, seen in one
// capture.
type Flow struct {
	Key   Key      `json:"-"`
	Proto uint8    `json:"proto"`
	Orig  Endpoint `json:"orig"`
	Resp  Endpoint `json:"resp"`
	// ICMP: type and code of the first message (Zeek puts them in the
	// port fields).
	ICMPType, ICMPCode uint8 `json:"-"`

	State     string `json:"conn_state"`
	History   string `json:"history"`
	Community string `json:"community_id"`

	FirstPkt  int   `json:"first_packet"`
	LastPkt   int   `json:"last_packet"`
	FirstTime int64 `json:"first_time"`
	LastTime  int64 `json:"last_time"`
	Iface     int   `json:"iface"`
	// SLLIf is the interface index of the first packet in a tcpdump -i
	// any (SLL2) capture, -1 otherwise.
	SLLIf int32 `json:"sll_ifindex,omitempty"`

	// SYNs of the originator in order (bounded); SynAck is the packet of
	// the responder's first SYN-ACK (0 if none), Reset the first RST.
	SYNs        []Attempt `json:"syns,omitempty"`
	SynCount    int       `json:"syn_count"`
	SynAck      int       `json:"synack_packet,omitempty"`
	SynAckTime  int64     `json:"-"`
	AckTime     int64     `json:"-"`
	Reset       int       `json:"rst_packet,omitempty"`
	ResetByResp bool      `json:"rst_by_responder,omitempty"`
	// RTT: SYN→SYN-ACK and SYN-ACK→ACK, as seen at the capture point
	// (the first is the network beyond the capture point toward the
	// responder, the second toward the originator). 0 when unknown.
	RTTResp int64 `json:"rtt_resp_ns,omitempty"`
	RTTOrig int64 `json:"rtt_orig_ns,omitempty"`

	Retransmissions int `json:"retransmissions,omitempty"`
	Duplicates      int `json:"duplicate_frames,omitempty"`
	Fragments       int `json:"fragments,omitempty"`

	// Correlation signature: first orig payload hash and IP ID.
	FirstPayloadHash uint64 `json:"-"`
	FirstIPID        uint32 `json:"-"`
	Tunnel           string `json:"tunnel,omitempty"`

	hist     []byte
	histBuf  [16]byte   // backs hist: most histories are short
	synBuf   [2]Attempt // backs SYNs
	dnsIDs   []uint16   // DNS queries pending on this flow
	dnsBuf   [2]uint16  // backs dnsIDs: a query or two per flow is usual
	httpQ    []httpReq  // requests awaiting their response, in order
	httpBuf  [1]httpReq // backs httpQ: one request at a time is usual
	flipped  bool
	closedAt int64
	icmpErr  int

	// the flow table's and the expiry wheel's
	hash         uint64
	wprev, wnext *Flow // neighbours in the wheel slot
	due          int64 // tick of the wheel slot the flow is in
	queued       bool  // in a wheel slot
}

// Duration of the flow in ns.
func (f *Flow) Duration() int64 { return f.LastTime - f.FirstTime }

// String is "proto orig → resp".
func (f *Flow) String() string {
	if f.Proto != pcap.ProtoTCP && f.Proto != pcap.ProtoUDP {
		return fmt.Sprintf("%s %s → %s", ProtoName(f.Proto), f.Orig.Addr, f.Resp.Addr)
	}
	return fmt.Sprintf("%s %s → %s", ProtoName(f.Proto), f.Orig.AddrPort(), f.Resp.AddrPort())
}

// ProtoName names an IP protocol.
func ProtoName(p uint8) string {
	switch p {
	case pcap.ProtoTCP:
		return "tcp"
	case pcap.ProtoUDP:
		return "udp"
	case pcap.ProtoICMP:
		return "icmp"
	case pcap.ProtoICMPv6:
		return "icmp6"
	}
	return fmt.Sprintf("ip-proto-%d", p)
}

// history flags: each letter is recorded once per direction (Zeek's
// CheckHistory), except retransmissions, recorded at 1, 10, 100 ...
const (
	hSYN uint16 = 1 << iota
	hFIN
	hRST
	hData
	hAck
	hMulti
	hFinRst
)

func (f *Flow) addHist(e *Endpoint, isOrig bool, mask uint16, c byte) bool {
	if mask != 0 {
		if e.histMask&mask != 0 {
			return false
		}
		e.histMask |= mask
	}
	f.addLetter(isOrig, c)
	return true
}

func (f *Flow) addLetter(isOrig bool, c byte) {
	if !isOrig {
		c += 'a' - 'A'
	}
	if len(f.hist) < 64 {
		f.hist = append(f.hist, c)
	}
}

// tcp runs one segment through Zeek's endpoint state machine
// (TCPSessionAdapter::Process/UpdateStateMachine, simplified: no content
// gaps, no checksum checks).
func (f *Flow) tcp(p *pcap.Packet, isOrig bool) (rxmit bool) {
	e, peer := &f.Orig, &f.Resp
	if !isOrig {
		e, peer = &f.Resp, &f.Orig
	}
	fl := p.TCPFlags
	syn, fin, rst, ack := fl&pcap.SYN != 0, fl&pcap.FIN != 0, fl&pcap.RST != 0, fl&pcap.ACK != 0
	seq := p.Seq
	segLen := p.PayloadLen
	if syn {
		segLen++
	}
	if fin {
		segLen++
	}
	// Relative numbering starts at the ISN (or the first seq seen).
	if !e.seqInit {
		e.seqInit = true
		e.maxSeq = seq
		if syn {
			e.isn, e.hasISN = seq, true
		}
	}
	end := seq + uint32(segLen)

	// update_history
	bitsSet := b2i(syn) + b2i(fin) + b2i(rst)
	switch {
	case bitsSet > 1:
		if fin && rst {
			f.addHist(e, isOrig, hFinRst, 'I')
		} else {
			f.addHist(e, isOrig, hMulti, 'Q')
		}
	case bitsSet == 1:
		if syn {
			c := byte('S')
			if ack {
				c = 'H'
			}
			// A SYN with a new sequence number is a new attempt: Zeek
			// records the letter again.
			if !f.addHist(e, isOrig, hSYN, c) && seq != e.lastSYN {
				f.addLetter(isOrig, c)
			}
			e.lastSYN = seq
		}
		if fin {
			s := seq + uint32(p.PayloadLen)
			if !f.addHist(e, isOrig, hFIN, 'F') && s != e.lastFIN {
				f.addLetter(isOrig, 'F')
			}
			e.lastFIN = s
		}
		if rst {
			if !f.addHist(e, isOrig, hRST, 'R') && seq != e.lastRST {
				f.addLetter(isOrig, 'R')
			}
			e.lastRST = seq
		}
	default:
		if p.PayloadLen > 0 {
			f.addHist(e, isOrig, hData, 'D')
		} else if ack {
			f.addHist(e, isOrig, hAck, 'A')
		}
	}

	// update_last_seq: data at or below what we already saw is a
	// retransmission (Zeek's DidRxmit → 'T' at 1, 10, 100, ...).
	if d := int32(end - e.maxSeq); d > 0 {
		if e.state != stReset {
			e.maxSeq = end
		}
	} else if p.PayloadLen > 0 && !rst {
		rxmit = true
		e.rxmit++
		if r := e.rxmit; r == 1 || r == 10 || r == 100 || r == 1000 {
			f.addLetter(isOrig, 'T')
		}
	}

	// UpdateStateMachine
	switch e.state {
	case stInactive:
		if syn {
			if isOrig {
				if ack {
					e.setState(stSynAckSent)
				} else {
					e.setState(stSynSent)
				}
			} else {
				if !ack && peer.state == stSynAckSent {
					// SYN/SYN-ACK reversal: Zeek flips roles; we keep
					// the roles and establish.
					peer.setState(stEstablished)
				}
				if peer.state == stSynSent {
					peer.setState(stEstablished)
				}
				e.setState(stEstablished)
			}
		}
		if fin {
			e.setState(stClosed)
		}
		if rst {
			e.setState(stReset)
		}
		if e.state == stInactive {
			switch {
			case !isOrig && p.PayloadLen == 0 && f.Orig.state == stSynSent:
				// an ACK of the SYN before the SYN-ACK: not partial
			case ack && peer.state == stEstablished:
				e.setState(stEstablished)
			default:
				e.setState(stPartial)
			}
		}
	case stSynSent, stSynAckSent:
		if fin {
			e.setState(stClosed)
		}
		if rst {
			e.setState(stReset)
		}
	case stEstablished, stPartial:
		if syn && e.state == stPartial && peer.state == stInactive && !ack {
			e.setState(stSynSent)
		}
		if fin && !rst {
			e.setState(stClosed)
			if peer.state == stReset && peer.prev == stClosed {
				peer.setState(stClosed)
			}
		}
		if rst {
			e.setState(stReset)
		}
	case stClosed:
		if rst && peer.state != stClosed {
			e.setState(stReset)
		}
	case stReset:
	}
	return rxmit
}

func (e *Endpoint) setState(s epState) { e.prev, e.state = e.state, s }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

var rstos0 = regexp.MustCompile(`^\^?S[^HAFGIQ]*R.*`)

// connState is Zeek's conn_state (base/protocols/conn/main.zeek).
func (f *Flow) connState() string {
	os, rs := f.Orig.state, f.Resp.state
	if f.Proto == pcap.ProtoUDP {
		oa, ra := f.Orig.Pkts > 0, f.Resp.Pkts > 0
		switch {
		case oa && ra:
			return "SF"
		case oa:
			return "S0"
		case ra:
			return "SHR"
		}
		return "OTH"
	}
	if f.Proto != pcap.ProtoTCP {
		return "OTH"
	}
	oInactive := os == stInactive || os == stPartial
	rInactive := rs == stInactive || rs == stPartial
	switch {
	case rs == stReset:
		if os == stSynSent || os == stSynAckSent || os == stReset && f.Orig.Data == 0 && f.Resp.Data == 0 {
			return "REJ"
		}
		if oInactive {
			return "RSTRH"
		}
		return "RSTR"
	case os == stReset:
		if rInactive {
			if rstos0.MatchString(f.historyString()) {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case rs == stClosed && os == stClosed:
		return "SF"
	case os == stClosed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == stClosed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == stSynSent && rs == stInactive:
		return "S0"
	case os == stEstablished && rs == stEstablished:
		return "S1"
	}
	return "OTH"
}

func (f *Flow) historyString() string {
	if f.flipped {
		return "^" + string(f.hist)
	}
	return string(f.hist)
}

// finish decides the state; describe fills the strings of a flow that is
// kept for the report (hashing and formatting every flow of a large
// capture would cost more than following it).
func (f *Flow) finish() {
	f.State = f.connState()
}

func (f *Flow) describe() {
	if f.History != "" || f.Community != "" {
		return
	}
	f.History = f.historyString()
	sp, dp := f.Orig.Port, f.Resp.Port
	if f.Proto == pcap.ProtoICMP || f.Proto == pcap.ProtoICMPv6 {
		sp, dp = uint16(f.ICMPType), uint16(f.ICMPCode)
	}
	f.Community = CommunityID(f.Proto, f.Orig.Addr, f.Resp.Addr, sp, dp)
}

// closed reports whether both sides are done (FIN exchange or a RST).
func (f *Flow) closed() bool {
	if f.Proto != pcap.ProtoTCP {
		return false
	}
	o, r := f.Orig.state, f.Resp.state
	return o == stReset || r == stReset || o == stClosed && r == stClosed
}

// SynGaps are the intervals between successive SYNs of the originator,
// in ns: Linux retries after 1, 2, 4, 8 ... s (tcp_syn_retries), so the
// gaps tell a capture of a real timeout from a one-off drop.
func (f *Flow) SynGaps() []int64 {
	var g []int64
	for i := 1; i < len(f.SYNs); i++ {
		g = append(g, f.SYNs[i].Time-f.SYNs[i-1].Time)
	}
	return g
}
