package trace

import (
	"net/netip"
	"strings"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/sg"
)

// vpc takes a packet that left node `from` ("" for a client outside the
// cluster) through the source's SG egress, the VPC route, the
// destination's SG ingress, to the node or pod that owns the destination.
func (tr *Tracer) vpc(w *walk, from string, p pkt) {
	if from != "" && !tr.sgHop(w, model.DirEgress, p, false) {
		return
	}
	if pub := tr.c.ClassifyAddr(p.dst.Addr()); pub.Class == model.ClassCVMPublic && pub.Instance != nil && len(pub.Instance.IPs) > 0 {
		tr.toPublicIP(w, p, pub.Instance)
		return
	}
	if !tr.vpcRoute(w, from, p) {
		return
	}
	dst := p.dst.Addr()
	owner := tr.nodeOwning(dst)
	if owner == "" {
		tr.leaveCluster(w, p)
		return
	}
	if !tr.sgHop(w, model.DirIngress, p, tr.isNodePort(owner, p)) {
		return
	}
	tr.atNode(w, owner, p, arrival{})
}

// toPublicIP: a CVM's public IP (or EIP) belongs to that CVM. The VPC
// gateway maps it 1:1 to the CVM's primary private IP, which is what the
// node sees; the CVM's SGs decide (for a node port, the guide's NodePort
// rule), then the node's own datapath.
func (tr *Tracer) toPublicIP(w *walk, p pkt, in *model.Instance) {
	np := pkt{proto: p.proto, src: p.src, dst: netip.AddrPortFrom(in.IPs[0], p.dst.Port())}
	w.add(said(Step{At: "vpc", Component: "route", Before: p.String(), After: np.String(), Decision: ActNAT,
		Evidence: ev("file", in.At.File, "line", in.At.Line)}, "vpc.public", p.dst.Addr(), in.InstanceId, in.IPs[0]))
	owner := tr.nodeOwning(in.IPs[0])
	if owner == "" {
		w.needSaid("vpc", "route", "cluster/nodes.yaml", "", "need.publicnode", in.InstanceId, in.IPs[0])
		return
	}
	if !tr.sgHop(w, model.DirIngress, np, tr.isNodePort(owner, np)) {
		return
	}
	tr.atNode(w, owner, np, arrival{})
}

// isNodePort: a TCP/UDP packet to a node address in the NodePort range
// (kube-apiserver --service-node-port-range, 30000-32767 by default; TKE
// documents 30000-32768 for the node SG).
func (tr *Tracer) isNodePort(node string, p pkt) bool {
	port := p.dst.Port()
	return p.proto != "icmp" && port >= 30000 && port <= 32768 && tr.isNodeIP(node, p.dst.Addr())
}

