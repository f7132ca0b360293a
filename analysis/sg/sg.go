// Package sg evaluates Tencent Cloud security groups exactly as the VPC
// documentation describes them (安全组概述, VPC doc 215/20089):
//
//   - rules of one SG are matched top to bottom in PolicyIndex order; the
//     first rule that matches decides (ACCEPT or DROP) and later rules are
//     not looked at;
//   - when several SGs are bound to an instance/ENI/CLB they are matched
//     one after the other in binding order, as one long list;
//   - traffic no rule matches is denied ("安全组未添加任何规则时，默认拒绝
//     所有流量"), so an empty SG denies everything;
//   - SGs are stateful: the reply of an accepted connection is allowed in
//     the other direction without consulting any rule;
//   - ingress rules match the source address, protocol and destination
//     port; egress rules match the destination address, protocol and port;
//   - a rule whose source is another SG matches the private IPs of the
//     resources bound to that SG; address and service templates (and
//     their groups) match any of their entries.
//
// When the bundle cannot decide (an SG's policies were not collected, a
// template is missing, an address may or may not be a member of a
// referenced SG) the answer is Undecided and names what to collect.
package sg

import (
	"fmt"
	"net/netip"
	"strings"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/parsers/tencent"
)

// Action is the outcome of an evaluation.
type Action string

const (
	Accept    Action = "ACCEPT"
	Drop      Action = "DROP"
	Undecided Action = "UNDECIDED"
)

// Flow is one packet of a new connection as an SG sees it. For Ingress
// the rule peer is Src, for Egress it is Dst. Port is the destination
// port (ignored for icmp/icmpv6/gre).
type Flow struct {
	Dir      model.Direction
	Proto    string // tcp udp icmp icmpv6 gre (lower case)
	Src, Dst netip.Addr
	Port     int
}

// Peer returns the address the SG rules match for this direction.
func (f Flow) Peer() netip.Addr {
	if f.Dir == model.DirEgress {
		return f.Dst
	}
	return f.Src
}

// Need is an input that would decide an undecided evaluation.
type Need struct {
	File string // bundle path to collect
	Why  string
	// Say is Why as a phrase, worded in the report's language.
	Say finding.Phrase
}

// need builds a Need whose reason is worded per language.
func need(file, key string, args ...any) Need {
	p := finding.Say(key, args...)
	return Need{File: file, Why: p.In(finding.EN), Say: p}
}

// Decision is the answer for one flow.
type Decision struct {
	Action    Action
	SG        string // the SG of the deciding policy ("" for implicit deny / no SG)
	Direction model.Direction
	// PolicyIndex of the deciding policy; -1 when no policy matched
	// (implicit deny) or no SG is bound.
	PolicyIndex int
	Policy      *model.Policy
	// SGs are the SGs evaluated, in binding order.
	SGs []string
	// NoSG: nothing is bound, so nothing filters (a CLB without SGs lets
	// every client through, CLB doc 214/14733).
	NoSG     bool
	Evidence []finding.Evidence
	Needs    []Need
	// Maybe lists earlier policies that may also match but could not be
	// decided; they all have the same action as the decision, so the
	// action is sure but the deciding policy may be one of them.
	Maybe []*model.Policy
}

// ImplicitDeny reports a drop because no policy matched.
func (d Decision) ImplicitDeny() bool { return d.Action == Drop && d.Policy == nil }

// String says what decided, citing SG, direction and PolicyIndex.
func (d Decision) String() string {
	switch {
	case d.NoSG:
		return "no security group bound (not filtered)"
	case d.Action == Undecided:
		var w []string
		for _, n := range d.Needs {
			w = append(w, n.Why)
		}
		return "undecided: " + strings.Join(w, "; ")
	case d.Policy == nil:
		return fmt.Sprintf("no policy matched in %s %s (implicit deny)", strings.Join(d.SGs, ", "), d.Direction)
	}
	return fmt.Sprintf("%s %s PolicyIndex %d (%s)", d.SG, d.Direction, d.PolicyIndex, d.Policy)
}

