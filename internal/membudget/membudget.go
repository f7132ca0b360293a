// Package membudget keeps tkesnap inside the memory of the machine it runs
// on. A Go "out of memory" is a fatal error that exits 2 — the code for an
// unreadable bundle — and cannot be recovered, so a hostile or huge bundle
// must be stopped before it gets there: the Go runtime gets a soft limit
// (the GC works harder near it), readers refuse new files once the live
// heap passes a share of it (the analysis degrades to "not read" problems),
// and a watchdog ends the run with a clear message if memory still grows
// past a hard ceiling.
package membudget

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Budget is the memory tkesnap allows itself.
type Budget struct {
	Soft int64 // runtime soft limit (debug.SetMemoryLimit)
	Read int64 // no new bundle file is read past this live heap
	Hard int64 // the watchdog stops the run past this much memory from the OS
}

// FromLimit derives the thresholds from the soft limit.
func FromLimit(soft int64) Budget {
	return Budget{Soft: soft, Read: soft / 4 * 3, Hard: soft / 4 * 5}
}

// Default is the budget for this machine: GOMEMLIMIT when the user set it,
// else 60% of the memory available (the cgroup limit when there is one,
// else physical memory), so the hard ceiling stays below it.
func Default() Budget {
	if v := os.Getenv("GOMEMLIMIT"); v != "" && v != "off" {
		// the runtime has parsed it already; read it back
		if lim := debug.SetMemoryLimit(-1); lim > 0 && lim < 1<<62 {
			return FromLimit(lim)
		}
	}
	avail := available()
	if avail <= 0 {
		avail = 4 << 30
	}
	return FromLimit(avail / 10 * 6)
}

// available is the cgroup memory limit or else MemTotal, in bytes.
func available() int64 {
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := os.ReadFile(f); err == nil {
			if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && n < 1<<50 {
				return n
			}
		}
	}
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}

var readLimit atomic.Int64

// Apply sets the runtime soft limit and the read threshold of the process.
func Apply(b Budget) {
	debug.SetMemoryLimit(b.Soft)
	readLimit.Store(b.Read)
}

// ReadAllowed reports whether a reader may load another file: false once
// the live heap (as of the last GC) passes the read threshold, and then
// the caller records the file as not read instead of loading it.
func ReadAllowed() bool {
	lim := readLimit.Load()
	return lim <= 0 || LiveHeap() <= lim
}

// ReadLimit is the current read threshold (0: none).
func ReadLimit() int64 { return readLimit.Load() }

var liveSample = []metrics.Sample{{Name: "/gc/heap/live:bytes"}}

// LiveHeap is the heap marked live by the last GC, in bytes.
func LiveHeap() int64 {
	s := []metrics.Sample{liveSample[0]}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// Total is all memory the Go runtime holds from the OS, in bytes.
func Total() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64() - s[1].Value.Uint64())
}

// Watch calls over (once) when the memory held from the OS stays above
// hard across two samples; it returns a stop function.
func Watch(hard int64, every time.Duration, over func(total int64)) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		strikes := 0
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if n := Total(); n > hard {
				// one sample can be a burst the GC is about to return
				if strikes++; strikes >= 2 {
					over(n)
					return
				}
			} else {
				strikes = 0
			}
		}
	}()
	return func() { close(done) }
}

// Lean turns proportional collection off for a streaming command whose
// live heap stays small (pcap: flows are summarized and dropped as they
// end): the heap may grow to ceiling (at most the soft limit) before it
// is collected. Collecting every few MB, as the runtime does from a
// small heap, costs such a command more than it frees: every cycle scans
// the program's 5 MB of global tables (gopacket's), the first one
// faulting each of their pages in. Should a collection find the live
// heap past half the ceiling (a capture with very many concurrent
// flows), proportional collection and the soft limit come back for the
// rest of the run, as they do when restore is called.
func Lean(ceiling int64) (restore func()) {
	soft := debug.SetMemoryLimit(-1)
	ceiling = min(ceiling, soft)
	pct := debug.SetGCPercent(-1)
	debug.SetMemoryLimit(ceiling)
	var done atomic.Bool
	restore = func() {
		if done.CompareAndSwap(false, true) {
			debug.SetMemoryLimit(soft)
			debug.SetGCPercent(pct)
		}
	}
	// called after each collection (a cleanup of an object dropped at
	// once), until the heap is found too large or the command ends
	var watch func()
	watch = func() {
		runtime.AddCleanup(new(sentinel), func(struct{}) {
			leanChecks.Add(1)
			switch {
			case done.Load():
			case LiveHeap() > ceiling/2:
				restore()
			default:
				watch()
			}
		}, struct{}{})
	}
	watch()
	return restore
}

// leanChecks counts Lean's looks at the heap after a collection (tests).
var leanChecks atomic.Int64

// sentinel is large enough to get an allocation of its own (the runtime
// batches tiny pointer-free objects, and a batch lives as long as any of
// them).
type sentinel struct{ _ [2]*byte }

// SetReadLimit sets only the read threshold (tests; 0 turns it off) and
// returns the previous one.
func SetReadLimit(n int64) int64 { return readLimit.Swap(n) }
