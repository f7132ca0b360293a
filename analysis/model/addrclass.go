package model

import (
	"net/netip"
	"strings"
)

// AddrClass is where an address sits in a TKE cluster's topology, the way
// the guide's checks need it (one shared classifier for checks and the
// tracer, so they agree).
type AddrClass string

const (
	// ClassService: a Service ClusterIP or an address of the service range
	// (ClusterNetworkSettings.ServiceCIDR). On TKE the service range sits
	// inside the cluster CIDR, so this is decided first: such an address
	// exists only in kube-proxy's rules, never behind a pod route.
	ClassService AddrClass = "service"
	// ClassPod: in the cluster (container) CIDR or a node's pod CIDR.
	ClassPod AddrClass = "pod"
	// ClassNode: a private IP of a CVM (or ENI) in the bundle.
	ClassNode AddrClass = "node"
	// ClassCVMPublic: the public IP or EIP of a CVM in the bundle: traffic
	// to it is decided by that CVM's SGs and public bandwidth.
	ClassCVMPublic AddrClass = "cvm-public"
	// ClassLocalVPC: inside a CIDR of the cluster's VPC.
	ClassLocalVPC AddrClass = "local-vpc"
	// ClassPeerVPC: another VPC, reached through the CCN (a CCN route from
	// a VPC instance) or a peering connection. Not local.
	ClassPeerVPC AddrClass = "peer-vpc"
	// ClassIDC: an IDC, reached through a direct connect gateway or a VPN
	// gateway (directly or through the CCN).
	ClassIDC AddrClass = "idc"
	// ClassInternet: a public address no resource of the bundle holds.
	ClassInternet AddrClass = "internet"
	// ClassUnknownPeer: a private address the cloud data places nowhere
	// (no VPC, peer or IDC route covers it) — not assumed to be an IDC.
	ClassUnknownPeer AddrClass = "unknown-peer"
)

// AddrInfo is an address's class with the facts behind it.
type AddrInfo struct {
	Class AddrClass
	// CIDR is the block the class comes from (the service or cluster CIDR,
	// the VPC CIDR, the peer VPC's or the IDC's CIDR as the route tables
	// and CCN routes name it): what SG rules and remedies should name
	// instead of the one address of a test flow. Invalid for a ClusterIP
	// known only from its Service, a CVM's own address and the internet.
	CIDR netip.Prefix
	// Via is the gateway for a peer or IDC (ccn-…, pcx-…, dcg-…, vpngw-…)
	// and Instance the CVM holding a node or public address.
	Via      string
	Instance *Instance
	At
}

