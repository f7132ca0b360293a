package checks

import (
	"net/netip"
	"strconv"
	"strings"

	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/sg"
	"tkesnap/parsers/tencent"
)

// API server access (guide: "独立集群开启内网访问后不通" and "托管集群开启
// 内网/外网访问后不通"). The two sections differ by cluster type: in an
// independent cluster the customer's masters serve the API and their SG
// must accept the subnet chosen for intranet access and the cluster's
// own VPC/subnet; in a managed cluster Tencent runs the masters and the
// access source list (and the SG bound to the endpoint) decides.
func init() {
	Register(&driver.Analyzer{
		Name: "cloud-apiserver-access",
		Doc:  "Whether the API server is reachable: master SGs of independent clusters, access sources of managed ones.",
		Inputs: []driver.Input{driver.In("cloud/clusters.json"), driver.In("cloud/cluster-instances.json"),
			driver.In("cloud/instances.json"), driver.In("cloud/cluster-endpoints.json"), driver.In("cloud/cluster-security.json"),
			driver.In("cloud/cluster-endpoint-status.json"), driver.In("cloud/security-groups.json"),
			driver.In("cloud/security-group-policies/*.json"), driver.In("cloud/subnets.json"), driver.In("cloud/vpcs.json")},
		IDs: []string{"SG_MASTER_SUBNET_BLOCKED", "SG_APISERVER_SOURCE_BLOCKED"},
		Run: guarded(needAPIServer, runAPIServer),
	})
}

func needAPIServer(c *model.Cluster) []finding.Inconclusive {
	cl := &c.Cloud
	if cl.Cluster == nil {
		if len(cl.Files) == 0 {
			return nil // said once by the node security group check
		}
		return []finding.Inconclusive{finding.Because("cloud/clusters.json", "", finding.Say("inc.clustertype"))}
	}
	return nil
}

func runAPIServer(p *Pass) {
	cl := &p.Cluster.Cloud
	if cl.Cluster == nil {
		return
	}
	if cl.Endpoints == nil {
		// the API server's addresses are in cluster-endpoints.json:
		// without it no flow can be told to be one to the API server
		p.Have("cloud/cluster-endpoints.json")
	}
	if cloudScopedByFlows(p, false) && !flowsToAPIServer(p.Cluster) {
		return // flows were reported, none of them to the API server
	}
	switch {
	case cl.Cluster.Independent():
		runMasterSubnet(p)
	case cl.Cluster.Managed():
		runAPISource(p)
	}
}

// masterBlock is firstBlock of TCP from peer to a master's API port. When
// the port is unknown (need names the file that says it) a block holds
// only if the SGs admit the peer on no TCP port at all; unknown is true
// when they admit it on some port, which then cannot be decided.
func masterBlock(cl *model.Cloud, sgs []string, peer tencent.AddrRange, port int, need string) (blk, und *block, unknown bool) {
	if need == "" {
		blk, und = firstBlock(cl, sgs, model.DirIngress, []string{"tcp"}, peer, tencent.PortRange{From: port, To: port})
		return blk, und, false
	}
	all := tencent.PortRange{From: 1, To: 65535}
	rs := sg.EvaluateRange(cl, sgs, sg.Query{Dir: model.DirIngress, Proto: "tcp", Peer: peer, Ports: all})
	// a part of the peer range that no TCP port admits is blocked
	// whatever the API port is
	for _, r := range rs {
		if r.Decision.Action != sg.Drop {
			continue
		}
		sub := sg.EvaluateRange(cl, sgs, sg.Query{Dir: model.DirIngress, Proto: "tcp", Peer: r.Peer, Ports: all})
		if sg.First(sub, sg.Accept) == nil && sg.First(sub, sg.Undecided) == nil {
			return &block{Dir: model.DirIngress, Proto: "tcp", Region: r}, nil, false
		}
	}
	if r := sg.First(rs, sg.Undecided); r != nil && sg.First(rs, sg.Accept) == nil {
		return nil, &block{Dir: model.DirIngress, Proto: "tcp", Region: *r}, false
	}
	if sg.First(rs, sg.Drop) != nil || sg.First(rs, sg.Undecided) != nil {
		return nil, nil, true // admitted on some ports only: depends on the port
	}
	return nil, nil, false
}

