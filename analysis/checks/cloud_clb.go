package checks

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/sg"
	"tkesnap/parsers/tencent"
)

// CLB checks (guide "CLB/Ingress 访问不通"): the CLB's own SGs must
// accept the listener port (e.g. 443) from the clients; unless the CLB
// passes its traffic to the real servers (LoadBalancerPassToTarget, CLB
// doc 214/14733 "Allow by Default"), the node SGs must accept the
// NodePort from the clients and from the CLB VIP (health checks, CLB doc
// 214/6157); a public CLB without its own bandwidth needs the nodes'
// public bandwidth.
func init() {
	Register(&driver.Analyzer{
		Name: "cloud-clb",
		Doc:  "CLBs of LoadBalancer Services and Ingresses: their SGs against the listeners, the node SGs against the NodePorts, public bandwidth.",
		Inputs: []driver.Input{driver.In("cloud/load-balancers.json"), driver.In("cloud/listeners/*.json"),
			driver.In("cloud/targets/*.json"), driver.In("cloud/target-health/*.json"), driver.In("cloud/instances.json"),
			driver.In("cloud/security-groups.json"), driver.In("cloud/security-group-policies/*.json"),
			driver.In("cluster/services.yaml"), driver.In("cluster/ingresses.yaml"), driver.In("cluster/nodes.yaml")},
		IDs: []string{"CLB_SG_BLOCKS_LISTENER", "SG_NODEPORT_RANGE_BLOCKED", "NODE_NO_PUBLIC_BANDWIDTH"},
		Run: guarded(needCLBs, runCLBs),
	})
}

func needCLBs(c *model.Cluster) []finding.Inconclusive {
	if len(c.Cloud.Files) == 0 {
		return nil // said once by the node security group check
	}
	if !c.Cloud.Have.LoadBalancers {
		if hasLBService(c) {
			return []finding.Inconclusive{finding.Because("cloud/load-balancers.json", "", finding.Say("inc.noclb"))}
		}
		return nil
	}
	return needCloudSGs(c)
}

func hasLBService(c *model.Cluster) bool {
	for _, s := range c.Kube.Services {
		if s.Spec.Type == corev1.ServiceTypeLoadBalancer {
			return true
		}
	}
	return len(c.Kube.Ingresses) > 0
}

// lbUse is a CLB of the cluster and what it fronts.
type lbUse struct {
	LB      *model.LoadBalancer
	Owner   string // svc/ns/name, ingress/ns/name, or "" when only the tags tie it to the cluster
	Service *model.Service
	Ingress *model.Ingress
}

// clusterLBs ties CLBs to the Services/Ingresses that own them: a
// status.loadBalancer IP equal to a VIP, or an annotation whose value is
// the CLB ID (service.kubernetes.io/loadbalance-id, kubernetes.io/ingress.existLbId
// ...), or the TKE tag tke-clusterId. Without any cluster/ objects every
// listed CLB is taken (the collector lists the cluster's).
func clusterLBs(c *model.Cluster) []lbUse {
	cl := &c.Cloud
	var out []lbUse
	kube := len(c.Kube.Services) > 0 || len(c.Kube.Ingresses) > 0
	clusterID := ""
	if cl.Cluster != nil {
		clusterID = cl.Cluster.ClusterId
	}
	for _, lb := range cl.LoadBalancers {
		u := lbUse{LB: lb}
		for _, s := range c.Kube.Services {
			if s.Spec.Type == corev1.ServiceTypeLoadBalancer && owns(lb, s.Annotations, s.Status.LoadBalancer.Ingress) {
				u.Owner, u.Service = s.Ref(), s
				break
			}
		}
		if u.Owner == "" {
			for _, i := range c.Kube.Ingresses {
				var st []corev1.LoadBalancerIngress
				for _, x := range i.Status.LoadBalancer.Ingress {
					st = append(st, corev1.LoadBalancerIngress{IP: x.IP, Hostname: x.Hostname})
				}
				if owns(lb, i.Annotations, st) {
					u.Owner, u.Ingress = i.Ref(), i
					break
				}
			}
		}
		if u.Owner == "" && kube && (clusterID == "" || lb.Tag("tke-clusterId") != clusterID) {
			continue
		}
		out = append(out, u)
	}
	return out
}

