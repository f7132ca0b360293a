package sg

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/parsers/tencent"
)

// Query asks about a whole block of traffic: every peer address in Peer
// and every port in Ports, for one protocol and direction.
type Query struct {
	Dir   model.Direction
	Proto string
	Peer  tencent.AddrRange
	Ports tencent.PortRange
	// Local is the address of the resource itself (the other end); SG
	// rules do not match it, it only fills the Flow.
	Local netip.Addr
}

// Region is a part of a query on which every policy agrees, with the
// decision for it.
type Region struct {
	Peer     tencent.AddrRange
	Ports    tencent.PortRange
	Decision Decision
}

// EvaluateRange splits the query at every boundary of every policy's
// peer addresses and ports, so that inside each piece all policies match
// all of it or none of it, and decides each piece. The result is exact:
// a block is fully allowed iff every region is Accept.
func EvaluateRange(c *model.Cloud, bindings []string, q Query) []Region {
	// A single address needs no splitting: only the ports do.
	single := q.Peer.From == q.Peer.To
	addrCuts := map[netip.Addr]bool{q.Peer.From: true}
	portCuts := map[int]bool{q.Ports.From: true}
	cutAddr := func(r tencent.AddrRange) {
		if single || r.From.BitLen() != q.Peer.From.BitLen() {
			return
		}
		if q.Peer.Contains(r.From) {
			addrCuts[r.From] = true
		}
		if n := r.To.Next(); n.IsValid() && q.Peer.Contains(n) {
			addrCuts[n] = true
		}
	}
	cutPorts := func(ps []tencent.PortRange) {
		for _, r := range ps {
			if q.Ports.Contains(r.From) {
				portCuts[r.From] = true
			}
			if q.Ports.Contains(r.To + 1) {
				portCuts[r.To+1] = true
			}
		}
	}
	refs := false
	for _, id := range bindings {
		s := c.SecurityGroups[id]
		if s == nil {
			continue
		}
		for _, p := range policies(s, q.Dir) {
			refs = refs || p.PeerSG != ""
			for _, r := range peerRanges(c, p) {
				cutAddr(r)
			}
			cutPorts(p.Ports)
			for _, sv := range services(c, p) {
				cutPorts(sv.Ports)
			}
		}
	}
	if refs && !single {
		// Whether an address is a member of a referenced SG is decided per
		// address (a known CVM, a pod CIDR, outside every VPC, or
		// unknown): split at those bounds too.
		for _, p := range c.MembershipBounds() {
			cutAddr(tencent.PrefixRange(p))
		}
	}
	addrs := sortedAddrs(addrCuts)
	ports := sortedInts(portCuts)
	var out []Region
	for i, a := range addrs {
		last := q.Peer.To
		if i+1 < len(addrs) {
			last = addrs[i+1].Prev()
		}
		block := tencent.AddrRange{From: a, To: last}
		if rs, ok := sweep(c, bindings, q, block); ok {
			out = append(out, rs...)
			continue
		}
		// Something undecidable for this block: decide port slice by port
		// slice with the full evaluator, which reports what is missing.
		for j, p := range ports {
			pl := q.Ports.To
			if j+1 < len(ports) {
				pl = ports[j+1] - 1
			}
			f := Flow{Dir: q.Dir, Proto: q.Proto, Port: p}
			if q.Dir == model.DirEgress {
				f.Src, f.Dst = q.Local, a
			} else {
				f.Src, f.Dst = a, q.Local
			}
			out = append(out, Region{Peer: block, Ports: tencent.PortRange{From: p, To: pl}, Decision: Evaluate(c, bindings, f)})
		}
	}
	return merge(out)
}

