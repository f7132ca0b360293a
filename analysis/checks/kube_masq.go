package checks

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
)

// "IDC/跨 VPC 看到的是节点 IP": ip-masq-agent SNATs pod traffic to the
// node IP unless the destination is in NonMasqueradeCIDRs (or link-local
// without MasqLinkLocal). Destinations come from reported flows and from
// cloud routes towards an IDC (Direct Connect, VPN) or a peer VPC (CCN,
// peering). Where a node's iptables-save holds the IP-MASQ-AGENT chain,
// that chain, not the configmap, decides for that node, and a chain that
// disagrees with the configmap is reported (MASQ_RULES_DIFFER).

func init() {
	Register(&driver.Analyzer{
		Name: "kube-masq",
		Doc:  "Source NAT of pod traffic to IDC/peer CIDRs: ip-masq-agent NonMasqueradeCIDRs and the nodes' masquerade rules.",
		Inputs: []driver.Input{driver.In("cluster/configmaps-kube-system.yaml"), driver.In("cluster/pods.yaml"), driver.In("cluster/nodes.yaml"),
			driver.In("nodes/*/iptables-save.txt"), driver.In("cloud/route-tables.json"), driver.In("cloud/ccn-routes.json"),
			driver.In("cloud/clusters.json"), driver.In("cloud/vpcs.json")},
		IDs: []string{"MASQ_HIDES_SOURCE", "MASQ_RULES_DIFFER"},
		Run: report(runMasq),
	})
}

// masqTarget is one destination whose source-IP treatment matters.
type masqTarget struct {
	cidr   netip.Prefix
	origin string
	ev     finding.Evidence
	node   string // the source pod's node (flows), "" for every node
}

// masqPolicy is what decides masquerading on a node: the configmap, the
// agent's defaults, or the node's own IP-MASQ-AGENT chain.
type masqPolicy struct {
	nonMasq   []netip.Prefix // RETURN destinations, incl. link-local when not masqueraded
	desc      string
	ev        finding.Evidence
	fromRules bool
}

