package checks

import (
	"tkesnap/analysis/model"
)

// reconcileIptablesNode compares a node's iptables rules with what
// kube-proxy's iptables proxier must have programmed.
func reconcileIptablesNode(p *Pass, n *model.Node, kn *model.KNode, ports []*svcPort) {
	p.Inconclusive("iptables-save.txt", n.Name, "kube-proxy iptables-mode rules are not compared yet: the node's iptables model is not loaded")
}
