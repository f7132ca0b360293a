package tencent

// SecurityGroup is one item of vpc DescribeSecurityGroups.SecurityGroupSet.
type SecurityGroup struct {
	SecurityGroupId   string   `json:"SecurityGroupId"`
	SecurityGroupName string   `json:"SecurityGroupName"`
	SecurityGroupDesc string   `json:"SecurityGroupDesc"`
	IsDefault         FlexBool `json:"IsDefault"`
	Line              int      `json:"-"`
}

type securityGroupsResp struct {
	SecurityGroupSet []SecurityGroup `json:"SecurityGroupSet"`
}

// ParseSecurityGroups reads vpc DescribeSecurityGroups.
func ParseSecurityGroups(data []byte) ([]SecurityGroup, error) {
	return parseList(data, "SecurityGroupSet", func(r *securityGroupsResp) []SecurityGroup { return r.SecurityGroupSet },
		func(c *SecurityGroup, l int) { c.Line = l })
}

// Policy is one security group rule (vpc SecurityGroupPolicy). Exactly one
// of CidrBlock, Ipv6CidrBlock, SecurityGroupId, AddressTemplate names the
// peer; either Protocol+Port or ServiceTemplate names the service.
type Policy struct {
	PolicyIndex     FlexInt    `json:"PolicyIndex"`
	Protocol        FlexString `json:"Protocol"` // TCP UDP ICMP ICMPv6 GRE ALL, any case
	Port            FlexString `json:"Port"`     // ALL | 80 | 80,443 | 3000-32768
	CidrBlock       string     `json:"CidrBlock"`
	Ipv6CidrBlock   string     `json:"Ipv6CidrBlock"`
	SecurityGroupId string     `json:"SecurityGroupId"`
	AddressTemplate struct {
		AddressId      string `json:"AddressId"`
		AddressGroupId string `json:"AddressGroupId"`
	} `json:"AddressTemplate"`
	ServiceTemplate struct {
		ServiceId      string `json:"ServiceId"`
		ServiceGroupId string `json:"ServiceGroupId"`
	} `json:"ServiceTemplate"`
	Action            string `json:"Action"` // ACCEPT | DROP
	PolicyDescription string `json:"PolicyDescription"`
	Line              int    `json:"-"`
}

// PolicySet is vpc DescribeSecurityGroupPolicies.SecurityGroupPolicySet.
type PolicySet struct {
	Version FlexString `json:"Version"` // 60 or "60" depending on the API version
	Ingress []Policy   `json:"Ingress"`
	Egress  []Policy   `json:"Egress"`
	// Lines of the "Ingress" and "Egress" keys: what an implicit deny
	// (no policy matched) cites.
	IngressLine, EgressLine int `json:"-"`
}

type policiesResp struct {
	SecurityGroupPolicySet PolicySet `json:"SecurityGroupPolicySet"`
}

// ParsePolicies reads vpc (or ecm) DescribeSecurityGroupPolicies.
func ParsePolicies(data []byte) (PolicySet, error) {
	var out PolicySet
	err := decodeInto(data, func() any { return new(policiesResp) }, func(v any) {
		s := v.(*policiesResp).SecurityGroupPolicySet
		if s.Version != "" {
			out.Version = s.Version
		}
		out.Ingress = append(out.Ingress, s.Ingress...)
		out.Egress = append(out.Egress, s.Egress...)
	})
	assignLines(out.Ingress, itemLines(data, "Ingress"), func(p *Policy, n int) { p.Line = n })
	assignLines(out.Egress, itemLines(data, "Egress"), func(p *Policy, n int) { p.Line = n })
	out.IngressLine, out.EgressLine = keyLine(data, "Ingress"), keyLine(data, "Egress")
	return out, err
}

// AddressTemplate is vpc DescribeAddressTemplates (ipm-...).
type AddressTemplate struct {
	AddressTemplateId   string   `json:"AddressTemplateId"`
	AddressTemplateName string   `json:"AddressTemplateName"`
	AddressSet          []string `json:"AddressSet"` // IP, CIDR or range a-b
	AddressExtraSet     []struct {
		Address string `json:"Address"`
	} `json:"AddressExtraSet"`
	Line int `json:"-"`
}

