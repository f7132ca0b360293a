package iptables

import (
	"hash/maphash"
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
	// Budget bounds the bytes the interned specs may hold (an estimate:
	// text plus structure); 0 means no bound. A parse that would go over
	// it stops with ErrBudget.
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

// Held is the estimated size in bytes of the specs held.
func (in *Interner) Held() int64 { return in.held.Load() }

// internEntry is one interned spec and the entry of the rule line that
// followed it in the dump where it was first seen.
type internEntry struct {
	spec *RuleSpec
	next atomic.Pointer[internEntry]
}

// spec returns the shared spec of text t, parsing it with sp when it is
// new; nil when holding it would go over the budget. tmp: t aliases a
// read buffer and is copied before it is kept.
//
// prev is the entry of the rule line before t in the same dump (nil at
// the first): the dumps of one cluster's nodes list the same rules in the
// same order, so the spec that followed prev in the dump where prev was
// first seen is most likely t's, found without hashing t or probing the
// map (a cache miss per line in a map of every rule of the cluster).
func (in *Interner) spec(t string, tmp bool, sp *specParser, prev *internEntry) *internEntry {
	if prev != nil {
		if n := prev.next.Load(); n != nil && n.spec.Text == t {
			return n
		}
	}
	e := in.lookup(t, tmp, sp)
	if prev != nil && e != nil && prev.next.Load() == nil {
		prev.next.CompareAndSwap(nil, e)
	}
	return e
}

func (in *Interner) lookup(t string, tmp bool, sp *specParser) *internEntry {
	sh := &in.shards[maphash.String(in.seed, t)%uint64(len(in.shards))]
	sh.mu.Lock()
	e := sh.m[t]
	sh.mu.Unlock()
	if e != nil {
		return e
	}
	size := specSize(t)
	if in.Budget > 0 && in.held.Load()+size > in.Budget {
		return nil
	}
	if tmp {
		t = strings.Clone(t)
	}
	s := sp.parse(t)
	sh.mu.Lock()
	if old := sh.m[t]; old != nil {
		e = old // parsed meanwhile by another dump's parse
	} else {
		if sh.m == nil {
			sh.m = map[string]*internEntry{}
		}
		e = &internEntry{spec: s}
		sh.m[t] = e
		in.held.Add(size + int64(len(s.Matches))*int64(unsafe.Sizeof(Match{})+16))
	}
	sh.mu.Unlock()
	return e
}

// specSize estimates what one spec of text t holds: the text, the spec
// and its share of the map, before its matches are known.
func specSize(t string) int64 {
	return int64(len(t)) + int64(unsafe.Sizeof(RuleSpec{})+unsafe.Sizeof(internEntry{})) + 64
}
