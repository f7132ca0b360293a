package model

import (
	"net/netip"
	"strings"
)

// TKE-specific annotations and labels (TKE docs "Service 注解说明",
// "Ingress 注解说明"), read here so checks and the tracer agree on them.
const (
	// AnnoInternalSubnet makes a LoadBalancer Service's CLB private, in
	// that subnet.
	AnnoInternalSubnet = "service.kubernetes.io/qcloud-loadbalancer-internal-subnetid"
	// AnnoExistedLB binds the Service to an existing CLB instead of
	// creating one.
	AnnoExistedLB = "service.kubernetes.io/tke-existed-lbid"
	// AnnoServiceDirectAccess / AnnoIngressDirectAccess: the CLB forwards
	// straight to pod IPs (VPC-CNI) instead of NodePorts.
	AnnoServiceDirectAccess = "service.cloud.tencent.com/direct-access"
	AnnoIngressDirectAccess = "ingress.cloud.tencent.com/direct-access"
	// LabelInstanceID is the CVM instance of a node.
	LabelInstanceID = "cloud.tencent.com/node-instance-id"
)

// InternalSubnet is the subnet of a private CLB ("" for a public one).
func (s *Service) InternalSubnet() string { return s.Annotations[AnnoInternalSubnet] }

// ExistedLB is the CLB ID the Service reuses, if any.
func (s *Service) ExistedLB() string { return s.Annotations[AnnoExistedLB] }

// DirectAccess reports whether the CLB targets pods directly.
func (s *Service) DirectAccess() bool { return s.Annotations[AnnoServiceDirectAccess] == "true" }

// LBIPs are status.loadBalancer.ingress IPs (the CLB VIPs).
func (s *Service) LBIPs() []netip.Addr {
	var out []netip.Addr
	for _, lb := range s.Status.LoadBalancer.Ingress {
		if ip, err := netip.ParseAddr(lb.IP); err == nil {
			out = append(out, ip)
		}
	}
	return out
}

// LBIPs are the Ingress's CLB VIPs.
func (i *Ingress) LBIPs() []netip.Addr {
	var out []netip.Addr
	for _, lb := range i.Status.LoadBalancer.Ingress {
		if ip, err := netip.ParseAddr(lb.IP); err == nil {
			out = append(out, ip)
		}
	}
	return out
}

// DirectAccess reports whether the Ingress's CLB targets pods directly.
func (i *Ingress) DirectAccess() bool { return i.Annotations[AnnoIngressDirectAccess] == "true" }

// InstanceID is the node's CVM instance: the TKE label, else the last
// element of providerID ("qcloud:///800002/ins-abcd1234").
func (n *KNode) InstanceID() string {
	if id := n.Labels[LabelInstanceID]; id != "" {
		return id
	}
	if p := n.Spec.ProviderID; strings.HasPrefix(p, "qcloud://") {
		if i := strings.LastIndexByte(p, '/'); i >= 0 && strings.HasPrefix(p[i+1:], "ins-") {
			return p[i+1:]
		}
	}
	return ""
}