// merge joins neighbouring port regions of the same address block with
// the same decision, so reports name "30000-32768" and not its pieces.
func merge(rs []Region) []Region {
	var out []Region
	for _, r := range rs {
		if n := len(out); n > 0 {
			l := &out[n-1]
			if l.Peer == r.Peer && l.Ports.To+1 == r.Ports.From && same(l.Decision, r.Decision) {
				l.Ports.To = r.Ports.To
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

func same(a, b Decision) bool {
	return a.Action == b.Action && a.SG == b.SG && a.PolicyIndex == b.PolicyIndex && a.Policy == b.Policy
}

// First returns the first region whose action is a, or nil.
func First(rs []Region, a Action) *Region {
	for i := range rs {
		if rs[i].Decision.Action == a {
			return &rs[i]
		}
	}
	return nil
}

// Allowed returns the ports of proto that the SGs accept from (ingress)
// or to (egress) one peer address: "which ports does this SG allow from X".
func Allowed(c *model.Cloud, bindings []string, dir model.Direction, proto string, peer netip.Addr) []tencent.PortRange {
	var out []tencent.PortRange
	for _, r := range EvaluateRange(c, bindings, Query{Dir: dir, Proto: proto, Peer: tencent.AddrRange{From: peer, To: peer}, Ports: tencent.AllPorts}) {
		if r.Decision.Action != Accept {
			continue
		}
		if n := len(out); n > 0 && out[n-1].To+1 == r.Ports.From {
			out[n-1].To = r.Ports.To
			continue
		}
		out = append(out, r.Ports)
	}
	return out
}

// AllowedPeers returns the address blocks inside within from which (or to
// which) the SGs accept proto on port: "which CIDRs may reach port P".
func AllowedPeers(c *model.Cloud, bindings []string, dir model.Direction, proto string, port int, within tencent.AddrRange) []tencent.AddrRange {
	var out []tencent.AddrRange
	for _, r := range EvaluateRange(c, bindings, Query{Dir: dir, Proto: proto, Peer: within, Ports: tencent.PortRange{From: port, To: port}}) {
		if r.Decision.Action != Accept {
			continue
		}
		if n := len(out); n > 0 && out[n-1].To.Next() == r.Peer.From {
			out[n-1].To = r.Peer.To
			continue
		}
		out = append(out, r.Peer)
	}
	return out
}

// Fix is the policy to add so that a blocked flow is accepted.
type Fix struct {
	SG     string
	Dir    model.Direction
	Proto  string // TCP, UDP, ALL ...
	Ports  string // "30000-32768", "ALL"
	Peer   string // CIDR, IP or sg-id
	Before int    // PolicyIndex to insert before; -1 = anywhere (append)
}

// FixFor names the policy that would accept the traffic d blocked: when a
// DROP policy decided, an ACCEPT placed before it in the same SG; when
// nothing matched, an ACCEPT in the first bound SG.
func FixFor(d Decision, proto, ports, peer string) Fix {
	f := Fix{Dir: d.Direction, Proto: strings.ToUpper(proto), Ports: ports, Peer: peer, Before: -1}
	if d.Policy != nil && d.Action == Drop {
		f.SG, f.Before = d.SG, d.PolicyIndex
	} else if len(d.SGs) > 0 {
		f.SG = d.SGs[0]
	}
	if f.Proto == "" || f.Proto == "ALL" {
		f.Proto, f.Ports = "ALL", "ALL"
	}
	return f
}

// String is the remedy sentence.
func (f Fix) String() string {
	dir := "ingress"
	prep := "from"
	if f.Dir == model.DirEgress {
		dir, prep = "egress", "to"
	}
	svc := f.Proto
	if f.Proto != "ALL" && f.Ports != "" {
		svc += " " + f.Ports
	}
	s := fmt.Sprintf("add %s ACCEPT %s %s %s to %s", dir, svc, prep, f.Peer, f.SG)
	if f.Before >= 0 {
		s += fmt.Sprintf(", before PolicyIndex %d", f.Before)
	}
	return s
}

// Side is one end of a connection: its address and the SGs that filter
// it (Bypass: a CLB real server with LoadBalancerPassToTarget, whose SGs
// do not see the CLB's traffic).
type Side struct {
	IP     netip.Addr
	SGs    []string
	Bypass bool
}

// Connection decides a new connection from src to dst: egress at the
// source, then ingress at the destination. Replies are never evaluated
// (SGs are stateful), so an egress rule at the destination cannot break
// an accepted connection.
func Connection(c *model.Cloud, src, dst Side, proto string, port int) (egress, ingress Decision) {
	f := Flow{Proto: proto, Src: src.IP, Dst: dst.IP, Port: port}
	f.Dir = model.DirEgress
	if src.Bypass {
		egress = Decision{Action: Accept, NoSG: true, PolicyIndex: -1, Direction: model.DirEgress}
	} else {
		egress = Evaluate(c, src.SGs, f)
	}
	f.Dir = model.DirIngress
	if dst.Bypass {
		ingress = Decision{Action: Accept, NoSG: true, PolicyIndex: -1, Direction: model.DirIngress}
	} else {
		ingress = Evaluate(c, dst.SGs, f)
	}
	return egress, ingress
}

// peerRanges lists the address blocks a policy's peer covers (templates
// expanded, SG members as single addresses), for splitting queries.
func peerRanges(c *model.Cloud, p *model.Policy) []tencent.AddrRange {
	switch {
	case p.PeerSG != "":
		var out []tencent.AddrRange
		for _, a := range c.SGMembers(p.PeerSG) {
			out = append(out, tencent.AddrRange{From: a, To: a})
		}
		return out
	case p.AddressID != "":
		if t := c.AddressTemplates[p.AddressID]; t != nil {
			return t.Ranges
		}
		return nil
	case p.AddressGroup != "":
		var out []tencent.AddrRange
		if g := c.AddressGroups[p.AddressGroup]; g != nil {
			for _, id := range g.Members {
				if t := c.AddressTemplates[id]; t != nil {
					out = append(out, t.Ranges...)
				}
			}
		}
		return out
	case p.Peer.From.IsValid():
		return []tencent.AddrRange{p.Peer}
	}
	return nil
}

func services(c *model.Cloud, p *model.Policy) []tencent.Service {
	ids := []string{p.ServiceID}
	if p.ServiceGroup != "" {
		if g := c.ServiceGroups[p.ServiceGroup]; g != nil {
			ids = g.Members
		}
	}
	var out []tencent.Service
	for _, id := range ids {
		if t := c.ServiceTemplates[id]; t != nil {
			out = append(out, t.Services...)
		}
	}
	return out
}

func sortedAddrs(m map[netip.Addr]bool) []netip.Addr {
	out := make([]netip.Addr, 0, len(m))
	for a := range m {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

func sortedInts(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for a := range m {
		out = append(out, a)
	}
	sort.Ints(out)
	return out
}

// sweep decides all ports of one address block in a single pass over the
// policies: each policy that matches the block takes the ports it names
// from those still undecided (first match wins), and what is left at the
// end is the implicit deny. It gives up (ok=false) when a policy cannot be
// decided for the block, and EvaluateRange falls back to Evaluate.
func sweep(c *model.Cloud, bindings []string, q Query, block tencent.AddrRange) ([]Region, bool) {
	if len(bindings) == 0 {
		return nil, false
	}
	open := []tencent.PortRange{q.Ports}
	var out []Region
	for _, id := range bindings {
		s := c.SecurityGroups[id]
		if s == nil || !s.HasPolicies() {
			return nil, false
		}
		for _, p := range policies(s, q.Dir) {
			if p.Err != "" {
				return nil, false
			}
			ports, ok := policyPorts(c, p, q.Proto)
			if !ok {
				return nil, false
			}
			if len(ports) == 0 {
				continue
			}
			if m, _ := matchPeer(c, p, block.From); m == maybe_ {
				return nil, false
			} else if m == no {
				continue
			}
			d := Decision{Action: Action(p.Action), SG: id, Direction: q.Dir, PolicyIndex: p.Index, Policy: p, SGs: bindings,
				Evidence: []finding.Evidence{PolicyEvidence(p)}}
			var rest []tencent.PortRange
			for _, o := range open {
				taken, left := cut(o, ports)
				for _, r := range taken {
					out = append(out, Region{Peer: block, Ports: r, Decision: d})
				}
				rest = append(rest, left...)
			}
			open = rest
			if len(open) == 0 {
				break
			}
		}
		if len(open) == 0 {
			break
		}
	}
	if len(open) > 0 {
		d := implicitDeny(c, bindings, q.Dir)
		for _, r := range open {
			out = append(out, Region{Peer: block, Ports: r, Decision: d})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ports.From < out[j].Ports.From })
	return merge(out), true
}

// policyPorts returns the ports of proto a policy covers (nil: the
// policy is about another protocol); ok=false when a service template it
// names is unknown. Protocols without ports (icmp, gre, all) cover every
// port, as Evaluate treats them.
func policyPorts(c *model.Cloud, p *model.Policy, proto string) ([]tencent.PortRange, bool) {
	one := func(pp string, ports []tencent.PortRange) []tencent.PortRange {
		switch {
		case pp == "all":
			return []tencent.PortRange{tencent.AllPorts}
		case pp != proto:
			return nil
		case pp == "tcp" || pp == "udp":
			return ports
		}
		return []tencent.PortRange{tencent.AllPorts}
	}
	if p.ServiceID == "" && p.ServiceGroup == "" {
		return one(p.Proto, p.Ports), true
	}
	ids := []string{p.ServiceID}
	if p.ServiceGroup != "" {
		g := c.ServiceGroups[p.ServiceGroup]
		if g == nil {
			return nil, false
		}
		ids = g.Members
	}
	var out []tencent.PortRange
	for _, id := range ids {
		t := c.ServiceTemplates[id]
		if t == nil || t.Err != "" {
			return nil, false
		}
		for _, sv := range t.Services {
			out = append(out, one(sv.Proto, sv.Ports)...)
		}
	}
	return out, true
}

// cut splits o into the parts covered by any of ps and the rest.
func cut(o tencent.PortRange, ps []tencent.PortRange) (taken, left []tencent.PortRange) {
	left = []tencent.PortRange{o}
	for _, p := range ps {
		var next []tencent.PortRange
		for _, l := range left {
			lo, hi := max(l.From, p.From), min(l.To, p.To)
			if lo > hi {
				next = append(next, l)
				continue
			}
			taken = append(taken, tencent.PortRange{From: lo, To: hi})
			if l.From < lo {
				next = append(next, tencent.PortRange{From: l.From, To: lo - 1})
			}
			if hi < l.To {
				next = append(next, tencent.PortRange{From: hi + 1, To: l.To})
			}
		}
		left = next
	}
	return taken, left
}