// leaveCluster: the destination is no node or pod of the cluster (IDC,
// another VPC, the internet). The trace ends at the VPC edge; a pod source
// rewritten to the node IP is what the peer sees.
func (tr *Tracer) leaveCluster(w *walk, p pkt) {
	w.add(said(Step{At: "vpc", Component: "route", Before: p.String(), Decision: ActLeave}, "vpc.leave", p.dst.Addr()))
	last := &w.steps[len(w.steps)-1]
	w.delivered = true
	orig := w.flowSource()
	// to the internet a pod source must be translated (node IP, then the
	// CVM's public IP or a NAT gateway): SNAT there is the design, not a
	// hidden source (MASQ_HIDES_SOURCE is about IDC and peer VPCs)
	internet := p.dst.Addr().Is4() && !p.dst.Addr().IsPrivate() && !cgnat.Contains(p.dst.Addr()) && !p.dst.Addr().IsLoopback()
	switch {
	case internet && orig.IsValid() && orig != p.src.Addr():
		last.sayMore("vpc.snat.internet", p.src.Addr())
	case internet:
	case orig.IsValid() && orig != p.src.Addr() && tr.isPodIP(orig) && tr.nodeOwning(p.src.Addr()) != "":
		// (a stale backend's SNAT already noted at the node is the cause)
		if w.noteReason == "" {
			w.noteReason, w.noteSymptom = "MASQ_HIDES_SOURCE", "wrong-source-ip"
		}
		last.sayMore("vpc.masq", p.src.Addr(), orig)
	case orig.IsValid() && orig == p.src.Addr() && tr.isPodIP(orig) && tr.c.Kube.Masq != nil && !tr.simulated(tr.nodeOwning(orig)):
		// the source node's rules are not in the bundle: ip-masq-agent's
		// configuration says what its IP-MASQ-AGENT chain does
		m := tr.c.Kube.Masq
		if keep, cidr := m.NonMasq(p.dst.Addr()); keep {
			last.sayMore("vpc.nonmasq", p.dst.Addr(), cidr)
		} else {
			w.noteReason, w.noteSymptom = "MASQ_HIDES_SOURCE", "wrong-source-ip"
			last.sayMore("vpc.masqcfg", m.ConfigMap, p.dst.Addr(), orig)
			last.Evidence = ev("file", m.File, "line", m.Line)
		}
	}
	// An IDC behind a direct connect (or VPN) gateway: the bundle holds
	// the Tencent side only. Whether the IDC firewall admits the source
	// and routes it back (without BGP, a static route for the container
	// CIDR via the DC gateway) cannot be seen: undecided, with the guide's
	// check, never DELIVERED.
	// When a certain fact already explains what the peer sees (the source
	// masqueraded: MASQ_HIDES_SOURCE), that note leads and the far side
	// is not made the question.
	if dst := tr.c.ClassifyAddr(p.dst.Addr()); dst.Class == model.ClassIDC && w.noteReason == "" {
		back := tr.c.ClassifyAddr(p.src.Addr()).CIDR
		if v := tr.c.Cloud.VpcOf(p.src.Addr()); !back.IsValid() && v != nil {
			// a node's address: the IDC routes the VPC CIDR back
			for _, c := range v.CIDRs {
				if c.Contains(p.src.Addr()) {
					back = c
				}
			}
		}
		if !back.IsValid() {
			back = netip.PrefixFrom(p.src.Addr(), p.src.Addr().BitLen())
		}
		w.needSaid("idc", "route", "", "", "idc.far", p.dst.Addr(), dst.CIDR, dst.Via, p.src.Addr(), back)
	}
}

// cgnat is 100.64.0.0/10 (RFC 6598), which Tencent Cloud uses inside the
// VPC (CLB health checks, some service addresses): not the internet.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// simulated says whether the node's netfilter rules were evaluated.
func (tr *Tracer) simulated(node string) bool {
	if node == "" {
		return false
	}
	n := tr.bundleNode(node)
	return n != nil && tr.sim(n).sim != nil
}

// flowSource is the address the walk started from (the first Before).
func (w *walk) flowSource() netip.Addr {
	for _, s := range w.steps {
		if s.Before == "" {
			continue
		}
		src, _, _ := strings.Cut(s.Before, "→")
		if ap, err := netip.ParseAddrPort(src); err == nil {
			return ap.Addr()
		}
		if a, err := netip.ParseAddr(src); err == nil {
			return a
		}
	}
	return netip.Addr{}
}

func (tr *Tracer) isPodIP(ip netip.Addr) bool {
	if ps := tr.c.Kube.PodsByIP(ip); len(ps) > 0 {
		return !ps[0].Spec.HostNetwork
	}
	return tr.inPodCIDR(ip)
}

func (tr *Tracer) inPodCIDR(ip netip.Addr) bool {
	return tr.podCIDROf(ip).IsValid()
}

