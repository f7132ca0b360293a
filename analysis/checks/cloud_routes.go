package checks

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
)

// VPC / CCN routes (guide "跨 VPC / IDC 访问不通"): a peer VPC (CCN or
// peering) or an IDC (direct connect gateway) is reachable only when the
// route table of the subnet holds an enabled route for its CIDR; and in
// GlobalRouter mode the peer reaches pod IPs only when the cluster's
// container CIDR is published to the CCN (pod CIDRs are not VPC CIDRs).
func init() {
	Register(&driver.Analyzer{
		Name: "cloud-routes",
		Doc:  "VPC, CCN and cluster routes for the CIDRs flows cross (peer VPC, IDC, pod CIDRs).",
		Inputs: []driver.Input{driver.In("cloud/route-tables.json"), driver.In("cloud/ccn-routes.json"), driver.In("cloud/ccn-routes/*.json"),
			driver.In("cloud/cluster-routes.json"), driver.In("cloud/clusters.json"), driver.In("cloud/vpcs.json"), driver.In("cloud/subnets.json"),
			driver.In("cluster/nodes.yaml")},
		IDs: []string{"ROUTE_MISSING"},
		Run: guarded(needRoutes, runRoutes),
	})
}

func needRoutes(c *model.Cluster) []finding.Inconclusive {
	cl := &c.Cloud
	if cl.Have.RouteTables || cl.Have.CcnRoutes || haveClusterRoutes(cl) {
		return nil // runRoutes says what else is missing
	}
	if len(cl.Files) > 0 && len(c.Flows) > 0 {
		return []finding.Inconclusive{finding.Because("cloud/route-tables.json", "", finding.Say("inc.routetables"))}
	}
	return nil
}

// privateAddr: destinations that need a VPC/CCN/DC route (public
// addresses leave through the public gateway instead).
func privateAddr(a netip.Addr) bool {
	return a.IsPrivate() || netip.MustParsePrefix("100.64.0.0/10").Contains(a)
}

// routeFor returns the enabled route of t with the longest prefix
// holding dst.
func routeFor(t *model.RouteTable, dst netip.Addr) *model.VpcRoute {
	var best *model.VpcRoute
	for _, r := range t.Routes {
		if r.IsEnabled() && r.Dst.IsValid() && r.Dst.Contains(dst) && (best == nil || r.Dst.Bits() > best.Dst.Bits()) {
			best = r
		}
	}
	return best
}

