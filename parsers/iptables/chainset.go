package iptables

import "hash/maphash"

// chainSet finds a table's chains by name: open addressing over their
// positions (in Table.Chains, or a lazy parse's records), hashed with a
// seed of its own (a dump cannot choose collisions). Each slot keeps the
// upper half of its name's hash, so a probe that meets another chain's
// slot moves on without reading that chain. Making a Go map for the 50k
// chains of a kube-proxy dump cost more than reading their declarations.
// Callers say how to read position i's name (nameAt).
type chainSet struct {
	seed maphash.Seed
	// hash>>32 << 32 | 1 + position; 0: empty. A power of two long.
	slots []uint64
	n     int
}

func newChainSet(hint int) chainSet {
	size := 16
	for size < 2*hint {
		size <<= 1
	}
	return chainSet{seed: maphash.MakeSeed(), slots: make([]uint64, size)}
}

// find returns the position of the chain named name (hash h), or -1 and
// the free slot for it.
func (s *chainSet) find(nameAt func(int) string, name string, h uint64) (int, int) {
	mask := len(s.slots) - 1
	tag := h >> 32
	for i := int(h) & mask; ; i = (i + 1) & mask {
		v := s.slots[i]
		if v == 0 {
			return -1, i
		}
		if v>>32 == tag {
			if k := int(uint32(v)) - 1; nameAt(k) == name {
				return k, i
			}
		}
	}
}

// get returns the position of the chain named name, or -1.
func (s *chainSet) get(nameAt func(int) string, name string) int {
	if s.slots == nil {
		return -1
	}
	k, _ := s.find(nameAt, name, maphash.String(s.seed, name))
	return k
}

// getOrSlot is get that also returns, when the name is missing, what add
// needs to file it without hashing it again.
func (s *chainSet) getOrSlot(nameAt func(int) string, name string) (int, chainSlot) {
	if s.slots == nil {
		*s = newChainSet(1)
	}
	h := maphash.String(s.seed, name)
	k, i := s.find(nameAt, name, h)
	return k, chainSlot{h: h, i: i, size: len(s.slots)}
}

// chainSlot is where a missing name goes, valid until the set grows.
type chainSlot struct {
	h       uint64
	i, size int
}

// add files position k, whose name is not in the set yet; at: from
// getOrSlot for that name, or the zero chainSlot.
func (s *chainSet) add(nameAt func(int) string, k int, at chainSlot) {
	if s.slots == nil {
		*s = newChainSet(1)
	}
	if 2*(s.n+1) > len(s.slots) {
		old := s.slots
		s.slots = make([]uint64, 2*len(old))
		mask := len(s.slots) - 1
		for _, v := range old {
			if v != 0 {
				h := maphash.String(s.seed, nameAt(int(uint32(v))-1))
				j := int(h) & mask
				for s.slots[j] != 0 {
					j = (j + 1) & mask
				}
				s.slots[j] = v
			}
		}
	}
	if at.size != len(s.slots) {
		name := nameAt(k)
		at.h = maphash.String(s.seed, name)
		_, at.i = s.find(nameAt, name, at.h)
	}
	s.slots[at.i] = at.h>>32<<32 | uint64(k+1)
	s.n++
}

// nameAt is the name of t.Chains[i] (chainSet of an eager table).
func (t *Table) nameAt(i int) string { return t.Chains[i].Name }

// addChain appends a chain not in t yet; at: where, from getOrSlot, or
// the zero chainSlot.
func (t *Table) addChain(c *Chain, at chainSlot) {
	c.seq = len(t.Chains)
	t.Chains = append(t.Chains, c)
	t.chains.add(t.nameAt, c.seq, at)
}

// eagerChain returns t's chain named name, or nil (t not lazy).
func (t *Table) eagerChain(name string) *Chain {
	if k := t.chains.get(t.nameAt, name); k >= 0 {
		return t.Chains[k]
	}
	return nil
}
