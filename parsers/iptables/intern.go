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
}

type internShard struct {
	mu sync.Mutex
	m  map[string]*RuleSpec
}

// NewInterner returns an empty Interner with no budget.
func NewInterner() *Interner { return &Interner{seed: maphash.MakeSeed()} }

// Held is the estimated size in bytes of the specs held.
func (in *Interner) Held() int64 { return in.held.Load() }

// spec returns the shared spec of text t, parsing it with sp when it is
// new; nil when holding it would go over the budget. tmp: t aliases a
// read buffer and is copied before it is kept.
func (in *Interner) spec(t string, tmp bool, sp *specParser) *RuleSpec {
	sh := &in.shards[maphash.String(in.seed, t)%uint64(len(in.shards))]
	sh.mu.Lock()
	s := sh.m[t]
	sh.mu.Unlock()
	if s != nil {
		return s
	}
	size := specSize(t)
	if in.Budget > 0 && in.held.Load()+size > in.Budget {
		return nil
	}
	if tmp {
		t = strings.Clone(t)
	}
	s = sp.parse(t)
	sh.mu.Lock()
	if old := sh.m[t]; old != nil {
		s = old // parsed meanwhile by another dump's parse
	} else {
		if sh.m == nil {
			sh.m = map[string]*RuleSpec{}
		}
		sh.m[t] = s
		in.held.Add(size + int64(len(s.Matches))*int64(unsafe.Sizeof(Match{})+16))
	}
	sh.mu.Unlock()
	return s
}

// specSize estimates what one spec of text t holds: the text, the spec
// and its share of the map, before its matches are known.
func specSize(t string) int64 {
	return int64(len(t)) + int64(unsafe.Sizeof(RuleSpec{})) + 64
}
