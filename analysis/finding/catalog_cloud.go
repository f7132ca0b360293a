package finding

// SGDecisionEN and SGDecisionZH say what decided an SG verdict, from the
// language-neutral args of sg.Decision.Args (decided_by, policy_sg,
// policy_index, action, policy_service, policy_peer, policy_sgs, dir) and
// of the blocked slice (blocked_proto, blocked_ports, blocked_peer):
// "TCP 8080 from 172.16.0.2 is decided by sg-x ingress PolicyIndex 5
// (DROP ALL from 0.0.0.0/0)". Findings of emitters that still pass a
// ready "decision" sentence render it as is.
const (
	SGDecisionEN = `{{if .decided_by}}{{if .blocked_proto}}{{.blocked_proto}}{{if .blocked_ports}} {{.blocked_ports}}{{end}} {{if eq .dir "egress"}}to{{else}}from{{end}} {{.blocked_peer}} is decided by {{end}}` +
		`{{if eq .decided_by "implicit"}}no policy matched in {{.policy_sgs}} {{.dir}} (implicit deny){{else if eq .decided_by "nosg"}}no security group (not filtered){{else}}{{.policy_sg}} {{.dir}} PolicyIndex {{.policy_index}} ({{.action}} {{.policy_service}} {{if eq .dir "egress"}}to{{else}}from{{end}} {{.policy_peer}}){{end}}` +
		`{{else}}{{.decision}}{{end}}`
	SGDecisionZH = `{{if .decided_by}}{{if .blocked_proto}}{{if eq .dir "egress"}}到{{else}}来自{{end}} {{.blocked_peer}} 的 {{.blocked_proto}}{{if .blocked_ports}} {{.blocked_ports}}{{end}} 由{{end}}` +
		`{{if eq .decided_by "implicit"}} {{.policy_sgs}} {{if eq .dir "egress"}}出站{{else}}入站{{end}}规则的隐式拒绝（没有匹配的策略）{{else if eq .decided_by "nosg"}}未绑定安全组（不过滤）{{else}}安全组 {{.policy_sg}} 的{{if eq .dir "egress"}}出站{{else}}入站{{end}}规则 PolicyIndex {{.policy_index}}（{{.action}} {{.policy_service}}，{{if eq .dir "egress"}}目的{{else}}来源{{end}} {{.policy_peer}}）{{end}}{{if .blocked_proto}}决定{{end}}` +
		`{{else}}{{.decision}}{{end}}`
)

// RouteViaEN/ZH name the next hop of a ROUTE_MISSING finding from its
// language-neutral args: via_kind "ccn" (a CCN route from via_type
// via_id), "learned" (learned by CCN ccn_name from via_type via_id),
// "disabled" (the via_type via_id route exists but is disabled),
// "container" (the cluster's container CIDR in vpc), "node" (a
// GlobalRouter cluster route to node via_id), "unknown".
// RouteFromEN/ZH name who sends: from_vpc (its nodes), nomasq_peers
// (peers ip-masq-agent does not SNAT pod traffic to), flow_peers with
// their flows, from_cluster (pods of the cluster's other nodes), else
// from (a flow endpoint).
const (
	RouteViaEN = `{{if eq .via_kind "learned"}}{{or .ccn_name "the CCN"}}, learned from {{.via_type}} {{.via_id}}` +
		`{{else if eq .via_kind "ccn"}}CCN ({{.via_type}} {{.via_id}}){{else if eq .via_kind "disabled"}}{{.via_type}} {{.via_id}} (route disabled)` +
		`{{else if eq .via_kind "container"}}{{.vpc}} (container CIDR of {{.cluster}}){{else if eq .via_kind "node"}}node {{.via_id}}{{else if .via}}{{.via}}{{else if eq .via_kind "unknown-peer"}}an unknown peer: no VPC, CCN, peering or direct connect route of the bundle places it{{else}}CCN, peering connection or direct connect gateway{{end}}`
	RouteViaZH = `{{if eq .via_kind "learned"}}{{or .ccn_name "云联网"}}（学习自 {{.via_type}} {{.via_id}}）` +
		`{{else if eq .via_kind "ccn"}}云联网（{{.via_type}} {{.via_id}}）{{else if eq .via_kind "disabled"}}{{.via_type}} {{.via_id}}（路由已禁用）` +
		`{{else if eq .via_kind "container"}}{{.vpc}}（{{.cluster}} 的容器网段）{{else if eq .via_kind "node"}}节点 {{.via_id}}{{else if .via}}{{.via}}{{else if eq .via_kind "unknown-peer"}}未知对端：采集数据中没有任何 VPC、云联网、对等连接或专线路由指向它{{else}}云联网、对等连接或专线网关{{end}}`
	RouteFromEN = `{{if .from_vpc}}nodes of {{.from_vpc}}{{else if .from_cluster}}pods on the other nodes of {{.from_cluster}}{{else if or .nomasq_peers .flow_peers}}` +
		`{{if .nomasq_peers}}{{.nomasq_peers}} (pods reach it without SNAT){{end}}{{if and .nomasq_peers .flow_peers}}, {{end}}{{if .flow_peers}}{{.flow_peers}} (reported flow {{.flows}}){{end}}` +
		`{{else}}{{.from}}{{end}}`
	RouteFromZH = `{{if .from_vpc}}{{.from_vpc}} 中的节点{{else if .from_cluster}}{{.from_cluster}} 其他节点上的 Pod{{else if or .nomasq_peers .flow_peers}}` +
		`{{if .nomasq_peers}}{{.nomasq_peers}}（Pod 访问它时不做 SNAT）{{end}}{{if and .nomasq_peers .flow_peers}}、{{end}}{{if .flow_peers}}{{.flow_peers}}（上报的流量 {{.flows}}）{{end}}` +
		`{{else}}{{.from}}{{end}}`
)

