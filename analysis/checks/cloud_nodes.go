package checks

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/sg"
	"tkesnap/parsers/tencent"
)

// Node security groups (guide: "节点安全组是否正确放通容器网段 / VPC 网段 /
// IDC 网段"). Tencent's container security-group practice (TKE doc
// 457/9084): nodes of one cluster must accept the cluster's pod network
// and node network, because kube-proxy forwards Service traffic to pods on
// other nodes and pods talk to pods across nodes with their own IPs
// (GlobalRouter) or ENI IPs (VPC-CNI). The same holds for the IDC CIDRs
// that reach the cluster through a direct connect gateway.
func init() {
	Register(&driver.Analyzer{
		Name: "cloud-node-security-groups",
		Doc:  "Node SGs against what the guide says a node must accept: pod CIDR, VPC/subnet CIDRs, IDC CIDRs, the NodePort range.",
		Inputs: []driver.Input{driver.In("cloud/clusters.json"), driver.In("cloud/instances.json"), driver.In("cloud/cluster-instances.json"),
			driver.In("cloud/security-groups.json"), driver.In("cloud/security-group-policies/*.json"),
			driver.In("cloud/address-templates.json"), driver.In("cloud/address-template-groups.json"),
			driver.In("cloud/service-templates.json"), driver.In("cloud/service-template-groups.json"),
			driver.In("cloud/vpcs.json"), driver.In("cloud/subnets.json"), driver.In("cloud/route-tables.json"),
			driver.In("cluster/nodes.yaml"), driver.In("cluster/services.yaml")},
		IDs: []string{"SG_POD_CIDR_BLOCKED", "SG_VPC_CIDR_BLOCKED", "SG_IDC_CIDR_BLOCKED", "SG_NODEPORT_RANGE_BLOCKED"},
		Run: guarded(needCloudSGs, runNodeSGs),
	})
}