// podCIDROf is the pod block holding ip: the cluster CIDR (GlobalRouter),
// a pod subnet of a VPC-CNI cluster (ClusterNetworkSettings.Subnets, as
// the node SG check names it) or a node's spec.podCIDR.
func (tr *Tracer) podCIDROf(ip netip.Addr) netip.Prefix {
	if cl := tr.c.Cloud.Cluster; cl != nil {
		if cl.ClusterCIDR.IsValid() && cl.ClusterCIDR.Contains(ip) {
			return cl.ClusterCIDR
		}
		if cl.NetworkType == "VPC-CNI" {
			for _, id := range cl.ClusterNetworkSettings.Subnets {
				if s := tr.c.Cloud.Subnets[id]; s != nil && s.CIDR.IsValid() && s.CIDR.Contains(ip) {
					return s.CIDR
				}
			}
		}
	}
	for _, kn := range tr.c.Kube.Nodes {
		for _, p := range kn.PodCIDRs {
			if p.Contains(ip) {
				return p
			}
		}
	}
	// a GlobalRouter container route is a pod CIDR by definition; without
	// cloud/clusters.json it is what still says an address is a pod's
	for _, r := range tr.c.Cloud.ClusterRoutes {
		if r.Dst.IsValid() && r.Dst.Contains(ip) {
			return r.Dst
		}
	}
	if ps := tr.c.Kube.PodsByIP(ip); len(ps) > 0 && !ps[0].Spec.HostNetwork {
		return netip.PrefixFrom(ip, ip.BitLen()) // a pod's own address, its block unknown
	}
	return netip.Prefix{}
}

func (tr *Tracer) haveCloudFile(f string) bool {
	for _, x := range tr.c.Cloud.Files {
		if x == f {
			return true
		}
	}
	return false
}

// sgHop evaluates the SGs bound to the packet's source (egress) or
// destination (ingress). It reports whether the packet goes on.
func (tr *Tracer) sgHop(w *walk, dir model.Direction, p pkt, nodePort bool) bool {
	cl := &tr.c.Cloud
	ip := p.dst.Addr()
	if dir == model.DirEgress {
		ip = p.src.Addr()
	}
	if !cl.Have.Instances && !cl.Have.ENIs {
		w.needSaid("sg", "security-group", "cloud/instances.json (cvm DescribeInstances), cloud/security-group-policies/", "", "need.sg."+string(dir), ip)
		return true
	}
	if k := cl.Cluster; k != nil && k.NetworkType == "VPC-CNI" && !cl.Have.ENIs {
		// a VPC-CNI pod's address is on an ENI of its own, whose SGs may
		// not be its node's: without the ENIs they are unknown
		if ps := tr.c.Kube.PodsByIP(ip); len(ps) > 0 && !ps[0].Spec.HostNetwork {
			w.needSaid("sg", "security-group", "cloud/network-interfaces.json", "", "need.noholder."+string(dir), ip)
			return true
		}
	}
	b, ok := tr.bindingFor(ip)
	if !ok {
		if tr.nodeOwning(ip) == "" && !cl.KnownIP(ip) {
			return true // a client outside the VPC: no SG of ours filters it
		}
		w.needSaid("sg", "security-group", "cloud/instances.json, cloud/network-interfaces.json", "", "need.noholder."+string(dir), ip)
		return true
	}
	f := sg.Flow{Dir: dir, Proto: p.proto, Src: p.src.Addr(), Dst: p.dst.Addr(), Port: int(p.dst.Port())}
	d := sg.Evaluate(cl, b.SGs, f)
	at := b.Owner
	if d.SG != "" {
		at = d.SG
	} else if len(b.SGs) > 0 {
		at = strings.Join(b.SGs, ",")
	}
	s := said(Step{At: at, Component: "security-group", Before: p.String(), Decision: Action(d.Action), Evidence: sgEv(d)},
		"sg."+string(dir), ip, holderKind(b.Kind), b.Owner, sgPhrase(d))
	switch d.Action {
	case sg.Accept:
		w.add(s)
		return true
	case sg.Undecided:
		file := ""
		if len(d.Needs) > 0 {
			file = d.Needs[0].File
		}
		w.need(at, "security-group", s.Detail, file, "")
		return true
	}
	reason := tr.sgReason(dir, p, nodePort)
	o := outcome{verdict: Dropped, reason: reason}
	fix := sg.FixFor(d, p.proto, portText(p), peerText(dir, p))
	args := finding.Args{"sg": fix.SG, "dir": string(dir), "flow": p.String(),
		"node": b.Owner, "cidr": peerText(dir, p)}
	var evs []finding.Evidence
	evs = append(evs, d.Evidence...)
	if reason == "SG_BLOCKS_FLOW" {
		// the fix as data: the flow's protocol and port, and the peer's
		// network when the cloud data places the peer (else the remedy
		// says the network is unknown; peer_class says why)
		args["proto"], args["port"] = fix.Proto, fix.Ports
		if fix.Before >= 0 {
			args["before"] = itoa(fix.Before)
		}
		peer := p.src.Addr()
		if dir == model.DirEgress {
			peer = p.dst.Addr()
		}
		info := tr.c.ClassifyAddr(peer)
		args["peer"], args["peer_class"] = peer.String(), string(info.Class)
		if info.CIDR.IsValid() && info.Class != model.ClassService {
			args["net"] = info.CIDR.String()
		}
		f := finding.New("SG_BLOCKS_FLOW", args, []string{fix.SG, b.Owner}, evs...)
		f.SayArg("decision", finding.Say("as.is", d)).SayArg("fix", finding.Say("as.is", fix))
		o.finding = &f
	} else {
		o.fallback = tr.sgFallback(reason, d, dir, p, ip, fix, evs)
	}
	w.stop(s, o)
	return false
}

