package tencent

import (
	"encoding/json"
	"strings"
)

// Cluster is one item of tke DescribeClusters.ClusterSet ("Clusters").
type Cluster struct {
	ClusterId      string `json:"ClusterId"`
	ClusterName    string `json:"ClusterName"`
	ClusterType    string `json:"ClusterType"` // MANAGED_CLUSTER | INDEPENDENT_CLUSTER (EDGE_CLUSTER ...)
	ClusterVersion string `json:"ClusterVersion"`
	ClusterStatus  string `json:"ClusterStatus"`
	// Property is itself a JSON string, e.g. {"NodeNameType":"lan-ip","NetworkType":"GR"}.
	Property               string                 `json:"Property"`
	ClusterNetworkSettings ClusterNetworkSettings `json:"ClusterNetworkSettings"`
	Line                   int                    `json:"-"`
}

// ClusterNetworkSettings is the network part of a cluster.
type ClusterNetworkSettings struct {
	ClusterCIDR     string   `json:"ClusterCIDR"` // pod CIDR (GlobalRouter)
	ServiceCIDR     string   `json:"ServiceCIDR"`
	VpcId           string   `json:"VpcId"`
	Ipvs            FlexBool `json:"Ipvs"`
	KubeProxyMode   string   `json:"KubeProxyMode"`
	Cni             FlexBool `json:"Cni"`
	Subnets         []string `json:"Subnets"` // VPC-CNI pod subnets
	CiliumMode      string   `json:"CiliumMode"`
	IsDualStack     FlexBool `json:"IsDualStack"`
	Ipv6ServiceCIDR string   `json:"Ipv6ServiceCIDR"`
}

// Properties decodes Property: NodeNameType ("lan-ip" or "hostname") says
// whether Kubernetes node names are the LAN IPs; NetworkType is GR
// (GlobalRouter), VPC-CNI or CiliumOverlay.
func (c Cluster) Properties() (nodeNameType, networkType string) {
	var p struct{ NodeNameType, NetworkType string }
	if json.Unmarshal([]byte(c.Property), &p) == nil {
		return p.NodeNameType, p.NetworkType
	}
	return "", ""
}

// Managed reports ClusterType MANAGED_CLUSTER (masters run by Tencent).
func (c Cluster) Managed() bool { return strings.EqualFold(c.ClusterType, "MANAGED_CLUSTER") }

// Independent reports ClusterType INDEPENDENT_CLUSTER (customer masters).
func (c Cluster) Independent() bool {
	return strings.EqualFold(c.ClusterType, "INDEPENDENT_CLUSTER")
}

type clustersResp struct {
	Clusters []Cluster `json:"Clusters"`
}

// ParseClusters reads tke DescribeClusters.
func ParseClusters(data []byte) ([]Cluster, error) {
	return parseList(data, "Clusters", func(r *clustersResp) []Cluster { return r.Clusters },
		func(c *Cluster, l int) { c.Line = l })
}

// ClusterInstance is one item of tke DescribeClusterInstances.InstanceSet.
type ClusterInstance struct {
	InstanceId    string `json:"InstanceId"`
	InstanceRole  string `json:"InstanceRole"` // MASTER | WORKER | ETCD | MASTER_ETCD
	InstanceState string `json:"InstanceState"`
	FailedReason  string `json:"FailedReason"`
	LanIP         string `json:"LanIP"`
	NodePoolId    string `json:"NodePoolId"`
	NodeType      string `json:"NodeType"` // v2022: Regular | Native | Super | External
	Native        *struct {
		SecurityGroupIDs   []string `json:"SecurityGroupIDs"`
		SubnetId           string   `json:"SubnetId"`
		VpcId              string   `json:"VpcId"`
		LanIp              string   `json:"LanIp"`
		WanIp              string   `json:"WanIp"`
		InternetAccessible *struct {
			MaxBandwidthOut FlexInt `json:"MaxBandwidthOut"`
		} `json:"InternetAccessible"`
	} `json:"Native"`
	Line int `json:"-"`
}

type clusterInstancesResp struct {
	InstanceSet []ClusterInstance `json:"InstanceSet"`
}

