package iptables

import "hash/maphash"

// chainSet finds a table's chains by name: open addressing over their
// positions in Table.Chains, hashed with a seed of its own (a dump cannot
// choose collisions). Making a Go map for the 50k chains of a kube-proxy
// dump cost more than reading their declarations.
type chainSet struct {
	seed  maphash.Seed
	slots []int32 // 1 + index into Table.Chains; 0: empty; a power of two long
	n     int
}

func newChainSet(hint int) chainSet {
	size := 16
	for size < 2*hint {
		size <<= 1
	}
	return chainSet{seed: maphash.MakeSeed(), slots: make([]int32, size)}
}

// find returns the chain named name, or nil and the free slot for it.
func (s *chainSet) find(chains []*Chain, name string) (*Chain, int) {
	mask := len(s.slots) - 1
	i := int(maphash.String(s.seed, name)) & mask
	for {
		k := s.slots[i]
		if k == 0 {
			return nil, i
		}
		if c := chains[k-1]; c.Name == name {
			return c, i
		}
		i = (i + 1) & mask
	}
}

func (s *chainSet) get(chains []*Chain, name string) *Chain {
	if s.slots == nil {
		return nil
	}
	c, _ := s.find(chains, name)
	return c
}

// add files chains[i], whose name is not in the set yet.
func (s *chainSet) add(chains []*Chain, i int) {
	if s.slots == nil {
		*s = newChainSet(1)
	}
	if 2*(s.n+1) > len(s.slots) {
		old := s.slots
		s.slots = make([]int32, 2*len(old))
		for _, k := range old {
			if k != 0 {
				_, j := s.find(chains, chains[k-1].Name)
				s.slots[j] = k
			}
		}
	}
	_, j := s.find(chains, chains[i].Name)
	s.slots[j] = int32(i + 1)
	s.n++
}

// addChain appends a chain not in t yet.
func (t *Table) addChain(c *Chain) {
	c.seq = len(t.Chains)
	t.Chains = append(t.Chains, c)
	t.chains.add(t.Chains, c.seq)
}