// clientNetwork is where a CLB's clients come from, for an SG remedy
// (guide): any address for a public client, else the network the client
// is in, never the one test client; "" when unknown.
func (tr *Tracer) clientNetwork(src netip.Addr) string {
	switch info := tr.c.ClassifyAddr(src); {
	case info.Class == model.ClassInternet:
		return "0.0.0.0/0"
	case info.CIDR.IsValid() && info.Class != model.ClassService:
		return info.CIDR.String()
	}
	if s := tr.c.Cloud.SubnetOf(src); s != nil && s.CIDR.IsValid() {
		return s.CIDR.String()
	}
	return ""
}

// sgFallback builds the guide check's finding for an SG drop a trace
// found, with the catalog's arguments, for when no check reported it.
func (tr *Tracer) sgFallback(reason string, d sg.Decision, dir model.Direction, p pkt, at netip.Addr, fix sg.Fix, evs []finding.Evidence) *finding.Finding {
	node := tr.nodeOwning(at)
	if node == "" {
		node = at.String()
	}
	src := p.src.Addr()
	args := finding.Args{"sg": fix.SG, "node": node, "dir": string(dir), "cidr": src.String() + "/32",
		"peer": src.String(), "source": src.String(), "proto": strings.ToUpper(p.proto), "port": portText(p)}
	if fix.Before >= 0 {
		args["before"] = itoa(fix.Before)
	}
	switch reason {
	case "SG_NODEPORT_RANGE_BLOCKED":
		// guide: the NodePort range opens to where the CLB's clients come
		// from — any address for a public client, else the network the
		// client is in — never the one test client
		if n := tr.clientNetwork(src); n != "" {
			args["range"] = n
		}
	case "SG_POD_CIDR_BLOCKED":
		if cl := tr.c.Cloud.Cluster; cl != nil && cl.ClusterCIDR.IsValid() {
			args["cidr"] = cl.ClusterCIDR.String()
		} else if p := tr.podCIDROf(src); p.IsValid() {
			args["cidr"] = p.String()
		}
	case "SG_VPC_CIDR_BLOCKED":
		if info := tr.c.ClassifyAddr(src); info.Class == model.ClassPeerVPC && info.CIDR.IsValid() {
			// a peer VPC: its CIDR from the cloud data, not the /32
			args["cidr"], args["peer_kind"] = info.CIDR.String(), "peer-vpc"
			if info.Via != "" {
				args["via"] = info.Via
			}
		} else if s := tr.c.Cloud.SubnetOf(src); s != nil && s.CIDR.IsValid() {
			args["cidr"] = s.CIDR.String()
		}
		if n := tr.nodeOwning(src); n != "" {
			args["peer"] = n
		}
	case "SG_MASTER_SUBNET_BLOCKED":
		// the masters of an independent cluster serve the API port to
		// what its CLB forwards: any client of a public CLB (the CLB's own
		// SG is where to narrow it), else the network the client is in
		args["port"] = portText(p)
		if n := tr.clientNetwork(src); n != "" {
			args["cidr"] = n
		}
	case "SG_IDC_CIDR_BLOCKED":
		if info := tr.c.ClassifyAddr(src); info.CIDR.IsValid() {
			args["cidr"] = info.CIDR.String()
			if info.Via != "" {
				args["via"] = info.Via
			}
		}
	}
	f := newFinding(reason, args, []string{fix.SG, "node/" + node}, evs...)
	return f.SayArg("decision", finding.Say("as.is", d))
}

