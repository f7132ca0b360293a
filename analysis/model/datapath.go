package model

// Datapath is the rest of a node's datapath: IPVS, ipsets, addresses,
// routes, rules, neighbours, links, sysctls, conntrack, resolv.conf,
// sockets, kube-proxy mode.
type Datapath struct{}

func (c *Cluster) loadDatapath(n *Node) {}