func runRoutes(p *Pass) {
	c := p.Cluster
	cl := &c.Cloud
	nodes := cloudNodes(c)
	scoped := cloudScopedByFlows(p, false)
	reported := map[string]bool{}
	report := func(args finding.Args, objs []string, ev ...finding.Evidence) {
		k := args["table"] + "|" + args["cidr"]
		if reported[k] {
			return
		}
		reported[k] = true
		p.Report(finding.New("ROUTE_MISSING", args, objs, ev...))
	}
	inCluster := func(a netip.Addr) bool {
		if cl.VpcOf(a) != nil && cl.Cluster != nil && cl.VpcOf(a).VpcId == cl.Cluster.ClusterNetworkSettings.VpcId {
			return true
		}
		if k := cl.Cluster; k != nil && (k.ClusterCIDR.IsValid() && k.ClusterCIDR.Contains(a) || k.ServiceCIDR.IsValid() && k.ServiceCIDR.Contains(a)) {
			return true
		}
		return false
	}
	if !cl.Have.RouteTables && !cl.Have.CcnRoutes && len(c.Flows) > 0 {
		p.Inconclusive("cloud/route-tables.json", "", finding.Say("inc.routetables"))
	}
	// 0. GlobalRouter: every node's pod CIDR needs its cluster route.
	runClusterRoutes(p, report)
	// 1. Reported flows to a private address outside the cluster's VPC:
	// the source node's subnet route table must route it.
	// Which destinations are the cluster's own (pod and service CIDRs)
	// comes from cloud/clusters.json: without it a pod IP would look like
	// a foreign private address, so nothing is concluded (Have lists the
	// file once).
	if cl.Have.RouteTables && len(c.Flows) > 0 && p.Have("cloud/clusters.json") {
		for _, f := range c.Flows {
			from, err1 := c.Resolve(f.From)
			to, err2 := c.Resolve(f.To)
			if err1 != nil || err2 != nil || len(from.IPs) == 0 {
				continue
			}
			b, ok := bindingFor(c, from.IPs[0])
			if !ok || b.Instance == "" {
				continue
			}
			in := cl.InstanceByID(b.Instance)
			if in == nil {
				continue
			}
			sub := cl.Subnets[in.VirtualPrivateCloud.SubnetId]
			t := cl.RouteTableOf(sub)
			if t == nil {
				p.Inconclusive("cloud/subnets.json", "", finding.Say("inc.flow.subnet", f.From, f.To, in.VirtualPrivateCloud.SubnetId))
				continue
			}
			if to.Pod != nil || to.Service != nil || to.Node != nil || to.Ingress != nil {
				continue // a cluster object: the cluster's routes, not a peer's
			}
			for _, dst := range to.IPs {
				if !dst.Is4() || !privateAddr(dst) || inCluster(dst) || cl.VpcOf(dst) != nil && cl.VpcOf(dst).VpcId == t.VpcId {
					continue
				}
				if routeFor(t, dst) != nil {
					continue
				}
				cidr, via, ev := peerCIDR(c, dst)
				ev = append([]finding.Evidence{{File: t.File, Line: t.At.Line, Excerpt: fmt.Sprintf("%s (%d routes): none covers %s", t.RouteTableId, len(t.Routes), dst)}}, ev...)
				via["table"], via["vpc"], via["cidr"], via["from"] = t.RouteTableId, t.VpcId, cidr, f.From
				report(via, []string{t.RouteTableId, t.VpcId}, ev...)
			}
		}
	}
	// 2. IDC / peer CIDRs the CCN knows: the node subnets' route tables
	// must hold an enabled route for them; a CCN route that is disabled
	// (Enabled false: overlapping CIDRs) does not forward.
	if cl.Have.CcnRoutes {
		vpcID := ""
		if cl.Cluster != nil {
			vpcID = cl.Cluster.ClusterNetworkSettings.VpcId
		}
		attached := false
		for _, r := range cl.CcnRoutes {
			attached = attached || (vpcID != "" && r.InstanceId == vpcID)
		}
		for _, r := range cl.CcnRoutes {
			if !r.Dst.IsValid() || r.InstanceId == vpcID || !r.Dst.Addr().Is4() {
				continue
			}
			if scoped && !flowTouches(c, r.Dst) {
				continue // flows were reported, none to or from this peer
			}
			// Language-neutral: the templates say "learned from".
			via := func(a finding.Args) finding.Args {
				a["via_kind"], a["via_type"], a["via_id"] = "learned", r.InstanceType, r.InstanceId
				if n := ccnName(cl, nodes); n != "" {
					a["ccn_name"] = n
				}
				return a
			}
			if !r.IsEnabled() && attached {
				table := "CCN"
				if ts := nodeTables(cl, nodes); len(ts) > 0 && routeFor(ts[0], r.Dst.Addr()) == nil {
					table = ts[0].RouteTableId
				}
				report(via(finding.Args{"table": table, "vpc": vpcID, "cidr": r.Dst.String(), "from_vpc": vpcID, "disabled": r.RouteId}),
					[]string{r.RouteId}, finding.Evidence{File: r.File, Line: r.At.Line, Excerpt: fmt.Sprintf("%s %s Enabled=false (%s)", r.RouteId, r.DestinationCidrBlock, r.ExtraState)})
				continue
			}
			if !attached || !cl.Have.RouteTables {
				continue
			}
			for _, t := range nodeTables(cl, nodes) {
				if routeFor(t, r.Dst.Addr()) == nil {
					report(via(finding.Args{"table": t.RouteTableId, "vpc": t.VpcId, "cidr": r.Dst.String(), "from_vpc": t.VpcId}),
						[]string{t.RouteTableId, r.RouteId},
						finding.Evidence{File: t.File, Line: t.At.Line, Excerpt: fmt.Sprintf("%s: no enabled route covers %s", t.RouteTableId, r.Dst)},
						finding.Evidence{File: r.File, Line: r.At.Line, Excerpt: fmt.Sprintf("%s %s from %s %s", r.RouteId, r.DestinationCidrBlock, r.InstanceType, r.InstanceId)})
				}
			}
		}
		// 3. GlobalRouter pod CIDR not published to the CCN: peers and
		// IDCs have no way back to pod IPs.
		if k := cl.Cluster; k != nil && attached && k.ClusterCIDR.IsValid() && k.NetworkType != "VPC-CNI" {
			published := false
			for _, r := range cl.CcnRoutes {
				if r.InstanceId == vpcID && r.IsEnabled() && r.Dst.IsValid() && r.Dst.Bits() <= k.ClusterCIDR.Bits() && r.Dst.Contains(k.ClusterCIDR.Addr()) {
					published = true
				}
			}
			// The route tables also say which local CIDRs the VPC
			// publishes to the CCN (LocalCidrForCcn).
			for _, t := range cl.RouteTables {
				for _, lc := range t.LocalCidrForCcn {
					if p, err := netip.ParsePrefix(lc.Cidr); err == nil && t.VpcId == vpcID && p.Bits() <= k.ClusterCIDR.Bits() && p.Contains(k.ClusterCIDR.Addr()) {
						published = true
					}
				}
			}
			if peers, ev := podIPsSeenBy(c, vpcID, k.ClusterCIDR); !published && !peers.empty() {
				ccn := ccnName(cl, nodes)
				ev = append([]finding.Evidence{
					{File: k.File, Line: k.At.Line, Excerpt: fmt.Sprintf("%s ClusterCIDR %s (GlobalRouter)", k.ClusterId, k.ClusterCIDR)},
					{File: "cloud/ccn-routes.json", Excerpt: fmt.Sprintf("no CCN route from %s covers %s", vpcID, k.ClusterCIDR)}}, ev...)
				args := finding.Args{"table": ccn, "vpc": vpcID, "cidr": k.ClusterCIDR.String(), "via_kind": "container", "cluster": k.ClusterId, "ccn": ccn}
				if ccn == "" {
					args["table"] = "CCN"
					delete(args, "ccn")
				}
				peers.args(args)
				report(args, []string{k.ClusterId, vpcID}, ev...)
			}
		}
	}
}

