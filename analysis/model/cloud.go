package model

import (
	"errors"
	"net/netip"
	"path"
	"sort"
	"strings"

	"tkesnap/parsers/tencent"
)

// Cloud is the cloud/ part of the bundle: Tencent Cloud API responses,
// normalised and joined (instances ↔ SGs ↔ nodes, ENIs, CLBs, routes).
// Every object keeps the bundle file and line it came from.
type Cloud struct {
	// Files lists the cloud/ files that were read.
	Files []string

	Cluster          *CloudCluster // nil: no clusters.json (or no cluster in it)
	ClusterInstances []*ClusterInstance
	Endpoints        *APIEndpoints // nil: no endpoint file
	ClusterRoutes    []*ClusterRoute

	Instances         []*Instance
	SecurityGroups    map[string]*SecurityGroup // by sg-id; also SGs known only by reference
	AddressTemplates  map[string]*AddressTemplate
	AddressGroups     map[string]*TemplateGroup
	ServiceTemplates  map[string]*ServiceTemplate
	ServiceGroups     map[string]*TemplateGroup
	Vpcs              map[string]*Vpc
	Subnets           map[string]*Subnet
	RouteTables       []*RouteTable
	CcnRoutes         []*CcnRoute
	NetworkInterfaces []*ENI
	LoadBalancers     []*LoadBalancer
	// AccountType is the account's network type (vpc
	// DescribeNetworkAccountType): nil when not collected.
	AccountType *AccountType

	// What was collected, so "not found" can be told from "not collected".
	Have struct {
		Instances, SecurityGroups, AddressTemplates, AddressGroups,
		ServiceTemplates, ServiceGroups, Vpcs, Subnets, RouteTables,
		CcnRoutes, ENIs, LoadBalancers, ClusterInstances, ClusterRoutes bool
	}

	byInstance map[string]*Instance
	byIP       map[netip.Addr]*Instance
	eniByIP    map[netip.Addr]*ENI
	lbByVIP    map[netip.Addr]*LoadBalancer
	members    map[string][]netip.Addr // sg-id → private IPs of bound resources
	knownIPs   map[netip.Addr]bool     // every private IP of a resource in the bundle
	bounds     []netip.Prefix          // MembershipBounds, computed once
	offCloud   []netip.Prefix          // routed to an IDC (direct connect / VPN)
}

// At is where a cloud object came from.
type At struct {
	File string
	Line int
}

// CloudCluster is the TKE cluster (DescribeClusters).
type CloudCluster struct {
	tencent.Cluster
	At
	ClusterCIDR netip.Prefix // invalid when empty or unparsable
	ServiceCIDR netip.Prefix
	// NodeNameType is "lan-ip" (node names are LAN IPs) or "hostname";
	// NetworkType GR (GlobalRouter), VPC-CNI or CiliumOverlay.
	NodeNameType, NetworkType string
}

// AccountType is the account's network type: "STANDARD" or "LEGACY"
// (传统账户类型), "" when the response named none.
type AccountType struct {
	Type string
	At
}

// Legacy reports a LEGACY (traditional) account, where a public CLB
// without bandwidth of its own uses its backends' public bandwidth.
func (a *AccountType) Legacy() bool { return a != nil && a.Type == "LEGACY" }

// ClusterInstance is a cluster member with its role (MASTER/WORKER/ETCD).
type ClusterInstance struct {
	tencent.ClusterInstance
	At
	Instance *Instance // joined CVM, nil when not in instances.json
}

// APIEndpoints is the API server access configuration.
type APIEndpoints struct {
	tencent.ClusterEndpoints
	At
	// ExternalACL and AccessSources parsed; entries that do not parse are
	// kept as problems.
	ExternalACL []tencent.AddrRange
	SecurityPol []tencent.AddrRange
	// The files the lines of ClusterExternalACL (At.File), SecurityPolicy
	// and ClusterIntranetSubnetId came from (several responses merge).
	PolicyFile, SubnetFile string
}

// ClusterRoute is a GlobalRouter route: pod CIDR → node LAN IP.
type ClusterRoute struct {
	tencent.ClusterRoute
	At
	Dst     netip.Prefix
	Gateway netip.Addr
}

// Instance is a CVM.
type Instance struct {
	tencent.Instance
	At
	IPs []netip.Addr // private IPs (primary first)
}

// SGs returns the instance's SGs in binding order.
func (i *Instance) SGs() []string { return i.SecurityGroupIds }

// SecurityGroup is an SG with its policies sorted by PolicyIndex.
type SecurityGroup struct {
	ID, Name     string
	At                  // DescribeSecurityGroups item, if listed there
	PoliciesFile string // "" when the policies were not collected
	Version      string
	// IngressLine/EgressLine: lines of the "Ingress"/"Egress" keys.
	IngressLine, EgressLine int
	Ingress                 []*Policy
	Egress                  []*Policy
}