// ParseClusterInstances reads tke DescribeClusterInstances (v20180525 or v20220501).
func ParseClusterInstances(data []byte) ([]ClusterInstance, error) {
	return parseList(data, "InstanceSet", func(r *clusterInstancesResp) []ClusterInstance { return r.InstanceSet },
		func(c *ClusterInstance, l int) { c.Line = l })
}

// ClusterEndpoints merges what tke says about API server access:
// DescribeClusterEndpoints (addresses, ACL, intranet subnet, SG),
// DescribeClusterSecurity (SecurityPolicy: the access source CIDRs of the
// public endpoint) and DescribeClusterEndpointStatus (Status). A file may
// hold several of these responses one after another.
type ClusterEndpoints struct {
	ClusterExternalEndpoint string   `json:"ClusterExternalEndpoint"`
	ClusterIntranetEndpoint string   `json:"ClusterIntranetEndpoint"`
	ClusterDomain           string   `json:"ClusterDomain"`
	ClusterExternalDomain   string   `json:"ClusterExternalDomain"`
	ClusterIntranetDomain   string   `json:"ClusterIntranetDomain"`
	SecurityGroup           string   `json:"SecurityGroup"`
	ClusterExternalACL      []string `json:"ClusterExternalACL"`
	ClusterIntranetSubnetId string   `json:"ClusterIntranetSubnetId"`
	SecurityPolicy          []string `json:"SecurityPolicy"`
	PgwEndpoint             string   `json:"PgwEndpoint"`
	Status                  string   `json:"Status"`
	ErrorMsg                string   `json:"ErrorMsg"`
	// Lines of the fields that checks cite.
	ACLLine, PolicyLine, SubnetLine, StatusLine int `json:"-"`
}

// ParseClusterEndpoints reads one or more of the endpoint responses.
func ParseClusterEndpoints(data []byte) (ClusterEndpoints, error) {
	var out ClusterEndpoints
	err := decodeInto(data, func() any { return new(ClusterEndpoints) }, func(v any) {
		e := v.(*ClusterEndpoints)
		set := func(dst *string, src string) {
			if src != "" {
				*dst = src
			}
		}
		set(&out.ClusterExternalEndpoint, e.ClusterExternalEndpoint)
		set(&out.ClusterIntranetEndpoint, e.ClusterIntranetEndpoint)
		set(&out.ClusterDomain, e.ClusterDomain)
		set(&out.ClusterExternalDomain, e.ClusterExternalDomain)
		set(&out.ClusterIntranetDomain, e.ClusterIntranetDomain)
		set(&out.SecurityGroup, e.SecurityGroup)
		set(&out.ClusterIntranetSubnetId, e.ClusterIntranetSubnetId)
		set(&out.PgwEndpoint, e.PgwEndpoint)
		set(&out.Status, e.Status)
		set(&out.ErrorMsg, e.ErrorMsg)
		if e.ClusterExternalACL != nil {
			out.ClusterExternalACL = e.ClusterExternalACL
		}
		if e.SecurityPolicy != nil {
			out.SecurityPolicy = e.SecurityPolicy
		}
	})
	out.ACLLine = keyLine(data, "ClusterExternalACL")
	out.PolicyLine = keyLine(data, "SecurityPolicy")
	out.SubnetLine = keyLine(data, "ClusterIntranetSubnetId")
	out.StatusLine = keyLine(data, `Status`)
	return out, err
}

// ClusterRoute is one item of tke DescribeClusterRoutes: in GlobalRouter
// mode, the pod CIDR of each node (DestinationCidrBlock via GatewayIp,
// the node's LAN IP).
type ClusterRoute struct {
	RouteTableName       string `json:"RouteTableName"`
	DestinationCidrBlock string `json:"DestinationCidrBlock"`
	GatewayIp            string `json:"GatewayIp"`
	Line                 int    `json:"-"`
}

type clusterRoutesResp struct {
	RouteSet []ClusterRoute `json:"RouteSet"`
}

// ParseClusterRoutes reads tke DescribeClusterRoutes.
func ParseClusterRoutes(data []byte) ([]ClusterRoute, error) {
	return parseList(data, "RouteSet", func(r *clusterRoutesResp) []ClusterRoute { return r.RouteSet },
		func(c *ClusterRoute, l int) { c.Line = l })
}