// In words the decision in lang (String is the English wording).
func (d Decision) In(lang finding.Lang) string {
	switch {
	case d.NoSG:
		return finding.Say("sgd.nosg").In(lang)
	case d.Action == Undecided:
		var w []string
		for _, n := range d.Needs {
			if n.Say.Key != "" {
				w = append(w, n.Say.In(lang))
			} else {
				w = append(w, n.Why)
			}
		}
		return finding.Say("sgd.undecided", strings.Join(w, "; ")).In(lang)
	case d.Policy == nil:
		return finding.Say("sgd.implicit", strings.Join(d.SGs, ", "), finding.Say("sgd.dir."+string(d.Direction))).In(lang)
	}
	return finding.Say("sgd.policy", d.SG, finding.Say("sgd.dir."+string(d.Direction)), d.PolicyIndex, policyPhrase(d.Policy)).In(lang)
}

// policyPhrase words a policy as Policy.String does, per language.
func policyPhrase(p *model.Policy) finding.Phrase {
	key := "sgd.rule.from"
	if p.Dir == model.DirEgress {
		key = "sgd.rule.to"
	}
	return finding.Say(key, p.Action, p.Service(), p.PeerString())
}

// In words the fix in lang (String is the English wording).
func (f Fix) In(lang finding.Lang) string {
	svc := f.Proto
	if f.Proto != "ALL" && f.Ports != "" {
		svc += " " + f.Ports
	}
	key := "sgfix.ingress"
	if f.Dir == model.DirEgress {
		key = "sgfix.egress"
	}
	s := finding.Say(key, svc, f.Peer, f.SG).In(lang)
	if f.Before >= 0 {
		s += finding.Say("sgfix.before", f.Before).In(lang)
	}
	return s
}

func init() {
	finding.RegisterPhrases(finding.EN, map[string]string{
		"sgd.nosg":        "no security group bound (not filtered)",
		"sgd.undecided":   "undecided: %[1]s",
		"sgd.implicit":    "no policy matched in %[1]s %[2]s (implicit deny)",
		"sgd.policy":      "%[1]s %[2]s PolicyIndex %[3]d (%[4]s)",
		"sgd.dir.ingress": "ingress",
		"sgd.dir.egress":  "egress",
		"sgd.rule.from":   "%[1]s %[2]s from %[3]s",
		"sgd.rule.to":     "%[1]s %[2]s to %[3]s",
		"sgfix.ingress":   "add ingress ACCEPT %[1]s from %[2]s to %[3]s",
		"sgfix.egress":    "add egress ACCEPT %[1]s to %[2]s to %[3]s",
		"sgfix.before":    ", before PolicyIndex %[1]d",
		"sgn.policies":    "policies of %[1]s were not collected",
		"sgn.unreadable":  "%[1]s %[2]s PolicyIndex %[3]d cannot be read: %[4]s",
		"sgn.svcgroup":    "service template group %[1]s was not collected",
		"sgn.svctmpl":     "service template %[1]s was not collected or cannot be read",
		"sgn.addrgroup":   "address template group %[1]s was not collected",
		"sgn.addrtmpl":    "address template %[1]s was not collected",
		"sgn.addrbad":     "address template %[1]s has entries that cannot be read",
		"sgn.bound":       "whether %[1]s is bound to %[2]s (collect the CVMs/ENIs holding %[1]s)",
	})
	finding.RegisterPhrases(finding.ZH, map[string]string{
		"sgd.nosg":        "未绑定安全组（不过滤）",
		"sgd.undecided":   "无法判定：%[1]s",
		"sgd.implicit":    "%[1]s 的%[2]s规则没有匹配的策略（隐式拒绝）",
		"sgd.policy":      "%[1]s %[2]s PolicyIndex %[3]d（%[4]s）",
		"sgd.dir.ingress": "入站",
		"sgd.dir.egress":  "出站",
		"sgd.rule.from":   "%[1]s %[2]s，来源 %[3]s",
		"sgd.rule.to":     "%[1]s %[2]s，目的 %[3]s",
		"sgfix.ingress":   "在安全组 %[3]s 中添加入站规则：ACCEPT %[1]s，来源 %[2]s",
		"sgfix.egress":    "在安全组 %[3]s 中添加出站规则：ACCEPT %[1]s，目的 %[2]s",
		"sgfix.before":    "，并排在 PolicyIndex %[1]d 之前",
		"sgn.policies":    "未采集 %[1]s 的安全组规则",
		"sgn.unreadable":  "%[1]s %[2]s PolicyIndex %[3]d 无法解析：%[4]s",
		"sgn.svcgroup":    "未采集协议端口模板集合 %[1]s",
		"sgn.svctmpl":     "未采集协议端口模板 %[1]s，或无法解析",
		"sgn.addrgroup":   "未采集 IP 地址模板集合 %[1]s",
		"sgn.addrtmpl":    "未采集 IP 地址模板 %[1]s",
		"sgn.addrbad":     "IP 地址模板 %[1]s 中有无法解析的条目",
		"sgn.bound":       "%[1]s 是否绑定了 %[2]s（请采集持有 %[1]s 的 CVM 或弹性网卡）",
	})
}