// HasPolicies reports whether the SG's policies were collected.
func (s *SecurityGroup) HasPolicies() bool { return s.PoliciesFile != "" }

// Direction of a policy or flow.
type Direction string

const (
	DirIngress Direction = "ingress"
	DirEgress  Direction = "egress"
)

// Policy is one SG rule, parsed. When Err is set the rule could not be
// understood and evaluation through it is undecidable.
type Policy struct {
	SG     string
	Dir    Direction
	Index  int
	Action string // ACCEPT | DROP (upper case)
	Proto  string // tcp udp icmp icmpv6 gre all, "" when ServiceID/ServiceGroup set
	Ports  []tencent.PortRange
	// Exactly one peer: Peer (CidrBlock or Ipv6CidrBlock), PeerSG,
	// AddressID or AddressGroup.
	Peer         tencent.AddrRange
	PeerSG       string
	AddressID    string
	AddressGroup string
	ServiceID    string
	ServiceGroup string
	Desc         string
	Raw          tencent.Policy
	At
	Err string
}

// String renders the rule the way the console lists it.
// Service is what a policy matches besides its peer, as the console shows
// it: a service template, or the protocol with its ports (ALL, TCP 80,443).
func (p *Policy) Service() string {
	switch {
	case p.ServiceID != "":
		return p.ServiceID
	case p.ServiceGroup != "":
		return p.ServiceGroup
	}
	s := strings.ToUpper(p.Proto)
	if p.Proto != "all" && p.Proto != "icmp" && p.Proto != "icmpv6" && p.Proto != "gre" {
		var ps []string
		for _, r := range p.Ports {
			ps = append(ps, r.String())
		}
		s += " " + strings.Join(ps, ",")
	}
	return s
}

func (p *Policy) String() string {
	var b strings.Builder
	b.WriteString(p.Action + " ")
	b.WriteString(p.Service())
	if p.Dir == DirEgress {
		b.WriteString(" to ")
	} else {
		b.WriteString(" from ")
	}
	b.WriteString(p.PeerString())
	return b.String()
}

// PeerString names the peer of the rule.
func (p *Policy) PeerString() string {
	switch {
	case p.PeerSG != "":
		return p.PeerSG
	case p.AddressID != "":
		return p.AddressID
	case p.AddressGroup != "":
		return p.AddressGroup
	case p.Peer.From.IsValid():
		return p.Peer.String()
	}
	return "?"
}

// AddressTemplate is an ipm- template, parsed.
type AddressTemplate struct {
	ID     string
	Ranges []tencent.AddrRange
	At
	Err string
}

// ServiceTemplate is a ppm- template, parsed.
type ServiceTemplate struct {
	ID       string
	Services []tencent.Service
	At
	Err string
}

// TemplateGroup is an ipmg-/ppmg- group of templates.
type TemplateGroup struct {
	ID      string
	Members []string
	At
}

// Vpc is a VPC with its CIDRs (primary first, then assistant CIDRs).
type Vpc struct {
	tencent.Vpc
	At
	CIDRs []netip.Prefix
}

// Subnet is a VPC subnet.
type Subnet struct {
	tencent.Subnet
	At
	CIDR netip.Prefix
}

// RouteTable is a VPC route table with parsed destinations.
type RouteTable struct {
	tencent.RouteTable
	At
	Routes []*VpcRoute
}

// VpcRoute is one route of a route table.
type VpcRoute struct {
	tencent.Route
	At
	Dst netip.Prefix // invalid when the route has no IPv4/IPv6 destination that parses
}

// CcnRoute is a route learned by a CCN.
type CcnRoute struct {
	tencent.CcnRoute
	At
	Dst netip.Prefix
}

// ENI is an elastic network interface (VPC-CNI pods have their own).
type ENI struct {
	tencent.NetworkInterface
	At
	IPs []netip.Addr
}

// LoadBalancer is a CLB with its listeners, backends and health.
type LoadBalancer struct {
	tencent.LoadBalancer
	At
	VIPs          []netip.Addr
	Listeners     []*Listener
	ListenersFile string // "" when not collected
	TargetsFile   string
	Targets       []tencent.ListenerTargets
	HealthFile    string
	Health        []tencent.TargetHealth
}

// Listener is a CLB listener.
type Listener struct {
	tencent.Listener
	At
}

// cloudFiles are the fixed cloud/ paths (docs/design.md §2).
const (
	cloudClusters         = "cloud/clusters.json"
	cloudClusterInstances = "cloud/cluster-instances.json"
	cloudClusterRoutes    = "cloud/cluster-routes.json"
	cloudInstances        = "cloud/instances.json"
	cloudSGs              = "cloud/security-groups.json"
	cloudSGPolicies       = "cloud/security-group-policies"
	cloudAddrTemplates    = "cloud/address-templates.json"
	cloudAddrGroups       = "cloud/address-template-groups.json"
	cloudSvcTemplates     = "cloud/service-templates.json"
	cloudSvcGroups        = "cloud/service-template-groups.json"
	cloudVpcs             = "cloud/vpcs.json"
	cloudSubnets          = "cloud/subnets.json"
	cloudRouteTables      = "cloud/route-tables.json"
	cloudCcnRoutes        = "cloud/ccn-routes.json"
	cloudENIs             = "cloud/network-interfaces.json"
	cloudLBs              = "cloud/load-balancers.json"
	// CloudAccountType is vpc DescribeNetworkAccountType's answer.
	CloudAccountType = "cloud/network-account-type.json"
)

