package model

import (
	"net/netip"
	"strings"
)

// NodeDir finds the nodes/<folder>/ of a Kubernetes node: the folder is
// named by the node name, or (collector run by hand) by its InternalIP.
func (c *Cluster) NodeDir(kubeNode string) *Node {
	if n := c.Node(kubeNode); n != nil {
		return n
	}
	if kn := c.Kube.Node(kubeNode); kn != nil {
		for _, ip := range kn.InternalIPs {
			if n := c.Node(ip.String()); n != nil {
				return n
			}
		}
	}
	return nil
}

// ListeningOn reports whether a socket in the node's host network
// namespace listens on port/proto for ip (a wildcard bind counts), from
// nodes/<node>/ss.txt (ss -tunapH). known is false when the bundle has no
// socket list for that node. Pod sockets live in the pod's netns and are
// not in ss.txt: only ask this for host-network pods.
func (c *Cluster) ListeningOn(node string, ip netip.Addr, port int, proto string) (listening, known bool) {
	n := c.NodeDir(node)
	if n == nil || !c.Bundle.Has(n.File(FileSS)) {
		return false, false
	}
	proto = strings.ToLower(proto)
	for _, s := range n.Sockets {
		if s.Netid != proto || s.Local.Port != port {
			continue
		}
		if proto == "tcp" && s.State != "LISTEN" {
			continue
		}
		if proto == "udp" && s.State != "UNCONN" {
			continue
		}
		if s.Local.Any || !ip.IsValid() || s.Local.Addr == ip {
			return true, true
		}
	}
	return false, true
}
