package pcapflow

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The chunked signature list keeps and orders what keepFirst on a slice
// followed by a sort does: the lim earliest packets, ascending, whatever
// order flows end in (random, ascending, descending; lim below, at and
// above the count, across chunk boundaries).
func TestSigListKeepsTheEarliest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name  string
		n     int
		lim   int
		order func([]int)
	}{
		{"random, lim below the count", 5000, 1300, func(p []int) { r.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] }) }},
		{"random, lim above the count", 2000, 50000, func(p []int) { r.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] }) }},
		{"ascending, lim one chunk", 3000, sigChunk, func([]int) {}},
		{"descending, lim a chunk and one", 3000, sigChunk + 1, func(p []int) { slices.Reverse(p) }},
		{"lim 0", 100, 0, func([]int) {}},
		{"lim equal to the count", 1024, 1024, func(p []int) { slices.Reverse(p) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			pk := make([]int, c.n)
			for i := range pk {
				pk[i] = 1 + 3*i
			}
			c.order(pk)
			var l sigList
			var want []sigRaw
			for _, p := range pk {
				x := sigRaw{packet: p, isn: uint32(p * 7)}
				l.keepFirst(c.lim, x)
				want, _ = keepFirst(want, c.lim, x, func(x sigRaw) int { return x.packet })
			}
			l.sort()
			slices.SortFunc(want, func(a, b sigRaw) int { return a.packet - b.packet })
			if l.n != len(want) {
				t.Fatalf("kept %d, want %d", l.n, len(want))
			}
			for i := range want {
				if *l.at(i) != want[i] {
					t.Fatalf("signature %d: %+v, want %+v", i, *l.at(i), want[i])
				}
			}
			if len(want) > 0 && want[len(want)-1].packet != 1+3*(len(want)-1) {
				t.Errorf("the last kept is packet %d: not the earliest %d", want[len(want)-1].packet, len(want))
			}
		})
	}
}