// Addresses returns the union of AddressSet and AddressExtraSet.
func (t AddressTemplate) Addresses() []string {
	return union(t.AddressSet, func(yield func(string)) {
		for _, e := range t.AddressExtraSet {
			yield(e.Address)
		}
	})
}

// AddressTemplateGroup is vpc DescribeAddressTemplateGroups (ipmg-...).
type AddressTemplateGroup struct {
	AddressTemplateGroupId   string   `json:"AddressTemplateGroupId"`
	AddressTemplateGroupName string   `json:"AddressTemplateGroupName"`
	AddressTemplateIdSet     []string `json:"AddressTemplateIdSet"`
	AddressTemplateSet       []struct {
		AddressTemplateId string `json:"AddressTemplateId"`
	} `json:"AddressTemplateSet"`
	Line int `json:"-"`
}

// Members returns the template IDs of the group.
func (g AddressTemplateGroup) Members() []string {
	return union(g.AddressTemplateIdSet, func(yield func(string)) {
		for _, e := range g.AddressTemplateSet {
			yield(e.AddressTemplateId)
		}
	})
}

// ServiceTemplate is vpc DescribeServiceTemplates (ppm-...); entries look
// like "tcp:80", "udp:53,54", "tcp:3000-32768", "icmp", "ALL".
type ServiceTemplate struct {
	ServiceTemplateId   string   `json:"ServiceTemplateId"`
	ServiceTemplateName string   `json:"ServiceTemplateName"`
	ServiceSet          []string `json:"ServiceSet"`
	ServiceExtraSet     []struct {
		Service string `json:"Service"`
	} `json:"ServiceExtraSet"`
	Line int `json:"-"`
}

// Services returns the union of ServiceSet and ServiceExtraSet.
func (t ServiceTemplate) Services() []string {
	return union(t.ServiceSet, func(yield func(string)) {
		for _, e := range t.ServiceExtraSet {
			yield(e.Service)
		}
	})
}

// ServiceTemplateGroup is vpc DescribeServiceTemplateGroups (ppmg-...).
type ServiceTemplateGroup struct {
	ServiceTemplateGroupId   string   `json:"ServiceTemplateGroupId"`
	ServiceTemplateGroupName string   `json:"ServiceTemplateGroupName"`
	ServiceTemplateIdSet     []string `json:"ServiceTemplateIdSet"`
	ServiceTemplateSet       []struct {
		ServiceTemplateId string `json:"ServiceTemplateId"`
	} `json:"ServiceTemplateSet"`
	Line int `json:"-"`
}

// Members returns the template IDs of the group.
func (g ServiceTemplateGroup) Members() []string {
	return union(g.ServiceTemplateIdSet, func(yield func(string)) {
		for _, e := range g.ServiceTemplateSet {
			yield(e.ServiceTemplateId)
		}
	})
}

func union(a []string, more func(func(string))) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, s := range a {
		add(s)
	}
	more(add)
	return out
}

type addressTemplatesResp struct {
	AddressTemplateSet []AddressTemplate `json:"AddressTemplateSet"`
}
type addressTemplateGroupsResp struct {
	AddressTemplateGroupSet []AddressTemplateGroup `json:"AddressTemplateGroupSet"`
}
type serviceTemplatesResp struct {
	ServiceTemplateSet []ServiceTemplate `json:"ServiceTemplateSet"`
}
type serviceTemplateGroupsResp struct {
	ServiceTemplateGroupSet []ServiceTemplateGroup `json:"ServiceTemplateGroupSet"`
}

// ParseAddressTemplates reads vpc DescribeAddressTemplates.
func ParseAddressTemplates(data []byte) ([]AddressTemplate, error) {
	return parseList(data, "AddressTemplateSet", func(r *addressTemplatesResp) []AddressTemplate { return r.AddressTemplateSet },
		func(c *AddressTemplate, l int) { c.Line = l })
}

// ParseAddressTemplateGroups reads vpc DescribeAddressTemplateGroups.
func ParseAddressTemplateGroups(data []byte) ([]AddressTemplateGroup, error) {
	return parseList(data, "AddressTemplateGroupSet", func(r *addressTemplateGroupsResp) []AddressTemplateGroup { return r.AddressTemplateGroupSet },
		func(c *AddressTemplateGroup, l int) { c.Line = l })
}