func runMasterSubnet(p *Pass) {
	c := p.Cluster
	cl := &c.Cloud
	var masters []*cloudNode
	for _, n := range cloudNodes(c) {
		if n.master() {
			masters = append(masters, n)
		}
	}
	if len(masters) == 0 {
		p.Inconclusive("cloud/cluster-instances.json", "", finding.Say("inc.nomaster"))
		return
	}
	port, portNeed := c.APIServerPort()
	type src struct {
		cidr netip.Prefix
		why  string
		ev   []finding.Evidence
	}
	// Each requirement is a list of alternatives, any one of which
	// satisfies it: the guide's "Master 节点所在的 VPC 网段或 VPC 子网网段"
	// is met by the master's VPC CIDR or by its subnet, so a master SG
	// that admits its own subnet but not the whole VPC is not at fault.
	var reqs [][]src
	if e := cl.Endpoints; e != nil && e.ClusterIntranetSubnetId != "" {
		s := cl.Subnets[e.ClusterIntranetSubnetId]
		if s == nil || !s.CIDR.IsValid() {
			p.Inconclusive("cloud/subnets.json", "", finding.Say("inc.intranetsubnet", e.ClusterIntranetSubnetId))
		} else {
			reqs = append(reqs, []src{{s.CIDR, "intranet access subnet " + s.SubnetId, []finding.Evidence{
				{File: e.SubnetFile, Line: e.SubnetLine, Excerpt: "ClusterIntranetSubnetId " + e.ClusterIntranetSubnetId},
				{File: s.File, Line: s.At.Line, Excerpt: s.SubnetId + " CidrBlock " + s.CidrBlock}}}})
		}
	}
	seen := map[netip.Prefix]bool{}
	for _, m := range masters {
		if m.Inst == nil {
			continue
		}
		var alt []src
		if v := cl.Vpcs[m.Inst.VirtualPrivateCloud.VpcId]; v != nil {
			for _, pfx := range v.CIDRs {
				if !seen[pfx] {
					seen[pfx] = true
					alt = append(alt, src{pfx, "cluster VPC " + v.VpcId, []finding.Evidence{{File: v.File, Line: v.At.Line, Excerpt: v.VpcId + " " + pfx.String()}}})
				}
			}
		}
		if s := cl.Subnets[m.Inst.VirtualPrivateCloud.SubnetId]; s != nil && s.CIDR.IsValid() {
			if !seen[s.CIDR] {
				seen[s.CIDR] = true
				alt = append(alt, src{s.CIDR, "master subnet " + s.SubnetId, []finding.Evidence{{File: s.File, Line: s.At.Line, Excerpt: s.SubnetId + " CidrBlock " + s.CidrBlock}}})
			}
		} else if m.Inst.VirtualPrivateCloud.SubnetId != "" && len(alt) > 0 {
			// the subnet alternative is unknown: it may be the one the
			// SG admits, so the VPC alone cannot fail the requirement
			alt = append(alt, src{why: "unknown subnet " + m.Name})
		}
		if len(alt) > 0 {
			reqs = append(reqs, alt)
		}
	}
	var g sgGroups
	for _, m := range masters {
		for _, alt := range reqs {
			// the first blocked alternative is reported (the VPC CIDR
			// comes first: the guide's broader rule), and only when
			// no alternative is admitted
			type hit struct {
				s   src
				blk *block
			}
			var blocked []hit
			admitted := false
			var undecided []func()
			for _, s := range alt {
				if !s.cidr.IsValid() {
					undecided = append(undecided, func() { p.Inconclusive("cloud/subnets.json", "", finding.Say("inc.mastersubnet", m.Name)) })
					continue
				}
				blk, und, unknown := masterBlock(cl, m.SGs, rangeOf(s.cidr), port, portNeed)
				if unknown {
					undecided = append(undecided, func() { p.Inconclusive(portNeed, "", finding.Say("inc.apiport", s.cidr, m.Name)) })
					continue
				}
				switch {
				case blk != nil:
					blocked = append(blocked, hit{s, blk})
				case und != nil:
					undecided = append(undecided, func() { undecidedNeed(p, und, finding.Say("inc.what.master", m.Name, port, s.cidr)) })
				default:
					admitted = true
				}
			}
			if admitted {
				continue
			}
			if len(undecided) > 0 {
				// unknown whether the requirement is met: said, not a finding
				for _, say := range undecided {
					say()
				}
				continue
			}
			if len(blocked) == 0 {
				continue
			}
			h := blocked[0]
			args := finding.Args{"cidr": h.s.cidr.String(), "why": h.s.why}
			if portNeed == "" {
				args["port"] = strconv.Itoa(port) // else: no TCP port admitted, the template's default names 443
			}
			g.add(blockKey(m.SGs, h.blk, h.s.cidr.String()), m, h.blk, args, h.s.ev...)
		}
	}
	g.report(p, "SG_MASTER_SUBNET_BLOCKED")
}

// apiTarget says whether a flow destination is the API server and which
// endpoint ("public" or "intranet").
func apiTarget(c *model.Cluster, e model.Endpoint) string {
	ep := c.Cloud.Endpoints
	if ep == nil {
		return ""
	}
	for _, ip := range e.IPs {
		if ip.String() == hostOf(ep.ClusterExternalEndpoint) {
			return "public"
		}
		if ip.String() == hostOf(ep.ClusterIntranetEndpoint) {
			return "intranet"
		}
	}
	return ""
}

// hostOf strips a scheme and port: ClusterExternalEndpoint may be
// "12.34.56.78" or "https://127.0.0.1".
func hostOf(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	if h, _, ok := strings.Cut(s, ":"); ok && !strings.Contains(h, "]") && strings.Count(s, ":") == 1 {
		s = h
	}
	return strings.TrimSuffix(s, "/")
}

