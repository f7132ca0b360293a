package pcapflow

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"net/netip"
)

// CommunityID computes the Community ID v1 flow hash with seed 0
// (https://github.com/corelight/community-id-spec): the SHA-1 of seed,
// the two addresses and ports ordered smaller endpoint first, protocol
// and a pad byte, base64-encoded behind "1:". ICMP uses type and code
// as ports, mapping request types to their replies so both directions of
// an exchange hash alike.
func CommunityID(proto uint8, src, dst netip.Addr, sport, dport uint16) string {
	src, dst = src.Unmap(), dst.Unmap()
	oneWay := false
	switch proto {
	case 1:
		sport, dport, oneWay = icmpPorts(icmp4Pairs, sport, dport)
	case 58:
		sport, dport, oneWay = icmpPorts(icmp6Pairs, sport, dport)
	}
	sb, db := src.AsSlice(), dst.AsSlice()
	if !oneWay {
		c := bytes.Compare(sb, db)
		if c > 0 || c == 0 && sport > dport {
			sb, db, sport, dport = db, sb, dport, sport
		}
	}
	h := sha1.New()
	var b [6]byte
	binary.BigEndian.PutUint16(b[0:], 0) // seed
	h.Write(b[:2])
	h.Write(sb)
	h.Write(db)
	b[0], b[1] = proto, 0
	binary.BigEndian.PutUint16(b[2:], sport)
	binary.BigEndian.PutUint16(b[4:], dport)
	h.Write(b[:6])
	return "1:" + base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// Request/reply pairs of the spec's ICMP mapping.
var (
	icmp4Pairs = map[uint16]uint16{8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17, 10: 9, 9: 10}
	icmp6Pairs = map[uint16]uint16{128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130, 144: 145, 145: 144}
)

// icmpPorts takes type and code (passed as ports) and returns the ports
// the hash uses and whether the message is one-way (no reply type).
func icmpPorts(pairs map[uint16]uint16, typ, code uint16) (uint16, uint16, bool) {
	if r, ok := pairs[typ]; ok {
		return typ, r, false
	}
	return typ, code, true
}