// CloudEndpointFiles are read in this order and merged: endpoints
// (DescribeClusterEndpoints), security (DescribeClusterSecurity:
// SecurityPolicy), endpoint status (DescribeClusterEndpointStatus).
var CloudEndpointFiles = []string{"cloud/cluster-endpoints.json", "cloud/cluster-security.json", "cloud/cluster-endpoint-status.json"}

func (c *Cluster) loadCloud() {
	cl := &c.Cloud
	cl.SecurityGroups = map[string]*SecurityGroup{}
	cl.AddressTemplates = map[string]*AddressTemplate{}
	cl.AddressGroups = map[string]*TemplateGroup{}
	cl.ServiceTemplates = map[string]*ServiceTemplate{}
	cl.ServiceGroups = map[string]*TemplateGroup{}
	cl.Vpcs = map[string]*Vpc{}
	cl.Subnets = map[string]*Subnet{}

	read := func(name string) []byte {
		if !c.Bundle.Has(name) {
			return nil
		}
		data, err := c.Bundle.ReadFile(name)
		if err != nil {
			c.Problem(name, 0, "%v", err)
			return nil
		}
		cl.Files = append(cl.Files, name)
		return data
	}
	report := func(name string, err error) {
		if err == nil {
			return
		}
		var e *tencent.Error
		if errors.As(err, &e) {
			c.Problem(name, e.Line, "%s", e.Msg)
			return
		}
		c.Problem(name, 0, "%v", err)
	}

	if data := read(cloudClusters); data != nil {
		cs, err := tencent.ParseClusters(data)
		report(cloudClusters, err)
		pick := -1
		for i, x := range cs {
			if c.Manifest != nil && c.Manifest.Cluster.ID != "" && x.ClusterId == c.Manifest.Cluster.ID {
				pick = i
			}
		}
		if pick < 0 && len(cs) > 0 {
			pick = 0
			if len(cs) > 1 {
				c.Problem(cloudClusters, cs[1].Line, "%d clusters listed and none matches the manifest cluster id; using %s", len(cs), cs[0].ClusterId)
			}
		}
		if pick >= 0 {
			x := cs[pick]
			cc := &CloudCluster{Cluster: x, At: At{cloudClusters, x.Line}}
			cc.NodeNameType, cc.NetworkType = x.Properties()
			cc.ClusterCIDR = parsePrefix(c, cloudClusters, x.Line, x.ClusterNetworkSettings.ClusterCIDR)
			cc.ServiceCIDR = parsePrefix(c, cloudClusters, x.Line, x.ClusterNetworkSettings.ServiceCIDR)
			cl.Cluster = cc
		}
	}
	if data := read(CloudAccountType); data != nil {
		a, err := tencent.ParseNetworkAccountType(data)
		report(CloudAccountType, err)
		var apiErr *tencent.APIError
		if !errors.As(err, &apiErr) {
			cl.AccountType = &AccountType{Type: a.NetworkAccountType, At: At{CloudAccountType, a.Line}}
		}
	}
	if data := read(cloudInstances); data != nil {
		cl.Have.Instances = true
		is, err := tencent.ParseInstances(data)
		report(cloudInstances, err)
		for _, x := range is {
			in := &Instance{Instance: x, At: At{cloudInstances, x.Line}}
			for _, s := range append(append([]string(nil), x.PrivateIpAddresses...), x.VirtualPrivateCloud.PrivateIpAddresses...) {
				if a, err := netip.ParseAddr(s); err == nil && !containsAddr(in.IPs, a) {
					in.IPs = append(in.IPs, a.Unmap())
				}
			}
			cl.Instances = append(cl.Instances, in)
		}
	}
	if data := read(cloudClusterInstances); data != nil {
		cl.Have.ClusterInstances = true
		is, err := tencent.ParseClusterInstances(data)
		report(cloudClusterInstances, err)
		for _, x := range is {
			cl.ClusterInstances = append(cl.ClusterInstances, &ClusterInstance{ClusterInstance: x, At: At{cloudClusterInstances, x.Line}})
		}
	}
	for _, name := range CloudEndpointFiles {
		data := read(name)
		if data == nil {
			continue
		}
		e, err := tencent.ParseClusterEndpoints(data)
		report(name, err)
		if cl.Endpoints == nil {
			cl.Endpoints = &APIEndpoints{At: At{File: name}}
		}
		mergeEndpoints(cl.Endpoints, e, name)
	}
	if cl.Endpoints != nil {
		for _, s := range cl.Endpoints.ClusterExternalACL {
			if r, err := tencent.ParseAddress(s); err == nil {
				cl.Endpoints.ExternalACL = append(cl.Endpoints.ExternalACL, r)
			} else {
				c.Problem(cl.Endpoints.File, cl.Endpoints.ACLLine, "ClusterExternalACL: %v", err)
			}
		}
		for _, s := range cl.Endpoints.SecurityPolicy {
			if r, err := tencent.ParseAddress(s); err == nil {
				cl.Endpoints.SecurityPol = append(cl.Endpoints.SecurityPol, r)
			} else {
				c.Problem(cl.Endpoints.PolicyFile, cl.Endpoints.PolicyLine, "SecurityPolicy: %v", err)
			}
		}
	}
	if data := read(cloudClusterRoutes); data != nil {
		cl.Have.ClusterRoutes = true
		rs, err := tencent.ParseClusterRoutes(data)
		report(cloudClusterRoutes, err)
		for _, x := range rs {
			r := &ClusterRoute{ClusterRoute: x, At: At{cloudClusterRoutes, x.Line}}
			r.Dst = parsePrefix(c, cloudClusterRoutes, x.Line, x.DestinationCidrBlock)
			r.Gateway, _ = netip.ParseAddr(x.GatewayIp)
			cl.ClusterRoutes = append(cl.ClusterRoutes, r)
		}
	}
	if data := read(cloudSGs); data != nil {
		cl.Have.SecurityGroups = true
		sgs, err := tencent.ParseSecurityGroups(data)
		report(cloudSGs, err)
		for _, x := range sgs {
			s := cl.sg(x.SecurityGroupId)
			s.Name, s.At = x.SecurityGroupName, At{cloudSGs, x.Line}
		}
	}
	for _, name := range c.Bundle.Dir(cloudSGPolicies) {
		file := cloudSGPolicies + "/" + name
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		data := read(file)
		if data == nil {
			continue
		}
		id := strings.TrimSuffix(path.Base(name), ".json")
		set, err := tencent.ParsePolicies(data)
		report(file, err)
		var apiErr *tencent.APIError
		if errors.As(err, &apiErr) {
			continue // not collected after all
		}
		s := cl.sg(id)
		s.PoliciesFile, s.Version = file, string(set.Version)
		s.IngressLine, s.EgressLine = set.IngressLine, set.EgressLine
		s.Ingress = normPolicies(c, id, DirIngress, file, set.Ingress)
		s.Egress = normPolicies(c, id, DirEgress, file, set.Egress)
	}
	if data := read(cloudAddrTemplates); data != nil {
		cl.Have.AddressTemplates = true
		ts, err := tencent.ParseAddressTemplates(data)
		report(cloudAddrTemplates, err)
		for _, x := range ts {
			t := &AddressTemplate{ID: x.AddressTemplateId, At: At{cloudAddrTemplates, x.Line}}
			for _, a := range x.Addresses() {
				r, err := tencent.ParseAddress(a)
				if err != nil {
					t.Err = err.Error()
					c.Problem(cloudAddrTemplates, x.Line, "%s: %v", x.AddressTemplateId, err)
					continue
				}
				t.Ranges = append(t.Ranges, r)
			}
			cl.AddressTemplates[t.ID] = t
		}
	}
	if data := read(cloudAddrGroups); data != nil {
		cl.Have.AddressGroups = true
		gs, err := tencent.ParseAddressTemplateGroups(data)
		report(cloudAddrGroups, err)
		for _, x := range gs {
			cl.AddressGroups[x.AddressTemplateGroupId] = &TemplateGroup{ID: x.AddressTemplateGroupId, Members: x.Members(), At: At{cloudAddrGroups, x.Line}}
		}
	}
	if data := read(cloudSvcTemplates); data != nil {
		cl.Have.ServiceTemplates = true
		ts, err := tencent.ParseServiceTemplates(data)
		report(cloudSvcTemplates, err)
		for _, x := range ts {
			t := &ServiceTemplate{ID: x.ServiceTemplateId, At: At{cloudSvcTemplates, x.Line}}
			for _, s := range x.Services() {
				sv, err := tencent.ParseService(s)
				if err != nil {
					t.Err = err.Error()
					c.Problem(cloudSvcTemplates, x.Line, "%s: %v", x.ServiceTemplateId, err)
					continue
				}
				t.Services = append(t.Services, sv)
			}
			cl.ServiceTemplates[t.ID] = t
		}
	}
	if data := read(cloudSvcGroups); data != nil {
		cl.Have.ServiceGroups = true
		gs, err := tencent.ParseServiceTemplateGroups(data)
		report(cloudSvcGroups, err)
		for _, x := range gs {
			cl.ServiceGroups[x.ServiceTemplateGroupId] = &TemplateGroup{ID: x.ServiceTemplateGroupId, Members: x.Members(), At: At{cloudSvcGroups, x.Line}}
		}
	}
	if data := read(cloudVpcs); data != nil {
		cl.Have.Vpcs = true
		vs, err := tencent.ParseVpcs(data)
		report(cloudVpcs, err)
		for _, x := range vs {
			v := &Vpc{Vpc: x, At: At{cloudVpcs, x.Line}}
			if p := parsePrefix(c, cloudVpcs, x.Line, x.CidrBlock); p.IsValid() {
				v.CIDRs = append(v.CIDRs, p)
			}
			for _, a := range x.AssistantCidrSet {
				if p := parsePrefix(c, cloudVpcs, x.Line, a.CidrBlock); p.IsValid() {
					v.CIDRs = append(v.CIDRs, p)
				}
			}
			cl.Vpcs[x.VpcId] = v
		}
	}
	if data := read(cloudSubnets); data != nil {
		cl.Have.Subnets = true
		ss, err := tencent.ParseSubnets(data)
		report(cloudSubnets, err)
		for _, x := range ss {
			cl.Subnets[x.SubnetId] = &Subnet{Subnet: x, At: At{cloudSubnets, x.Line}, CIDR: parsePrefix(c, cloudSubnets, x.Line, x.CidrBlock)}
		}
	}
	if data := read(cloudRouteTables); data != nil {
		cl.Have.RouteTables = true
		ts, err := tencent.ParseRouteTables(data)
		report(cloudRouteTables, err)
		for _, x := range ts {
			t := &RouteTable{RouteTable: x, At: At{cloudRouteTables, x.Line}}
			for _, r := range x.RouteSet {
				dst := r.DestinationCidrBlock
				if dst == "" {
					dst = r.DestinationIpv6CidrBlock
				}
				t.Routes = append(t.Routes, &VpcRoute{Route: r, At: At{cloudRouteTables, r.Line}, Dst: parsePrefix(c, cloudRouteTables, r.Line, dst)})
			}
			cl.RouteTables = append(cl.RouteTables, t)
		}
	}
	// ccn-routes.json is the first CCN of the VPC; the collector writes
	// further CCNs to ccn-routes/<ccn-id>.json.
	ccnFiles := []string{cloudCcnRoutes}
	for _, name := range c.Bundle.Dir("cloud/ccn-routes") {
		if strings.HasSuffix(name, ".json") {
			ccnFiles = append(ccnFiles, "cloud/ccn-routes/"+name)
		}
	}
	for _, file := range ccnFiles {
		data := read(file)
		if data == nil {
			continue
		}
		cl.Have.CcnRoutes = true
		rs, err := tencent.ParseCcnRoutes(data)
		report(file, err)
		for _, x := range rs {
			cl.CcnRoutes = append(cl.CcnRoutes, &CcnRoute{CcnRoute: x, At: At{file, x.Line}, Dst: parsePrefix(c, file, x.Line, x.DestinationCidrBlock)})
		}
	}
	if data := read(cloudENIs); data != nil {
		cl.Have.ENIs = true
		es, err := tencent.ParseNetworkInterfaces(data)
		report(cloudENIs, err)
		for _, x := range es {
			e := &ENI{NetworkInterface: x, At: At{cloudENIs, x.Line}}
			for _, a := range x.PrivateIpAddressSet {
				if ip, err := netip.ParseAddr(a.PrivateIpAddress); err == nil {
					e.IPs = append(e.IPs, ip.Unmap())
				}
			}
			for _, a := range x.Ipv6AddressSet {
				if ip, err := netip.ParseAddr(a.Address); err == nil {
					e.IPs = append(e.IPs, ip)
				}
			}
			cl.NetworkInterfaces = append(cl.NetworkInterfaces, e)
		}
	}
	if data := read(cloudLBs); data != nil {
		cl.Have.LoadBalancers = true
		ls, err := tencent.ParseLoadBalancers(data)
		report(cloudLBs, err)
		for _, x := range ls {
			lb := &LoadBalancer{LoadBalancer: x, At: At{cloudLBs, x.Line}}
			for _, v := range x.VIPs() {
				if ip, err := netip.ParseAddr(v); err == nil {
					lb.VIPs = append(lb.VIPs, ip.Unmap())
				}
			}
			id := x.LoadBalancerId
			if f := "cloud/listeners/" + id + ".json"; c.Bundle.Has(f) {
				if data := read(f); data != nil {
					ls, err := tencent.ParseListeners(data)
					report(f, err)
					lb.ListenersFile = f
					for _, l := range ls {
						lb.Listeners = append(lb.Listeners, &Listener{Listener: l, At: At{f, l.Line}})
					}
				}
			}
			if f := "cloud/targets/" + id + ".json"; c.Bundle.Has(f) {
				if data := read(f); data != nil {
					lb.Targets, err = tencent.ParseTargets(data)
					report(f, err)
					lb.TargetsFile = f
				}
			}
			if f := "cloud/target-health/" + id + ".json"; c.Bundle.Has(f) {
				if data := read(f); data != nil {
					lb.Health, err = tencent.ParseTargetHealth(data)
					report(f, err)
					lb.HealthFile = f
				}
			}
			cl.LoadBalancers = append(cl.LoadBalancers, lb)
		}
	}
	cl.index()
	for _, ci := range cl.ClusterInstances {
		ci.Instance = cl.byInstance[ci.InstanceId]
	}
}

