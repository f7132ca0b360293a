package finding

// Cloud / security-group findings (design.md §5). Tencent SG semantics:
// policies in PolicyIndex order, first match wins, several SGs in binding
// order, no match = deny, stateful.
func init() {
	for _, e := range []Entry{
		{ID: "SG_NODEPORT_RANGE_BLOCKED", Severity: Error, Group: "cloud", Guide: "CLB/Ingress 访问不通: 节点安全组放通 30000-32768",
			Texts: map[Lang]Text{EN: {
				Title:   "Node security group blocks the NodePort range",
				Message: `Security group {{.sg}} of node {{.node}} does not allow {{or .proto "TCP"}} {{or .port "30000-32768"}} from {{.source}}{{if .lb}} (load balancer {{.lb}}{{if .owner}}, {{.owner}}{{end}}){{end}}: {{.decision}}.`,
				Remedy:  `Add an inbound ACCEPT policy {{or .proto "TCP"}} {{or .port "30000-32768"}} from {{.source}} to {{.sg}}{{if .before}}, placed before PolicyIndex {{.before}}{{end}}.`}}},
		{ID: "SG_POD_CIDR_BLOCKED", Severity: Error, Group: "cloud", Guide: "跨节点 Pod 访问不通: 节点安全组放通容器网段",
			Texts: map[Lang]Text{EN: {
				Title:   "Node security group blocks the pod CIDR",
				Message: `Security group {{.sg}} of node {{.node}} does not allow traffic {{if eq .dir "egress"}}to{{else}}from{{end}} the cluster pod CIDR {{.cidr}}: {{.decision}}.`,
				Remedy:  `Add an {{if eq .dir "egress"}}outbound{{else}}inbound{{end}} ACCEPT policy ALL {{if eq .dir "egress"}}to{{else}}from{{end}} {{.cidr}} to {{.sg}}{{if .before}}, placed before PolicyIndex {{.before}}{{end}}.`}}},
		{ID: "SG_VPC_CIDR_BLOCKED", Severity: Error, Group: "cloud", Guide: "节点与 Pod 互访不通: 节点安全组放通 VPC 网段",
			Texts: map[Lang]Text{EN: {
				Title:   "Node security group blocks the VPC/subnet CIDR",
				Message: `Security group {{.sg}} of node {{.node}} does not allow traffic {{if eq .dir "egress"}}to{{else}}from{{end}} {{.cidr}} (peer {{.peer}}): {{.decision}}.`,
				Remedy:  `Add an {{if eq .dir "egress"}}outbound{{else}}inbound{{end}} ACCEPT policy ALL {{if eq .dir "egress"}}to{{else}}from{{end}} {{.cidr}} to {{.sg}}{{if .before}}, placed before PolicyIndex {{.before}}{{end}}.`}}},
		{ID: "SG_MASTER_SUBNET_BLOCKED", Severity: Error, Group: "cloud", Guide: "独立集群开启内网访问后不通: Master 安全组放通子网",
			Texts: map[Lang]Text{EN: {
				Title:   "Master security group blocks the intranet-access subnet",
				Message: `Independent cluster: security group {{.sg}} of master {{.node}} does not allow {{.cidr}} to reach the API server on {{or .port "443"}}: {{.decision}}.`,
				Remedy:  `Add an inbound ACCEPT policy TCP {{or .port "443"}} from {{.cidr}} to {{.sg}}{{if .before}}, placed before PolicyIndex {{.before}}{{end}}.`}}},
		{ID: "SG_APISERVER_SOURCE_BLOCKED", Severity: Error, Group: "cloud", Guide: "托管集群开启内网/外网访问后不通: 访问来源",
			Texts: map[Lang]Text{EN: {
				Title:   "API server access source does not cover the client",
				Message: `Managed cluster: the {{.endpoint}} API server endpoint allows {{.allowed}}, which does not include the client {{.client}}.`,
				Remedy:  `Add {{.client}} (or its subnet) to the access source of the cluster's {{.endpoint}} endpoint{{if .sg}}, or to security group {{.sg}}{{end}}.`}}},
		{ID: "SG_IDC_CIDR_BLOCKED", Severity: Error, Group: "cloud", Guide: "IDC 访问不通: CVM 安全组放通 IDC 网段",
			Texts: map[Lang]Text{EN: {
				Title:   "Node security group blocks the IDC CIDR",
				Message: `Security group {{.sg}} of node {{.node}} does not allow traffic {{if eq .dir "egress"}}to{{else}}from{{end}} the IDC CIDR {{.cidr}}: {{.decision}}.`,
				Remedy:  `Add an {{if eq .dir "egress"}}outbound{{else}}inbound{{end}} ACCEPT policy ALL {{if eq .dir "egress"}}to{{else}}from{{end}} {{.cidr}} to {{.sg}}{{if .before}}, placed before PolicyIndex {{.before}}{{end}}.`}}},
		{ID: "CLB_SG_BLOCKS_LISTENER", Severity: Error, Group: "cloud", Guide: "CLB/Ingress 访问不通: CLB 安全组放通监听端口",
			Texts: map[Lang]Text{EN: {
				Title:   "CLB security group blocks its listener port",
				Message: `Load balancer {{.lb}}{{if .owner}} ({{.owner}}){{end}} has security group {{.sg}} that does not allow {{.proto}} {{.port}} from {{or .source "0.0.0.0/0"}}: {{.decision}}.`,
				Remedy:  `Add an inbound ACCEPT policy {{.proto}} {{.port}} from {{or .source "0.0.0.0/0"}} to {{.sg}}{{if .before}}, placed before PolicyIndex {{.before}}{{end}}.`}}},
		{ID: "NODE_NO_PUBLIC_BANDWIDTH", Severity: Warning, Group: "cloud", Guide: "公网访问不通: 节点公网带宽",
			Texts: map[Lang]Text{EN: {
				Title:   "Node serving a public Service has no public bandwidth",
				Message: `Node {{.node}} ({{.instance}}) backs public {{.service}} but has InternetMaxBandwidthOut = {{or .bandwidth "0"}}.`,
				Remedy:  `Give {{.instance}} public bandwidth, or route the Service through a CLB that does not need it (LoadBalancerPassToTarget / VPC-CNI direct).`}}},
		{ID: "ROUTE_MISSING", Severity: Error, Group: "cloud", Guide: "跨 VPC / IDC 访问不通: 路由",
			Texts: map[Lang]Text{EN: {
				Title:   "No route for the peer CIDR",
				Message: `Route table {{.table}} of {{.vpc}} has no {{if .disabled}}enabled {{end}}route for {{.cidr}} ({{.via}}); traffic from {{.from}} cannot reach it.`,
				Remedy:  `{{if .disabled}}Re-enable route {{.disabled}} for {{.cidr}} (a route is disabled when it overlaps another one: remove the overlap first), so that {{.table}} forwards it via {{.via}}.{{else}}Add a route for {{.cidr}} with next hop {{.via}} to {{.table}}{{if .ccn}}, and publish it to CCN {{.ccn}}{{end}}.{{end}}`}}},
	} {
		Register(e)
	}
}
