package finding

// kube-proxy topology findings: the hook entries of its chains and, in
// IPVS mode, the binding of its virtual addresses (issue 14 part 4).
func init() {
	for _, e := range []Entry{
		{ID: "KUBE_PROXY_JUMP_MISSING", Severity: Error, Group: "node", Guide: "iptables 或 ipvs 转发规则是否完整",
			Texts: map[Lang]Text{EN: {
				Title:   "kube-proxy's chain is not hooked into the kernel's chain",
				Message: `On node {{.node}}, {{.table}} {{.hook}} has no jump to {{.chain}} ({{.file}}), although kube-proxy created {{.chain}} (line {{.line}}): its rules are never evaluated, so ` + jumpEffectEN + `.`,
				Remedy:  `Restart kube-proxy on {{.node}} so it re-adds "-A {{.hook}} -j {{.chain}}" to the {{.table}} table, and find what flushed the {{.hook}} chain (a firewall service, an iptables-restore of an old file, the other iptables backend).`}}},
		{ID: "IPVS_VIP_UNBOUND", Severity: Error, Group: "node", Guide: "iptables 或 ipvs 转发规则是否完整",
			Texts: map[Lang]Text{EN: {
				Title:   "IPVS virtual address not bound to kube-ipvs0",
				Message: `On node {{.node}}, {{.vip}} ({{.kind}} of {{.service}}) has an IPVS virtual service but ` + vipWhyEN + `: the kernel does not take the address as local, so packets to it are routed away and the virtual service never sees them.`,
				Remedy:  `Restart kube-proxy on {{.node}} so it binds {{.vip}} to kube-ipvs0 again (ip addr add {{.vip}}/32 dev kube-ipvs0), and check that nothing deletes kube-ipvs0's addresses (network scripts, NetworkManager).`}}},
	} {
		Register(e)
	}
	Translate(ZH, "KUBE_PROXY_JUMP_MISSING", Text{
		Title:   "kube-proxy 的链没有挂到内核链上",
		Message: `节点 {{.node}} 上 {{.table}} 表的 {{.hook}} 链没有跳转到 {{.chain}}（{{.file}}），而 kube-proxy 已创建 {{.chain}}（第 {{.line}} 行）：这些规则永远不会被匹配，因此` + jumpEffectZH + `。`,
		Remedy:  `重启节点 {{.node}} 上的 kube-proxy，使其在 {{.table}} 表中重新添加 "-A {{.hook}} -j {{.chain}}"，并排查是谁清空了 {{.hook}} 链（防火墙服务、用旧文件执行 iptables-restore、另一套 iptables 后端）。`})
	Translate(ZH, "IPVS_VIP_UNBOUND", Text{
		Title:   "IPVS 虚拟地址没有绑定到 kube-ipvs0",
		Message: `节点 {{.node}} 上 {{.vip}}（{{.service}} 的 {{.kind}}）有 IPVS 虚拟服务，但` + vipWhyZH + `：内核不认为该地址是本机地址，发往它的报文被路由走，虚拟服务收不到。`,
		Remedy:  `重启节点 {{.node}} 上的 kube-proxy，使其重新把 {{.vip}} 绑定到 kube-ipvs0（` + "`ip addr add {{.vip}}/32 dev kube-ipvs0`" + `），并排查是谁删除了 kube-ipvs0 上的地址（网络脚本、NetworkManager）。`})
}

// The consequence of a missing jump, by the jump's "effect" code (the
// check passes codes, not sentences, so each language writes its own).
const (
	jumpEffectEN = `{{if eq .effect "dnat-in"}}Services are not DNATed for packets arriving at the node (from pods, CLBs and NodePort clients){{else if eq .effect "dnat-local"}}Services are not DNATed for packets the node sends itself (host-network pods, node processes){{else if eq .effect "ipvs-mark"}}Service traffic that needs masquerading (from outside the pod CIDR, hairpin) is not marked for it, and its replies bypass IPVS{{else if eq .effect "masq"}}packets kube-proxy marks for masquerade (NodePort, hairpin, external traffic) leave un-SNATed and their replies go astray{{else if eq .effect "forward"}}kube-proxy's accept for forwarded Service traffic is skipped (dropped when the FORWARD policy is DROP){{else if eq .effect "reject"}}Services without endpoints are not rejected (clients time out instead of being refused){{else if eq .effect "firewall"}}loadBalancerSourceRanges are not enforced{{else}}health-check node ports are not accepted{{end}}`
	jumpEffectZH = `{{if eq .effect "dnat-in"}}进入节点的报文（来自 Pod、CLB 和 NodePort 客户端）访问 Service 时不会被 DNAT{{else if eq .effect "dnat-local"}}节点自身发出的报文（hostNetwork Pod、节点进程）访问 Service 时不会被 DNAT{{else if eq .effect "ipvs-mark"}}需要 SNAT 的 Service 流量（来自 Pod 网段以外、回环）不会被标记，回包绕过 IPVS{{else if eq .effect "masq"}}被 kube-proxy 标记需要 SNAT 的报文（NodePort、回环、外部流量）不做 SNAT 就离开节点，回包无法返回{{else if eq .effect "forward"}}kube-proxy 对转发的 Service 流量的放行规则被跳过（FORWARD 默认策略为 DROP 时被丢弃）{{else if eq .effect "reject"}}没有后端的 Service 不会被拒绝（客户端超时而不是被拒绝）{{else if eq .effect "firewall"}}loadBalancerSourceRanges 不生效{{else}}健康检查端口不被放行{{end}}`
	vipWhyEN     = `{{if eq .why "unbound"}}the address is not on kube-ipvs0 and no local route holds it{{else if eq .why "no-local-route"}}the local route table has no route for it{{else}}it is not bound to kube-ipvs0{{end}}`
	vipWhyZH     = `{{if eq .why "unbound"}}该地址不在 kube-ipvs0 上，` + "`local`" + ` 路由表中也没有它{{else if eq .why "no-local-route"}}` + "`local`" + ` 路由表中没有它的路由{{else}}它没有绑定到 kube-ipvs0{{end}}`
)
