package pcapflow

import "sort"

// sigList holds the correlation signatures of a capture in fixed-size
// chunks: tens of thousands of them grown as one slice were copied at
// every doubling and cleared ahead (1M-packet bench capture: ~50 ms of
// copying, clearing and first-touch page faults), chunks are written
// once. While the capture is read it is a max-heap by packet (keepFirst's
// rule: the earliest lim signatures are kept whatever order flows end
// in); sort then orders it by packet.
type sigList struct {
	chunks []*[sigChunk]sigRaw
	n      int
}

const sigChunk = 512

func (l *sigList) at(i int) *sigRaw { return &l.chunks[i/sigChunk][i%sigChunk] }

func (l *sigList) swap(i, j int) { a, b := l.at(i), l.at(j); *a, *b = *b, *a }

// keepFirst adds x as keepFirst does to a slice: while fewer than lim,
// always; then in place of the latest kept when x is earlier.
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
		for i := l.n - 1; i > 0; { // sift up
			up := (i - 1) / 2
			if l.at(up).packet >= l.at(i).packet {
				break
			}
			l.swap(up, i)
			i = up
		}
		return
	}
	if x.packet >= l.at(0).packet {
		return
	}
	*l.at(0) = x
	for i := 0; ; { // sift down
		big, a, b := i, 2*i+1, 2*i+2
		if a < l.n && l.at(a).packet > l.at(big).packet {
			big = a
		}
		if b < l.n && l.at(b).packet > l.at(big).packet {
			big = b
		}
		if big == i {
			break
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