func mergeEndpoints(dst *APIEndpoints, e tencent.ClusterEndpoints, file string) {
	set := func(d *string, s string) {
		if s != "" {
			*d = s
		}
	}
	set(&dst.ClusterExternalEndpoint, e.ClusterExternalEndpoint)
	set(&dst.ClusterIntranetEndpoint, e.ClusterIntranetEndpoint)
	set(&dst.ClusterDomain, e.ClusterDomain)
	set(&dst.ClusterExternalDomain, e.ClusterExternalDomain)
	set(&dst.ClusterIntranetDomain, e.ClusterIntranetDomain)
	set(&dst.SecurityGroup, e.SecurityGroup)
	set(&dst.ClusterIntranetSubnetId, e.ClusterIntranetSubnetId)
	set(&dst.PgwEndpoint, e.PgwEndpoint)
	set(&dst.Status, e.Status)
	set(&dst.ErrorMsg, e.ErrorMsg)
	if e.ClusterExternalACL != nil {
		dst.ClusterExternalACL, dst.ACLLine = e.ClusterExternalACL, e.ACLLine
		dst.File = file
	}
	if e.SecurityPolicy != nil {
		dst.SecurityPolicy, dst.PolicyLine, dst.PolicyFile = e.SecurityPolicy, e.PolicyLine, file
	}
	if e.ClusterIntranetSubnetId != "" {
		dst.SubnetLine, dst.SubnetFile = e.SubnetLine, file
	}
}