// ParseServiceTemplates reads vpc DescribeServiceTemplates.
func ParseServiceTemplates(data []byte) ([]ServiceTemplate, error) {
	return parseList(data, "ServiceTemplateSet", func(r *serviceTemplatesResp) []ServiceTemplate { return r.ServiceTemplateSet },
		func(c *ServiceTemplate, l int) { c.Line = l })
}

// ParseServiceTemplateGroups reads vpc DescribeServiceTemplateGroups.
func ParseServiceTemplateGroups(data []byte) ([]ServiceTemplateGroup, error) {
	return parseList(data, "ServiceTemplateGroupSet", func(r *serviceTemplateGroupsResp) []ServiceTemplateGroup { return r.ServiceTemplateGroupSet },
		func(c *ServiceTemplateGroup, l int) { c.Line = l })
}

// Vpc is one item of vpc DescribeVpcs.VpcSet.
type Vpc struct {
	VpcId            string `json:"VpcId"`
	VpcName          string `json:"VpcName"`
	CidrBlock        string `json:"CidrBlock"`
	Ipv6CidrBlock    string `json:"Ipv6CidrBlock"`
	AssistantCidrSet []struct {
		CidrBlock     string  `json:"CidrBlock"`
		AssistantType FlexInt `json:"AssistantType"` // 0 ordinary, 1 container
	} `json:"AssistantCidrSet"`
	Line int `json:"-"`
}

type vpcsResp struct {
	VpcSet []Vpc `json:"VpcSet"`
}

// ParseVpcs reads vpc DescribeVpcs.
func ParseVpcs(data []byte) ([]Vpc, error) {
	return parseList(data, "VpcSet", func(r *vpcsResp) []Vpc { return r.VpcSet },
		func(c *Vpc, l int) { c.Line = l })
}

// Subnet is one item of vpc DescribeSubnets.SubnetSet.
type Subnet struct {
	SubnetId      string `json:"SubnetId"`
	SubnetName    string `json:"SubnetName"`
	VpcId         string `json:"VpcId"`
	CidrBlock     string `json:"CidrBlock"`
	Ipv6CidrBlock string `json:"Ipv6CidrBlock"`
	RouteTableId  string `json:"RouteTableId"`
	NetworkAclId  string `json:"NetworkAclId"`
	Zone          string `json:"Zone"`
	Line          int    `json:"-"`
}

type subnetsResp struct {
	SubnetSet []Subnet `json:"SubnetSet"`
}

// ParseSubnets reads vpc DescribeSubnets.
func ParseSubnets(data []byte) ([]Subnet, error) {
	return parseList(data, "SubnetSet", func(r *subnetsResp) []Subnet { return r.SubnetSet },
		func(c *Subnet, l int) { c.Line = l })
}

// Route is one route of a VPC route table. GatewayType names the next
// hop: CVM / NORMAL_CVM, VPN, DIRECTCONNECT (direct connect gateway),
// PEERCONNECTION, HAVIP, NAT, EIP, LOCAL_GATEWAY, CCN, GWLB ...;
// RouteType is USER, NETD (network detection), CCN (learned from CCN) or
// LOCAL/... for system routes.
type Route struct {
	RouteId                  FlexInt   `json:"RouteId"`
	RouteItemId              string    `json:"RouteItemId"`
	DestinationCidrBlock     string    `json:"DestinationCidrBlock"`
	DestinationIpv6CidrBlock string    `json:"DestinationIpv6CidrBlock"`
	GatewayType              string    `json:"GatewayType"`
	GatewayId                string    `json:"GatewayId"`
	RouteType                string    `json:"RouteType"`
	Enabled                  *FlexBool `json:"Enabled"` // absent in old responses: enabled
	RouteDescription         string    `json:"RouteDescription"`
	Line                     int       `json:"-"`
}

// IsEnabled treats a missing Enabled as enabled.
func (r Route) IsEnabled() bool { return r.Enabled == nil || bool(*r.Enabled) }

