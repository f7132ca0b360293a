package iptables

import (
	"bufio"
	"bytes"
	"hash/maphash"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Interner shares parsed rules between dumps: a rule text seen before
// (another node of the same cluster, iptables-nft-save.txt repeating
// iptables-save.txt) maps to the RuleSpec already parsed, so it costs
// neither text nor structure again. Safe for concurrent use by parses of
// different dumps.
type Interner struct {
	seed   maphash.Seed
	shards [32]internShard
	// Budget bounds the bytes the interned specs may hold (an estimate
	// from each spec's text: charge); 0 means no bound. A dump is
	// refused whole (ErrBudget), never kept in part: Reserve refuses it
	// before any of its rules is parsed, and a parse that still goes
	// over it gives back every spec it added (drop).
	Budget int64
	held   atomic.Int64
	hintMu sync.Mutex
	hints  map[string]int // chainHint
}

// chainHint is the most chains a table of this name had in a dump parsed
// so far: the next dump's chain map is allocated at that size instead of
// growing (and rehashing) through ~40k kube-proxy chains.
func (in *Interner) chainHint(table string) int {
	in.hintMu.Lock()
	defer in.hintMu.Unlock()
	return in.hints[table]
}

func (in *Interner) noteChains(table string, n int) {
	in.hintMu.Lock()
	defer in.hintMu.Unlock()
	if in.hints == nil {
		in.hints = map[string]int{}
	}
	in.hints[table] = max(in.hints[table], n)
}

type internShard struct {
	mu sync.Mutex
	m  map[string]*internEntry
}

// NewInterner returns an empty Interner with no budget.
func NewInterner() *Interner { return &Interner{seed: maphash.MakeSeed()} }

// Held is the estimated size in bytes of the specs held, and of what
// parses in flight have reserved.
func (in *Interner) Held() int64 { return in.held.Load() }

// take charges n bytes to the budget; false, and nothing charged, when
// they do not fit.
func (in *Interner) take(n int64) bool {
	for {
		h := in.held.Load()
		if in.Budget > 0 && h+n > in.Budget {
			return false
		}
		if in.held.CompareAndSwap(h, h+n) {
			return true
		}
	}
}

// Reservation is what Reserve set aside in the budget for one dump's
// parse (Options.Reservation). The parse spends it on the specs the dump
// adds; what is left is given back when the parse ends (or by Cancel
// when the dump is not parsed after all).
type Reservation struct {
	in   *Interner
	left atomic.Int64
}

// Cancel gives back what is left of r (nil-safe; once).
func (r *Reservation) Cancel() {
	if r != nil {
		r.in.held.Add(-r.left.Swap(0))
	}
}

// spend takes n bytes from what r has left; false when it has less.
func (r *Reservation) spend(n int64) bool {
	if r == nil {
		return false
	}
	for {
		l := r.left.Load()
		if l < n {
			return false
		}
		if r.left.CompareAndSwap(l, l-n) {
			return true
		}
	}
}

// Reserve reads a dump ahead of its parse and sets aside in the budget
// what its rule lines new to the Interner will be charged (charge is a
// function of a line's text, so this is what the parse will take, or
// more: a line the dump repeats is counted each time). When that does
// not fit it returns ErrBudget having reserved nothing: a dump over the
// budget is refused before any of its rules is parsed (a parse stopped
// by the budget half-way held that half's rules and specs at once, the
// peak of a bundle over the budget). Reading stops as soon as the dump
// cannot fit. The error is otherwise an I/O error (nothing reserved).
func (in *Interner) Reserve(r io.Reader, lim Limits) (*Reservation, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	var need int64
	var fresh int // lines new to the Interner
	var prev *internEntry
	for {
		line, tooLong, err := readLine(br, lim.LineBytes, &buf)
		if !tooLong && isRuleLine(line) {
			t := bytes.TrimSpace(line)
			if len(t) > 0 && t[0] == '[' {
				if end := bytes.IndexByte(t, ']'); end >= 0 {
					t = bytes.TrimSpace(t[end+1:])
				}
			}
			ts := unsafe.String(unsafe.SliceData(t), len(t))
			if e := in.find(ts, prev); e != nil {
				prev = e
			} else {
				prev = nil
				fresh++
				need += charge(ts)
				if in.Budget > 0 && in.held.Load()+need > in.Budget {
					return nil, ErrBudget
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if !in.take(need) {
		return nil, ErrBudget
	}
	in.grow(fresh)
	res := &Reservation{in: in}
	res.left.Store(need)
	return res, nil
}

// Fits reads a dump without looking anything up and reports whether it
// fits in what is left of the budget whatever it holds: a bound on what
// its rule lines can be charged (charge: at most 9 x a line's bytes +
// specFixed + 8) from its bytes and lines. A dump that fits needs no Reserve (a
// lookup per line: ~10% of a parse) — the bundle of a cluster's nodes,
// whose dumps share most rules, is far from the budget — and its parse
// can only go over the budget if parses of other dumps take the room
// meanwhile (then it is refused whole all the same). The maps are grown
// for the lines it may add.
func (in *Interner) Fits(r io.Reader) (bool, error) {
	bp := fitsBuf.Get().(*[]byte)
	defer fitsBuf.Put(bp)
	buf := *bp
	var size, lines int64
	for {
		n, err := r.Read(buf)
		size += int64(n)
		lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, err
		}
	}
	lines++ // a last line without its newline
	bound := 9*size + (specFixed+8)*lines
	if in.Budget > 0 && in.held.Load()+bound > in.Budget {
		return false, nil
	}
	in.grow(int(min(lines, 1<<30)))
	return true, nil
}

// fitsBuf: Fits's read buffers, reused (a bundle has a dump or two per
// node; garbage adds to the peak until the next GC).
var fitsBuf = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// grow makes room in the shard maps for n more entries ahead of the
// parse that adds them: a map grown entry by entry leaves its old tables
// behind as garbage (about its own size: ~15 MB for a dump of 500k new
// rules), on top of the dump being parsed, where the peak is.
func (in *Interner) grow(n int) {
	per := n / len(in.shards)
	if per < 1024 {
		return
	}
	for i := range in.shards {
		sh := &in.shards[i]
		sh.mu.Lock()
		if want := len(sh.m) + per; want > 2*len(sh.m) {
			m := make(map[string]*internEntry, want+want/8)
			for t, e := range sh.m {
				m[t] = e
			}
			sh.m = m
		}
		sh.mu.Unlock()
	}
}

// find returns the entry of text t when the Interner has it (prev as in
// spec), without parsing or adding anything.
func (in *Interner) find(t string, prev *internEntry) *internEntry {
	if prev != nil {
		if n := prev.next.Load(); n != nil && n.spec.Text == t {
			return n
		}
	}
	sh := &in.shards[maphash.String(in.seed, t)%uint64(len(in.shards))]
	sh.mu.Lock()
	e := sh.m[t]
	sh.mu.Unlock()
	return e
}

// claim is one parse's account with the Interner: its reservation, the
// entries it added and the links it made to them, so that a dump the
// budget stops is taken back whole (drop). Used by one goroutine.
type claim struct {
	res   *Reservation
	added chunks[*internEntry]
	last  *internEntry            // the entry added last
	links chunks[[2]*internEntry] // {prev, e}: an entry not added here linked to e, added here
}

// chunks is a list grown in fixed blocks: a dump adds ~500k entries, and
// a slice grown by append (1.25x at that size) allocates 5x what it
// holds, garbage on top of the dump being parsed.
type chunks[T any] struct{ blocks [][]T }

func (c *chunks[T]) add(x T) {
	n := len(c.blocks)
	if n == 0 || len(c.blocks[n-1]) == cap(c.blocks[n-1]) {
		// small first: most parses add few entries (a node's own rules)
		c.blocks = append(c.blocks, make([]T, 0, 64<<min(n, 6)))
		n++
	}
	c.blocks[n-1] = append(c.blocks[n-1], x)
}

func (c *chunks[T]) each(f func(T)) {
	for _, b := range c.blocks {
		for _, x := range b {
			f(x)
		}
	}
}

// drop takes back what the parses of cl added: their entries leave the
// map (a later dump parses such a text again), the links other entries
// got to them are cleared (so the entries kept do not keep them alive),
// and their charge and the unspent reservation return to the budget:
// Held is what it was before the dump. A spec of theirs that a parse of
// another dump running at the same time found meanwhile stays with that
// dump's rules, uncharged.
func (in *Interner) drop(cls ...*claim) {
	var back int64
	for _, cl := range cls {
		cl.links.each(func(l [2]*internEntry) { l[0].next.CompareAndSwap(l[1], nil) })
		cl.added.each(func(e *internEntry) {
			t := e.spec.Text
			sh := &in.shards[maphash.String(in.seed, t)%uint64(len(in.shards))]
			sh.mu.Lock()
			if sh.m[t] == e {
				delete(sh.m, t)
			}
			sh.mu.Unlock()
			e.next.Store(nil)
			back += charge(t)
		})
		*cl = claim{res: cl.res}
	}
	in.held.Add(-back)
	if len(cls) > 0 {
		cls[0].res.Cancel()
	}
}

// internEntry is one interned spec and the entry of the rule line that
// followed it in the dump where it was first seen.
type internEntry struct {
	spec *RuleSpec
	next atomic.Pointer[internEntry]
}

// spec returns the shared spec of text t, parsing it with sp when it is
// new; nil when holding it would go over the budget. tmp: t aliases a
// read buffer and is copied before it is kept. cl (nil without a budget)
// records what this parse adds.
//
// prev is the entry of the rule line before t in the same dump (nil at
// the first): the dumps of one cluster's nodes list the same rules in the
// same order, so the spec that followed prev in the dump where prev was
// first seen is most likely t's, found without hashing t or probing the
// map (a cache miss per line in a map of every rule of the cluster).
func (in *Interner) spec(t string, tmp bool, sp *specParser, prev *internEntry, cl *claim) *internEntry {
	if prev != nil {
		if n := prev.next.Load(); n != nil && n.spec.Text == t {
			return n
		}
	}
	var last *internEntry
	if cl != nil {
		last = cl.last
	}
	e, added := in.lookup(t, tmp, sp, cl)
	if prev != nil && e != nil && prev.next.Load() == nil {
		// a link between two entries this parse added goes with them
		if prev.next.CompareAndSwap(nil, e) && added && cl != nil && prev != last {
			cl.links.add([2]*internEntry{prev, e})
		}
	}
	return e
}

// lookup returns the entry of t, added (true) when this call parsed it.
func (in *Interner) lookup(t string, tmp bool, sp *specParser, cl *claim) (*internEntry, bool) {
	sh := &in.shards[maphash.String(in.seed, t)%uint64(len(in.shards))]
	sh.mu.Lock()
	e := sh.m[t]
	sh.mu.Unlock()
	if e != nil {
		return e, false
	}
	// Charged before it is parsed: the reservation first, then what is
	// left of the budget.
	size := charge(t)
	var res *Reservation
	if cl != nil {
		res = cl.res
	}
	if !res.spend(size) && !in.take(size) {
		return nil, false
	}
	if tmp {
		t = strings.Clone(t)
	}
	s := sp.parse(t)
	sh.mu.Lock()
	old := sh.m[t]
	if old == nil {
		if sh.m == nil {
			sh.m = map[string]*internEntry{}
		}
		e = &internEntry{spec: s}
		sh.m[t] = e
	}
	sh.mu.Unlock()
	if old != nil {
		// parsed meanwhile by another dump's parse: the charge goes back
		if res != nil {
			res.left.Add(size)
		} else {
			in.held.Add(-size)
		}
		return old, false
	}
	if cl != nil {
		cl.added.add(e)
		cl.last = e
	}
	return e, true
}

// charge is what the spec of text t counts for in the budget: the text,
// the spec, its entry and share of the map, and for each field of the
// text (an option name, an argument) its share of the matches, options
// and arguments parsed from it. A function of the text alone, so that
// Reserve knows what a dump will take before it is parsed.
func charge(t string) int64 {
	fields := 0
	in := false
	for i := 0; i < len(t); i++ {
		sp := isSpace(t[i])
		if !sp && !in {
			fields++
		}
		in = !sp
	}
	return int64(len(t)) + specFixed + 16*int64(fields)
}

// specFixed is what a spec is charged whatever its text: the spec, its
// entry and its share of the map.
const specFixed = int64(unsafe.Sizeof(RuleSpec{})+unsafe.Sizeof(internEntry{})) + 64
