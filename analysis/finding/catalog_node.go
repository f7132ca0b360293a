package finding

// Node datapath findings (design.md §5).
func init() {
	for _, e := range []Entry{
		{ID: "KUBE_PROXY_RULES_MISSING", Severity: Error, Group: "node", Guide: "iptables 或 ipvs 转发规则是否完整",
			Texts: map[Lang]Text{EN: {
				Title:   "kube-proxy rules missing on a node",
				Message: `Node {{.node}} has no {{.mode}} rules for {{.service}}{{if .endpoint}} endpoint {{.endpoint}}{{end}}{{if .what}} ({{.what}}){{end}}.`,
				Remedy:  `Check kube-proxy on {{.node}} (logs, sync errors) and restart it so it reprograms {{.service}}.`}}},
		{ID: "KUBE_PROXY_RULES_STALE", Severity: Warning, Group: "node", Guide: "iptables 或 ipvs 转发规则是否完整",
			Texts: map[Lang]Text{EN: {
				Title:   "kube-proxy rules point to endpoints that no longer exist",
				Message: `Node {{.node}} still forwards {{.service}} to {{.endpoint}}, which is not an endpoint of it.`,
				Remedy:  `Check kube-proxy on {{.node}}: it has stopped syncing; restart it.`}}},
		{ID: "IPTABLES_DROPS_FLOW", Severity: Error, Group: "node", Guide: "节点 iptables 规则",
			Texts: map[Lang]Text{EN: {
				Title:   "An iptables rule drops the flow",
				Message: `On node {{.node}}, {{.flow}} is {{.verdict}} by {{.table}}/{{.chain}} rule {{.rule}} (line {{.line}}): {{.text}}.`,
				Remedy:  `Remove or narrow that rule on {{.node}}, or add an ACCEPT before it for {{.flow}}.`}}},
		{ID: "IPTABLES_BACKEND_SPLIT", Severity: Warning, Group: "node", Guide: "节点 iptables 规则",
			Texts: map[Lang]Text{EN: {
				Title:   "Both legacy and nft iptables hold rules",
				Message: `Node {{.node}} has rules in both iptables-legacy ({{.legacy}} rules) and iptables-nft ({{.nft}} rules); both are evaluated by the kernel.`,
				Remedy:  `Make every component on {{.node}} use the same iptables backend (kube-proxy's and the CNI's), then flush the other.`}}},
		{ID: "IP_FORWARD_DISABLED", Severity: Error, Group: "node", Guide: "节点内核参数",
			Texts: map[Lang]Text{EN: {
				Title:   "IP forwarding is disabled",
				Message: `Node {{.node}} has {{.key}} = {{.value}}; it will not forward pod traffic.`,
				Remedy:  `sysctl -w {{.key}}={{or .want "1"}} on {{.node}} and persist it in /etc/sysctl.d.`}}},
		{ID: "NODE_ROUTE_MISSING", Severity: Error, Group: "node", Guide: "节点间访问: 路由",
			Texts: map[Lang]Text{EN: {
				Title:   "Node has no route to a peer node's pod CIDR",
				Message: `Node {{.node}} has no route to {{.cidr}} (pod CIDR of {{.peer}}){{if .via}}; it would use {{.via}}{{end}}.`,
				Remedy:  `Restore the route to {{.cidr}} via {{.peer}} on {{.node}} (GlobalRouter: check the cluster route table; VPC-CNI: check the ENI).`}}},
		{ID: "CONNTRACK_TABLE_FULL", Severity: Error, Group: "node", Guide: "节点 conntrack",
			Texts: map[Lang]Text{EN: {
				Title:   "Conntrack table full or dropping",
				Message: `Node {{.node}}: {{.why}}.`,
				Remedy:  `Raise net.netfilter.nf_conntrack_max on {{.node}} or reduce short-lived connections.`}}},
	} {
		Register(e)
	}
}
