package filter

import "tkesnap/parsers/pcap"

// TCP sequence analysis as Wireshark 4.0 does it
// (epan/dissectors/packet-tcp.c, tcp_analyze_sequence_number, with
// tcp.analyze_sequence_numbers on by default), for the one field the
// filter offers from it: tcp.analysis.retransmission. Wireshark adds
// that field to a retransmission, a fast retransmission and a spurious
// retransmission, not to an out-of-order segment or a keep-alive; which
// of these a segment is depends on the state below, so the state is
// kept as packet-tcp.c keeps it: per conversation and direction, the
// highest sequence number seen (nextseq) and when, the last ACK and
// window sent and when, duplicate ACKs counted, the segments not yet
// acknowledged (at most 1000 counted), and the first round trip time.

type convKey struct {
	a, b   [16]byte
	pa, pb uint16
}

type tcpFlow struct {
	baseSet      bool
	base         uint32 // ISN (seq of the SYN) or seq-1 of the first segment
	nextseq      uint32 // 0: unknown
	nextseqTime  int64
	lastack      uint32
	lastackTime  int64
	window       uint16
	dupacks      int
	lastSegFlags uint8
	unacked      []uint32 // nextseq of each segment not yet acknowledged
}

type tcpConv struct {
	f        [2]tcpFlow
	mruSyn   int64 // time of the last SYN (without ACK)
	firstRTT int64
}

// Flags of one segment's analysis that later segments look at.
const (
	taKeepAlive uint8 = 1 << iota
	taZeroWindowProbe
)

const (
	maxUnacked   = 1000    // TCP_MAX_UNACKED_SEGMENTS
	maxConvs     = 1 << 16 // conversations followed at once
	maxSegsTotal = 1 << 21 // unacknowledged segments remembered, all conversations
)

func ltSeq(a, b uint32) bool { return int32(a-b) < 0 }
func gtSeq(a, b uint32) bool { return int32(a-b) > 0 }
func leSeq(a, b uint32) bool { return int32(a-b) <= 0 }

// analyze runs the sequence analysis of one TCP segment and records in
// e whether Wireshark calls it a retransmission.
func (d *Dissector) analyze(e *Env, l *layer, now int64) {
	src, dst := d.addrsOf(l)
	a, b := src.As16(), dst.As16()
	k := convKey{a, b, l.sp, l.dp}
	dir := 0
	// Wireshark orders a conversation's two directions by address, then
	// port; either order works as long as it is the same both ways.
	if c := cmp16(a, b); c > 0 || c == 0 && l.sp > l.dp {
		k = convKey{b, a, l.dp, l.sp}
		dir = 1
	}
	flags := l.flags
	seq, ack, win := l.seq, l.ack, l.win
	seglen := uint32(l.segLen)
	c := d.convs[k]
	// A SYN with another ISN than the conversation's starts a new
	// conversation (Wireshark: "TCP port numbers reused").
	if c != nil && flags&(pcap.SYN|pcap.ACK) == pcap.SYN && c.f[dir].baseSet && seq != c.f[dir].base {
		d.segsTotal -= len(c.f[0].unacked) + len(c.f[1].unacked)
		c = nil
	}
	if c == nil {
		if len(d.convs) >= maxConvs || d.segsTotal >= maxSegsTotal {
			clear(d.convs)
			d.segsTotal = 0
		}
		c = &tcpConv{}
		d.convs[k] = c
	}
	fwd, rev := &c.f[dir], &c.f[1-dir]

	if !fwd.baseSet {
		fwd.base, fwd.baseSet = seq-1, true
		if flags&pcap.SYN != 0 {
			fwd.base = seq
		}
	}
	if !rev.baseSet && flags&pcap.ACK != 0 {
		rev.base, rev.baseSet = ack-1, true
	}

	var ta uint8
	noSFR := flags&(pcap.SYN|pcap.FIN|pcap.RST) == 0
	switch {
	case seglen == 1 && seq == fwd.nextseq && rev.window == 0:
		ta |= taZeroWindowProbe
	default:
		if (seglen == 0 || seglen == 1) && seq == fwd.nextseq-1 && noSFR {
			ta |= taKeepAlive
		}
		sameAsLast := seglen == 0 && win != 0 && win == fwd.window && seq == fwd.nextseq && ack == fwd.lastack && noSFR
		switch {
		case sameAsLast && rev.lastSegFlags&taKeepAlive != 0:
		case seglen == 0 && win == 0 && win == fwd.window && seq == fwd.nextseq && ack == fwd.lastack &&
			rev.lastSegFlags&taZeroWindowProbe != 0 && noSFR:
		case sameAsLast: // a duplicate ACK
			fwd.dupacks++
		}
	}
	if ack != fwd.lastack {
		fwd.dupacks = 0
	}

	retrans := false
	synfin := flags&(pcap.SYN|pcap.FIN) != 0
	if (seglen > 0 || synfin) && ta&taKeepAlive == 0 {
		notAdvanced := fwd.nextseq != 0 && ltSeq(seq, fwd.nextseq)
		// More than one byte starting one before nextseq adds new data
		// (after a possible zero window probe).
		if seglen > 1 && fwd.nextseq-1 == seq {
			notAdvanced = false
		}
		oooThres := int64(3_000_000)
		if c.firstRTT != 0 {
			oooThres = c.firstRTT
		}
		var sf uint32
		if synfin {
			sf = 1
		}
		switch {
		case notAdvanced && rev.dupacks >= 2 && rev.lastack == seq && now-rev.lastackTime < 20_000_000:
			retrans = true // fast retransmission
		case notAdvanced && now-fwd.nextseqTime < oooThres && fwd.nextseq != seq+seglen+sf:
			// out of order
		case seglen > 0 && rev.lastack != 0 && leSeq(seq+seglen, rev.lastack):
			retrans = true // spurious retransmission
		case notAdvanced:
			retrans = true
		}
	}
	e.retransmission = retrans

	next := seq + seglen
	if (seglen > 0 || synfin) && len(fwd.unacked) < maxUnacked {
		if synfin {
			next++
		}
		fwd.unacked = append(fwd.unacked, next)
		d.segsTotal++
	}
	if (gtSeq(next, fwd.nextseq) || fwd.nextseq == 0) && ta&taZeroWindowProbe == 0 {
		fwd.nextseq, fwd.nextseqTime = next, now
	}
	fwd.window, fwd.lastack, fwd.lastackTime = win, ack, now
	fwd.lastSegFlags = ta

	// The segments this ACK covers are no longer unacknowledged.
	n := 0
	for _, x := range rev.unacked {
		if !leSeq(x, ack) {
			rev.unacked[n] = x
			n++
		}
	}
	d.segsTotal -= len(rev.unacked) - n
	rev.unacked = rev.unacked[:n]

	if flags&(pcap.SYN|pcap.ACK) == pcap.ACK && c.mruSyn != 0 && c.firstRTT == 0 {
		c.firstRTT = now - c.mruSyn
	}
	if flags&(pcap.SYN|pcap.ACK) == pcap.SYN {
		c.mruSyn = now
	}
}

func cmp16(a, b [16]byte) int {
	for i := range a {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	return 0
}
