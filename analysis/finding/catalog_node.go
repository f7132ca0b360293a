package finding

// Node datapath findings (docs/design.md §5).
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
				Title: "An iptables rule drops the flow",
				// verdict is the rule's target (DROP, REJECT); "dropped" and
				// "rejected" are still accepted from older emitters.
				// policy is set when no rule matched and the chain's policy
				// decided (rule 0): it is named as a policy, not a rule.
				Message: `On node {{.node}}, {{.flow}} is {{if or (eq .verdict "REJECT") (eq .verdict "rejected")}}rejected{{else}}dropped{{end}} by {{if .policy}}the policy {{.policy}} of {{.table}}/{{.chain}} (line {{.line}}): no rule of the chain accepts it{{else}}{{.table}}/{{.chain}} rule {{.rule}} (line {{.line}}): {{.text}}{{end}}.`,
				Remedy: `{{if and .policy (eq .table "filter") (eq .chain "FORWARD")}}Accept pod traffic in filter/FORWARD on {{.node}} before the policy applies: iptables -A FORWARD -s POD_CIDR -j ACCEPT and iptables -A FORWARD -d POD_CIDR -j ACCEPT with the cluster's pod CIDR. A FORWARD policy DROP usually comes from Docker's iptables integration: run dockerd with "iptables": false and set iptables -P FORWARD ACCEPT, or let the CNI add its accept rules.` +
					`{{else if .policy}}Add an ACCEPT rule for {{.flow}} to {{.table}}/{{.chain}} on {{.node}}, or set the chain's policy to ACCEPT.` +
					`{{else}}Remove or narrow that rule on {{.node}}, or add an ACCEPT before it for {{.flow}}.{{end}}`}}},
		{ID: "IPTABLES_BACKEND_SPLIT", Severity: Warning, Hygiene: true, Group: "node", Guide: "节点 iptables 规则",
			Texts: map[Lang]Text{EN: {
				Title: "Both legacy and nft iptables hold rules",
				// stale is set by the tracer when a DNAT of one backend to an
				// address that is no endpoint decides a flow (with the rule
				// that sends the flow there: table, chain, line, text; and
				// current/current_dst when the other backend sends it to
				// the endpoints and the hooks' order decides).
				Message: `Node {{.node}} has rules in both iptables-legacy ({{or .legacy "no"}} rules) and iptables-nft ({{or .nft "no"}} rules); both are evaluated by the kernel.` +
					`{{if eq .manip "snat"}} {{.stale}} rewrites the source of {{.flow}} to {{.source}} ({{.file}}{{if .line}} line {{.line}}{{end}}), while {{.current}} ` +
					`{{if .current_src}}rewrites it to {{.current_src}}: both nat POSTROUTING chains bind new connections at priority 100 and the one whose hook registered last decides, which no dump says` +
					`{{else}}keeps the pod source{{if .nonmasq}} ({{.nonmasq}} is in ip-masq-agent's NonMasqueradeCIDRs){{end}}: a nat table that binds no source NAT leaves the connection to the next one at the hook, so {{.stale}} decides whatever the order{{end}}; ` +
					`{{.peer}} sees {{.source}} instead of the pod address.` +
					`{{else if .stale}} {{.stale}} still sends {{.service}} to {{.endpoint}}, which is no endpoint of it ({{.file}}{{if .line}} line {{.line}}{{end}}){{if .current}}, while {{.current}} sends it to {{.current_dst}}: both nat tables bind new connections at priority -100 and the one whose hook registered last decides, which no dump says{{end}}; connections it binds to {{.endpoint}} fail ({{.flow}}).{{end}}`,
				Remedy: `{{if and (eq .manip "snat") .spec}}Delete the stale source NAT from {{.stale}} on {{.node}}: ` + "`{{.stale}} -t {{.table}} -D {{.spec}}`" + ` ({{.file}} line {{.line}}); {{.current}} then decides the source alone. Stop what still writes {{.stale}} (an old ip-masq-agent or kube-proxy image, or a script), or the rule comes back.` +
					`{{else if and .stale .spec}}Delete the stale rules from {{.stale}} on {{.node}}: ` + "`{{.stale}} -t {{.table}} -D {{.spec}}`" + ` takes {{.service}} out of it; the rest of kube-proxy's KUBE-* chains in {{.stale}} are stale too ({{.stale}}-save -t nat lists them): remove them the same way, and stop what still writes {{.stale}} (an old kube-proxy image or a script).` +
					`{{else if .stale}}Delete the stale rules of {{.service}} from {{.stale}} on {{.node}} ({{.stale}}-save -t nat lists them), and stop what still writes {{.stale}} (an old kube-proxy image or a script).` +
					`{{else}}Make every component on {{.node}} use the same iptables backend (kube-proxy's and the CNI's), then flush the other.{{end}}`}}},
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
		{ID: "BRIDGE_NF_DISABLED", Severity: Error, Group: "node", Guide: "节点内核参数",
			Texts: map[Lang]Text{EN: {
				Title:   "Bridged pod traffic bypasses iptables",
				Message: `Node {{.node}} has {{.key}} = {{.value}} while its pods sit on bridge {{.bridge}}: a pod calling a Service whose endpoint is another pod on the same bridge gets the reply straight from the pod IP and drops it.`,
				Remedy:  `On {{.node}}: modprobe br_netfilter, then sysctl -w {{.key}}=1, and persist both (/etc/modules-load.d, /etc/sysctl.d).`}}},
		{ID: "RP_FILTER_DROPS", Severity: Error, Group: "node", Guide: "节点间访问: 路由",
			Texts: map[Lang]Text{EN: {
				Title:   "Reverse-path filter drops traffic from a peer's pods",
				Message: `Node {{.node}} has strict reverse-path filtering ({{.key}} = {{.mode}}) on {{.iface}}, where traffic from {{.cidr}} (pods of {{.peer}}) arrives, but its route back to {{.cidr}} {{if .via}}is {{.via}}{{else}}is missing{{end}}; the kernel drops those packets.`,
				Remedy:  `On {{.node}}: route {{.cidr}} back through {{.iface}}, or set {{.key}}=2 (loose) or 0.`}}},
	} {
		Register(e)
	}
	// Chinese texts of the IDs added here (catalog_zh.go holds the others).
	Translate(ZH, "BRIDGE_NF_DISABLED", Text{
		Title:   "桥接的 Pod 流量绕过了 iptables",
		Message: `节点 {{.node}} 上 {{.key}} = {{.value}}，而 Pod 挂在网桥 {{.bridge}} 上：Pod 访问 Service 且后端是同一网桥上的另一个 Pod 时，回包直接以 Pod IP 返回，被客户端丢弃。`,
		Remedy:  `在节点 {{.node}} 上执行 ` + "`modprobe br_netfilter`" + ` 和 ` + "`sysctl -w {{.key}}=1`" + `，并持久化（/etc/modules-load.d、/etc/sysctl.d）。`})
	Translate(ZH, "RP_FILTER_DROPS", Text{
		Title:   "反向路径过滤丢弃了对端节点 Pod 的流量",
		Message: `节点 {{.node}} 在 {{.iface}} 上开启了严格反向路径过滤（{{.key}} = {{.mode}}），来自 {{.cidr}}（{{.peer}} 的 Pod）的流量从该网卡进入，但回程路由{{if .via}}为 ` + "`{{.via}}`" + `{{else}}不存在{{end}}，内核会丢弃这些报文。`,
		Remedy:  `在节点 {{.node}} 上让 {{.cidr}} 的回程路由经过 {{.iface}}，或将 {{.key}} 设为 2（宽松）或 0。`})
}
