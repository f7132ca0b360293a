package model

import "sort"

// Node is one nodes/<name>/ folder: the node's own view of its datapath.
type Node struct {
	Name string
	Dir  string // "nodes/<name>"

	Netfilter // netfilter.go: iptables dumps
	Datapath  // datapath.go: ipvs, ipset, ip -j, sysctl, conntrack, ...
}

// File returns the bundle path of a file in the node's folder.
func (n *Node) File(name string) string { return n.Dir + "/" + name }

func (c *Cluster) loadNodes() {
	for _, name := range c.Bundle.Dir("nodes") {
		if c.Bundle.Has("nodes/" + name) { // a stray file, not a folder
			continue
		}
		n := &Node{Name: name, Dir: "nodes/" + name}
		c.loadNetfilter(n)
		c.loadDatapath(n)
		c.Nodes = append(c.Nodes, n)
	}
	sort.Slice(c.Nodes, func(i, j int) bool { return c.Nodes[i].Name < c.Nodes[j].Name })
}
