package checks

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/sg"
	"tkesnap/parsers/tencent"
)

// Cloud checks of the guide "网络无法访问": security groups of nodes,
// masters and CLBs, API server access sources, VPC/CCN routes and public
// bandwidth. Every verdict on an SG comes from analysis/sg (exact Tencent
// semantics) and cites the deciding SG + PolicyIndex or the implicit deny.

// cloudNode is a cluster node joined to its CVM and its SGs.
type cloudNode struct {
	Name     string // Kubernetes node name (or LAN IP / instance ID without cluster/)
	IP       netip.Addr
	Inst     *model.Instance
	Role     string   // MASTER, WORKER, ETCD, MASTER_ETCD; "" unknown
	SGs      []string // binding order
	PodCIDRs []netip.Prefix
}

func (n *cloudNode) Ref() string {
	if strings.HasPrefix(n.Name, "eni-") {
		return "eni/" + n.Name
	}
	return "node/" + n.Name
}

func (n *cloudNode) worker() bool {
	return n.Role == "" || n.Role == "WORKER"
}

// roleUnknown is the Role of a CVM of an independent cluster whose role
// no file says (cloud/cluster-instances.json absent, no node object with
// a role label): it may be a master, so worker requirements are not
// applied to it, nor master ones.
const roleUnknown = "UNKNOWN"

func (n *cloudNode) master() bool {
	return n.Role == "MASTER" || n.Role == "MASTER_ETCD"
}