func owns(lb *model.LoadBalancer, ann map[string]string, st []corev1.LoadBalancerIngress) bool {
	for _, v := range ann {
		if v == lb.LoadBalancerId {
			return true
		}
	}
	for _, x := range st {
		if ip, err := netip.ParseAddr(x.IP); err == nil {
			for _, v := range lb.VIPs {
				if v == ip {
					return true
				}
			}
		}
		if x.Hostname != "" && strings.HasPrefix(x.Hostname, lb.LoadBalancerId) {
			return true
		}
	}
	return false
}

// listenerPort is one port a CLB listens on.
type listenerPort struct {
	Proto string // tcp/udp as an SG sees it
	Port  int
	At    model.At
	Name  string
}

func lbListeners(u lbUse) []listenerPort {
	var out []listenerPort
	for _, l := range u.LB.Listeners {
		end := int(l.EndPort)
		if end < int(l.Port) {
			end = int(l.Port)
		}
		for p := int(l.Port); p <= end && p-int(l.Port) < 64; p++ {
			out = append(out, listenerPort{l.Transport(), p, l.At, l.ListenerId})
		}
	}
	if len(out) > 0 || u.LB.ListenersFile != "" {
		return out
	}
	// Not collected: the Service ports (or 80/443 of an Ingress) are what
	// the TKE controllers create listeners for.
	if u.Service != nil {
		for _, sp := range u.Service.Spec.Ports {
			out = append(out, listenerPort{strings.ToLower(string(sp.Protocol)), int(sp.Port), model.At{File: u.Service.File, Line: u.Service.Line}, u.Service.Ref()})
		}
	}
	if u.Ingress != nil {
		at := model.At{File: u.Ingress.File, Line: u.Ingress.Line}
		out = append(out, listenerPort{"tcp", 80, at, u.Ingress.Ref()})
		if len(u.Ingress.Spec.TLS) > 0 {
			out = append(out, listenerPort{"tcp", 443, at, u.Ingress.Ref()})
		}
	}
	return out
}

// flowClient is a client address of a reported flow to a CLB, and the
// port it connects to (0: any listener).
type flowClient struct {
	ip   netip.Addr
	port int
}

// flowClients are the clients of reported flows that go to this CLB (its
// VIP, its Service or its Ingress).
func flowClients(c *model.Cluster, u lbUse) []flowClient {
	var out []flowClient
	for _, f := range c.Flows {
		to, err := c.Resolve(f.To)
		if err != nil {
			continue
		}
		hit := (u.Service != nil && to.Service == u.Service) || (u.Ingress != nil && to.Ingress == u.Ingress)
		for _, ip := range to.IPs {
			for _, v := range u.LB.VIPs {
				hit = hit || ip == v
			}
		}
		if !hit {
			continue
		}
		if from, err := c.Resolve(f.From); err == nil {
			for _, ip := range from.IPs {
				out = append(out, flowClient{ip, to.Port})
			}
		}
	}
	return out
}

// forPort keeps the clients that connect to port.
func forPort(cs []flowClient, port int) []netip.Addr {
	var out []netip.Addr
	for _, c := range cs {
		if c.port == 0 || c.port == port {
			out = append(out, c.ip)
		}
	}
	return out
}

// clientSpace is where clients of a CLB come from when no flow says:
// the public internet for a public CLB (VPC hosts reach it through their
// public IP or NAT, never with a private source), the CLB's VPC for a
// private one.
func clientSpace(cl *model.Cloud, lb *model.LoadBalancer) []tencent.AddrRange {
	if !lb.Public() {
		if v := cl.Vpcs[lb.VpcId]; v != nil && len(v.CIDRs) > 0 {
			var out []tencent.AddrRange
			for _, p := range v.CIDRs {
				out = append(out, rangeOf(p))
			}
			return out
		}
		return []tencent.AddrRange{rangeOf(netip.MustParsePrefix("0.0.0.0/0"))}
	}
	return publicSpace
}