func runNodeSGs(p *Pass) {
	c := p.Cluster
	cl := &c.Cloud
	nodes := cloudNodes(c)
	var workers []*cloudNode
	for _, n := range nodes {
		if n.worker() {
			workers = append(workers, n)
		}
		if n.Role == roleUnknown {
			p.Have("cloud/cluster-instances.json") // lists it: which CVMs are workers is unknown
		}
	}
	if len(workers) == 0 {
		p.Inconclusive("cloud/cluster-instances.json", "", finding.Say("inc.nojoin"))
		return
	}
	// Scoped by the reported flows when there are some (the guide starts
	// from the failing flow); the cluster-wide requirements otherwise.
	if cloudScopedByFlows(p, true) {
		runNodeSGFlows(p, nodes)
		return
	}
	// Pod CIDR: pods on one node reach pods on every other node with
	// their own source address, so every node must accept it (ingress)
	// and send to it (egress). Only meaningful with two nodes or more.
	var pod, vpc, idc sgGroups
	if len(workers) >= 2 {
		cidrs := podCIDRs(c, workers)
		// VPC-CNI: pod IPs live on ENIs in the pod subnets, and those
		// ENIs' own SGs filter pod traffic.
		podSide := append(append([]*cloudNode(nil), workers...), podENIs(c)...)
		if len(cidrs) == 0 {
			p.Inconclusive("cloud/clusters.json", "", finding.Say("inc.nopodcidr"))
		}
		for _, cidr := range cidrs {
			for _, n := range podSide {
				for _, dir := range []model.Direction{model.DirIngress, model.DirEgress} {
					b, u := firstBlock(cl, n.SGs, dir, allProtos, rangeOf(cidr), tencent.AllPorts)
					if u != nil && b == nil {
						undecidedNeed(p, u, finding.Say("inc.what.podcidr", n.Name, cidr))
					}
					if b == nil {
						continue
					}
					pod.add(blockKey(n.SGs, b, cidr.String()), n, b, finding.Args{"cidr": cidr.String()})
				}
			}
			// Independent cluster: pods reach the API server on the
			// masters themselves (the default/kubernetes endpoints), with
			// their pod IPs, so the master SG must admit the pod CIDR on
			// the API port.
			if k := cl.Cluster; k != nil && k.Independent() {
				port, portNeed := c.APIServerPort()
				for _, m := range nodes {
					if !m.master() {
						continue
					}
					b, u, unknown := masterBlock(cl, m.SGs, rangeOf(cidr), port, portNeed)
					if unknown {
						p.Inconclusive(portNeed, "", finding.Say("inc.apiport", cidr, m.Name))
						continue
					}
					if u != nil && b == nil {
						undecidedNeed(p, u, finding.Say("inc.what.masterpod", m.Name, port, cidr))
					}
					if b != nil {
						args := finding.Args{"cidr": cidr.String()}
						if portNeed == "" {
							args["port"] = strconv.Itoa(port)
						}
						pod.add(blockKey(m.SGs, b, cidr.String()), m, b, args)
					}
				}
			}
		}
	}
	// VPC CIDR: node ↔ node (and node → pod on another node, whose
	// packets carry the node IP). Evaluated with the real peer address,
	// so rules that name the peer's SG are honoured; the remedy names
	// the peer's VPC CIDR as the guide asks.
	// The answer depends only on the SG list and the peer address: nodes
	// sharing their SGs (the usual case) are evaluated once per peer.
	type memoKey struct {
		sgs  string
		dir  model.Direction
		peer netip.Addr
	}
	type memoVal struct{ blk, und *block }
	memo := map[memoKey]memoVal{}
	firstBlock := func(cl *model.Cloud, sgs []string, dir model.Direction, protos []string, peer tencent.AddrRange, ports tencent.PortRange) (*block, *block) {
		k := memoKey{strings.Join(sgs, ","), dir, peer.From}
		if v, ok := memo[k]; ok {
			return v.blk, nil // an undecided answer was already reported
		}
		b, u := firstBlock(cl, sgs, dir, protos, peer, ports)
		memo[k] = memoVal{b, u}
		return b, u
	}
	for _, b := range workers {
		for _, a := range nodes {
			if a == b || !a.IP.IsValid() {
				continue
			}
			peer := tencent.AddrRange{From: a.IP, To: a.IP}
			blk, u := firstBlock(cl, b.SGs, model.DirIngress, allProtos, peer, tencent.AllPorts)
			if u != nil && blk == nil {
				undecidedNeed(p, u, finding.Say("inc.what.nodenode", b.Name, a.Name))
			}
			if blk != nil {
				cidr := vpcCIDRFor(cl, a.IP)
				vpc.add(blockKey(b.SGs, blk, cidr), b, blk, finding.Args{"cidr": cidr, "peer": peerName(a), "peer_kind": "node"})
			}
			// Egress of a towards b.
			if !b.IP.IsValid() {
				continue
			}
			blk, _ = firstBlock(cl, a.SGs, model.DirEgress, allProtos, tencent.AddrRange{From: b.IP, To: b.IP}, tencent.AllPorts)
			if blk != nil {
				cidr := vpcCIDRFor(cl, b.IP)
				vpc.add(blockKey(a.SGs, blk, cidr), a, blk, finding.Args{"cidr": cidr, "peer": peerName(b), "peer_kind": "node"})
			}
		}
	}
	// IDC CIDRs: destinations reached through a direct connect (or VPN)
	// gateway, from the VPC route tables (GatewayType DIRECTCONNECT/VPN)
	// or the CCN (routes learned from a DIRECTCONNECT/VPNGW instance).
	for _, cidr := range idcCIDRs(cl) {
		for _, n := range workers {
			for _, dir := range []model.Direction{model.DirIngress, model.DirEgress} {
				b, u := firstBlock(cl, n.SGs, dir, allProtos, rangeOf(cidr.prefix), tencent.AllPorts)
				if u != nil && b == nil {
					undecidedNeed(p, u, finding.Say("inc.what.idc", n.Name, cidr.prefix))
				}
				if b != nil {
					idc.add(blockKey(n.SGs, b, cidr.prefix.String()), n, b, finding.Args{"cidr": cidr.prefix.String(), "via": cidr.via})
				}
			}
		}
	}
	pod.report(p, "SG_POD_CIDR_BLOCKED")
	vpc.report(p, "SG_VPC_CIDR_BLOCKED")
	idc.report(p, "SG_IDC_CIDR_BLOCKED")
}

type idcCIDR struct {
	prefix netip.Prefix
	via    string // dcg-… / ccn route
	model.At
}