// RouteTable is one item of vpc DescribeRouteTables.RouteTableSet.
type RouteTable struct {
	RouteTableId   string   `json:"RouteTableId"`
	RouteTableName string   `json:"RouteTableName"`
	VpcId          string   `json:"VpcId"`
	Main           FlexBool `json:"Main"`
	AssociationSet []struct {
		SubnetId     string `json:"SubnetId"`
		RouteTableId string `json:"RouteTableId"`
	} `json:"AssociationSet"`
	RouteSet        []Route `json:"RouteSet"`
	LocalCidrForCcn []struct {
		Cidr string `json:"Cidr"`
	} `json:"LocalCidrForCcn"`
	Line int `json:"-"`
}

type routeTablesResp struct {
	RouteTableSet []RouteTable `json:"RouteTableSet"`
}

// ParseRouteTables reads vpc DescribeRouteTables.
func ParseRouteTables(data []byte) ([]RouteTable, error) {
	out, err := parseList(data, "RouteTableSet", func(r *routeTablesResp) []RouteTable { return r.RouteTableSet },
		func(c *RouteTable, l int) { c.Line = l })
	var routes []*Route
	for i := range out {
		for j := range out[i].RouteSet {
			routes = append(routes, &out[i].RouteSet[j])
		}
	}
	assignLines(routes, itemLines(data, "RouteSet"), func(r **Route, n int) { (*r).Line = n })
	return out, err
}

// CcnRoute is one item of vpc DescribeCcnRoutes.RouteSet: a route a CCN
// instance learned from an attached VPC / direct connect gateway.
type CcnRoute struct {
	RouteId              string    `json:"RouteId"`
	DestinationCidrBlock string    `json:"DestinationCidrBlock"`
	InstanceType         string    `json:"InstanceType"` // VPC | DIRECTCONNECT | BMVPC | VPNGW ...
	InstanceId           string    `json:"InstanceId"`
	InstanceName         string    `json:"InstanceName"`
	InstanceRegion       string    `json:"InstanceRegion"`
	Enabled              *FlexBool `json:"Enabled"`
	ExtraState           string    `json:"ExtraState"` // Running | Backup | Prohibited
	Line                 int       `json:"-"`
}

// IsEnabled treats a missing Enabled as enabled.
func (r CcnRoute) IsEnabled() bool { return r.Enabled == nil || bool(*r.Enabled) }

type ccnRoutesResp struct {
	RouteSet []CcnRoute `json:"RouteSet"`
}

// ParseCcnRoutes reads vpc DescribeCcnRoutes.
func ParseCcnRoutes(data []byte) ([]CcnRoute, error) {
	return parseList(data, "RouteSet", func(r *ccnRoutesResp) []CcnRoute { return r.RouteSet },
		func(c *CcnRoute, l int) { c.Line = l })
}

// NetworkInterface is one item of vpc DescribeNetworkInterfaces: an ENI
// with its own SGs (GroupSet, in binding order). VPC-CNI pods get their
// IPs from such ENIs.
type NetworkInterface struct {
	NetworkInterfaceId   string   `json:"NetworkInterfaceId"`
	NetworkInterfaceName string   `json:"NetworkInterfaceName"`
	VpcId                string   `json:"VpcId"`
	SubnetId             string   `json:"SubnetId"`
	Primary              FlexBool `json:"Primary"`
	GroupSet             []string `json:"GroupSet"`
	PrivateIpAddressSet  []struct {
		PrivateIpAddress string   `json:"PrivateIpAddress"`
		Primary          FlexBool `json:"Primary"`
		PublicIpAddress  string   `json:"PublicIpAddress"`
	} `json:"PrivateIpAddressSet"`
	Ipv6AddressSet []struct {
		Address string `json:"Address"`
	} `json:"Ipv6AddressSet"`
	Attachment *struct {
		InstanceId string `json:"InstanceId"`
	} `json:"Attachment"`
	Line int `json:"-"`
}

type networkInterfacesResp struct {
	NetworkInterfaceSet []NetworkInterface `json:"NetworkInterfaceSet"`
}

// ParseNetworkInterfaces reads vpc DescribeNetworkInterfaces.
func ParseNetworkInterfaces(data []byte) ([]NetworkInterface, error) {
	return parseList(data, "NetworkInterfaceSet", func(r *networkInterfacesResp) []NetworkInterface { return r.NetworkInterfaceSet },
		func(c *NetworkInterface, l int) { c.Line = l })
}