// publicSpace is 0.0.0.0/0 without the special-purpose blocks (RFC 6890):
// 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.168/16 and
// 224/3, which never arrive at a public CLB as a client source.
var publicSpace = func() []tencent.AddrRange {
	var holes []tencent.AddrRange
	for _, s := range []string{"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/3"} {
		holes = append(holes, rangeOf(netip.MustParsePrefix(s)))
	}
	var out []tencent.AddrRange
	next := netip.MustParseAddr("0.0.0.0")
	for _, h := range holes {
		if next.Less(h.From) {
			out = append(out, tencent.AddrRange{From: next, To: h.From.Prev()})
		}
		next = h.To.Next()
	}
	return out
}()

// spaceLabel names a client space in a remedy: a public CLB's clients are
// "0.0.0.0/0" (the rule to add), a private CLB's its VPC CIDR.
func spaceLabel(rs []tencent.AddrRange) string {
	if len(rs) == len(publicSpace) && rs[0] == publicSpace[0] {
		return "0.0.0.0/0"
	}
	var out []string
	for _, r := range rs {
		out = append(out, r.String())
	}
	return strings.Join(out, ", ")
}

func runCLBs(p *Pass) {
	c := p.Cluster
	cl := &c.Cloud
	nodes := cloudNodes(c)
	byInst := map[string]*cloudNode{}
	for _, n := range nodes {
		if n.Inst != nil {
			byInst[n.Inst.InstanceId] = n
		}
	}
	var nodePort sgGroups
	askedAccount := false // the account-type inconclusive is said once
	scoped := cloudScopedByFlows(p, false)
	for _, u := range clusterLBs(c) {
		lb := u.LB
		owner := u.Owner
		clients := flowClients(c, u)
		if scoped && len(clients) == 0 {
			continue // flows were reported, none of them through this CLB
		}
		listeners := lbListeners(u)
		if len(listeners) == 0 && lb.ListenersFile == "" {
			p.Inconclusive("cloud/listeners/"+lb.LoadBalancerId+".json", "", finding.Say("inc.nolisteners", lb.LoadBalancerId))
		}
		// 1. The CLB's own SGs vs its listeners.
		if sgs := lb.SGs(); len(sgs) > 0 {
			for _, l := range listeners {
				checkListener(p, u, l, forPort(clients, l.Port))
			}
		}
		// 2. NodePorts on the nodes, unless the CLB bypasses their SGs.
		backends := nodeBackends(c, u, byInst, nodes)
		if !bool(lb.LoadBalancerPassToTarget) {
			for _, b := range backends {
				for _, src := range nodePortSources(cl, u, b, forPort(clients, b.listenerPort)) {
					var blk, und *block
					for _, r := range src.rs {
						x, y := firstBlock(cl, b.node.SGs, model.DirIngress, []string{b.proto}, r, tencent.PortRange{From: b.port, To: b.port})
						if x != nil {
							blk = x
							break
						}
						if und == nil {
							und = y
						}
					}
					if und != nil && blk == nil {
						undecidedNeed(p, und, finding.Say("inc.what.nodeport", b.node.Name, b.port, src.label))
					}
					if blk == nil {
						continue
					}
					args := finding.Args{"source": src.label, "proto": strings.ToUpper(b.proto), "port": "30000-32768",
						"lb": lb.LoadBalancerId, "owner": owner, "why": src.why, "range": guideRange(cl, lb, clientIPs(clients))}
					nodePort.add(blockKey(b.node.SGs, blk, src.label+"|"+lb.LoadBalancerId), b.node, blk, args)
				}
			}
		}
		// 3. Public bandwidth: on a traditional (LEGACY) account a public
		// CLB without bandwidth of its own forwards with the real
		// servers' (guide: "仅针对传统账户类型"). On a STANDARD account
		// the CLB's own bandwidth applies, so the nodes' is no evidence.
		if lb.Public() && (lb.NetworkAttributes == nil || lb.NetworkAttributes.InternetMaxBandwidthOut <= 0) {
			seen := map[*cloudNode]bool{}
			for _, b := range backends {
				in := b.node.Inst
				if seen[b.node] || in == nil || in.InternetAccessible.InternetMaxBandwidthOut > 0 {
					continue
				}
				seen[b.node] = true
				acct := cl.AccountType
				if acct == nil || acct.Type == "" {
					if !askedAccount {
						askedAccount = true
						p.Inconclusive(model.CloudAccountType, "", finding.Say("inc.clb.legacy", lb.LoadBalancerId, in.InstanceId))
					}
					continue
				}
				if !acct.Legacy() {
					continue
				}
				svc := owner
				if svc == "" {
					svc = "CLB " + lb.LoadBalancerId
				}
				p.Report(finding.New("NODE_NO_PUBLIC_BANDWIDTH", finding.Args{"node": b.node.Name, "instance": in.InstanceId,
					"service": svc, "bandwidth": strconv.FormatInt(int64(in.InternetAccessible.InternetMaxBandwidthOut), 10), "lb": lb.LoadBalancerId,
					"account": acct.Type},
					[]string{b.node.Ref(), in.InstanceId, lb.LoadBalancerId},
					finding.Evidence{File: in.File, Line: in.At.Line, Excerpt: fmt.Sprintf("%s InternetAccessible.InternetMaxBandwidthOut = %d", in.InstanceId, in.InternetAccessible.InternetMaxBandwidthOut)},
					finding.Evidence{File: lb.File, Line: lb.At.Line, Excerpt: fmt.Sprintf("%s LoadBalancerType %s, no NetworkAttributes bandwidth", lb.LoadBalancerId, lb.LoadBalancerType)},
					finding.Evidence{File: acct.File, Line: acct.Line, Excerpt: "NetworkAccountType " + acct.Type}))
			}
		}
	}
	nodePort.report(p, "SG_NODEPORT_RANGE_BLOCKED")
	runPublicNodeFlows(p, nodes)
}

