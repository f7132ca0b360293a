package model

import (
	"runtime"
	"sort"
	"sync"

	"tkesnap/analysis/finding"
	"tkesnap/parsers/iptables"
)

// Node is one nodes/<name>/ folder: the node's own view of its datapath.
type Node struct {
	Name string
	Dir  string // "nodes/<name>"

	Netfilter // netfilter.go: iptables dumps
	Datapath  // datapath.go: ipvs, ipset, ip -j, sysctl, conntrack, ...
}

// File returns the bundle path of a file in the node's folder.
func (n *Node) File(name string) string { return n.Dir + "/" + name }

// loadNodes reads every node folder, several at a time: a node's files
// are independent of the other nodes', and a cluster-scale bundle is
// mostly node dumps. Each node's problems are kept apart and appended in
// folder order, so the result does not depend on the schedule. The
// iptables dumps of all nodes are parsed through one Interner: a rule
// line that another node (or another backend's dump) already holds costs
// nothing more, and the dump's text is not kept.
func (c *Cluster) loadNodes() {
	var names []string
	for _, name := range c.Bundle.Dir("nodes") {
		if c.Bundle.Has("nodes/" + name) { // a stray file, not a folder
			continue
		}
		names = append(names, name)
	}
	if c.rules == nil {
		c.rules = iptables.NewInterner()
		c.rules.Budget = c.RulesBudget
		if c.rules.Budget == 0 {
			c.rules.Budget = DefaultRulesBudget
		}
	}
	nodes := make([]*Node, len(names))
	problems := make([][]finding.Problem, len(names))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(names)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				// a view of the cluster that records this node's problems
				sub := *c
				sub.Problems = nil
				n := &Node{Name: names[i], Dir: "nodes/" + names[i]}
				sub.loadNetfilter(n)
				sub.loadDatapath(n)
				nodes[i], problems[i] = n, sub.Problems
			}
		}()
	}
	for i := range names {
		work <- i
	}
	close(work)
	wg.Wait()
	for i, n := range nodes {
		c.Problems = append(c.Problems, problems[i]...)
		c.Nodes = append(c.Nodes, n)
	}
	sort.Slice(c.Nodes, func(i, j int) bool { return c.Nodes[i].Name < c.Nodes[j].Name })
}