// idcCIDRs are the peer CIDRs behind direct connect gateways.
func idcCIDRs(cl *model.Cloud) []idcCIDR {
	seen := map[netip.Prefix]bool{}
	var out []idcCIDR
	add := func(p netip.Prefix, via string, at model.At) {
		if !p.IsValid() || seen[p] || !p.Addr().Is4() {
			return
		}
		seen[p] = true
		out = append(out, idcCIDR{p, via, at})
	}
	for _, t := range cl.RouteTables {
		for _, r := range t.Routes {
			if (strings.EqualFold(r.GatewayType, "DIRECTCONNECT") || strings.EqualFold(r.GatewayType, "VPN")) && r.IsEnabled() {
				add(r.Dst, r.GatewayId, r.At)
			}
		}
	}
	for _, r := range cl.CcnRoutes {
		if strings.EqualFold(r.InstanceType, "DIRECTCONNECT") || strings.EqualFold(r.InstanceType, "VPNGW") {
			add(r.Dst, r.InstanceId, r.At)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].prefix.String() < out[j].prefix.String() })
	return out
}

// runNodeSGFlows checks each reported flow exactly: the SGs of the
// source (egress) and of the destination (ingress) for the real
// addresses and port. The finding ID says what the blocked source is:
// a pod (pod CIDR), a node or VPC address, or an IDC address.
func runNodeSGFlows(p *Pass, nodes []*cloudNode) {
	c := p.Cluster
	cl := &c.Cloud
	idcs := idcCIDRs(cl)
	pods := podCIDRs(c, nodes)
	for _, f := range c.Flows {
		from, err1 := c.Resolve(f.From)
		to, err2 := c.Resolve(f.To)
		if err1 != nil || err2 != nil || len(from.IPs) == 0 {
			continue
		}
		proto := f.Proto
		if proto == "" {
			proto = "tcp"
		}
		type dst struct {
			ip   netip.Addr
			port int
		}
		var dsts []dst
		if to.Service != nil {
			for _, b := range to.Backends {
				if b.Ready {
					dsts = append(dsts, dst{b.IP, int(b.Port)})
				}
			}
		} else {
			for _, ip := range to.IPs {
				dsts = append(dsts, dst{ip, to.Port})
			}
		}
		src := from.IPs[0]
		srcB, srcOK := bindingFor(c, src)
		if to.Service != nil && !srcOK && !inPodCIDRs(pods, src) {
			// A client outside the cluster cannot reach a ClusterIP; its
			// way in is a CLB or a NodePort, which the CLB checks and
			// ip:NODE:PORT flows cover.
			continue
		}
		for _, d := range dsts {
			dstB, dstOK := bindingFor(c, d.ip)
			if !dstOK || dstB.Kind == "clb" || (srcOK && srcB.Instance != "" && srcB.Instance == dstB.Instance) {
				continue // same host: no SG on the path; CLBs: see the CLB checks
			}
			var blk *block
			var side model.Binding
			if srcOK && srcB.Kind != "clb" {
				e := sg.Evaluate(cl, srcB.SGs, sg.Flow{Dir: model.DirEgress, Proto: proto, Src: src, Dst: d.ip, Port: d.port})
				if e.Action == sg.Drop {
					blk, side = flowBlock(model.DirEgress, proto, d.ip, d.port, e), srcB
				}
			}
			if blk == nil {
				in := sg.Evaluate(cl, dstB.SGs, sg.Flow{Dir: model.DirIngress, Proto: proto, Src: src, Dst: d.ip, Port: d.port})
				switch in.Action {
				case sg.Drop:
					blk, side = flowBlock(model.DirIngress, proto, src, d.port, in), dstB
				case sg.Undecided:
					p.Inconclusive(firstNeed(in), "", finding.Say("inc.flow", f.From, f.To, in))
				}
			}
			if blk == nil {
				continue
			}
			peer := src
			if blk.Dir == model.DirEgress {
				peer = d.ip
			}
			// The peer's place in the topology names the guide's rule and
			// the CIDR the remedy opens: the peer VPC's or the IDC's CIDR
			// from the cloud data, never the one address of the flow. A
			// private address no cloud data places is an unknown peer:
			// none of these IDs (the trace states the drop).
			id, cidr := "SG_VPC_CIDR_BLOCKED", vpcCIDRFor(cl, peer)
			known := cl.KnownIP(peer)
			extra := finding.Args{}
			switch info := c.ClassifyAddr(peer); info.Class {
			case model.ClassPod:
				// a pod's own address (VPC-CNI: an ENI address) even when
				// the pod block is unknown (no clusters.json/subnets.json)
				id, known = "SG_POD_CIDR_BLOCKED", true
				cidr = netip.PrefixFrom(peer, peer.BitLen()).String()
				if info.CIDR.IsValid() {
					cidr = info.CIDR.String()
				}
			case model.ClassNode, model.ClassLocalVPC:
				known = true
			case model.ClassPeerVPC:
				known = true
				if info.CIDR.IsValid() {
					cidr, extra["peer_kind"] = info.CIDR.String(), "peer-vpc"
					if info.Via != "" {
						extra["via"] = info.Via
					}
				}
			case model.ClassIDC:
				id, cidr, known = "SG_IDC_CIDR_BLOCKED", info.CIDR.String(), true
				if info.Via != "" {
					extra["via"] = info.Via
				}
			}
			for _, pc := range pods {
				if pc.Contains(peer) {
					id, cidr, known = "SG_POD_CIDR_BLOCKED", pc.String(), true
				}
			}
			for _, ic := range idcs {
				if ic.prefix.Contains(peer) && id != "SG_POD_CIDR_BLOCKED" {
					id, cidr, known = "SG_IDC_CIDR_BLOCKED", ic.prefix.String(), true
					extra["via"] = ic.via
				}
			}
			port := strconv.Itoa(d.port)
			if blk.Dir == model.DirIngress && d.port >= 30000 && d.port <= 32768 && (dstB.Kind == "cvm" || dstB.Kind == "eni") && id == "SG_VPC_CIDR_BLOCKED" {
				// A NodePort of a node: the guide's NodePort rule.
				id, port = "SG_NODEPORT_RANGE_BLOCKED", "30000-32768"
			} else if !known {
				continue // a client outside every known network: not one of these IDs
			}
			args := sgArgs(blk, finding.Args{"cidr": cidr, "peer": peer.String(), "flow": f.From + " → " + f.To,
				"proto": strings.ToUpper(proto), "port": port, "source": peer.String()})
			if id != "SG_NODEPORT_RANGE_BLOCKED" {
				for k, v := range extra {
					args[k] = v
				}
			}
			args["node"] = nodeNameFor(nodes, side)
			owner := side.Owner
			if name := nodeNameFor(nodes, side); name != side.Owner {
				owner = "node/" + name
			}
			objs := append(sgObjects(blk), owner)
			p.Report(finding.New(id, args, objs, sgEvidence(blk)...))
		}
	}
}