// checkListener decides whether the CLB SGs accept the listener port:
// from each reported client, else from anywhere clients may come from. A
// CLB that restricts clients on purpose is not reported; one that accepts
// no client at all on a listener port is.
func checkListener(p *Pass, u lbUse, l listenerPort, clients []netip.Addr) {
	cl := &p.Cluster.Cloud
	lb := u.LB
	sgs := lb.SGs()
	report := func(blk *block, source string) {
		args := sgArgs(blk, finding.Args{"lb": lb.LoadBalancerId, "owner": u.Owner, "proto": strings.ToUpper(l.Proto),
			"port": strconv.Itoa(l.Port), "source": source, "range": guideRange(cl, lb, clients)})
		objs := append(sgObjects(blk), lb.LoadBalancerId)
		if u.Owner != "" {
			objs = append(objs, u.Owner)
		}
		ev := append(sgEvidence(blk), finding.Evidence{File: l.At.File, Line: l.At.Line, Excerpt: fmt.Sprintf("%s listener %s %s %d", lb.LoadBalancerId, l.Name, strings.ToUpper(l.Proto), l.Port)})
		p.Report(finding.New("CLB_SG_BLOCKS_LISTENER", args, objs, ev...))
	}
	if len(clients) > 0 {
		for _, ip := range clients {
			d := sg.Evaluate(cl, sgs, sg.Flow{Dir: model.DirIngress, Proto: l.Proto, Src: ip, Dst: firstVIP(lb), Port: l.Port})
			switch d.Action {
			case sg.Drop:
				report(flowBlock(model.DirIngress, l.Proto, ip, l.Port, d), ip.String())
			case sg.Undecided:
				p.Inconclusive(firstNeed(d), "", finding.Say("inc.clb.from", lb.LoadBalancerId, l.Port, ip, d))
			}
		}
		return
	}
	space := clientSpace(cl, lb)
	var drop, und *sg.Region
	for _, r := range space {
		rs := sg.EvaluateRange(cl, sgs, sg.Query{Dir: model.DirIngress, Proto: l.Proto, Peer: r, Ports: tencent.PortRange{From: l.Port, To: l.Port}})
		if sg.First(rs, sg.Accept) != nil {
			return // some clients get in: a restriction, not a fault
		}
		if x := sg.First(rs, sg.Drop); x != nil && drop == nil {
			drop = x
		}
		if x := sg.First(rs, sg.Undecided); x != nil && und == nil {
			und = x
		}
	}
	switch {
	case und != nil:
		p.Inconclusive(firstNeed(und.Decision), "", finding.Say("inc.clb.listener", lb.LoadBalancerId, l.Port, und.Decision))
	case drop != nil:
		report(&block{Dir: model.DirIngress, Proto: l.Proto, Region: *drop}, spaceLabel(space))
	}
}

