package pcapflow

import (
	"math/rand/v2"
	"testing"
)

// The open-addressing flow table finds exactly what a map holds through
// random puts and deletes, with hashes drawn from a few values (long runs
// of equal and neighbouring hashes, wrapping around the end of the slots)
// as well as from the seeded hash, across growth.
func TestFlowTableAgreesWithAMap(t *testing.T) {
	for _, c := range []struct {
		name string
		hash func(t *flowTable, k *Key, r *rand.Rand) uint64
	}{
		{"seeded hash", func(t *flowTable, k *Key, _ *rand.Rand) uint64 { return t.hash(k) }},
		{"eight hashes", func(_ *flowTable, k *Key, _ *rand.Rand) uint64 { return uint64(k.PA%8) * 0x9e3779b97f4a7c15 }},
		{"neighbours at the end", func(t *flowTable, k *Key, _ *rand.Rand) uint64 { return uint64(len(t.slots)-3) + uint64(k.PA%5) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, 4))
			tab := newFlowTable()
			want := map[Key]*Flow{}
			hashes := map[Key]uint64{}
			for step := range 20000 {
				k := Key{PA: uint16(r.IntN(3000)), PB: 80, Proto: 6}
				k.A[15] = byte(r.IntN(2))
				if f := want[k]; f != nil && r.IntN(3) > 0 {
					tab.del(f)
					delete(want, k)
				} else if f == nil {
					f = &Flow{Key: k}
					h := c.hash(&tab, &k, r)
					hashes[k] = h
					tab.put(f, h)
					want[k] = f
				}
				if step%997 == 0 || step > 19900 {
					if tab.n != len(want) {
						t.Fatalf("step %d: %d flows, want %d", step, tab.n, len(want))
					}
					for k, f := range want {
						if got := tab.get(&k, hashes[k]); got != f {
							t.Fatalf("step %d: key %v: got %p, want %p", step, k, got, f)
						}
					}
					n := 0
					tab.each(func(*Flow) { n++ })
					if n != len(want) {
						t.Fatalf("step %d: each visits %d, want %d", step, n, len(want))
					}
				}
			}
			for k := range hashes {
				if want[k] == nil {
					if got := tab.get(&k, hashes[k]); got != nil {
						t.Fatalf("deleted key %v found", k)
					}
				}
			}
		})
	}
}