func (m masqPolicy) covers(p netip.Prefix) bool {
	for _, n := range m.nonMasq {
		if n.Bits() <= p.Bits() && n.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

func prefixesString(ps []netip.Prefix) string {
	if len(ps) == 0 {
		return "none"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// configPolicy is the cluster-wide policy from the configmap, or the
// agent's built-in defaults when the agent runs without one; ok is false
// when no ip-masq-agent is in evidence.
func configPolicy(c *model.Cluster) (masqPolicy, bool) {
	k := &c.Kube
	if m := k.Masq; m != nil {
		pol := masqPolicy{nonMasq: append([]netip.Prefix(nil), m.NonMasqueradeCIDRs...), ev: at(c, m.Source, "config: NonMasqueradeCIDRs "+prefixesString(m.NonMasqueradeCIDRs), "data", "config"),
			desc: prefixesString(m.NonMasqueradeCIDRs)}
		if !m.MasqLinkLocal {
			pol.nonMasq = append(pol.nonMasq, netip.MustParsePrefix("169.254.0.0/16"))
		}
		return pol, true
	}
	for _, ds := range k.DaemonSets {
		if strings.Contains(ds.Name, "ip-masq-agent") {
			pol := masqPolicy{nonMasq: append(append([]netip.Prefix(nil), model.DefaultNonMasqCIDRs...), netip.MustParsePrefix("169.254.0.0/16")),
				desc: prefixesString(model.DefaultNonMasqCIDRs) + " (agent defaults: no config)", ev: ds.Evidence("daemonset " + ds.Name + " without ip-masq-agent-config")}
			return pol, true
		}
	}
	return masqPolicy{}, false
}

func runMasq(p *Pass) {
	c := p.Cluster
	k := &c.Kube
	cfg, haveCfg := configPolicy(c)
	nodeRules := map[string]masqPolicy{} // nodes/<dir> name → chain
	for _, n := range c.Nodes {
		if ch, ok := c.MasqChain(n); ok {
			nodeRules[n.Name] = masqPolicy{nonMasq: ch.NonMasq, fromRules: true, desc: prefixesString(ch.NonMasq),
				ev: finding.Evidence{File: ch.File, Line: ch.Line, Excerpt: "IP-MASQ-AGENT RETURN " + prefixesString(ch.NonMasq)}}
			if haveCfg && k.Masq != nil {
				reportDiff(p, n.Name, cfg, nodeRules[n.Name], ch.Masquerades)
			}
		}
	}
	if !haveCfg && len(nodeRules) == 0 {
		return // no ip-masq-agent: nothing of its doing to explain
	}
	// route CIDRs first: a flow's address inside a CIDR already reported
	// for its node adds nothing (the remedy is the CIDR)
	targets := masqTargets(c)
	sort.SliceStable(targets, func(i, j int) bool { return targets[i].node == "" && targets[j].node != "" })
	seen := map[string]bool{}
	reported := map[string][]netip.Prefix{} // node → CIDRs reported
	for _, t := range targets {
		// which nodes, and which policy on each
		type scope struct {
			node string
			pol  masqPolicy
		}
		var scopes []scope
		if t.node != "" {
			if n := c.NodeDir(t.node); n != nil {
				if r, ok := nodeRules[n.Name]; ok {
					scopes = append(scopes, scope{t.node, r})
				}
			}
			if len(scopes) == 0 && haveCfg {
				scopes = append(scopes, scope{t.node, cfg})
			}
		} else {
			names := make([]string, 0, len(nodeRules))
			for n := range nodeRules {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				scopes = append(scopes, scope{n, nodeRules[n]})
			}
			if len(scopes) == 0 && haveCfg {
				scopes = append(scopes, scope{"every node running ip-masq-agent", cfg})
			}
		}
		for _, s := range scopes {
			if s.pol.covers(t.cidr) {
				continue
			}
			key := t.cidr.String() + "|" + s.node
			if seen[key] || inAny(reported[s.node], t.cidr) {
				continue
			}
			seen[key] = true
			reported[s.node] = append(reported[s.node], t.cidr)
			args := finding.Args{"cidr": t.cidr.String(), "node": s.node, "nonmasq": s.pol.desc, "origin": t.origin}
			objs := []string{}
			if k.Masq != nil {
				objs = append(objs, "configmap/"+k.Masq.ConfigMap)
			}
			if t.node != "" || s.pol.fromRules {
				objs = append(objs, "node/"+s.node)
			}
			ev := []finding.Evidence{s.pol.ev}
			if t.ev.File != "" {
				ev = append(ev, t.ev)
			}
			p.Report(finding.New("MASQ_HIDES_SOURCE", args, objs, ev...))
		}
	}
}

func inAny(ps []netip.Prefix, p netip.Prefix) bool {
	for _, q := range ps {
		if q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// reportDiff compares a node's chain with the configmap.
func reportDiff(p *Pass, node string, cfg, rules masqPolicy, masquerades bool) {
	in := func(l []netip.Prefix, x netip.Prefix) bool {
		for _, y := range l {
			if y == x {
				return true
			}
		}
		return false
	}
	var missing, extra []string
	for _, x := range cfg.nonMasq {
		if !in(rules.nonMasq, x) {
			missing = append(missing, x.String())
		}
	}
	for _, x := range rules.nonMasq {
		if !in(cfg.nonMasq, x) {
			extra = append(extra, x.String())
		}
	}
	if len(missing) == 0 && len(extra) == 0 && masquerades {
		return
	}
	args := finding.Args{"node": node, "config": cfg.desc, "rules": rules.desc,
		"missing": strings.Join(missing, ", "), "extra": strings.Join(extra, ", ")}
	if !masquerades {
		args["nomasq"] = "true"
	}
	p.Report(finding.New("MASQ_RULES_DIFFER", args, []string{"node/" + node}, rules.ev, cfg.ev))
}

// masqTargets collects destinations from flows (pod sources only: the
// agent's chain is about pod traffic leaving the node) and cloud routes.
func masqTargets(c *model.Cluster) []masqTarget {
	var out []masqTarget
	for i, f := range c.Flows {
		from, err := c.Resolve(f.From)
		if err != nil || from.Pod == nil || from.Pod.Spec.HostNetwork {
			continue
		}
		to, err := c.ResolveFrom(f.To, from.Pod.Namespace)
		if err != nil {
			continue
		}
		var dsts []netip.Addr
		switch {
		case to.Service != nil:
			for _, b := range to.Backends {
				dsts = append(dsts, b.IP) // POSTROUTING sees the DNATed backend
			}
		default:
			dsts = to.IPs
		}
		for _, ip := range dsts {
			if c.Kube.NodeByIP(ip) != nil && c.Kube.NodeByIP(ip).Name == from.Pod.Spec.NodeName {
				continue // a LOCAL destination: the chain is not entered
			}
			out = append(out, masqTarget{cidr: netip.PrefixFrom(ip, ip.BitLen()), node: from.Pod.Spec.NodeName,
				origin: fmt.Sprintf("flow %d %s → %s", i+1, f.From, f.To),
				ev:     finding.Evidence{File: "flows.json", Line: c.FlowLine(f), Excerpt: f.From + " → " + f.To}})
		}
	}
	cl := &c.Cloud
	own := ownCIDRs(c)
	isOwn := func(p netip.Prefix) bool {
		for _, o := range own {
			if o.Bits() <= p.Bits() && o.Contains(p.Addr()) {
				return true
			}
		}
		return false
	}
	for _, rt := range cl.RouteTables {
		for _, r := range rt.Routes {
			if !r.Dst.IsValid() || !r.IsEnabled() || isOwn(r.Dst) {
				continue
			}
			var kind string
			switch strings.ToUpper(r.GatewayType) {
			case "DIRECTCONNECT", "VPN":
				kind = "IDC"
			case "PEERCONNECTION", "CCN":
				kind = "peer network"
			default:
				continue
			}
			out = append(out, masqTarget{cidr: r.Dst, origin: fmt.Sprintf("%s route %s via %s %s", kind, r.Dst, r.GatewayType, r.GatewayId),
				ev: finding.Evidence{File: r.At.File, Line: r.At.Line, Excerpt: fmt.Sprintf("%s → %s %s", r.DestinationCidrBlock, r.GatewayType, r.GatewayId)}})
		}
	}
	vpc := ""
	if cl.Cluster != nil {
		vpc = cl.Cluster.ClusterNetworkSettings.VpcId
	}
	for _, r := range cl.CcnRoutes {
		if !r.Dst.IsValid() || !r.IsEnabled() || isOwn(r.Dst) || (vpc != "" && r.InstanceId == vpc) {
			continue
		}
		kind := "peer VPC"
		if strings.ToUpper(r.InstanceType) == "DIRECTCONNECT" || strings.HasPrefix(strings.ToUpper(r.InstanceType), "VPN") {
			kind = "IDC"
		}
		out = append(out, masqTarget{cidr: r.Dst, origin: fmt.Sprintf("CCN route to %s %s (%s %s)", kind, r.Dst, r.InstanceType, r.InstanceId),
			ev: finding.Evidence{File: r.At.File, Line: r.At.Line, Excerpt: fmt.Sprintf("%s → %s %s", r.DestinationCidrBlock, r.InstanceType, r.InstanceId)}})
	}
	return out
}

// ownCIDRs are the cluster's own networks (its VPC, pod and Service
// CIDRs): routes to them are not cross-network traffic.
func ownCIDRs(c *model.Cluster) []netip.Prefix {
	var out []netip.Prefix
	cl := &c.Cloud
	if cl.Cluster != nil {
		for _, p := range []netip.Prefix{cl.Cluster.ClusterCIDR, cl.Cluster.ServiceCIDR} {
			if p.IsValid() {
				out = append(out, p)
			}
		}
		if v := cl.Vpcs[cl.Cluster.ClusterNetworkSettings.VpcId]; v != nil {
			out = append(out, v.CIDRs...)
		}
	}
	for _, n := range c.Kube.Nodes {
		out = append(out, n.PodCIDRs...)
	}
	return out
}
