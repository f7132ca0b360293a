package iptables

import "hash/maphash"

// chainSet finds a table's chains by name: open addressing over their
// positions in Table.Chains, hashed with a seed of its own (a dump cannot
// choose collisions). Each slot keeps the upper half of its name's hash,
// so a probe that meets another chain's slot moves on without reading
// that chain. Making a Go map for the 50k chains of a kube-proxy dump
// cost more than reading their declarations.
type chainSet struct {
	seed maphash.Seed
	// hash>>32 << 32 | 1 + index into Table.Chains; 0: empty. A power
	// of two long.
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

// find returns the chain named name (hash h), or nil and the free slot
// for it.
func (s *chainSet) find(chains []*Chain, name string, h uint64) (*Chain, int) {
	mask := len(s.slots) - 1
	tag := h >> 32
	for i := int(h) & mask; ; i = (i + 1) & mask {
		v := s.slots[i]
		if v == 0 {
			return nil, i
		}
		if v>>32 == tag {
			if c := chains[uint32(v)-1]; c.Name == name {
				return c, i
			}
		}
	}
}

func (s *chainSet) get(chains []*Chain, name string) *Chain {
	if s.slots == nil {
		return nil
	}
	c, _ := s.find(chains, name, maphash.String(s.seed, name))
	return c
}

// getOrSlot is get that also returns, when the name is missing, what add
// needs to file it without hashing it again.
func (s *chainSet) getOrSlot(chains []*Chain, name string) (*Chain, chainSlot) {
	if s.slots == nil {
		*s = newChainSet(1)
	}
	h := maphash.String(s.seed, name)
	c, i := s.find(chains, name, h)
	return c, chainSlot{h: h, i: i, size: len(s.slots)}
}

// chainSlot is where a missing name goes, valid until the set grows.
type chainSlot struct {
	h       uint64
	i, size int
}

// add files chains[i], whose name is not in the set yet; at: from
// getOrSlot for that name, or the zero chainSlot.
func (s *chainSet) add(chains []*Chain, i int, at chainSlot) {
	if s.slots == nil {
		*s = newChainSet(1)
	}
	if 2*(s.n+1) > len(s.slots) {
		old := s.slots
		s.slots = make([]uint64, 2*len(old))
		mask := len(s.slots) - 1
		for _, v := range old {
			if v != 0 {
				h := maphash.String(s.seed, chains[uint32(v)-1].Name)
				j := int(h) & mask
				for s.slots[j] != 0 {
					j = (j + 1) & mask
				}
				s.slots[j] = v
			}
		}
	}
	if at.size != len(s.slots) {
		at.h = maphash.String(s.seed, chains[i].Name)
		_, at.i = s.find(chains, chains[i].Name, at.h)
	}
	s.slots[at.i] = at.h>>32<<32 | uint64(i+1)
	s.n++
}

// addChain appends a chain not in t yet; at: where, from getOrSlot, or
// the zero chainSlot.
func (t *Table) addChain(c *Chain, at chainSlot) {
	c.seq = len(t.Chains)
	t.Chains = append(t.Chains, c)
	t.chains.add(t.Chains, c.seq, at)
}
