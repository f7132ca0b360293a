package model

import (
	"net/netip"
	"sync"

	"tkesnap/parsers/iptables"
)

// MasqChain is the IP-MASQ-AGENT chain of a node's nat table: what
// ip-masq-agent actually programmed, which may lag behind (resync) or
// differ from its configmap.
type MasqChain struct {
	File string
	Line int // of the chain declaration (or first rule)
	// NonMasq are the destinations RETURNed before the first
	// unconditional MASQUERADE, in order.
	NonMasq []netip.Prefix
	// Masquerades is true when the chain ends in MASQUERADE and
	// POSTROUTING jumps to it; false means pods keep their source for
	// every destination as far as this chain is concerned.
	Masquerades bool
	Hooked      bool
}

var masqMu sync.Mutex

// MasqChain returns the node's IP-MASQ-AGENT chain from the IPv4 dump the
// node's packets go through (netfilter.go); ok is false when no dump was
// collected or it has no such chain.
func (c *Cluster) MasqChain(n *Node) (*MasqChain, bool) {
	masqMu.Lock()
	defer masqMu.Unlock()
	k := &c.Kube
	if k.masqChains == nil {
		k.masqChains = map[string]*MasqChain{}
	}
	if ch, done := k.masqChains[n.Name]; done {
		return ch, ch != nil
	}
	var ch *MasqChain
	if d := n.Netfilter.IPv4(); d != nil && d.Rules != nil {
		ch = masqChainFrom(d.Rules, d.File)
	}
	k.masqChains[n.Name] = ch
	return ch, ch != nil
}

// masqChainFrom reads the chain the way the kernel walks it: RETURN
// rules on a destination keep the pod source; the first rule without a
// destination that MASQUERADEs ends the walk.
func masqChainFrom(rs *iptables.Ruleset, file string) *MasqChain {
	nat := rs.Table("nat")
	if nat == nil {
		return nil
	}
	chain := nat.Chain("IP-MASQ-AGENT")
	if chain == nil {
		return nil
	}
	ch := &MasqChain{File: file, Line: chain.Line}
	if ch.Line == 0 && len(chain.Rules) > 0 {
		ch.Line = chain.Rules[0].Line
	}
	if post := nat.Chain("POSTROUTING"); post != nil {
		for _, r := range post.Rules {
			if r.Target.Name == "IP-MASQ-AGENT" {
				ch.Hooked = true
			}
		}
	}
	for _, r := range chain.Rules {
		switch r.Target.Name {
		case "RETURN":
			if r.Dst.Set && !r.Dst.Neg && !r.Src.Set {
				ps := r.Dst.Prefixes
				if len(ps) == 0 {
					ps = []netip.Prefix{r.Dst.Prefix}
				}
				ch.NonMasq = append(ch.NonMasq, ps...)
			}
		case "MASQUERADE":
			if !r.Dst.Set && !r.Src.Set {
				ch.Masquerades = ch.Hooked
				return ch
			}
		}
	}
	return ch
}

// ResetDerived forgets what was derived from the nodes' dumps (the
// masquerade chains): a copy of the cluster whose dumps were changed (a
// remedy applied to the model) derives them again from its own.
func (k *Kube) ResetDerived() { k.masqChains = nil }