func firstVIP(lb *model.LoadBalancer) netip.Addr {
	if len(lb.VIPs) > 0 {
		return lb.VIPs[0]
	}
	return netip.Addr{}
}

type nodeBackend struct {
	node         *cloudNode
	proto        string
	port         int // the NodePort (real server port)
	listenerPort int
}

// nodeBackends are the CLB's real servers that are cluster nodes, with
// the port (NodePort) traffic reaches them on: from DescribeTargets, else
// every worker × the Service's nodePorts (TKE registers all nodes for an
// externalTrafficPolicy Cluster Service). ENI real servers (VPC-CNI
// direct access) are not NodePorts and are left out.
func nodeBackends(c *model.Cluster, u lbUse, byInst map[string]*cloudNode, nodes []*cloudNode) []nodeBackend {
	var out []nodeBackend
	if u.LB.TargetsFile != "" {
		for _, lt := range u.LB.Targets {
			proto := "tcp"
			if strings.EqualFold(lt.Protocol, "UDP") || strings.EqualFold(lt.Protocol, "QUIC") {
				proto = "udp"
			}
			for _, b := range lt.All() {
				n := byInst[b.InstanceId]
				if n == nil {
					for _, s := range b.PrivateIpAddresses {
						if ip, err := netip.ParseAddr(s); err == nil {
							for _, x := range nodes {
								if x.IP == ip {
									n = x
								}
							}
						}
					}
				}
				if n == nil || strings.EqualFold(b.Type, "ENI") {
					continue
				}
				out = append(out, nodeBackend{n, proto, int(b.Port), int(lt.Port)})
			}
		}
		return out
	}
	if u.Service != nil {
		for _, sp := range u.Service.Spec.Ports {
			if sp.NodePort == 0 {
				continue
			}
			for _, n := range nodes {
				if n.worker() {
					out = append(out, nodeBackend{n, strings.ToLower(string(sp.Protocol)), int(sp.NodePort), int(sp.Port)})
				}
			}
		}
	}
	return out
}

type source struct {
	rs    []tencent.AddrRange
	label string // the CIDR(s) a remedy should allow
	why   string
}

