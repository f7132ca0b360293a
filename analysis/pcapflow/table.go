package pcapflow

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"

	"tkesnap/parsers/pcap"
)

// flowTable holds the live flows by key: an open-addressing table of
// (hash, flow) slots, linear probing, at most half full. A Go map keyed
// by Key hashed and compared 38 bytes per packet through a directory and
// 48-byte slots; here one 16-byte slot is read and a flow's key compared
// only when the 64-bit hashes agree. The hash is keyed by random seeds
// drawn per process: a hostile capture cannot aim its flows at one run
// of slots.
type flowTable struct {
	slots []flowSlot
	seed  [5]uint64
	n     int
}

type flowSlot struct {
	h uint64
	f *Flow // nil: empty
}

func newFlowTable() flowTable {
	t := flowTable{slots: make([]flowSlot, 64)}
	for i := range t.seed {
		t.seed[i] = rand.Uint64()
	}
	return t
}

// mix is wyhash's multiply-and-fold: every input bit reaches every
// output bit of the 128-bit product.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func (t *flowTable) hash(k *Key) uint64 {
	le := binary.LittleEndian
	ports := uint64(k.PA) | uint64(k.PB)<<16 | uint64(k.Proto)<<32
	return mix(le.Uint64(k.A[:8])^t.seed[0], le.Uint64(k.A[8:])^t.seed[1]) ^
		mix(le.Uint64(k.B[:8])^t.seed[2], le.Uint64(k.B[8:])^t.seed[3]) ^
		mix(ports^t.seed[4], t.seed[0]^t.seed[3])
}

func (t *flowTable) get(k *Key, h uint64) *Flow {
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.f == nil {
			return nil
		}
		if s.h == h && s.f.Key == *k {
			return s.f
		}
	}
}

// put adds f (its Key set, not in the table) under hash h.
func (t *flowTable) put(f *Flow, h uint64) {
	if 2*(t.n+1) > len(t.slots) {
		old := t.slots
		t.slots = make([]flowSlot, 2*len(old))
		for _, s := range old {
			if s.f != nil {
				t.insert(s)
			}
		}
	}
	f.hash = h
	t.insert(flowSlot{h, f})
	t.n++
}

func (t *flowTable) insert(s flowSlot) {
	mask := uint64(len(t.slots) - 1)
	i := s.h & mask
	for t.slots[i].f != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

// del removes f, which is in the table, and moves back the slots after
// it that probing would no longer reach (no tombstones).
func (t *flowTable) del(f *Flow) {
	mask := uint64(len(t.slots) - 1)
	i := f.hash & mask
	for t.slots[i].f != f {
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		s := t.slots[j]
		if s.f == nil {
			break
		}
		// s stays if its home slot lies cyclically in (i, j].
		if home := s.h & mask; (j-home)&mask < (j-i)&mask {
			continue
		}
		t.slots[i] = s
		i = j
	}
	t.slots[i] = flowSlot{}
	t.n--
}

// each calls fn for every flow; fn must not change the table.
func (t *flowTable) each(fn func(*Flow)) {
	for _, s := range t.slots {
		if s.f != nil {
			fn(s.f)
		}
	}
}

// The expiry wheel hands a flow to the result about when it times out,
// instead of visiting every live flow now and then: memory then holds
// the flows that are open (or within their close delay), not also those
// that ended since the last visit, and no packet pays for a visit. A flow
// is in the slot of the tick after the earliest time it could time out if
// no packet came (deadline). A packet that moves the deadline later
// leaves it there (the flow is put back further when its slot comes); one
// that moves it earlier (the connection closed) moves it. Whether a flow
// timed out is decided by timedOut alone, as for the flow a packet finds:
// the wheel decides only when memory is given back, so results do not
// depend on it.
const (
	wheelTick  = int64(1e9)
	wheelSlots = 1024 // > (tcpIdle + a tick) / wheelTick: no slot holds two rounds
)

// A wheel's slots are lists linked through the flows (Flow.wprev,
// wnext): moving a flow costs no allocation and leaves nothing behind.
type wheel struct {
	slots [wheelSlots]*Flow
	tick  int64 // the last tick whose slot was handled
	next  int64 // the time at which the next tick starts
	init  bool
}

// deadline is the earliest time f can time out if no packet comes:
// timedOut's smallest threshold for the state f is in.
func deadline(f *Flow) int64 {
	var d int64
	switch {
	case f.closed(),
		f.Proto == pcap.ProtoUDP && f.Resp.Pkts > 0 && (f.Resp.Port == 53 || f.Orig.Port == 53):
		d = closeDelay
	case f.Proto == pcap.ProtoTCP && f.Resp.Pkts == 0 && f.Orig.state == stSynSent:
		d = synIdle
	case f.Proto == pcap.ProtoTCP:
		d = tcpIdle
	default:
		d = udpIdle
	}
	return f.LastTime + d
}

// dueTick is the tick of the slot for f: after its deadline, after the
// last slot handled, and less than a round ahead.
func (w *wheel) dueTick(f *Flow) int64 {
	t := floorDiv(deadline(f), wheelTick) + 1
	return min(max(t, w.tick+1), w.tick+wheelSlots-1)
}

func (w *wheel) link(f *Flow, t int64) {
	s := &w.slots[t&(wheelSlots-1)]
	f.due, f.wprev, f.wnext, f.queued = t, nil, *s, true
	if *s != nil {
		(*s).wprev = f
	}
	*s = f
}

func (w *wheel) unlink(f *Flow) {
	if !f.queued {
		return
	}
	if f.wprev != nil {
		f.wprev.wnext = f.wnext
	} else {
		w.slots[f.due&(wheelSlots-1)] = f.wnext
	}
	if f.wnext != nil {
		f.wnext.wprev = f.wprev
	}
	f.wprev, f.wnext, f.queued = nil, nil, false
}

// start places a new flow; now is its first packet's time.
func (w *wheel) start(f *Flow, now int64) {
	if !w.init {
		w.tick, w.init = floorDiv(now, wheelTick), true
		w.next = (w.tick + 1) * wheelTick
	}
	w.link(f, w.dueTick(f))
}

// touched: a packet of f may have brought its deadline forward (the
// connection closed, the DNS answer came).
func (w *wheel) touched(f *Flow) {
	if t := w.dueTick(f); t < f.due {
		w.unlink(f)
		w.link(f, t)
	}
}

// advance handles the slots of the ticks up to now: a flow in them is
// expired when timed out, put in the slot of its new deadline otherwise
// (after now: it has not timed out).
func (a *Analyzer) advance() {
	w := &a.wheel
	cur := floorDiv(a.now, wheelTick)
	if !w.init || cur <= w.tick {
		return // the same tick, or time went back (interfaces merged out of order)
	}
	last := min(cur, w.tick+wheelSlots)
	for t := w.tick + 1; t <= last; t++ {
		// Flows put back go to ticks after t and less than a round
		// ahead: never to this slot.
		w.tick = t
		s := &w.slots[t&(wheelSlots-1)]
		f := *s
		*s = nil
		for f != nil {
			next := f.wnext
			f.wprev, f.wnext, f.queued = nil, nil, false
			switch {
			case f.due > cur:
				w.link(f, f.due) // a later round (after a jump back in time)
			case a.timedOut(f, false):
				a.emit(f.Key, f)
			default:
				w.link(f, w.dueTick(f))
			}
			f = next
		}
	}
	w.tick = cur
	w.next = (cur + 1) * wheelTick
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
