package netfilter

import (
	"net/netip"
	"sort"

	"tkesnap/parsers/iptables"
)

// chainIndex lets a packet skip the rules of a long chain whose -d is a
// single address other than its destination (kube-proxy's KUBE-SERVICES
// holds one such rule per Service port): rules are still visited in
// order, only the ones that cannot match are skipped.
type chainIndex struct {
	byDst   map[netip.Addr][]int // rules with a non-negated single-address -d
	generic []int                // every other rule
	// or, for a chain of a lazily parsed dump, each rule's single
	// destination (iptables.Chain.Skim; zero: any other rule), scanned
	dst []netip.Addr
}

// indexMin: shorter chains are scanned (a variable: tests index every
// chain)
var indexMin = 32

func buildIndex(c *iptables.Chain) *chainIndex {
	ix := &chainIndex{byDst: map[netip.Addr][]int{}}
	for i, r := range c.Rules {
		if r.Dst.Set && !r.Dst.Neg && r.Dst.Prefixes == nil && r.Dst.Prefix.IsSingleIP() {
			a := r.Dst.Prefix.Addr()
			ix.byDst[a] = append(ix.byDst[a], i)
			continue
		}
		ix.generic = append(ix.generic, i)
	}
	return ix
}

// next returns the first rule index >= i that may match a packet to dst,
// or len(rules).
func (ix *chainIndex) next(i int, dst netip.Addr, n int) int {
	if ix.dst != nil {
		for ; i < n; i++ {
			if a := ix.dst[i]; !a.IsValid() || a == dst {
				return i
			}
		}
		return n
	}
	best := n
	if k := sort.SearchInts(ix.generic, i); k < len(ix.generic) {
		best = ix.generic[k]
	}
	if l := ix.byDst[dst]; l != nil {
		if k := sort.SearchInts(l, i); k < len(l) && l[k] < best {
			best = l[k]
		}
	}
	return best
}