// Evaluate decides one flow against the SGs bound to a resource, in
// binding order.
func Evaluate(c *model.Cloud, bindings []string, f Flow) Decision {
	d := Decision{Direction: f.Dir, PolicyIndex: -1, SGs: bindings}
	if len(bindings) == 0 {
		d.Action, d.NoSG = Accept, true
		return d
	}
	var maybe []*model.Policy
	var needs []Need
	for _, id := range bindings {
		s := c.SecurityGroups[id]
		if s == nil || !s.HasPolicies() {
			// Whatever this SG holds is matched before the SGs bound after
			// it, so nothing past this point can be decided.
			d.Action = Undecided
			d.Needs = append(needs, need("cloud/security-group-policies/"+id+".json", "sgn.policies", id))
			d.Maybe = maybe
			return d
		}
		for _, p := range policies(s, f.Dir) {
			m, why := match(c, p, f)
			switch m {
			case no:
				continue
			case maybe_:
				maybe = append(maybe, p)
				needs = append(needs, why...)
				continue
			}
			for _, q := range maybe {
				if q.Action != p.Action {
					d.Action, d.Needs, d.Maybe = Undecided, needs, maybe
					return d
				}
			}
			d.Action, d.SG, d.PolicyIndex, d.Policy, d.Maybe = Action(p.Action), id, p.Index, p, maybe
			d.Evidence = []finding.Evidence{PolicyEvidence(p)}
			return d
		}
	}
	for _, q := range maybe {
		if q.Action == string(Accept) {
			d.Action, d.Needs, d.Maybe = Undecided, needs, maybe
			return d
		}
	}
	d = implicitDeny(c, bindings, f.Dir)
	d.Maybe = maybe
	return d
}

// implicitDeny is the decision when no policy of any bound SG matched; it
// cites each SG's Ingress/Egress list.
func implicitDeny(c *model.Cloud, bindings []string, dir model.Direction) Decision {
	d := Decision{Action: Drop, Direction: dir, PolicyIndex: -1, SGs: bindings}
	for _, id := range bindings {
		s := c.SecurityGroups[id]
		line := s.IngressLine
		if dir == model.DirEgress {
			line = s.EgressLine
		}
		d.Evidence = append(d.Evidence, finding.Evidence{File: s.PoliciesFile, Line: line,
			Excerpt: fmt.Sprintf("%s %s: %d policies, none matches (implicit deny)", id, dir, len(policies(s, dir)))})
	}
	return d
}

// PolicyEvidence cites a policy: its file, the line its JSON object
// starts on, and the rule as the console shows it.
func PolicyEvidence(p *model.Policy) finding.Evidence {
	return finding.Evidence{File: p.File, Line: p.Line,
		Excerpt: fmt.Sprintf("%s %s PolicyIndex %d: %s", p.SG, p.Dir, p.Index, p)}
}

func policies(s *model.SecurityGroup, dir model.Direction) []*model.Policy {
	if dir == model.DirEgress {
		return s.Egress
	}
	return s.Ingress
}

type tri int

const (
	no tri = iota
	yes
	maybe_
)

func and(a, b tri) tri {
	if a == no || b == no {
		return no
	}
	if a == maybe_ || b == maybe_ {
		return maybe_
	}
	return yes
}

func match(c *model.Cloud, p *model.Policy, f Flow) (tri, []Need) {
	if p.Err != "" {
		return maybe_, []Need{need(p.File, "sgn.unreadable", p.SG, finding.Say("sgd.dir."+string(p.Dir)), p.Index, fmt.Sprint(p.Err))}
	}
	svc, n1 := matchService(c, p, f)
	if svc == no {
		return no, nil
	}
	peer, n2 := matchPeer(c, p, f.Peer())
	return and(svc, peer), append(n1, n2...)
}