func (cl *Cloud) sg(id string) *SecurityGroup {
	s := cl.SecurityGroups[id]
	if s == nil {
		s = &SecurityGroup{ID: id}
		cl.SecurityGroups[id] = s
	}
	return s
}

// normPolicies parses the rules of one direction and orders them by
// PolicyIndex: the console and the API list rules in priority order and
// PolicyIndex is that position (0 = first matched), VPC API
// SecurityGroupPolicy.PolicyIndex.
func normPolicies(c *Cluster, sg string, dir Direction, file string, ps []tencent.Policy) []*Policy {
	out := make([]*Policy, 0, len(ps))
	for _, r := range ps {
		p := &Policy{SG: sg, Dir: dir, Index: int(r.PolicyIndex), Raw: r, At: At{file, r.Line}, Desc: r.PolicyDescription}
		p.Action = strings.ToUpper(strings.TrimSpace(r.Action))
		if p.Action != "ACCEPT" && p.Action != "DROP" {
			p.Err = "unknown Action " + r.Action
		}
		p.ServiceID, p.ServiceGroup = r.ServiceTemplate.ServiceId, r.ServiceTemplate.ServiceGroupId
		if p.ServiceID == "" && p.ServiceGroup == "" {
			proto, err := tencent.ParseProtocol(string(r.Protocol))
			if err != nil {
				p.Err = err.Error()
			}
			if proto == "" {
				proto = "all"
			}
			p.Proto = proto
			if p.Ports, err = tencent.ParsePorts(string(r.Port)); err != nil {
				p.Err = err.Error()
			}
		}
		p.PeerSG, p.AddressID, p.AddressGroup = r.SecurityGroupId, r.AddressTemplate.AddressId, r.AddressTemplate.AddressGroupId
		if cidr := firstNonEmpty(r.CidrBlock, r.Ipv6CidrBlock); cidr != "" {
			rg, err := tencent.ParseAddress(cidr)
			if err != nil {
				p.Err = err.Error()
			}
			p.Peer = rg
		} else if p.PeerSG == "" && p.AddressID == "" && p.AddressGroup == "" {
			p.Err = "policy names no peer (CidrBlock, Ipv6CidrBlock, SecurityGroupId or AddressTemplate)"
		}
		if p.Err != "" {
			c.Problem(file, r.Line, "%s %s PolicyIndex %d: %s", sg, dir, p.Index, p.Err)
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if strings.TrimSpace(x) != "" {
			return x
		}
	}
	return ""
}

func parsePrefix(c *Cluster, file string, line int, s string) netip.Prefix {
	if strings.TrimSpace(s) == "" {
		return netip.Prefix{}
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		c.Problem(file, line, "bad CIDR %q", s)
		return netip.Prefix{}
	}
	return p.Masked()
}

func containsAddr(l []netip.Addr, a netip.Addr) bool {
	for _, x := range l {
		if x == a {
			return true
		}
	}
	return false
}

func (cl *Cloud) index() {
	cl.byInstance = map[string]*Instance{}
	cl.byIP = map[netip.Addr]*Instance{}
	cl.eniByIP = map[netip.Addr]*ENI{}
	cl.lbByVIP = map[netip.Addr]*LoadBalancer{}
	cl.members = map[string][]netip.Addr{}
	cl.knownIPs = map[netip.Addr]bool{}
	addMembers := func(sgs []string, ips []netip.Addr) {
		for _, s := range sgs {
			for _, ip := range ips {
				if !containsAddr(cl.members[s], ip) {
					cl.members[s] = append(cl.members[s], ip)
				}
			}
		}
		for _, ip := range ips {
			cl.knownIPs[ip] = true
		}
	}
	for _, in := range cl.Instances {
		cl.byInstance[in.InstanceId] = in
		for _, ip := range in.IPs {
			cl.byIP[ip] = in
		}
		addMembers(in.SecurityGroupIds, in.IPs)
	}
	for _, e := range cl.NetworkInterfaces {
		for _, ip := range e.IPs {
			cl.eniByIP[ip] = e
		}
		addMembers(e.GroupSet, e.IPs)
	}
	for _, lb := range cl.LoadBalancers {
		for _, ip := range lb.VIPs {
			cl.lbByVIP[ip] = lb
		}
		if !lb.Public() {
			addMembers(lb.SGs(), lb.VIPs)
		}
	}
	for _, t := range cl.RouteTables {
		for _, r := range t.Routes {
			if g := strings.ToUpper(r.GatewayType); (g == "DIRECTCONNECT" || g == "VPN") && r.Dst.IsValid() {
				cl.offCloud = append(cl.offCloud, r.Dst)
			}
		}
	}
	for _, r := range cl.CcnRoutes {
		if t := strings.ToUpper(r.InstanceType); (t == "DIRECTCONNECT" || t == "VPNGW") && r.Dst.IsValid() {
			cl.offCloud = append(cl.offCloud, r.Dst)
		}
	}
	for ip := range cl.knownIPs {
		cl.bounds = append(cl.bounds, netip.PrefixFrom(ip, ip.BitLen()))
	}
	cl.bounds = append(cl.bounds, cl.offCloud...)
	if cl.Cluster != nil && cl.Cluster.ClusterCIDR.IsValid() {
		cl.bounds = append(cl.bounds, cl.Cluster.ClusterCIDR)
	}
	for _, v := range cl.Vpcs {
		cl.bounds = append(cl.bounds, v.CIDRs...)
	}
	sort.Slice(cl.bounds, func(i, j int) bool { return cl.bounds[i].Addr().Less(cl.bounds[j].Addr()) })
}

// InstanceByID returns a CVM by instance ID.
func (cl *Cloud) InstanceByID(id string) *Instance { return cl.byInstance[id] }

// InstanceByIP returns the CVM with this private IP.
func (cl *Cloud) InstanceByIP(ip netip.Addr) *Instance { return cl.byIP[ip.Unmap()] }

// ENIByIP returns the ENI holding this private IP.
func (cl *Cloud) ENIByIP(ip netip.Addr) *ENI { return cl.eniByIP[ip.Unmap()] }

// LoadBalancerByVIP returns the CLB with this VIP.
func (cl *Cloud) LoadBalancerByVIP(ip netip.Addr) *LoadBalancer { return cl.lbByVIP[ip.Unmap()] }

// LoadBalancer returns a CLB by ID.
func (cl *Cloud) LoadBalancer(id string) *LoadBalancer {
	for _, lb := range cl.LoadBalancers {
		if lb.LoadBalancerId == id {
			return lb
		}
	}
	return nil
}

// SGMembers returns the private IPs of every resource in the bundle bound
// to the SG: what a policy whose source is that SG matches ("安全组作为
// 来源" matches the private IPs of the SG's instances).
func (cl *Cloud) SGMembers(id string) []netip.Addr { return cl.members[id] }

// KnownIP reports whether ip belongs to a CVM, ENI or internal CLB in the
// bundle; for such an IP, membership in an SG is decidable.
func (cl *Cloud) KnownIP(ip netip.Addr) bool { return cl.knownIPs[ip.Unmap()] }

// MembershipBounds lists the address blocks inside which "is this
// address a member of some SG" cannot change its answer boundaries: every
// known resource IP, the cluster CIDR and the VPC CIDRs. The SG evaluator
// splits address ranges at them.
func (cl *Cloud) MembershipBounds() []netip.Prefix { return cl.bounds }

// OffCloud reports an address the VPC routes to an IDC (a direct connect
// or VPN gateway, directly or through the CCN): no Tencent resource, so
// never a member of an SG.
func (cl *Cloud) OffCloud(ip netip.Addr) bool {
	for _, p := range cl.offCloud {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Binding says which SGs filter traffic of one address, and why.
type Binding struct {
	SGs []string // binding order
	// Owner is "ins-…", "eni-…" or "lb-…"; Kind "cvm", "eni" or "clb".
	Owner, Kind string
	// Instance is the CVM behind the address (the ENI's attachment, the
	// CVM itself); "" for CLBs and detached ENIs.
	Instance string
	At
}

// BindingFor returns the SGs that filter traffic to/from ip: the ENI that
// holds it (VPC-CNI pods and CVM ENIs), else the CVM, else a CLB VIP, else
// — in GlobalRouter mode — the node whose pod CIDR (cluster-routes.json)
// holds it, since pod traffic leaves through the node's ENI. ok is false
// when the bundle does not say.
func (cl *Cloud) BindingFor(ip netip.Addr) (Binding, bool) {
	ip = ip.Unmap()
	if e := cl.eniByIP[ip]; e != nil {
		b := Binding{SGs: e.GroupSet, Owner: e.NetworkInterfaceId, Kind: "eni", At: e.At}
		if e.Attachment != nil {
			b.Instance = e.Attachment.InstanceId
		}
		return b, true
	}
	if in := cl.byIP[ip]; in != nil {
		return Binding{SGs: in.SecurityGroupIds, Owner: in.InstanceId, Kind: "cvm", Instance: in.InstanceId, At: in.At}, true
	}
	if lb := cl.lbByVIP[ip]; lb != nil {
		return Binding{SGs: lb.SGs(), Owner: lb.LoadBalancerId, Kind: "clb", At: lb.At}, true
	}
	// a CVM's public IP or EIP: traffic to it is filtered by that CVM's SGs
	for _, in := range cl.Instances {
		for _, s := range in.PublicIpAddresses {
			if a, err := netip.ParseAddr(s); err == nil && a.Unmap() == ip {
				return Binding{SGs: in.SecurityGroupIds, Owner: in.InstanceId, Kind: "cvm", Instance: in.InstanceId, At: in.At}, true
			}
		}
	}
	for _, r := range cl.ClusterRoutes {
		if r.Dst.IsValid() && r.Dst.Contains(ip) {
			if b, ok := cl.BindingFor(r.Gateway); ok && b.Kind != "clb" && r.Gateway != ip {
				return b, true
			}
		}
	}
	return Binding{}, false
}

// NodeInstance joins a Kubernetes node (its name and addresses) to its
// CVM: by private IP (InternalIP, or the name itself when NodeNameType is
// lan-ip), by instance ID (providerID qcloud:///<zone>/ins-…), or by
// instance name (NodeNameType hostname).
func (cl *Cloud) NodeInstance(name string, ips []netip.Addr, providerID string) *Instance {
	for _, ip := range ips {
		if in := cl.byIP[ip.Unmap()]; in != nil {
			return in
		}
	}
	if ip, err := netip.ParseAddr(name); err == nil {
		if in := cl.byIP[ip.Unmap()]; in != nil {
			return in
		}
	}
	if providerID != "" {
		if in := cl.byInstance[path.Base(providerID)]; in != nil {
			return in
		}
	}
	if in := cl.byInstance[name]; in != nil {
		return in
	}
	for _, in := range cl.Instances {
		if in.InstanceName == name {
			return in
		}
	}
	return nil
}

// Role returns the TKE role (MASTER, WORKER, ETCD, MASTER_ETCD) of an
// instance, or "" when cluster-instances.json does not list it.
func (cl *Cloud) Role(instanceID string) string {
	for _, ci := range cl.ClusterInstances {
		if ci.InstanceId == instanceID {
			return strings.ToUpper(ci.InstanceRole)
		}
	}
	return ""
}

// SubnetOf returns the subnet holding ip, preferring the most specific.
func (cl *Cloud) SubnetOf(ip netip.Addr) *Subnet {
	var best *Subnet
	for _, s := range cl.Subnets {
		if s.CIDR.IsValid() && s.CIDR.Contains(ip) && (best == nil || s.CIDR.Bits() > best.CIDR.Bits()) {
			best = s
		}
	}
	return best
}

// VpcOf returns the VPC one of whose CIDRs holds ip.
func (cl *Cloud) VpcOf(ip netip.Addr) *Vpc {
	for _, v := range cl.Vpcs {
		for _, p := range v.CIDRs {
			if p.Contains(ip) {
				return v
			}
		}
	}
	return nil
}

// RouteTableOf returns the route table of a subnet: the one associated
// with it, else the VPC's main (default) table.
func (cl *Cloud) RouteTableOf(s *Subnet) *RouteTable {
	if s == nil {
		return nil
	}
	var main *RouteTable
	for _, t := range cl.RouteTables {
		if s.RouteTableId != "" && t.RouteTableId == s.RouteTableId {
			return t
		}
		for _, a := range t.AssociationSet {
			if a.SubnetId == s.SubnetId {
				return t
			}
		}
		if t.VpcId == s.VpcId && bool(t.Main) {
			main = t
		}
	}
	return main
}