func runAPISource(p *Pass) {
	c := p.Cluster
	cl := &c.Cloud
	ep := cl.Endpoints
	if ep == nil {
		if len(c.Flows) > 0 {
			p.Inconclusive("cloud/cluster-endpoints.json", "", finding.Say("inc.noendpoints"))
		}
		return
	}
	acl := append(append([]tencent.AddrRange(nil), ep.ExternalACL...), ep.SecurityPol...)
	aclText := strings.Join(append(append([]string(nil), ep.ClusterExternalACL...), ep.SecurityPolicy...), ", ")
	aclEv := finding.Evidence{File: ep.File, Line: ep.ACLLine, Excerpt: "ClusterExternalACL " + strings.Join(ep.ClusterExternalACL, ", ")}
	if len(ep.ClusterExternalACL) == 0 {
		aclEv = finding.Evidence{File: ep.PolicyFile, Line: ep.PolicyLine, Excerpt: "SecurityPolicy " + strings.Join(ep.SecurityPolicy, ", ")}
	}
	var sgs []string
	if ep.SecurityGroup != "" {
		sgs = []string{ep.SecurityGroup}
	}
	reported := false
	for _, f := range c.Flows {
		to, err := c.Resolve(f.To)
		if err != nil {
			continue
		}
		which := apiTarget(c, to)
		if which == "" {
			continue
		}
		from, err := c.Resolve(f.From)
		if err != nil || len(from.IPs) == 0 {
			continue
		}
		client := from.IPs[0]
		port := to.Port
		if port == 0 {
			port = 443
		}
		if which == "public" && len(acl) > 0 && !inRanges(acl, client) {
			reported = true
			p.Report(finding.New("SG_APISERVER_SOURCE_BLOCKED", finding.Args{"endpoint": which, "allowed": aclText, "client": client.String(), "sg": ep.SecurityGroup},
				[]string{"apiserver/" + which}, aclEv))
			continue
		}
		if len(sgs) > 0 {
			d := sg.Evaluate(cl, sgs, sg.Flow{Dir: model.DirIngress, Proto: "tcp", Src: client, Port: port})
			switch d.Action {
			case sg.Drop:
				reported = true
				blk := flowBlock(model.DirIngress, "tcp", client, port, d)
				args := sgArgs(blk, finding.Args{"endpoint": which, "allowed": allowedText(cl, sgs, port), "client": client.String()})
				p.Report(finding.New("SG_APISERVER_SOURCE_BLOCKED", args, append(sgObjects(blk), "apiserver/"+which), sgEvidence(blk)...))
			case sg.Undecided:
				p.Inconclusive(firstNeed(d), "", finding.Say("inc.api.from", finding.Say("ep."+which), client, d))
			}
		}
	}
	// Without a reported client: an enabled public endpoint whose SG
	// admits no client at all on 443 cannot be used by anyone.
	if !reported && hostOf(ep.ClusterExternalEndpoint) != "" && len(sgs) > 0 && cl.SecurityGroups[sgs[0]] != nil && cl.SecurityGroups[sgs[0]].HasPolicies() {
		all := rangeOf(netip.MustParsePrefix("0.0.0.0/0"))
		rs := sg.EvaluateRange(cl, sgs, sg.Query{Dir: model.DirIngress, Proto: "tcp", Peer: all, Ports: tencent.PortRange{From: 443, To: 443}})
		if sg.First(rs, sg.Accept) == nil {
			if r := sg.First(rs, sg.Drop); r != nil {
				blk := &block{Dir: model.DirIngress, Proto: "tcp", Region: *r}
				// allowed and client empty: nobody is allowed, any client is refused
				args := sgArgs(blk, finding.Args{"endpoint": "public"})
				p.Report(finding.New("SG_APISERVER_SOURCE_BLOCKED", args, append(sgObjects(blk), "apiserver/public"), sgEvidence(blk)...))
			}
		}
	}
}

func inRanges(rs []tencent.AddrRange, ip netip.Addr) bool {
	for _, r := range rs {
		if r.Contains(ip) {
			return true
		}
	}
	return false
}

func allowedText(cl *model.Cloud, sgs []string, port int) string {
	var out []string
	for _, r := range sg.AllowedPeers(cl, sgs, model.DirIngress, "tcp", port, rangeOf(netip.MustParsePrefix("0.0.0.0/0"))) {
		out = append(out, r.String())
	}
	return strings.Join(out, ", ") // "": nobody
}

// flowsToAPIServer: some reported flow goes to an API server endpoint
// (public or intranet address) or to the default/kubernetes Service.
func flowsToAPIServer(c *model.Cluster) bool {
	for _, f := range c.Flows {
		to, err := c.Resolve(f.To)
		if err != nil {
			continue
		}
		if apiTarget(c, to) != "" || (to.Service != nil && to.Service.Namespace == "default" && to.Service.Name == "kubernetes") {
			return true
		}
	}
	return false
}
