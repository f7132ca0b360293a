package checks

import (
	"net/netip"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/parsers/iptables"
)

// nodeRuleset returns the IPv4 ruleset kube-proxy wrote to and its bundle
// path, or nil when not collected: of the node's dumps the one holding
// nat KUBE-SERVICES (on a node with both backends, kube-proxy's may be the
// non-default one), else the default backend's.
//
// Without the default dump, two backends whose kube-proxy chains differ
// (stale rules of an old kube-proxy in one) leave it unknown which one
// kube-proxy programs: undecided is then true and nothing is returned.
func nodeRuleset(n *model.Node) (rs *iptables.Ruleset, file string, undecided bool) {
	var found *model.IPTablesDump
	for _, d := range n.IPTables {
		if d.Name == model.FileIP6Tables || d.Rules == nil {
			continue
		}
		if nat := d.Rules.Table("nat"); nat != nil && nat.Chain("KUBE-SERVICES") != nil {
			if found == nil {
				found = d
				if d.Name == model.FileIPTables {
					break
				}
				continue
			}
			if !iptables.SameRules(found.Rules, d.Rules) {
				return nil, "", true
			}
		}
	}
	if found != nil {
		return found.Rules, found.File, false
	}
	if d := n.IPv4(); d != nil && d.Rules != nil {
		return d.Rules, d.File, false
	}
	return nil, "", false
}

// reconcileIptablesNode compares a node's iptables rules with what
// kube-proxy's iptables proxier (v1.20+ layout; chain names are stable
// since v1.6) must have programmed.
func reconcileIptablesNode(p *Pass, n *model.Node, kn *model.KNode, ports []*svcPort) {
	rs, file, undecided := nodeRuleset(n)
	if undecided {
		p.Inconclusive(model.FileIPTables, n.Name, finding.Say("inc.kp.backend"))
		return
	}
	if rs == nil {
		p.Inconclusive("iptables-save.txt", n.Name, finding.Say("inc.kp.ipt"))
		return
	}
	nat := rs.Table("nat")
	if nat == nil {
		p.Inconclusive("iptables-save.txt", n.Name, finding.Say("inc.kp.nonat"))
		return
	}
	r := &iptReconciler{p: p, n: n, file: file, nat: nat, filter: rs.Table("filter"), v6: rs.Family == 6}
	for _, sp := range ports {
		r.port(sp)
	}
}

type iptReconciler struct {
	p      *Pass
	n      *model.Node
	file   string
	nat    *iptables.Table
	filter *iptables.Table
	v6     bool
	index  map[*iptables.Chain]*portIndex // built on first use of a chain
}

func (r *iptReconciler) ev(rule *iptables.Rule) finding.Evidence {
	return finding.Evidence{File: r.file, Line: rule.Line, Excerpt: rule.Text}
}

func (r *iptReconciler) missing(sp *svcPort, what finding.Phrase, endpoint string, ev ...finding.Evidence) {
	args := finding.Args{"node": r.n.Name, "mode": "iptables", "service": svcArg(sp)}
	if endpoint != "" {
		args["endpoint"] = endpoint
	}
	f := finding.New("KUBE_PROXY_RULES_MISSING", args, []string{nodeRef(r.n), sp.svc.Ref()}, ev...)
	r.p.Report(*f.SayArg("what", what))
}

func (r *iptReconciler) stale(sp *svcPort, what, endpoint string, ev ...finding.Evidence) {
	r.p.Report(finding.New("KUBE_PROXY_RULES_STALE",
		finding.Args{"node": r.n.Name, "mode": "iptables", "service": svcArg(sp), "endpoint": endpoint, "what": what},
		[]string{nodeRef(r.n), sp.svc.Ref()}, ev...))
}

// dport returns the --dport of a rule's tcp/udp/sctp match.
func dport(rule *iptables.Rule) (int, bool) {
	for _, m := range rule.Matches {
		switch m.Name {
		case "tcp", "udp", "sctp", "multiport":
			if o, ok := m.Opt("dport"); ok && len(o.Args) == 1 && !o.Neg {
				v, err := strconv.Atoi(o.Args[0])
				return v, err == nil
			}
		}
	}
	return 0, false
}

