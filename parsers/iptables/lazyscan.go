package iptables

import (
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"unsafe"
)

// The lazy parse's reading of lines is split in two: finding each line and
// telling a plain rule line's chain (scanChunk: most of the work, and it
// depends on the line alone) runs chunk by chunk on every core, while the
// parse files the lines in order. A chunk's lines come back as runs of
// rule lines of one chain and single lines the parser reads itself, in
// buffers that are handed back and used again: what the scan makes stays
// in cache and never grows with the dump.

// scanned is a line at off of the text, lineLen bytes long, whose chain
// name (if any) is at [off+name, off+name+nameLen). n > 0: it starts a
// run of n rule lines of that chain; n == decl: it declares the chain
// (":NAME POLICY [p:b]", nothing in it to report); n == 0: the parser
// reads it as the sequential parse would.
type scanned struct {
	off           int
	n, lineLen    int32
	name, nameLen int32
}

const decl = -1

// Variables for the tests, which cut dumps into tiny chunks.
var (
	// chunkBytes of text are scanned at a time: ~1.5k lines of a
	// kube-proxy dump, their runs a few tens of KiB
	chunkBytes = 64 << 10
	// scanParallelMin: a smaller dump is scanned by the parse itself
	scanParallelMin = 1 << 20
)

// scanChunk appends the lines of chunk, whole lines that start at offset
// base of the text, to evs.
func scanChunk(chunk string, base int, lim Limits, evs []scanned) []scanned {
	last := "" // the chain of the last event, when it is a run
	for off := 0; off < len(chunk); {
		end, next := len(chunk), len(chunk)
		if i := strings.IndexByte(chunk[off:], '\n'); i >= 0 {
			end, next = off+i, off+i+1
		}
		line := chunk[off:end]
		e := scanned{off: base + off, lineLen: int32(len(line))}
		switch name, n := scanLine(line, lim); {
		case n == 1 && last == name:
			// the last event ends at the line before this one
			evs[len(evs)-1].n++
		default:
			if n != 0 {
				e.n, e.name, e.nameLen = n, int32(offsetIn(name, line)), int32(len(name))
			}
			evs = append(evs, e)
			last = ""
			if n == 1 {
				last = name
			}
		}
		off = next
	}
	return evs
}

// offsetIn is where sub, a substring of s, starts in s.
func offsetIn(sub, s string) int {
	return int(uintptr(unsafe.Pointer(unsafe.StringData(sub))) - uintptr(unsafe.Pointer(unsafe.StringData(s))))
}

// scanLine tells a line the parse need not read itself: n 1 for a rule
// line that lazyRuleLine files without parsing it (within the length
// limit, its counters closed, its chain told by quickChain), decl for a
// chain declaration in which declareChain finds nothing to report; name:
// the chain. n 0 for any other line.
func scanLine(line string, lim Limits) (name string, n int32) {
	if lim.LineBytes > 0 && len(line) > lim.LineBytes+1 {
		return "", 0
	}
	t := strings.TrimSpace(line)
	if t == "" {
		return "", 0
	}
	switch t[0] {
	case ':':
		if name, ok := plainDecl(t[1:]); ok {
			return name, decl
		}
	case '-', '[', '!':
		if body, ok := ruleLineBody(t); ok {
			if name, ok := quickChain(body); ok {
				return name, 1
			}
		}
	}
	return "", 0
}

// plainDecl returns the name a declaration ":NAME POLICY [p:b]" (s
// without the colon) gives, when declareChain finds nothing wrong in it.
func plainDecl(s string) (string, bool) {
	var buf [3]string
	f := fields3(s, buf[:0])
	if len(f) == 0 {
		return "", false
	}
	d := readDecl(f)
	return f[0], !d.badPolicy && !d.badCounters
}

// ruleLineBody is a trimmed rule line without its "[pkts:bytes]" prefix;
// false when the counters are not closed.
func ruleLineBody(t string) (string, bool) {
	if strings.HasPrefix(t, "[") {
		end := strings.IndexByte(t, ']')
		if end < 0 {
			return "", false
		}
		return strings.TrimSpace(t[end+1:]), true
	}
	return t, true
}