func protoPorts(proto string, ports []tencent.PortRange, f Flow) tri {
	switch proto {
	case "all":
		return yes
	case "tcp", "udp":
		if f.Proto != proto {
			return no
		}
		for _, r := range ports {
			if r.Contains(f.Port) {
				return yes
			}
		}
		return no
	}
	// icmp, icmpv6, gre carry no ports: the protocol decides.
	if f.Proto == proto {
		return yes
	}
	return no
}

func matchService(c *model.Cloud, p *model.Policy, f Flow) (tri, []Need) {
	if p.ServiceID == "" && p.ServiceGroup == "" {
		return protoPorts(p.Proto, p.Ports, f), nil
	}
	ids := []string{p.ServiceID}
	if p.ServiceGroup != "" {
		g := c.ServiceGroups[p.ServiceGroup]
		if g == nil {
			return maybe_, []Need{need("cloud/service-template-groups.json", "sgn.svcgroup", p.ServiceGroup)}
		}
		ids = g.Members
	}
	res := no
	var needs []Need
	for _, id := range ids {
		t := c.ServiceTemplates[id]
		if t == nil || t.Err != "" {
			res = maybe_
			needs = append(needs, need("cloud/service-templates.json", "sgn.svctmpl", id))
			continue
		}
		for _, s := range t.Services {
			if protoPorts(s.Proto, s.Ports, f) == yes {
				return yes, nil
			}
		}
	}
	return res, needs
}

func matchPeer(c *model.Cloud, p *model.Policy, peer netip.Addr) (tri, []Need) {
	switch {
	case p.PeerSG != "":
		return memberOf(c, p.PeerSG, peer)
	case p.AddressID != "":
		return inTemplate(c, p.AddressID, peer)
	case p.AddressGroup != "":
		g := c.AddressGroups[p.AddressGroup]
		if g == nil {
			return maybe_, []Need{need("cloud/address-template-groups.json", "sgn.addrgroup", p.AddressGroup)}
		}
		res := no
		var needs []Need
		for _, id := range g.Members {
			m, n := inTemplate(c, id, peer)
			if m == yes {
				return yes, nil
			}
			if m == maybe_ {
				res, needs = maybe_, append(needs, n...)
			}
		}
		return res, needs
	}
	if p.Peer.Contains(peer.Unmap()) {
		return yes, nil
	}
	return no, nil
}

func inTemplate(c *model.Cloud, id string, peer netip.Addr) (tri, []Need) {
	t := c.AddressTemplates[id]
	if t == nil {
		return maybe_, []Need{need("cloud/address-templates.json", "sgn.addrtmpl", id)}
	}
	for _, r := range t.Ranges {
		if r.Contains(peer.Unmap()) {
			return yes, nil
		}
	}
	if t.Err != "" {
		return maybe_, []Need{need(t.File, "sgn.addrbad", id)}
	}
	return no, nil
}

// memberOf decides whether peer is a private IP of a resource bound to
// the SG. An IP that belongs to another resource in the bundle, a
// GlobalRouter pod IP (pod CIDRs are not VPC addresses), an IDC address
// or a public address outside every collected VPC is not a member; any
// other address might belong to a resource the bundle does not list.
func memberOf(c *model.Cloud, id string, peer netip.Addr) (tri, []Need) {
	peer = peer.Unmap()
	for _, m := range c.SGMembers(id) {
		if m == peer {
			return yes, nil
		}
	}
	if c.KnownIP(peer) {
		return no, nil
	}
	if cl := c.Cluster; cl != nil && cl.ClusterCIDR.IsValid() && cl.ClusterCIDR.Contains(peer) && cl.NetworkType != "VPC-CNI" {
		return no, nil
	}
	if c.OffCloud(peer) {
		return no, nil
	}
	// Members are Tencent resources with private VPC addresses: a public
	// address outside every collected VPC is none of them. A private one
	// may sit in a VPC the bundle does not describe (peering, CCN).
	if c.Have.Vpcs && c.VpcOf(peer) == nil && !peer.IsPrivate() && !netip.MustParsePrefix("100.64.0.0/10").Contains(peer) {
		return no, nil
	}
	return maybe_, []Need{need("cloud/instances.json", "sgn.bound", peer, id)}
}