// find returns the rules of chain that match -d dst (when set), -p proto
// and --dport port, and whose target is accepted by want (nil: any), in
// chain order. It looks them up in the chain's index: scanning
// KUBE-SERVICES once per Service port made the check O(Services²) per
// node.
func (r *iptReconciler) find(t *iptables.Table, chain string, dst netip.Addr, proto string, port int, want func(target string) bool) []*iptables.Rule {
	if t == nil {
		return nil
	}
	c := t.Chain(chain)
	if c == nil {
		return nil
	}
	ix := r.index[c]
	if ix == nil {
		ix = indexChain(c)
		if r.index == nil {
			r.index = map[*iptables.Chain]*portIndex{}
		}
		r.index[c] = ix
	}
	k := portKey{proto: proto, port: port}
	if dst.IsValid() {
		k.dst = dst
	}
	var out []*iptables.Rule
	for _, rule := range ix.rules[k] {
		if want != nil && !want(rule.Target.Name) {
			continue
		}
		out = append(out, rule)
	}
	return out
}

// portKey selects rules by -p and --dport, and by a single-address -d
// when dst is valid (the zero dst holds every rule of that proto/port,
// whatever its -d).
type portKey struct {
	dst   netip.Addr
	proto string
	port  int
}

type portIndex struct{ rules map[portKey][]*iptables.Rule }

func indexChain(c *iptables.Chain) *portIndex {
	ix := &portIndex{rules: map[portKey][]*iptables.Rule{}}
	for _, rule := range c.Rules {
		p, ok := dport(rule)
		if !ok {
			continue
		}
		k := portKey{proto: rule.Proto.Name, port: p}
		ix.rules[k] = append(ix.rules[k], rule)
		if rule.Dst.Set && !rule.Dst.Neg && rule.Dst.Prefix.IsSingleIP() {
			k.dst = rule.Dst.Prefix.Addr()
			ix.rules[k] = append(ix.rules[k], rule)
		}
	}
	return ix
}

func isReject(t string) bool { return t == "REJECT" || t == "DROP" }

func (r *iptReconciler) port(sp *svcPort) {
	s := sp.svc
	proto := sp.proto()
	svcChain := ServicePortChainName("KUBE-SVC-", s.Namespace, s.Name, sp.port.Name, proto)
	svlChain := ServicePortChainName("KUBE-SVL-", s.Namespace, s.Name, sp.port.Name, proto)
	clusterChain := svcChain
	if s.Spec.InternalTrafficPolicy != nil && *s.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal {
		clusterChain = svlChain
	}
	svcEv := s.Source.Evidence("service " + s.Namespace + "/" + s.Name)
	if sp.localUnknown && sp.intLocal {
		r.p.Inconclusive("cluster/endpointslices.yaml", r.n.Name, finding.Say("inc.kp.ilocal", svcArg(sp)))
		r.external(sp, svcEv)
		return
	}
	for _, ip := range s.ClusterIPs {
		if ip.Is6() != r.v6 {
			continue // the other family's rules are in ip6tables-save / iptables-save
		}
		natRules := r.find(r.nat, "KUBE-SERVICES", ip, proto, int(sp.port.Port), func(t string) bool {
			return strings.HasPrefix(t, "KUBE-SVC-") || strings.HasPrefix(t, "KUBE-SVL-")
		})
		if len(sp.cluster) == 0 {
			// kube-proxy rejects a ClusterIP without endpoints in filter
			// KUBE-SERVICES ("has no endpoints") instead of a DNAT chain.
			for _, rule := range natRules {
				r.staleChain(sp, rule.Target.Name, nil, "ClusterIP "+ip.String()+" has no endpoints, but nat KUBE-SERVICES still jumps to "+rule.Target.Name)
			}
			if len(r.find(r.filter, "KUBE-SERVICES", ip, proto, int(sp.port.Port), isReject)) == 0 {
				r.missing(sp, finding.Say("kpm.reject", ip.String()+":"+strconv.Itoa(int(sp.port.Port))), "", svcEv)
			}
			continue
		}
		if len(natRules) == 0 {
			r.missing(sp, finding.Say("kpm.clusterip", ip.String()+":"+strconv.Itoa(int(sp.port.Port)), clusterChain), "", svcEv)
			continue
		}
		if natRules[0].Target.Name != clusterChain {
			r.missing(sp, finding.Say("kpm.wrongchain", ip.String(), natRules[0].Target.Name, clusterChain), "", r.ev(natRules[0]), svcEv)
			continue
		}
		r.endpoints(sp, clusterChain, "ClusterIP", sp.cluster, r.ev(natRules[0]))
		if s.Spec.SessionAffinity == corev1.ServiceAffinityClientIP && !r.chainUses(clusterChain, "recent") {
			r.missing(sp, finding.Say("kpm.affinity.ipt", clusterChain), "", r.ev(natRules[0]), s.Source.Evidence("sessionAffinity: ClientIP"))
		}
	}
	r.external(sp, svcEv)
}