// nodeTables are the route tables of the subnets the nodes live in.
func nodeTables(cl *model.Cloud, nodes []*cloudNode) []*model.RouteTable {
	seen := map[*model.RouteTable]bool{}
	var out []*model.RouteTable
	for _, n := range nodes {
		if n.Inst == nil {
			continue
		}
		if t := cl.RouteTableOf(cl.Subnets[n.Inst.VirtualPrivateCloud.SubnetId]); t != nil && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// podPeers are the CCN peers that exchange packets with pod IPs, as
// language-neutral lists: "192.168.0.0/16 (DIRECTCONNECT dcg-1)".
type podPeers struct {
	nomasq, flowed, flows []string
}

func (p podPeers) empty() bool { return len(p.nomasq)+len(p.flowed) == 0 }

func (p podPeers) args(a finding.Args) {
	if len(p.nomasq) > 0 {
		a["nomasq_peers"] = strings.Join(p.nomasq, ", ")
	}
	if len(p.flowed) > 0 {
		a["flow_peers"], a["flows"] = strings.Join(p.flowed, ", "), strings.Join(p.flows, ", ")
	}
}

// podIPsSeenBy lists the CCN peers (other VPCs, IDCs) that exchange
// packets with pod IPs, and so need a route back to the pod CIDR: peers
// ip-masq-agent does not masquerade pod traffic to (NonMasqueradeCIDRs),
// and sources of reported flows towards pods. Peers that only ever see
// node IPs (the default: pod traffic leaving the VPC is SNATed) need no
// pod route, so nothing is reported for them.
func podIPsSeenBy(c *model.Cluster, vpcID string, pods netip.Prefix) (podPeers, []finding.Evidence) {
	cl := &c.Cloud
	var out podPeers
	var ev []finding.Evidence
	seen := map[string]bool{}
	for _, r := range cl.CcnRoutes {
		if r.InstanceId == vpcID || !r.Dst.IsValid() || !r.Dst.Addr().Is4() {
			continue
		}
		name := fmt.Sprintf("%s (%s %s)", r.Dst, r.InstanceType, r.InstanceId)
		if m := c.Kube.Masq; m != nil && !seen[name] {
			if ok, n := m.CoversPrefix(r.Dst); ok {
				seen[name] = true
				out.nomasq = append(out.nomasq, name)
				ev = append(ev, finding.Evidence{File: m.File, Line: m.Line,
					Excerpt: fmt.Sprintf("ip-masq-agent NonMasqueradeCIDRs %s covers %s", n, r.Dst)})
			}
		}
		for _, f := range c.Flows {
			if seen[name] {
				break
			}
			from, err1 := c.Resolve(f.From)
			to, err2 := c.Resolve(f.To)
			if err1 != nil || err2 != nil {
				continue
			}
			for _, a := range from.IPs {
				for _, b := range to.IPs {
					if !seen[name] && r.Dst.Contains(a) && pods.Contains(b) {
						seen[name] = true
						out.flowed = append(out.flowed, name)
						out.flows = append(out.flows, f.From+" → "+f.To)
						ev = append(ev, finding.Evidence{File: "flows.json", Line: c.FlowLine(f), Excerpt: f.From + " → " + f.To})
					}
				}
			}
		}
	}
	return out, ev
}

// peerCIDR names the network a destination belongs to, from the CCN
// routes, and the next hop that should carry it (as via_* args).
func peerCIDR(c *model.Cluster, dst netip.Addr) (string, finding.Args, []finding.Evidence) {
	cl := &c.Cloud
	for _, r := range cl.CcnRoutes {
		if r.Dst.IsValid() && r.Dst.Contains(dst) {
			return r.Dst.String(), finding.Args{"via_kind": "ccn", "via_type": r.InstanceType, "via_id": r.InstanceId},
				[]finding.Evidence{{File: r.File, Line: r.At.Line, Excerpt: fmt.Sprintf("%s %s from %s %s", r.RouteId, r.DestinationCidrBlock, r.InstanceType, r.InstanceId)}}
		}
	}
	for _, t := range cl.RouteTables {
		for _, r := range t.Routes {
			if r.Dst.IsValid() && r.Dst.Contains(dst) && !r.IsEnabled() {
				return r.Dst.String(), finding.Args{"via_kind": "disabled", "via_type": strings.ToLower(r.GatewayType), "via_id": r.GatewayId},
					[]finding.Evidence{{File: r.File, Line: r.At.Line, Excerpt: fmt.Sprintf("%s %s via %s %s Enabled=false", t.RouteTableId, r.DestinationCidrBlock, r.GatewayType, r.GatewayId)}}
			}
		}
	}
	// No CCN or disabled route names it: the shared classifier may still
	// (another route table of the VPC, a peering connection, the peer
	// VPC in vpcs.json), and a private address it places nowhere is an
	// unknown peer — said so, not taken for an IDC.
	switch info := c.ClassifyAddr(dst); info.Class {
	case model.ClassPeerVPC, model.ClassIDC:
		if info.CIDR.IsValid() {
			a := finding.Args{"via_kind": "unknown"}
			if info.Via != "" {
				a["via"] = info.Via
			}
			var ev []finding.Evidence
			if info.At.File != "" {
				ev = append(ev, finding.Evidence{File: info.At.File, Line: info.At.Line, Excerpt: strings.TrimSpace(info.CIDR.String() + " " + info.Via)})
			}
			return info.CIDR.String(), a, ev
		}
	case model.ClassUnknownPeer:
		return netip.PrefixFrom(dst, 32).String(), finding.Args{"via_kind": "unknown-peer"}, nil
	}
	return netip.PrefixFrom(dst, 32).String(), finding.Args{"via_kind": "unknown"}, nil
}

// ccnName names the CCN the cluster VPC is attached to, from the CCN
// routes of the node route tables (GatewayType CCN, GatewayId ccn-…).
func ccnName(cl *model.Cloud, nodes []*cloudNode) string {
	for _, t := range nodeTables(cl, nodes) {
		for _, r := range t.Routes {
			if strings.EqualFold(r.GatewayType, "CCN") && r.GatewayId != "" {
				return r.GatewayId
			}
		}
	}
	return "" // unknown: the templates say "the CCN"
}

// flowTouches: some reported flow starts or ends inside p.
func flowTouches(c *model.Cluster, p netip.Prefix) bool {
	for _, f := range c.Flows {
		for _, spec := range []string{f.From, f.To} {
			e, err := c.Resolve(spec)
			if err != nil {
				continue
			}
			for _, ip := range e.IPs {
				if p.Contains(ip) {
					return true
				}
			}
		}
	}
	return false
}

// haveClusterRoutes: cloud/cluster-routes.json (tccli tke
// DescribeClusterRoutes) was read, even if it lists no route.
func haveClusterRoutes(cl *model.Cloud) bool {
	return slices.Contains(cl.Files, "cloud/cluster-routes.json")
}

// runClusterRoutes checks the GlobalRouter route table of the cluster: in
// GR mode the VPC forwards a pod IP to its node only through the cluster
// route "pod CIDR of the node → node IP" (TKE doc 457/50355, tke
// DescribeClusterRoutes); without it packets to that node's pods leave
// the sender towards the VPC gateway and die, from every other node. Each
// node's spec.podCIDR must have its route with the node as gateway.
func runClusterRoutes(p *Pass, report func(finding.Args, []string, ...finding.Evidence)) {
	c := p.Cluster
	cl := &c.Cloud
	k := cl.Cluster
	if k == nil || !haveClusterRoutes(cl) || (k.NetworkType != "GR" && k.NetworkType != "") || !k.ClusterCIDR.IsValid() {
		return // VPC-CNI and Cilium overlay pods need no cluster route
	}
	table := k.ClusterId
	for _, r := range cl.ClusterRoutes {
		if r.RouteTableName != "" {
			table = r.RouteTableName
			break
		}
	}
	for _, n := range c.Kube.Nodes {
		if len(n.InternalIPs) == 0 {
			continue
		}
		ip := n.InternalIPs[0]
		for _, pc := range n.PodCIDRs {
			if !k.ClusterCIDR.Contains(pc.Addr()) {
				continue // not a GlobalRouter block (e.g. a second network)
			}
			found := false
			var other *model.ClusterRoute
			for _, r := range cl.ClusterRoutes {
				if r.Dst == pc {
					if r.Gateway == ip {
						found = true
					} else {
						other = r
					}
				}
			}
			if found {
				continue
			}
			ev := []finding.Evidence{at(c, n.Source, "podCIDR: "+pc.String(), "spec", "podCIDR")}
			excerpt := fmt.Sprintf("%d cluster routes of %s, none to %s via %s", len(cl.ClusterRoutes), table, pc, ip)
			line := 0 // no route at all: the file, no line
			if n := len(cl.ClusterRoutes); n > 0 {
				line = cl.ClusterRoutes[n-1].At.Line // the last route: the list ends without it
			}
			if other != nil {
				excerpt = fmt.Sprintf("%s via %s (not the node %s)", other.DestinationCidrBlock, other.GatewayIp, ip)
				line = other.At.Line
			}
			ev = append([]finding.Evidence{{File: "cloud/cluster-routes.json", Line: line, Excerpt: excerpt}}, ev...)
			report(finding.Args{"table": table, "vpc": k.ClusterNetworkSettings.VpcId, "cidr": pc.String(),
				"via_kind": "node", "via_id": ip.String(), "from_cluster": k.ClusterId},
				[]string{table, "node/" + n.Name}, ev...)
		}
	}
}
