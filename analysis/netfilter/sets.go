package netfilter

import "tkesnap/parsers/ipset"

// IPSets adapts parsed `ipset save` output to Sets; nil gives nil (set
// matches stay undecidable).
func IPSets(s *ipset.Save) Sets {
	if s == nil {
		return nil
	}
	return ipsetSets{s}
}

type ipsetSets struct{ s *ipset.Save }

func (x ipsetSets) MatchSet(name string, flags []string, t Tuple) (bool, bool) {
	return x.s.Match(name, flags, t.Proto, t.Src, t.Dst)
}