// external checks NodePort and LoadBalancer ingress rules: a jump when the
// port has endpoints for external traffic, a DROP/REJECT in filter
// KUBE-EXTERNAL-SERVICES ("has no local endpoints") when it has none.
func (r *iptReconciler) external(sp *svcPort, svcEv finding.Evidence) {
	s := sp.svc
	proto := sp.proto()
	jump := func(t string) bool {
		return strings.HasPrefix(t, "KUBE-EXT-") || strings.HasPrefix(t, "KUBE-SVC-") || strings.HasPrefix(t, "KUBE-XLB-") || strings.HasPrefix(t, "KUBE-FW-") || strings.HasPrefix(t, "KUBE-SVL-")
	}
	dropped := func(dst netip.Addr, port int) bool {
		for _, ch := range []string{"KUBE-EXTERNAL-SERVICES", "KUBE-NODEPORTS", "KUBE-SERVICES"} {
			if len(r.find(r.filter, ch, dst, proto, port, isReject)) > 0 {
				return true
			}
		}
		return false
	}
	if np := int(sp.port.NodePort); np != 0 {
		rules := r.find(r.nat, "KUBE-NODEPORTS", netip.Addr{}, proto, np, jump)
		switch {
		case len(rules) > 0:
		case len(sp.external) == 0 && dropped(netip.Addr{}, np):
		case len(sp.external) == 0 && len(sp.cluster) == 0:
			// no endpoints at all: the kube checks report SVC_NO_ENDPOINTS
		default:
			r.missing(sp, finding.Say("kpm.nodeport", np), "", svcEv)
		}
	}
	if s.Spec.Type == corev1.ServiceTypeLoadBalancer {
		for _, ing := range s.Status.LoadBalancer.Ingress {
			ip, err := netip.ParseAddr(ing.IP)
			if err != nil || ip.Is6() != r.v6 || (ing.IPMode != nil && *ing.IPMode == corev1.LoadBalancerIPModeProxy) {
				continue
			}
			rules := r.find(r.nat, "KUBE-SERVICES", ip, proto, int(sp.port.Port), jump)
			switch {
			case len(rules) > 0:
			case len(sp.external) == 0 && dropped(ip, int(sp.port.Port)):
			case len(sp.external) == 0 && len(sp.cluster) == 0:
			default:
				r.missing(sp, finding.Say("kpm.lbip", ip.String()+":"+strconv.Itoa(int(sp.port.Port))), "", svcEv)
			}
		}
	}
	if s.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal && len(sp.external) > 0 && !sp.localUnknown {
		// v1.26+: KUBE-SVL-; older: KUBE-XLB- holds the local endpoints
		for _, prefix := range []string{"KUBE-SVL-", "KUBE-XLB-"} {
			ch := ServicePortChainName(prefix, s.Namespace, s.Name, sp.port.Name, proto)
			if r.nat.Chain(ch) != nil {
				r.endpoints(sp, ch, "local endpoints", sp.external, svcEv)
				return
			}
		}
		r.missing(sp, finding.Say("kpm.local"), "", svcEv)
	}
}

