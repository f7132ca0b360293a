package checks

import (
	"net/netip"
	"strconv"

	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
)

// kube-proxy topology (issue 14 part 4): beyond the contents of its
// chains, the guide's "iptables 或 ipvs 转发规则是否完整" needs
//   - the entry jumps from the kernel's hook chains into kube-proxy's
//     (nat PREROUTING/OUTPUT → KUBE-SERVICES, POSTROUTING →
//     KUBE-POSTROUTING, filter FORWARD/INPUT/OUTPUT): without them the
//     rules exist and are never evaluated;
//   - in IPVS mode, each ClusterIP / external IP / LoadBalancer ingress IP
//     bound to kube-ipvs0, i.e. in the local route table: IPVS hooks
//     LOCAL_IN, so a virtual address the kernel does not take as local is
//     routed away before the virtual service sees it.
func init() {
	Register(&driver.Analyzer{
		Name: "kube-proxy-topology",
		Doc:  "kube-proxy's entry jumps from the hook chains, and in IPVS mode the virtual addresses bound to kube-ipvs0 / the local table.",
		Inputs: []driver.Input{driver.In("cluster/services.yaml"), driver.In("cluster/endpointslices.yaml"), driver.In("cluster/endpoints.yaml"),
			driver.In("cluster/nodes.yaml"), driver.In("nodes/*/kube-proxy.txt"), driver.In("nodes/*/iptables-save.txt"),
			driver.In("nodes/*/iptables-legacy-save.txt"), driver.In("nodes/*/iptables-nft-save.txt"),
			driver.In("nodes/*/ipvsadm.txt"), driver.In("nodes/*/ip-addr.json"), driver.In("nodes/*/ip-route.json")},
		IDs: []string{"KUBE_PROXY_JUMP_MISSING", "IPVS_VIP_UNBOUND"},
		Run: guarded(needKubeProxyInputs, runKubeProxyTopology),
	})
}

func runKubeProxyTopology(p *Pass) {
	c := p.Cluster
	for _, n := range c.Nodes {
		mode, _, known := proxyMode(c, n)
		if known && mode == "none" {
			continue
		}
		isIPVS := mode == "ipvs" || !known && n.IPVS != nil && len(n.IPVS.Services) > 0
		rs, file, undecided := nodeRuleset(n)
		if undecided {
			p.Inconclusive(model.FileIPTables, n.Name, finding.Say("inc.kp.backend"))
		}
		if rs != nil {
			for _, j := range model.MissingKubeProxyJumps(rs, isIPVS) {
				ch := rs.Table(j.Table).Chain(j.Chain)
				hook := rs.Table(j.Table).Chain(j.Hook)
				ev := []finding.Evidence{{File: file, Line: ch.Line, Excerpt: ":" + j.Chain + " - (" + j.Table + " table)"}}
				if hook != nil {
					ev = append(ev, finding.Evidence{File: file, Line: hook.Line, Excerpt: ":" + j.Hook + " " + hook.Policy + " (no -j " + j.Chain + ")"})
				}
				p.Report(finding.New("KUBE_PROXY_JUMP_MISSING",
					finding.Args{"node": n.Name, "table": j.Table, "hook": j.Hook, "chain": j.Chain, "effect": j.Effect,
						"file": file, "line": strconv.Itoa(ch.Line)},
					[]string{nodeRef(n)}, ev...))
			}
		}
		if mode == "ipvs" && n.IPVS != nil {
			if kn := kubeNodeOf(c, n); kn != nil {
				checkVIPBinding(p, n, kn)
			}
		}
	}
}

// checkVIPBinding reports virtual addresses the node does not own. What
// decides is the local route table (fib lookup on input); with only
// ip-addr.json the kube-ipvs0 addresses stand for it (binding an address
// adds its local route). Without either file it is inconclusive.
func checkVIPBinding(p *Pass, n *model.Node, kn *model.KNode) {
	haveAddr := n.HasFile(model.FileIPAddr)
	haveLocal := false // ip-route.json holds table local (collected with "table all")
	local := map[netip.Addr]bool{}
	if n.HasFile(model.FileIPRoute) {
		for _, r := range n.Routes {
			if r.Type == "local" {
				haveLocal = true
				if r.Dst.IsSingleIP() {
					local[r.Dst.Addr()] = true
				}
			}
		}
	}
	if !haveAddr && !haveLocal {
		p.Inconclusive(model.FileIPAddr, n.Name, finding.Say("inc.ipvs.addr"))
		return
	}
	bound := map[netip.Addr]bool{}
	vips, _ := n.KubeIPVS0()
	for _, a := range vips {
		bound[a.Unmap()] = true
	}
	seen := map[netip.Addr]bool{}
	for _, w := range ipvsWants(n, kn, servicePorts(p.Cluster, kn.Name)) {
		if w.kind == "NodePort" {
			continue // node addresses, not kube-ipvs0's
		}
		a := w.key.Addr.Addr().Unmap()
		s := n.IPVS.Service(w.key)
		if seen[a] || s == nil {
			continue // a missing virtual service is KUBE_PROXY_RULES_MISSING
		}
		var why string
		switch {
		case haveLocal && local[a]:
			continue
		case haveLocal && haveAddr && !bound[a]:
			why = "unbound"
		case haveLocal:
			why = "no-local-route"
		case !bound[a]:
			why = "not-on-kube-ipvs0"
		default:
			continue
		}
		seen[a] = true
		ev := []finding.Evidence{{File: n.Path(model.FileIPVS), Line: s.Line, Excerpt: s.Key.String() + " " + s.Scheduler}}
		if haveAddr {
			ev = append(ev, finding.Evidence{File: n.Path(model.FileIPAddr), Excerpt: "kube-ipvs0 lacks " + a.String()})
		}
		if haveLocal {
			ev = append(ev, finding.Evidence{File: n.Path(model.FileIPRoute), Excerpt: "no local route " + a.String()})
		}
		p.Report(finding.New("IPVS_VIP_UNBOUND",
			finding.Args{"node": n.Name, "vip": a.String(), "kind": w.kind, "service": svcArg(w.sp), "why": why},
			[]string{nodeRef(n), w.sp.svc.Ref()}, ev...))
	}
}