// chunkStarts are where the chunks of s begin, and len(s): each the
// first line that starts at or after a multiple of chunkBytes. The search
// for each resumes where the last one ended, so a line longer than many
// chunks is read once, not once per chunk.
func chunkStarts(s string) []int {
	chunks := (len(s) + chunkBytes - 1) / chunkBytes
	starts := make([]int, chunks+1)
	for i := 1; i < chunks; i++ {
		pos := max(i*chunkBytes, starts[i-1]+1)
		if pos > len(s) {
			starts[i] = len(s)
			continue
		}
		if j := strings.IndexByte(s[pos-1:], '\n'); j >= 0 {
			starts[i] = pos + j
		} else {
			starts[i] = len(s)
		}
	}
	starts[chunks] = len(s)
	return starts
}

// scanLines hands f the scanned chunks of src in order. Chunks are scanned
// by up to GOMAXPROCS-1 other goroutines and by the caller itself while
// the next chunk it must hand over is not ready: whichever of scanning
// and filing is the slower, both cores work. For a small text everything
// runs on the caller. evs are valid until f returns.
func scanLines(s string, lim Limits, f func(evs []scanned)) {
	starts := chunkStarts(s)
	chunks := len(starts) - 1
	workers := min(runtime.GOMAXPROCS(0)-1, chunks-1)
	if len(s) < scanParallelMin || workers < 1 {
		var evs []scanned
		for i := 0; i < chunks; i++ {
			from, to := starts[i], starts[i+1]
			evs = scanChunk(s[from:to], from, lim, evs[:0])
			f(evs)
		}
		return
	}
	sc := &scanner{s: s, starts: starts, lim: lim, chunks: chunks, slots: make([]scanSlot, 2*(workers+1))}
	sc.cond.L = &sc.mu
	defer sc.stop()
	for range workers {
		go sc.work()
	}
	sc.mu.Lock()
	for i := 0; i < chunks; i++ {
		slot := &sc.slots[i%len(sc.slots)]
		for !slot.done {
			switch {
			case sc.fault != nil:
				sc.mu.Unlock()
				panic(sc.fault)
			case sc.claimable():
				sc.scanNext()
			default:
				sc.cond.Wait()
			}
		}
		evs := slot.evs
		sc.mu.Unlock()
		f(evs)
		sc.mu.Lock()
		slot.done = false
		sc.handed++
		sc.cond.Broadcast() // a slot is free: its next chunk may be claimed
	}
	sc.mu.Unlock()
}

// scanner shares the chunks of one dump between the goroutines that scan
// them. Chunk c is scanned into slot c % len(slots), once the chunk that
// used the slot before was handed over.
type scanner struct {
	s      string
	starts []int // chunkStarts
	lim    Limits
	chunks int
	mu     sync.Mutex
	cond   sync.Cond
	next   int // the first chunk not claimed
	handed int // chunks handed to the parse
	slots  []scanSlot
	// a scanning goroutine's panic (a mapped file cut short faults
	// where its lines were), raised again by the parse
	fault   any
	stopped bool
}

type scanSlot struct {
	evs  []scanned
	done bool
}

func (sc *scanner) claimable() bool {
	return !sc.stopped && sc.next < sc.chunks && sc.next < sc.handed+len(sc.slots)
}

// scanNext claims the next chunk and scans it; sc.mu is held, and
// released while scanning.
func (sc *scanner) scanNext() {
	c := sc.next
	sc.next++
	slot := &sc.slots[c%len(sc.slots)]
	sc.mu.Unlock()
	evs, fault := sc.scan(c, slot.evs[:0])
	sc.mu.Lock()
	if fault != nil {
		sc.fault, sc.stopped = fault, true
	} else {
		slot.evs, slot.done = evs, true
	}
	sc.cond.Broadcast()
}

// scan scans chunk c into evs, or returns the panic that stopped it.
func (sc *scanner) scan(c int, evs []scanned) (_ []scanned, fault any) {
	defer func() {
		if v := recover(); v != nil {
			fault = v
		}
	}()
	from, to := sc.starts[c], sc.starts[c+1]
	return scanChunk(sc.s[from:to], from, sc.lim, evs), nil
}

// work scans chunks until none is left or the parse stopped.
func (sc *scanner) work() {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for {
		switch {
		case sc.stopped || sc.next >= sc.chunks:
			return
		case sc.claimable():
			sc.scanNext()
		default:
			sc.cond.Wait()
		}
	}
}

// stop ends the workers: the parse is over, or stopped by a panic.
func (sc *scanner) stop() {
	sc.mu.Lock()
	sc.stopped = true
	sc.cond.Broadcast()
	sc.mu.Unlock()
}