// Cloud / security-group findings (docs/design.md §5). Tencent SG semantics:
// policies in PolicyIndex order, first match wins, several SGs in binding
// order, no match = deny, stateful.
func init() {
	for _, e := range []Entry{
		{ID: "SG_NODEPORT_RANGE_BLOCKED", Severity: Error, Group: "cloud", Guide: "CLB/Ingress 访问不通: 节点安全组放通 30000-32768",
			Texts: map[Lang]Text{EN: {
				Title:   "Node security group blocks the NodePort range",
				Message: `Security group {{.sg}} of node {{.node}} does not allow {{or .proto "TCP"}} {{or .port "30000-32768"}} from {{.source}}{{if .lb}} (load balancer {{.lb}}{{if .owner}}, {{.owner}}{{end}}){{end}}: ` + SGDecisionEN + `.`,
				Remedy:  `Add inbound ACCEPT policies TCP and UDP 30000-32768 from {{or .range .source}} to {{.sg}}{{if .before}}, placed before PolicyIndex {{.before}}{{end}} (the guide opens the whole NodePort range to where the CLB and its clients come from{{if eq .range "0.0.0.0/0"}}: everyone, for a public Service{{end}}).`}}},
		{ID: "SG_POD_CIDR_BLOCKED", Severity: Error, Group: "cloud", Guide: "跨节点 Pod 访问不通: 节点安全组放通容器网段",
			Texts: map[Lang]Text{EN: {
				Title:   "Node security group blocks the pod CIDR",
				Message: `Security group {{.sg}} of node {{.node}} does not allow traffic {{if eq .dir "egress"}}to{{else}}from{{end}} the cluster pod CIDR {{.cidr}}: ` + SGDecisionEN + `.`,
				Remedy:  `Add an {{if eq .dir "egress"}}outbound{{else}}inbound{{end}} ACCEPT policy ALL {{if eq .dir "egress"}}to{{else}}from{{end}} {{.cidr}} to {{.sg}}{{if .before}}, placed before PolicyIndex {{.before}}{{end}}.`}}},
		{ID: "SG_VPC_CIDR_BLOCKED", Severity: Error, Group: "cloud", Guide: "节点与 Pod 互访不通: 节点安全组放通 VPC 网段",
			Texts: map[Lang]Text{EN: {
				Title:   "Node security group blocks the VPC/subnet CIDR",
				Message: `Security group {{.sg}} of node {{.node}} does not allow traffic {{if eq .dir "egress"}}to{{else}}from{{end}} {{.cidr}} (peer {{if eq .peer_kind "node"}}node {{else if eq .peer_kind "peer-vpc"}}VPC{{if .via}} over {{.via}}{{end}}, client {{end}}{{.peer}}): ` + SGDecisionEN + `.`,
				Remedy:  `Add an {{if eq .dir "egress"}}outbound{{else}}inbound{{end}} ACCEPT policy ALL {{if eq .dir "egress"}}to{{else}}from{{end}} {{.cidr}} to {{.sg}}{{if .before}}, placed before PolicyIndex {{.before}}{{end}}.`}}},
		{ID: "SG_MASTER_SUBNET_BLOCKED", Severity: Error, Group: "cloud", Guide: "独立集群开启内网访问后不通: Master 安全组放通子网",
			Texts: map[Lang]Text{EN: {
				Title:   "Master security group blocks the intranet-access subnet",
				Message: `Independent cluster: security group {{.sg}} of master {{.node}} does not allow {{.cidr}} to reach the API server {{if .port}}on {{.port}}{{else}}on any TCP port (the API port is not in the bundle){{end}}: ` + SGDecisionEN + `.`,
				Remedy:  `Add an inbound ACCEPT policy TCP {{or .port "<API server port>"}} from {{.cidr}} to {{.sg}}{{if .before}}, placed before PolicyIndex {{.before}}{{end}}.`}}},
		{ID: "SG_APISERVER_SOURCE_BLOCKED", Severity: Error, Group: "cloud", Guide: "托管集群开启内网/外网访问后不通: 访问来源",
			Texts: map[Lang]Text{EN: {
				Title:   "API server access source does not cover the client",
				Message: `Managed cluster: the {{.endpoint}} API server endpoint allows {{or .allowed "nobody"}}, which does not include {{if .client}}the client {{.client}}{{else}}any client{{end}}.`,
				Remedy:  `Add {{if .client}}{{.client}} (or its subnet){{else}}the clients' addresses{{end}} to the access source of the cluster's {{.endpoint}} endpoint{{if .sg}}, or to security group {{.sg}}{{end}}.`}}},
		{ID: "SG_IDC_CIDR_BLOCKED", Severity: Error, Group: "cloud", Guide: "IDC 访问不通: CVM 安全组放通 IDC 网段",
			Texts: map[Lang]Text{EN: {
				Title:   "Node security group blocks the IDC CIDR",
				Message: `Security group {{.sg}} of node {{.node}} does not allow traffic {{if eq .dir "egress"}}to{{else}}from{{end}} the IDC CIDR {{.cidr}}: ` + SGDecisionEN + `.`,
				Remedy:  `Add an {{if eq .dir "egress"}}outbound{{else}}inbound{{end}} ACCEPT policy ALL {{if eq .dir "egress"}}to{{else}}from{{end}} {{.cidr}} to {{.sg}}{{if .before}}, placed before PolicyIndex {{.before}}{{end}}.`}}},
		{ID: "CLB_SG_BLOCKS_LISTENER", Severity: Error, Group: "cloud", Guide: "CLB/Ingress 访问不通: CLB 安全组放通监听端口",
			Texts: map[Lang]Text{EN: {
				Title:   "CLB security group blocks its listener port",
				Message: `Load balancer {{.lb}}{{if .owner}} ({{.owner}}){{end}} has security group {{.sg}} that does not allow {{.proto}} {{.port}} from {{or .source "0.0.0.0/0"}}: ` + SGDecisionEN + `.`,
				Remedy:  `Add an inbound ACCEPT policy {{.proto}} {{.port}} from {{or .range .source "0.0.0.0/0"}} to {{.sg}}{{if .before}}, placed before PolicyIndex {{.before}}{{end}}{{if eq .owner "svc/default/kubelb-internet"}}, or unbind {{.sg}} from {{.lb}}{{end}}.`}}},
		{ID: "NODE_NO_PUBLIC_BANDWIDTH", Severity: Warning, Group: "cloud", Guide: "公网访问不通: 节点公网带宽",
			Texts: map[Lang]Text{EN: {
				Title:   "Node serving a public Service has no public bandwidth",
				Message: `Node {{.node}} ({{.instance}}) backs public {{.service}} but has InternetMaxBandwidthOut = {{or .bandwidth "0"}}.{{if .account}} The account's network type is {{.account}} (traditional): a public CLB without bandwidth of its own forwards with its real servers' public bandwidth.{{end}}`,
				Remedy:  `Give {{.instance}} public bandwidth, or route the Service through a CLB that does not need it (LoadBalancerPassToTarget / VPC-CNI direct).`}}},
		{ID: "ROUTE_MISSING", Severity: Error, Group: "cloud", Guide: "跨 VPC / IDC 访问不通: 路由",
			Texts: map[Lang]Text{EN: {
				Title:   "No route for the peer CIDR",
				Message: `Route table {{.table}} of {{.vpc}} has no {{if .disabled}}enabled {{end}}route for {{.cidr}} (` + RouteViaEN + `); traffic from ` + RouteFromEN + ` cannot reach it.`,
				Remedy:  `{{if eq .via_kind "node"}}Re-create the cluster route of node {{.via_id}}: ` + "`tccli tke CreateClusterRoute --RouteTableName {{.table}} --DestinationCidrBlock {{.cidr}} --GatewayIp {{.via_id}}`" + ` (TKE keeps one route per node pod CIDR; check that the node was not removed and re-added with another CIDR).{{else if .disabled}}Re-enable route {{.disabled}} for {{.cidr}} (a route is disabled when it overlaps another one: remove the overlap first), so that {{.table}} forwards it via ` + RouteViaEN + `.{{else}}Add a route for {{.cidr}} with next hop ` + RouteViaEN + ` to {{.table}}{{if eq .via_kind "container"}}, and publish it to {{if .ccn}}CCN {{.ccn}}{{else}}the CCN{{end}}{{end}}.{{end}}`}}},
	} {
		Register(e)
	}
}