// cloudNodes joins Kubernetes nodes (or, without cluster/, the TKE
// cluster instances, the bundle's node folders, or every CVM listed) to
// their CVMs. Nodes whose CVM is unknown are left out: without their SGs
// nothing can be said about them.
func cloudNodes(c *model.Cluster) []*cloudNode {
	cl := &c.Cloud
	var out []*cloudNode
	seen := map[*model.Instance]bool{}
	independent := cl.Cluster != nil && cl.Cluster.Independent()
	add := func(name string, in *model.Instance, ip netip.Addr, cidrs []netip.Prefix, kn *model.KNode) {
		if in == nil || seen[in] {
			return
		}
		seen[in] = true
		if !ip.IsValid() && len(in.IPs) > 0 {
			ip = in.IPs[0]
		}
		n := &cloudNode{Name: name, IP: ip, Inst: in, Role: cl.Role(in.InstanceId), PodCIDRs: cidrs}
		if n.Role == "" && independent {
			// an independent cluster's masters are CVMs of the
			// account too: only cluster-instances.json or the node's
			// role label says which CVM is a worker
			n.Role = roleUnknown
			if kn != nil && kn.Node != nil {
				n.Role = "WORKER"
				for _, l := range []string{"node-role.kubernetes.io/master", "node-role.kubernetes.io/control-plane"} {
					if _, ok := kn.Labels[l]; ok {
						n.Role = "MASTER"
					}
				}
			}
		}
		n.SGs = in.SecurityGroupIds
		if b, ok := cl.BindingFor(ip); ok && b.Kind == "eni" {
			// The primary ENI carries the CVM's SGs; when it was
			// collected its GroupSet is the authoritative binding.
			n.SGs = b.SGs
		}
		if len(n.PodCIDRs) == 0 {
			for _, r := range cl.ClusterRoutes {
				if r.Gateway == ip && r.Dst.IsValid() {
					n.PodCIDRs = append(n.PodCIDRs, r.Dst)
				}
			}
		}
		out = append(out, n)
	}
	for _, kn := range c.Kube.Nodes {
		in := cl.NodeInstance(kn.Name, kn.InternalIPs, kn.Spec.ProviderID)
		var ip netip.Addr
		if len(kn.InternalIPs) > 0 {
			ip = kn.InternalIPs[0]
		}
		add(kn.Name, in, ip, kn.PodCIDRs, kn)
	}
	for _, ci := range cl.ClusterInstances {
		if ci.Instance == nil {
			continue
		}
		name := ci.LanIP
		if name == "" {
			name = ci.InstanceId
		}
		add(name, ci.Instance, netip.Addr{}, nil, nil)
	}
	for _, n := range c.Nodes {
		add(n.Name, cl.NodeInstance(n.Name, nil, ""), netip.Addr{}, nil, nil)
	}
	if len(out) == 0 {
		for _, in := range cl.Instances {
			name := in.InstanceId
			if len(in.IPs) > 0 {
				name = in.IPs[0].String()
			}
			add(name, in, netip.Addr{}, nil, nil)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// needCloudSGs says what is missing to evaluate node SGs at all.
func needCloudSGs(c *model.Cluster) []finding.Inconclusive {
	cl := &c.Cloud
	if len(cl.Files) == 0 {
		// One item for the whole cloud group rather than one per check.
		return []finding.Inconclusive{finding.Because("cloud/", "",
			finding.Say("inc.nocloud"))}
	}
	var out []finding.Inconclusive
	if !cl.Have.Instances {
		out = append(out, finding.Because("cloud/instances.json", "", finding.Say("inc.nocvm")))
	}
	havePolicies := false
	for _, s := range cl.SecurityGroups {
		havePolicies = havePolicies || s.HasPolicies()
	}
	if !havePolicies {
		// each known SG's file by name, so the item is the one the
		// tracer lists for the same file (one item per missing file)
		var ids []string
		for id := range cl.SecurityGroups {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		if len(ids) == 0 {
			ids = []string{"<sg-id>"}
		}
		for _, id := range ids {
			out = append(out, finding.Because("cloud/security-group-policies/"+id+".json", "", finding.Say("inc.nosgp")))
		}
	}
	return out
}

// block is one slice of traffic a set of SGs does not accept.
type block struct {
	Dir    model.Direction
	Proto  string // tcp udp icmp
	Region sg.Region
}

// sliceArgs names the blocked slice as data (blocked_proto,
// blocked_ports, blocked_peer): the catalog templates put it into words.
func (b block) sliceArgs(args finding.Args) {
	args["blocked_proto"] = strings.ToUpper(b.Proto)
	if b.Proto == "tcp" || b.Proto == "udp" {
		args["blocked_ports"] = b.Region.Ports.String()
	}
	args["blocked_peer"] = b.Region.Peer.String()
}

// firstBlock evaluates proto×all ports (or the given ports) against peer
// and returns the first dropped slice, or the first undecided one (with
// ok=false) when nothing is dropped but something cannot be decided.
func firstBlock(c *model.Cloud, sgs []string, dir model.Direction, protos []string, peer tencent.AddrRange, ports tencent.PortRange) (drop *block, undecided *block) {
	for _, proto := range protos {
		pr := ports
		if proto != "tcp" && proto != "udp" {
			pr = tencent.PortRange{From: 0, To: 0}
		}
		rs := sg.EvaluateRange(c, sgs, sg.Query{Dir: dir, Proto: proto, Peer: peer, Ports: pr})
		if r := sg.First(rs, sg.Drop); r != nil {
			return &block{Dir: dir, Proto: proto, Region: *r}, nil
		}
		if r := sg.First(rs, sg.Undecided); r != nil && undecided == nil {
			undecided = &block{Dir: dir, Proto: proto, Region: *r}
		}
	}
	return nil, undecided
}

var allProtos = []string{"tcp", "udp", "icmp"}

// sgArgs are the arguments every SG finding carries: the SG to change,
// the direction, the PolicyIndex to insert before, and the decision.
func sgArgs(b *block, args finding.Args) finding.Args {
	d := b.Region.Decision
	fix := sg.FixFor(d, b.Proto, b.Region.Ports.String(), "")
	args["sg"] = fix.SG
	args["dir"] = string(b.Dir)
	if fix.Before >= 0 {
		args["before"] = strconv.Itoa(fix.Before)
	}
	// The deciding policy and the blocked slice as language-neutral
	// args (sg.Decision.Args); the templates compose the sentence.
	for k, v := range d.Args() {
		args[k] = v
	}
	b.sliceArgs(args)
	if _, ok := args["sgs"]; !ok {
		args["sgs"] = strings.Join(d.SGs, ",")
	}
	return args
}

// sgEvidence cites the deciding policy, or each bound SG's policy file
// for an implicit deny.
func sgEvidence(b *block) []finding.Evidence {
	return b.Region.Decision.Evidence
}

// undecidedNeed turns an undecided slice into an inconclusive item.
func undecidedNeed(p *Pass, b *block, what finding.Phrase) {
	d := b.Region.Decision
	need, why := "", finding.Say("inc.what", what, d)
	if len(d.Needs) > 0 {
		need = d.Needs[0].File
	}
	p.Inconclusive(need, "", why)
}

// rangeOf turns a prefix into an address range.
func rangeOf(p netip.Prefix) tencent.AddrRange { return tencent.PrefixRange(p) }

// groupKey groups nodes that share the same binding and the same blocked
// slice, so one finding names all of them.
type sgGroup struct {
	key   string
	nodes []string
	refs  []string
	blk   *block
	args  finding.Args
	ev    []finding.Evidence
}

type sgGroups struct {
	order []string
	m     map[string]*sgGroup
}

func (g *sgGroups) add(key string, n *cloudNode, b *block, args finding.Args, ev ...finding.Evidence) {
	if g.m == nil {
		g.m = map[string]*sgGroup{}
	}
	e := g.m[key]
	if e == nil {
		e = &sgGroup{key: key, blk: b, args: args, ev: ev}
		g.m[key] = e
		g.order = append(g.order, key)
	}
	for _, x := range e.nodes {
		if x == n.Name {
			return
		}
	}
	e.nodes = append(e.nodes, n.Name)
	e.refs = append(e.refs, n.Ref())
}

func (g *sgGroups) report(p *Pass, id string) {
	for _, k := range g.order {
		e := g.m[k]
		args := sgArgs(e.blk, e.args)
		args["node"] = strings.Join(e.nodes, ", ")
		objs := append(sgObjects(e.blk), e.refs...)
		p.Report(finding.New(id, args, objs, append(sgEvidence(e.blk), e.ev...)...))
	}
}

func sgObjects(b *block) []string {
	if b.Region.Decision.SG != "" {
		return []string{b.Region.Decision.SG}
	}
	return append([]string(nil), b.Region.Decision.SGs...)
}

func blockKey(sgs []string, b *block, extra string) string {
	d := b.Region.Decision
	return fmt.Sprintf("%s|%s|%s|%d|%s", strings.Join(sgs, ","), b.Dir, d.SG, d.PolicyIndex, extra)
}

// podCIDRs are the pod address blocks of the cluster: ClusterCIDR in
// GlobalRouter mode; the pod subnets in VPC-CNI mode; else the nodes'
// spec.podCIDR.
func podCIDRs(c *model.Cluster, nodes []*cloudNode) []netip.Prefix {
	cl := &c.Cloud
	var out []netip.Prefix
	if k := cl.Cluster; k != nil {
		if k.NetworkType == "VPC-CNI" {
			for _, id := range k.ClusterNetworkSettings.Subnets {
				if s := cl.Subnets[id]; s != nil && s.CIDR.IsValid() {
					out = append(out, s.CIDR)
				}
			}
		}
		if len(out) == 0 && k.ClusterCIDR.IsValid() {
			out = append(out, k.ClusterCIDR)
		}
	}
	if len(out) == 0 {
		for _, n := range nodes {
			out = append(out, n.PodCIDRs...)
		}
	}
	return out
}

// vpcCIDRFor names the block to allow for a peer address: the CIDR of its
// VPC, else its subnet, else the address itself.
func vpcCIDRFor(cl *model.Cloud, ip netip.Addr) string {
	if v := cl.VpcOf(ip); v != nil && len(v.CIDRs) > 0 {
		for _, p := range v.CIDRs {
			if p.Contains(ip) {
				return p.String()
			}
		}
	}
	if s := cl.SubnetOf(ip); s != nil {
		return s.CIDR.String()
	}
	return netip.PrefixFrom(ip, ip.BitLen()).String()
}

// bindingFor finds the SGs filtering an address: the cloud joins (ENI,
// CVM, CLB VIP, GlobalRouter pod CIDR routes), else — for a pod the
// cloud data does not place — the node the pod runs on (status.hostIP),
// whose ENI its GlobalRouter traffic leaves through.
func bindingFor(c *model.Cluster, ip netip.Addr) (model.Binding, bool) {
	if b, ok := c.Cloud.BindingFor(ip); ok {
		return b, true
	}
	for _, pod := range c.Kube.PodsByIP(ip) {
		if pod.HostIP.IsValid() && pod.HostIP != ip && !pod.Spec.HostNetwork {
			if b, ok := c.Cloud.BindingFor(pod.HostIP); ok && b.Kind != "clb" {
				return b, true
			}
		}
	}
	return model.Binding{}, false
}

// cloudScopedByFlows tells whether the cloud checks may limit themselves
// to the reported flows. They may only when every flow resolves to
// addresses: a flow the bundle cannot place (a pod:/svc: flow without
// cluster/, a typo'd name) says nothing about which SG, CLB or route it
// crosses, and skipping everything else would hide the very fault it
// reports. Then the checks fall back to the cluster-wide requirements
// (pod CIDR between nodes, NodePorts for CLBs, ...), and — when report
// is set, so that one check says it once — each unresolved flow becomes
// an inconclusive item naming what to collect to decide the flow itself.
func cloudScopedByFlows(p *Pass, report bool) bool {
	c := p.Cluster
	if len(c.Flows) == 0 {
		return false
	}
	scoped := true
	for _, f := range c.Flows {
		for _, spec := range []string{f.From, f.To} {
			if strings.HasPrefix(spec, "dns:") {
				continue // a name, not a place: the DNS checks decide it
			}
			e, err := c.Resolve(spec)
			if err == nil && len(e.IPs) > 0 {
				continue
			}
			scoped = false
			if !report {
				continue
			}
			why := finding.Say("inc.flow.unresolved", f.From, f.To, spec)
			if err != nil {
				why = finding.Say("inc.flow", f.From, f.To, finding.Literal(err.Error()))
			}
			p.Inconclusive(flowNeed(c, spec), "", finding.Say("inc.flow.scoped", why))
		}
	}
	return scoped
}

// flowNeed names the file that places a flow endpoint: the kubectl
// objects of its kind when the bundle lacks them, else flows.json (the
// name itself is wrong).
func flowNeed(c *model.Cluster, spec string) string {
	kind, _, _ := strings.Cut(spec, ":")
	k := map[string]string{"pod": "Pod", "svc": "Service", "ingress": "Ingress", "node": "Node"}[kind]
	if k != "" && !c.Kube.Has(k) {
		return model.KubeFiles[k]
	}
	return "flows.json"
}
