package membudget

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

var sink [][]byte

func gcPercent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}

func numGC() uint32 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.NumGC
}

// waitChecks waits (up to a deadline) until Lean has looked at the heap
// after a collection more than n times.
func waitChecks(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for leanChecks.Load() <= n {
		if time.Now().After(deadline) {
			t.Fatalf("no look at the heap after a collection within 20 s (%d looks)", leanChecks.Load())
		}
		runtime.GC()
		runtime.Gosched()
	}
}

// Under Lean nothing is collected below the ceiling; a collection that
// finds a small live heap keeps it lean; one that finds the live heap
// past half the ceiling brings proportional collection and the soft
// limit back, as restore does at the end.
func TestLeanCollectsOnlyPastItsCeiling(t *testing.T) {
	const mib = 1 << 20
	runtime.GC()
	soft := debug.SetMemoryLimit(-1)
	pct := gcPercent()
	restore := Lean(96 * mib)
	if p := gcPercent(); p != -1 {
		t.Fatalf("GC percent %d under Lean, want off", p)
	}
	if lim := debug.SetMemoryLimit(-1); lim != 96*mib {
		t.Fatalf("memory limit %d under Lean, want %d", lim, 96*mib)
	}
	n := numGC()
	for range 16 {
		sink = append(sink[:0], make([]byte, mib)) // garbage, 16 MiB in all
	}
	if got := numGC(); got != n {
		t.Fatalf("%d collections below the ceiling", got-n)
	}

	// a small live heap: still lean after a collection
	checks := leanChecks.Load()
	waitChecks(t, checks)
	if p := gcPercent(); p != -1 {
		t.Fatalf("GC percent %d after a collection of a small heap, want off", p)
	}

	// past half the ceiling: back to proportional collection
	sink = sink[:0]
	for range 56 {
		sink = append(sink, make([]byte, mib))
	}
	deadline := time.Now().Add(20 * time.Second)
	for gcPercent() == -1 {
		if time.Now().After(deadline) {
			t.Fatalf("GC percent still off with %d MiB live of a %d MiB ceiling", 56, 96)
		}
		runtime.GC()
		runtime.Gosched()
	}
	if p, lim := gcPercent(), debug.SetMemoryLimit(-1); p != pct || lim != soft {
		t.Fatalf("after a large live heap: GC percent %d, limit %d; want %d, %d", p, lim, pct, soft)
	}
	restore() // a no-op now
	if p, lim := gcPercent(), debug.SetMemoryLimit(-1); p != pct || lim != soft {
		t.Fatalf("after restore: GC percent %d, limit %d; want %d, %d", p, lim, pct, soft)
	}
	sink = nil

	// restore alone gives both back
	restore = Lean(96 * mib)
	restore()
	if p, lim := gcPercent(), debug.SetMemoryLimit(-1); p != pct || lim != soft {
		t.Fatalf("after restore: GC percent %d, limit %d; want %d, %d", p, lim, pct, soft)
	}
}
