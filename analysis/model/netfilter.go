package model

// Netfilter is a node's iptables state (iptables-save*.txt).
type Netfilter struct{}

func (c *Cluster) loadNetfilter(n *Node) {}