func flowBlock(dir model.Direction, proto string, peer netip.Addr, port int, d sg.Decision) *block {
	return &block{Dir: dir, Proto: proto, Region: sg.Region{Peer: tencent.AddrRange{From: peer, To: peer},
		Ports: tencent.PortRange{From: port, To: port}, Decision: d}}
}

func firstNeed(d sg.Decision) string {
	if len(d.Needs) > 0 {
		return d.Needs[0].File
	}
	return ""
}

func nodeNameFor(nodes []*cloudNode, b model.Binding) string {
	for _, n := range nodes {
		if n.Inst != nil && (n.Inst.InstanceId == b.Owner || n.Inst.InstanceId == b.Instance) {
			return n.Name
		}
	}
	return b.Owner
}

// peerName names a peer node as data ("10.0.2.7", "node-a (10.0.2.7)"):
// the templates say it is a node.
func peerName(n *cloudNode) string {
	if n.Name == n.IP.String() {
		return n.Name
	}
	return fmt.Sprintf("%s (%s)", n.Name, n.IP)
}

// podENIs are the ENIs in a VPC-CNI cluster's pod subnets whose SGs
// differ from their node's, as pseudo nodes named after the ENI.
func podENIs(c *model.Cluster) []*cloudNode {
	cl := &c.Cloud
	k := cl.Cluster
	if k == nil || k.NetworkType != "VPC-CNI" {
		return nil
	}
	subnets := map[string]bool{}
	for _, s := range k.ClusterNetworkSettings.Subnets {
		subnets[s] = true
	}
	var out []*cloudNode
	for _, e := range cl.NetworkInterfaces {
		if !subnets[e.SubnetId] || len(e.GroupSet) == 0 {
			continue
		}
		var in *model.Instance
		if e.Attachment != nil {
			in = cl.InstanceByID(e.Attachment.InstanceId)
		}
		if in != nil && strings.Join(in.SecurityGroupIds, ",") == strings.Join(e.GroupSet, ",") {
			continue // same SGs as the node: already checked
		}
		n := &cloudNode{Name: e.NetworkInterfaceId, Inst: in, Role: "WORKER", SGs: e.GroupSet}
		if len(e.IPs) > 0 {
			n.IP = e.IPs[0]
		}
		out = append(out, n)
	}
	return out
}

func inPodCIDRs(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
