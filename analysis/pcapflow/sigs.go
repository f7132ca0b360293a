package pcapflow

import "sort"

// sigList holds the correlation signatures of a capture in fixed-size
// chunks: tens of thousands of them grown as one slice were copied at
// every doubling and cleared ahead (1M-packet bench capture: ~50 ms of
// copying, clearing and first-touch page faults), chunks are written
// once. The earliest lim signatures are kept whatever order flows end in
// (keepFirst's rule); sort then orders them by packet.
type sigList struct {
	chunks []*[sigChunk]sigRaw
	n      int
}

const sigChunk = 512

func (l *sigList) at(i int) *sigRaw { return &l.chunks[i/sigChunk][i%sigChunk] }

func (l *sigList) swap(i, j int) { a, b := l.at(i), l.at(j); *a, *b = *b, *a }

// keepFirst adds x as keepFirst does to a slice: while fewer than lim,
// always; then in place of the latest kept when x is earlier. The list
// becomes a max-heap by packet only once full (flows end about in the
// order they start: sifting each new latest up to the root on the way
// would cost a walk up the heap per flow); sort orders it in any case.
func (l *sigList) keepFirst(lim int, x sigRaw) {
	if lim <= 0 {
		return
	}
	if l.n < lim {
		if l.n == len(l.chunks)*sigChunk {
			l.chunks = append(l.chunks, new([sigChunk]sigRaw))
		}
		*l.at(l.n) = x
		l.n++
		if l.n == lim {
			for i := l.n/2 - 1; i >= 0; i-- {
				l.down(i)
			}
		}
		return
	}
	if x.packet >= l.at(0).packet {
		return
	}
	*l.at(0) = x
	l.down(0)
}

// down sifts element i down the max-heap.
func (l *sigList) down(i int) {
	for {
		big, a, b := i, 2*i+1, 2*i+2
		if a < l.n && l.at(a).packet > l.at(big).packet {
			big = a
		}
		if b < l.n && l.at(b).packet > l.at(big).packet {
			big = b
		}
		if big == i {
			return
		}
		l.swap(big, i)
		i = big
	}
}

// sort orders the signatures by packet (each packet starts at most one
// flow: no ties).
func (l *sigList) sort() { sort.Sort(sigOrder{l}) }

type sigOrder struct{ l *sigList }

func (s sigOrder) Len() int           { return s.l.n }
func (s sigOrder) Less(i, j int) bool { return s.l.at(i).packet < s.l.at(j).packet }
func (s sigOrder) Swap(i, j int)      { s.l.swap(i, j) }