func (r *iptReconciler) chainUses(chain, match string) bool {
	c := r.nat.Chain(chain)
	if c == nil {
		return false
	}
	for _, rule := range c.Rules {
		for _, m := range rule.Matches {
			if m.Name == match {
				return true
			}
		}
	}
	return false
}

// sepTargets maps each KUBE-SEP- chain a service chain jumps to, to the
// DNAT destination it holds.
func (r *iptReconciler) sepTargets(chain string) (map[netip.AddrPort]*iptables.Rule, []*iptables.Rule) {
	out := map[netip.AddrPort]*iptables.Rule{}
	var unreadable []*iptables.Rule
	c := r.nat.Chain(chain)
	if c == nil {
		return out, nil
	}
	for _, jump := range c.Rules {
		if !strings.HasPrefix(jump.Target.Name, "KUBE-SEP-") {
			continue
		}
		sep := jump.Jump // resolved by the parser: no map probe per endpoint
		if sep == nil {
			sep = r.nat.Chain(jump.Target.Name)
		}
		found := false
		if sep != nil {
			for _, rule := range sep.Rules {
				if rule.Target.Name != "DNAT" {
					continue
				}
				o, ok := rule.Target.Opt("to-destination")
				if !ok || len(o.Args) != 1 {
					continue
				}
				if a, err := netip.ParseAddrPort(o.Args[0]); err == nil {
					out[a] = rule
					found = true
				}
			}
		}
		if !found {
			unreadable = append(unreadable, jump)
		}
	}
	return out, unreadable
}

// endpoints compares the endpoints a service chain DNATs to with want.
func (r *iptReconciler) endpoints(sp *svcPort, chain, kind string, want []model.Backend, ctx finding.Evidence) {
	if r.nat.Chain(chain) == nil {
		r.missing(sp, finding.Say("kpm.nochain", chain, kind), "", ctx)
		return
	}
	have, broken := r.sepTargets(chain)
	wantSet := map[netip.AddrPort]model.Backend{}
	for _, b := range want {
		wantSet[netip.AddrPortFrom(b.IP, uint16(b.Port))] = b
	}
	for _, a := range sortedAddrPorts(wantSet) {
		if _, ok := have[a]; ok {
			continue
		}
		b := wantSet[a]
		sep := ServiceEndpointChainName(sp.svc.Namespace, sp.svc.Name, sp.port.Name, sp.proto(), a.String())
		r.missing(sp, finding.Say("kpm.nojump", kind, chain, sep, a.String()), a.String(), ctx, b.Source.Evidence("endpoint "+a.String()))
	}
	for _, a := range sortedAddrPorts(have) {
		if _, ok := wantSet[a]; ok {
			continue
		}
		why := "not an endpoint"
		if _, isEp := sp.known[a]; isEp {
			why = "an endpoint kube-proxy must not use here (not ready, or not on this node with traffic policy Local)"
		}
		r.stale(sp, kind+": "+chain+" still DNATs to it: "+why, a.String(), r.ev(have[a]))
	}
	for _, j := range broken {
		r.stale(sp, kind+": "+chain+" jumps to "+j.Target.Name+", which holds no DNAT", j.Target.Name, r.ev(j))
	}
}

// staleChain reports every endpoint of a service chain that should not
// exist at all.
func (r *iptReconciler) staleChain(sp *svcPort, chain string, _ []model.Backend, what string) {
	have, _ := r.sepTargets(chain)
	if len(have) == 0 {
		return
	}
	for _, a := range sortedAddrPorts(have) {
		r.stale(sp, what, a.String(), r.ev(have[a]))
	}
}