// ClassifyAddr places ip in the cluster's topology from the bundle's
// Kubernetes and cloud data. Checks and the trace share it.
func (c *Cluster) ClassifyAddr(ip netip.Addr) AddrInfo {
	ip = ip.Unmap()
	cl := &c.Cloud
	if sv := c.Kube.ServiceByIP(ip); sv != nil {
		for _, a := range sv.ClusterIPs {
			if a == ip {
				info := AddrInfo{Class: ClassService}
				if cl.Cluster != nil && cl.Cluster.ServiceCIDR.Contains(ip) {
					info.CIDR, info.At = cl.Cluster.ServiceCIDR, cl.Cluster.At
				}
				return info
			}
		}
	}
	if cl.Cluster != nil && cl.Cluster.ServiceCIDR.IsValid() && cl.Cluster.ServiceCIDR.Contains(ip) {
		return AddrInfo{Class: ClassService, CIDR: cl.Cluster.ServiceCIDR, At: cl.Cluster.At}
	}
	if ps := c.Kube.PodsByIP(ip); len(ps) > 0 && !ps[0].Spec.HostNetwork {
		// a pod's own address: in VPC-CNI mode a VPC address on an ENI,
		// still a pod (its block is the pod subnet)
		info := AddrInfo{Class: ClassPod}
		if k := cl.Cluster; k != nil && k.ClusterCIDR.IsValid() && k.ClusterCIDR.Contains(ip) {
			info.CIDR, info.At = k.ClusterCIDR, k.At
		} else if k != nil && k.NetworkType == "VPC-CNI" {
			for _, id := range k.ClusterNetworkSettings.Subnets {
				if s := cl.Subnets[id]; s != nil && s.CIDR.IsValid() && s.CIDR.Contains(ip) {
					info.CIDR, info.At = s.CIDR, s.At
				}
			}
		}
		return info
	}
	if in := cl.InstanceByIP(ip); in != nil {
		return AddrInfo{Class: ClassNode, Instance: in, At: in.At}
	}
	if e := cl.ENIByIP(ip); e != nil {
		return AddrInfo{Class: ClassNode, At: e.At}
	}
	if cl.Cluster != nil && cl.Cluster.ClusterCIDR.IsValid() && cl.Cluster.ClusterCIDR.Contains(ip) {
		return AddrInfo{Class: ClassPod, CIDR: cl.Cluster.ClusterCIDR, At: cl.Cluster.At}
	}
	for _, kn := range c.Kube.Nodes {
		for _, p := range kn.PodCIDRs {
			if p.Contains(ip) {
				return AddrInfo{Class: ClassPod, CIDR: p}
			}
		}
	}
	for _, in := range cl.Instances {
		for _, s := range in.PublicIpAddresses {
			if a, err := netip.ParseAddr(s); err == nil && a.Unmap() == ip {
				return AddrInfo{Class: ClassCVMPublic, Instance: in, At: in.At}
			}
		}
	}
	if v := cl.VpcOf(ip); v != nil {
		for _, p := range v.CIDRs {
			if !p.Contains(ip) {
				continue
			}
			if cl.localVpc(v.VpcId) {
				return AddrInfo{Class: ClassLocalVPC, CIDR: p, At: v.At}
			}
			// vpc DescribeVpcs lists every VPC of the region: another
			// one is a peer (its CIDR is the one to name), whatever
			// route reaches it
			info := AddrInfo{Class: ClassPeerVPC, CIDR: p, At: v.At}
			if r, ok := cl.routedPeer(ip); ok {
				info.Via = r.Via
			}
			return info
		}
	}
	if info, ok := cl.routedPeer(ip); ok {
		return info
	}
	if ip.IsPrivate() || cgnatRange.Contains(ip) {
		return AddrInfo{Class: ClassUnknownPeer}
	}
	return AddrInfo{Class: ClassInternet}
}

var cgnatRange = netip.MustParsePrefix("100.64.0.0/10")

// localVpc: id is the cluster's VPC (ClusterNetworkSettings.VpcId), or —
// without the cluster's description — the VPC of a CVM of the bundle.
func (cl *Cloud) localVpc(id string) bool {
	if cl.Cluster != nil && cl.Cluster.ClusterNetworkSettings.VpcId != "" {
		return cl.Cluster.ClusterNetworkSettings.VpcId == id
	}
	for _, in := range cl.Instances {
		if in.VirtualPrivateCloud.VpcId == id {
			return true
		}
	}
	return len(cl.Vpcs) == 1 // the only VPC collected is the cluster's
}

// routedPeer: the most specific enabled route of the VPC route tables or
// the CCN that covers ip, classified by its next hop. A CCN next hop is
// resolved through the CCN's own routes (their InstanceType says whether
// the CIDR is another VPC or an IDC's direct connect / VPN gateway).
func (cl *Cloud) routedPeer(ip netip.Addr) (AddrInfo, bool) {
	var best AddrInfo
	bits := -1
	consider := func(dst netip.Prefix, kind, via string, at At) {
		if !dst.IsValid() || !dst.Contains(ip) || dst.Bits() <= bits || dst.Bits() == 0 {
			return
		}
		var class AddrClass
		switch strings.ToUpper(kind) {
		case "PEERCONNECTION", "VPC", "BMVPC":
			class = ClassPeerVPC
		case "DIRECTCONNECT", "VPN", "VPNGW":
			class = ClassIDC
		default:
			return
		}
		best, bits = AddrInfo{Class: class, CIDR: dst, Via: via, At: at}, dst.Bits()
	}
	for _, t := range cl.RouteTables {
		for _, r := range t.Routes {
			if !r.IsEnabled() {
				continue
			}
			kind := r.GatewayType
			if strings.EqualFold(kind, "CCN") {
				// the CCN route of the same destination says what is behind it
				for _, cr := range cl.CcnRoutes {
					if cr.Dst == r.Dst {
						kind = cr.InstanceType
					}
				}
			}
			consider(r.Dst, kind, r.GatewayId, r.At)
		}
	}
	for _, cr := range cl.CcnRoutes {
		if cr.IsEnabled() {
			consider(cr.Dst, cr.InstanceType, cr.InstanceId, cr.At)
		}
	}
	return best, bits >= 0
}