func sgEv(d sg.Decision) map[string]any {
	m := map[string]any{}
	if d.SG != "" {
		m["sg"] = d.SG
	}
	if d.Policy != nil {
		m["policy_index"] = d.PolicyIndex
		m["file"], m["line"] = d.Policy.File, d.Policy.Line
	} else if len(d.Evidence) > 0 {
		m["file"] = d.Evidence[0].File
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

func portText(p pkt) string {
	if p.proto == "icmp" {
		return "ALL"
	}
	return itoa(int(p.dst.Port()))
}

func peerText(dir model.Direction, p pkt) string {
	if dir == model.DirEgress {
		return p.dst.Addr().String()
	}
	return p.src.Addr().String()
}

// sgReason names the guide's check an SG drop belongs to: NodePorts
// behind a CLB, the pod CIDR between nodes, the VPC CIDR between node and
// pod, an IDC range, or any other flow.
func (tr *Tracer) sgReason(dir model.Direction, p pkt, nodePort bool) string {
	if dir == model.DirEgress {
		return "SG_BLOCKS_FLOW"
	}
	src := p.src.Addr()
	switch {
	case tr.masterAPI(p):
		return "SG_MASTER_SUBNET_BLOCKED"
	case nodePort:
		return "SG_NODEPORT_RANGE_BLOCKED"
	case tr.inPodCIDR(src):
		return "SG_POD_CIDR_BLOCKED"
	}
	// The source's place in the topology names the guide's check: a
	// node, the cluster's VPC or a peer VPC (over CCN or peering) is the
	// VPC CIDR rule, an IDC (direct connect / VPN) the IDC rule. A private
	// address no cloud data places is an unknown peer, not an IDC: no
	// guide check, the flow's own rule.
	switch tr.c.ClassifyAddr(src).Class {
	case model.ClassNode, model.ClassLocalVPC, model.ClassPeerVPC:
		return "SG_VPC_CIDR_BLOCKED"
	case model.ClassIDC:
		return "SG_IDC_CIDR_BLOCKED"
	}
	if tr.c.Cloud.KnownIP(src) || tr.nodeOwning(src) != "" {
		return "SG_VPC_CIDR_BLOCKED"
	}
	return "SG_BLOCKS_FLOW"
}

// masterAPI: the packet goes to the API server port of a master of an
// independent cluster (the guide's master SG check, whichever CLB or
// endpoint forwarded it).
func (tr *Tracer) masterAPI(p pkt) bool {
	cl := tr.c.Cloud.Cluster
	port, need := tr.c.APIServerPort()
	return cl != nil && cl.Independent() && p.proto == "tcp" && need == "" && int(p.dst.Port()) == port && tr.isMaster(p.dst.Addr())
}

// ccnRoute finds the most specific CCN route to dst: an enabled one, or
// else a disabled one (to cite why there is no route).
func ccnRoute(cl *model.Cloud, dst netip.Addr) (enabled, disabled *model.CcnRoute) {
	for _, r := range cl.CcnRoutes {
		if !r.Dst.IsValid() || !r.Dst.Contains(dst) {
			continue
		}
		if r.IsEnabled() && !strings.EqualFold(r.ExtraState, "Prohibited") {
			if enabled == nil || r.Dst.Bits() > enabled.Dst.Bits() {
				enabled = r
			}
		} else if disabled == nil || r.Dst.Bits() > disabled.Dst.Bits() {
			disabled = r
		}
	}
	return enabled, disabled
}

// vpcRoute decides how the VPC carries the packet: its own CIDRs are
// routed locally (every VPC route table has the implicit Local route);
// a GlobalRouter pod CIDR by the cluster's container routes; anything
// else by the subnet's route table (CCN, peering, Direct Connect, NAT).
func (tr *Tracer) vpcRoute(w *walk, from string, p pkt) bool {
	cl := &tr.c.Cloud
	dst := p.dst.Addr()
	s := Step{At: "vpc", Component: "route", Before: p.String()}
	if srcIP := p.src.Addr(); from == "" {
		// Coming in from an IDC or a peer VPC over CCN: the CCN needs a
		// route to the destination, or nothing carries it into the VPC.
		if srcIP.IsPrivate() && cl.VpcOf(srcIP) == nil && cl.Have.CcnRoutes && len(cl.CcnRoutes) > 0 {
			r, disabled := ccnRoute(cl, dst)
			switch {
			case r != nil:
				s.At = "ccn"
				s.Decision = ActRoute
				s.say("ccn.route", r.RouteId, r.Dst, r.InstanceType, r.InstanceId)
				s.Evidence = ev("file", r.At.File, "line", r.At.Line)
				w.add(s)
				return true
			case disabled != nil:
				s.At = "ccn"
				s.Decision = ActNoRoute
				s.say("ccn.routeoff", disabled.RouteId, disabled.Dst, disabled.ExtraState, srcIP, dst)
				s.Evidence = ev("file", disabled.At.File, "line", disabled.At.Line)
			default:
				s.At = "ccn"
				s.Decision = ActNoRoute
				s.say("ccn.noroute", dst, srcIP)
				s.Evidence = ev("file", "cloud/ccn-routes.json")
			}
			w.stop(s, outcome{verdict: NoRoute, reason: "ROUTE_MISSING"})
			return false
		}
	}
	if v := cl.VpcOf(dst); v != nil {
		s.At = "vpc/" + v.VpcId
		s.say("vpc.local", dst)
		s.Decision = ActLocal
		s.Evidence = ev("file", v.At.File, "line", v.At.Line)
		w.add(s)
		return true
	}
	if n := tr.nodeOwning(dst); n != "" && tr.isNodeIP(n, dst) {
		// Nodes of one cluster are in the cluster's VPC.
		s.say("vpc.node", dst, n)
		s.Decision = ActLocal
		w.add(s)
		return true
	}
	if tr.inPodCIDR(dst) {
		for _, r := range cl.ClusterRoutes {
			if r.Dst.IsValid() && r.Dst.Contains(dst) {
				s.say("vpc.gr", r.Dst, r.Gateway)
				s.Decision = ActRoute
				s.Evidence = ev("file", r.At.File, "line", r.At.Line)
				w.add(s)
				return true
			}
		}
		if e := cl.ENIByIP(dst); e != nil {
			s.say("vpc.eni", dst, e.NetworkInterfaceId)
			s.Decision = ActLocal
			w.add(s)
			return true
		}
		if k := cl.Cluster; k != nil && k.NetworkType == "VPC-CNI" {
			// VPC-CNI pods are VPC addresses: the VPC's own CIDRs route
			// them, never the cluster routes (vpcs.json says which)
			w.needSaid("vpc", "route", "cloud/vpcs.json (vpc DescribeVpcs)", "", "need.vpcroute", dst)
			return true
		}
		if tr.haveCloudFile("cloud/cluster-routes.json") {
			s.say("vpc.nogr", dst)
			s.Decision = ActNoRoute
			s.Evidence = ev("file", "cloud/cluster-routes.json")
			o := tr.podRouteMissing(&s, from, dst)
			w.stop(s, o)
			return false
		}
		w.needSaid("vpc", "route", "cloud/cluster-routes.json (tke DescribeClusterRoutes)", "", "need.grroute", dst)
		return true
	}
	// Outside the VPC and the pod network: the source subnet's table.
	srcIP := p.src.Addr()
	if from != "" {
		if ips := tr.nodeIPs(from); len(ips) > 0 {
			srcIP = ips[0]
		}
	}
	if from == "" {
		s.say("vpc.enter", srcIP)
		s.Decision = ActEnter
		w.add(s)
		return true
	}
	if !cl.Have.RouteTables {
		if !dst.IsPrivate() {
			s.say("vpc.internet", dst)
			s.Decision = ActInternet
			w.add(s)
			return true
		}
		w.needSaid("vpc", "route", "cloud/route-tables.json (vpc DescribeRouteTables)", "", "need.vpcroute", dst)
		return true
	}
	rt := cl.RouteTableOf(cl.SubnetOf(srcIP))
	if rt == nil {
		w.needSaid("vpc", "route", "cloud/subnets.json", "", "need.subnet", srcIP)
		return true
	}
	var best *model.VpcRoute
	for _, r := range rt.Routes {
		if r.IsEnabled() && r.Dst.IsValid() && r.Dst.Contains(dst) && (best == nil || r.Dst.Bits() > best.Dst.Bits()) {
			best = r
		}
	}
	s.At = "vpc/" + rt.RouteTableId
	if best != nil && strings.EqualFold(best.GatewayType, "CCN") && cl.Have.CcnRoutes && len(cl.CcnRoutes) > 0 {
		if r, disabled := ccnRoute(cl, dst); r == nil {
			s.say("ccn.noenabled", best.Dst, best.GatewayId, dst)
			s.Decision = ActNoRoute
			s.Evidence = ev("file", best.At.File, "line", best.At.Line)
			if disabled != nil {
				s.sayMore("ccn.disabled", disabled.RouteId, disabled.Dst, disabled.ExtraState)
				s.Evidence = ev("file", disabled.At.File, "line", disabled.At.Line)
			}
			w.stop(s, outcome{verdict: NoRoute, reason: "ROUTE_MISSING"})
			return false
		}
	}
	if best == nil {
		if r, disabled := ccnRoute(cl, dst); r == nil && disabled != nil {
			s.Decision = ActNoRoute
			s.say("vpc.noroute.ccnoff", rt.RouteTableId, dst, disabled.RouteId, disabled.Dst, disabled.ExtraState)
			s.Evidence = ev("file", disabled.At.File, "line", disabled.At.Line)
			w.stop(s, outcome{verdict: NoRoute, reason: "ROUTE_MISSING"})
			return false
		}
		if !dst.IsPrivate() {
			s.say("vpc.internet", dst)
			s.Decision = ActInternet
			w.add(s)
			return true
		}
		if tr.c.Cloud.Cluster == nil {
			// without cloud/clusters.json the cluster's pod and service
			// CIDRs are unknown: dst may be a pod the container routes
			// carry, so the missing route is not a conclusion
			w.needSaid("vpc", "route", "cloud/clusters.json (tke DescribeClusters)", "", "need.vpcroute", dst)
			return true
		}
		s.say("vpc.noroute", rt.RouteTableId, dst)
		s.Decision = ActNoRoute
		s.Evidence = ev("file", rt.At.File, "line", rt.At.Line)
		w.stop(s, outcome{verdict: NoRoute, reason: "ROUTE_MISSING"})
		return false
	}
	s.say("vpc.route", best.Dst, best.GatewayType, best.GatewayId)
	s.Decision = ActRoute
	s.Evidence = ev("file", best.At.File, "line", best.At.Line)
	w.add(s)
	return true
}

// bindingFor is the SG binding of an address: the cloud's own answer
// (ENI, CVM, CLB, GlobalRouter container route), else — for a pod whose
// container route is gone — the pod object's node (spec.nodeName,
// status.hostIP) and that node's CVM/ENI, since GlobalRouter pod traffic
// enters and leaves through its node's ENI.
func (tr *Tracer) bindingFor(ip netip.Addr) (model.Binding, bool) {
	cl := &tr.c.Cloud
	if b, ok := cl.BindingFor(ip); ok {
		return b, true
	}
	var hosts []netip.Addr
	if ps := tr.c.Kube.PodsByIP(ip); len(ps) > 0 {
		if h, err := netip.ParseAddr(ps[0].Status.HostIP); err == nil && h != ip {
			hosts = append(hosts, h)
		}
	}
	if n := tr.nodeOwning(ip); n != "" {
		for _, a := range tr.nodeIPs(n) {
			if a != ip {
				hosts = append(hosts, a)
			}
		}
	}
	for _, h := range hosts {
		if b, ok := cl.BindingFor(h); ok && b.Kind != "clb" {
			return b, true
		}
	}
	return model.Binding{}, false
}

// podRouteMissing is the outcome of a pod address no VPC container route
// covers. When the sending node also has no route of its own to the
// peer's pod CIDR (it falls back to its default route), the fault a check
// reports is that node's NODE_ROUTE_MISSING; otherwise the VPC's
// ROUTE_MISSING. Either way the outcome carries the finding as a
// fallback, so the report never cites a reason it does not explain.
func (tr *Tracer) podRouteMissing(s *Step, from string, dst netip.Addr) outcome {
	peer := tr.nodeOwning(dst)
	cidr := netip.PrefixFrom(dst, 32)
	if kn := tr.c.Kube.Node(peer); kn != nil {
		for _, p := range kn.PodCIDRs {
			if p.Contains(dst) {
				cidr = p
			}
		}
	}
	peerName := peer
	if peerName == "" {
		peerName = "the node that runs " + dst.String()
	}
	if n := tr.bundleNode(from); n != nil && from != "" && n.HasFile(model.FileIPRoute) {
		if rt, ok := n.Route(dst); !ok || rt.Dst.Bits() == 0 {
			via := "no route at all"
			if ok {
				via = rt.String()
			}
			s.sayMore("vpc.nogr.node", from, cidr, peerName, via)
			f := finding.New("NODE_ROUTE_MISSING", finding.Args{"node": from, "cidr": cidr.String(), "peer": peerName, "via": via},
				[]string{"node/" + from, "node/" + peerName}, finding.Evidence{File: n.Path(model.FileIPRoute)})
			return outcome{verdict: NoRoute, reason: "NODE_ROUTE_MISSING", fallback: &f}
		}
	}
	vpc := "the cluster VPC"
	if cl := tr.c.Cloud.Cluster; cl != nil && cl.ClusterNetworkSettings.VpcId != "" {
		vpc = cl.ClusterNetworkSettings.VpcId
	}
	f := finding.New("ROUTE_MISSING", finding.Args{"table": "the cluster's container route table (GlobalRouter)", "vpc": vpc,
		"cidr": cidr.String(), "via": "node " + peerName, "from": from},
		[]string{"vpc/" + vpc}, finding.Evidence{File: "cloud/cluster-routes.json"})
	return outcome{verdict: NoRoute, reason: "ROUTE_MISSING", fallback: &f}
}

// holderKind words what holds an address (eni, cvm, clb) in the report's
// language; a kind the catalog does not know stays as it is.
func holderKind(k string) any {
	if _, ok := stepTexts[finding.EN]["kind."+k]; ok {
		return part{key: "kind." + k}
	}
	return k
}