// nodePortSources are the addresses a node sees NodePort traffic of this
// CLB from: the CLB VIP (health checks) and the clients — the reported
// ones, else those the CLB's SGs let in on the listener port (all of the
// client space when the CLB has no SG).
func nodePortSources(cl *model.Cloud, u lbUse, b nodeBackend, clients []netip.Addr) []source {
	var out []source
	// Health checks come from the VIP unless the listener says the
	// 100.64.0.0/10 range (HealthCheck.SourceIpType 1); none when off.
	hcVIP, hcRange := true, false
	for _, l := range u.LB.Listeners {
		if int(l.Port) == b.listenerPort && l.HealthCheck != nil {
			hcVIP = l.HealthCheck.HealthSwitch != 0 && l.HealthCheck.SourceIpType == 0
			hcRange = l.HealthCheck.HealthSwitch != 0 && l.HealthCheck.SourceIpType == 1
		}
	}
	for _, v := range u.LB.VIPs {
		if v.Is4() && hcVIP {
			out = append(out, source{[]tencent.AddrRange{{From: v, To: v}}, v.String(), "health check from the CLB VIP"})
		}
	}
	if hcRange {
		out = append(out, source{[]tencent.AddrRange{rangeOf(netip.MustParsePrefix("100.64.0.0/10"))}, "100.64.0.0/10", "health check from 100.64.0.0/10"})
	}
	if len(clients) > 0 {
		for _, ip := range clients {
			out = append(out, source{[]tencent.AddrRange{{From: ip, To: ip}}, ip.String(), "reported client"})
		}
		return out
	}
	space := clientSpace(cl, u.LB)
	if sgs := u.LB.SGs(); len(sgs) > 0 {
		var admitted []tencent.AddrRange
		for _, r := range space {
			admitted = append(admitted, sg.AllowedPeers(cl, sgs, model.DirIngress, b.proto, b.listenerPort, r)...)
		}
		if len(admitted) == 0 {
			return out
		}
		label := spaceLabel(space)
		if !sameRanges(admitted, space) {
			label = spaceLabel(admitted)
		}
		return append(out, source{admitted, label, "clients the CLB security group admits"})
	}
	return append(out, source{space, spaceLabel(space), "clients of the CLB"})
}

func sameRanges(a, b []tencent.AddrRange) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// runPublicNodeFlows: a reported flow to a node's public IP needs the
// node's public bandwidth.
func runPublicNodeFlows(p *Pass, nodes []*cloudNode) {
	c := p.Cluster
	for _, f := range c.Flows {
		to, err := c.Resolve(f.To)
		if err != nil {
			continue
		}
		for _, ip := range to.IPs {
			for _, n := range nodes {
				in := n.Inst
				if in == nil || in.InternetAccessible.InternetMaxBandwidthOut > 0 {
					continue
				}
				for _, pub := range in.PublicIpAddresses {
					if pub == ip.String() {
						p.Report(finding.New("NODE_NO_PUBLIC_BANDWIDTH", finding.Args{"node": n.Name, "instance": in.InstanceId,
							"service": f.To, "bandwidth": "0"}, []string{n.Ref(), in.InstanceId},
							finding.Evidence{File: in.File, Line: in.At.Line, Excerpt: fmt.Sprintf("%s InternetAccessible.InternetMaxBandwidthOut = 0", in.InstanceId)}))
					}
				}
			}
		}
	}
}

// guideRange is the source range the TKE guide has a remedy open (never
// the one client of a test): everyone (0.0.0.0/0) for a public CLB, the
// VPC CIDR(s) for an intranet one — unless a reported client comes from
// the internet, which makes the Service a public one.
func guideRange(cl *model.Cloud, lb *model.LoadBalancer, clients []netip.Addr) string {
	if lb.Public() {
		return "0.0.0.0/0"
	}
	for _, c := range clients {
		if !c.IsPrivate() && !c.IsLoopback() && !tkeReserved.Contains(c) {
			return "0.0.0.0/0"
		}
	}
	if v := cl.Vpcs[lb.VpcId]; v != nil && len(v.CIDRs) > 0 {
		var out []string
		for _, p := range v.CIDRs {
			out = append(out, p.String())
		}
		return strings.Join(out, ", ")
	}
	return "0.0.0.0/0"
}

// tkeReserved is 100.64.0.0/10: CLB health checks and TKE's own ranges,
// never an internet client.
var tkeReserved = netip.MustParsePrefix("100.64.0.0/10")

func clientIPs(cs []flowClient) []netip.Addr {
	out := make([]netip.Addr, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ip)
	}
	return out
}
