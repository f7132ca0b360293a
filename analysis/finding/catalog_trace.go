package finding

// Findings the flow tracer (analysis/trace) establishes: hop outcomes no
// single check sees, and contradictions between a simulated path and the
// captures. English and Chinese together, as the tracer owns both.
func init() {
	for _, e := range []Entry{
		{ID: "SG_BLOCKS_FLOW", Severity: Error, Group: "trace", Guide: "安全组: 入站/出站规则",
			Texts: map[Lang]Text{
				EN: {Title: "A security group blocks a traced flow",
					Message: `{{.flow}} is dropped by the {{.dir}} rules of {{.node}}: {{.decision}}.`,
					Remedy: `{{if .proto}}{{if .net}}Add an {{if eq .dir "egress"}}outbound{{else}}inbound{{end}} ACCEPT policy {{.proto}}{{if ne .proto "ALL"}} {{.port}}{{end}} {{if eq .dir "egress"}}to{{else}}from{{end}} {{.net}} to {{.sg}}{{if .before}}, placed before PolicyIndex {{.before}}{{end}}` +
						`{{else if eq .peer_class "internet"}}{{.peer}} is a public address: add an {{if eq .dir "egress"}}outbound{{else}}inbound{{end}} ACCEPT policy {{.proto}}{{if ne .proto "ALL"}} {{.port}}{{end}} {{if eq .dir "egress"}}to the servers it must reach{{else}}from the range of the clients that must reach it (0.0.0.0/0 for a public service){{end}} to {{.sg}}{{if .before}}, placed before PolicyIndex {{.before}}{{end}}` +
						`{{else}}No VPC, peering connection, CCN route or gateway of the bundle places {{.peer}}: find the network it is in and add an {{if eq .dir "egress"}}outbound{{else}}inbound{{end}} ACCEPT policy {{.proto}}{{if ne .proto "ALL"}} {{.port}}{{end}} {{if eq .dir "egress"}}to{{else}}from{{end}} that network's CIDR to {{.sg}}{{if .before}}, placed before PolicyIndex {{.before}}{{end}} (with {{.peer}}/32 alone the network's other hosts stay blocked){{end}}` +
						`{{else if .fix}}{{.fix}}{{else}}Allow {{.cidr}} in {{.sg}}{{end}}.`},
				ZH: {Title: "安全组拦截了所追踪的流量",
					Message: `{{.flow}} 被 {{.node}} 的{{if eq .dir "egress"}}出站{{else}}入站{{end}}规则丢弃：{{.decision}}。`,
					Remedy: `{{if .proto}}{{if .net}}在安全组 {{.sg}} 中添加{{if eq .dir "egress"}}出站{{else}}入站{{end}}规则：放通{{if eq .dir "egress"}}目标{{else}}来源{{end}} {{.net}} 的 {{.proto}}{{if ne .proto "ALL"}} {{.port}}{{end}}{{if .before}}，并排在 PolicyIndex {{.before}} 之前{{end}}` +
						`{{else if eq .peer_class "internet"}}{{.peer}} 是公网地址：在安全组 {{.sg}} 中添加{{if eq .dir "egress"}}出站规则，放通需要访问的目标服务器{{else}}入站规则，放通需要访问的客户端网段（公网服务为 0.0.0.0/0）{{end}}的 {{.proto}}{{if ne .proto "ALL"}} {{.port}}{{end}}{{if .before}}，并排在 PolicyIndex {{.before}} 之前{{end}}` +
						`{{else}}采集包中没有任何 VPC、对等连接、云联网路由或网关包含 {{.peer}}：请确认它所在网络的网段，并在安全组 {{.sg}} 中添加{{if eq .dir "egress"}}出站{{else}}入站{{end}}规则放通该网段的 {{.proto}}{{if ne .proto "ALL"}} {{.port}}{{end}}{{if .before}}，并排在 PolicyIndex {{.before}} 之前{{end}}（只放通 {{.peer}}/32 时，该网络中的其他主机仍被拦截）{{end}}` +
						`{{else if .fix}}{{.fix}}{{else}}在安全组 {{.sg}} 中放通 {{.cidr}}{{end}}。`}}},
		{ID: "CLB_NO_LISTENER", Severity: Error, Group: "trace", Guide: "CLB/Ingress 访问不通: 监听器",
			Texts: map[Lang]Text{
				EN: {Title: "The CLB has no listener for the port",
					Message: `CLB {{.clb}} has no {{.proto}} listener on port {{.port}}; clients of {{.service}} get no answer.`,
					Remedy:  `Check the Service/Ingress annotations and the service controller's events for {{.service}}; the listener is created by TKE when the Service port exists.`},
				ZH: {Title: "CLB 没有该端口的监听器",
					Message: `CLB {{.clb}} 在端口 {{.port}} 上没有 {{.proto}} 监听器，{{.service}} 的客户端得不到响应。`,
					Remedy:  `检查 {{.service}} 的 Service/Ingress 注解和 service-controller 事件；Service 端口存在时 TKE 会创建对应监听器。`}}},
		{ID: "CLB_NO_BACKENDS", Severity: Error, Group: "trace", Guide: "CLB/Ingress 访问不通: 后端",
			Texts: map[Lang]Text{
				EN: {Title: "The CLB listener has no real server",
					Message: `Listener {{.listener}} of CLB {{.clb}} forwards to no real server.`,
					Remedy:  `Check that {{.service}} has ready endpoints and nodes, and the service controller's events; TKE binds node NodePorts (or pod ENIs) as real servers.`},
				ZH: {Title: "CLB 监听器没有后端服务器",
					Message: `CLB {{.clb}} 的监听器 {{.listener}} 没有任何后端服务器。`,
					Remedy:  `检查 {{.service}} 是否有就绪的 endpoints 和节点，以及 service-controller 事件；TKE 会把节点 NodePort（或 Pod 弹性网卡）绑定为后端。`}}},
		{ID: "SVC_NO_LOCAL_ENDPOINTS", Severity: Warning, Group: "trace", Guide: "Service 访问不通: externalTrafficPolicy",
			Texts: map[Lang]Text{
				EN: {Title: "External traffic reaches a node without a local endpoint",
					Message: `{{.service}} has externalTrafficPolicy Local and node {{.node}} runs none of its endpoints: kube-proxy drops {{.flow}} there.`,
					Remedy:  `Send external traffic only to nodes with endpoints (the CLB health check does so for NodePort targets), or set externalTrafficPolicy: Cluster if the client source IP need not be kept.`},
				ZH: {Title: "外部流量到达了没有本地后端的节点",
					Message: `{{.service}} 设置了 externalTrafficPolicy Local，节点 {{.node}} 上没有它的后端 Pod，kube-proxy 在该节点丢弃 {{.flow}}。`,
					Remedy:  `只把外部流量发往有后端的节点（CLB 健康检查会剔除无后端的 NodePort 节点），或在无需保留客户端源 IP 时改为 externalTrafficPolicy: Cluster。`}}},
		{ID: "PORT_NOT_LISTENING", Severity: Error, Group: "trace", Guide: "端口是否监听",
			Texts: map[Lang]Text{
				EN: {Title: "Nothing listens on the destination port",
					Message: `On node {{.node}} no socket listens on {{.proto}} port {{.port}}; the kernel answers {{.flow}} with a reset (connection refused).`,
					Remedy:  `Start the server on {{.node}} or fix the port the client uses.`},
				ZH: {Title: "目的端口没有进程监听",
					Message: `节点 {{.node}} 上没有套接字监听 {{.proto}} 端口 {{.port}}，内核对 {{.flow}} 回复 RST（连接被拒绝）。`,
					Remedy:  `在节点 {{.node}} 上启动服务，或修正客户端使用的端口。`}}},
		{ID: "TRACE_CAPTURE_CONTRADICTS", Severity: Warning, Group: "trace", Guide: "抓包与规则不一致",
			Texts: map[Lang]Text{
				EN: {Title: "Captures contradict the simulated path",
					Message: `{{if eq .verdict "UNDETERMINED"}}The captures prove {{.seen}}, while the bundle could not decide {{.flow}}{{if .undecided}} (no data for {{.undecided}}){{end}} and every hop it could decide passes it. The drop is in an undecided hop or outside the bundle: {{.candidates}}.{{else}}The bundle's rules say {{.flow}} is {{.verdict}}, but {{.seen}}. Something outside the bundle drops or changes it: {{.candidates}}.{{end}}`,
					Remedy:  `Capture on both ends at the same time and check {{.candidates}}.`},
				ZH: {Title: "抓包结果与模拟路径不一致",
					Message: `{{if eq .verdict "UNDETERMINED"}}抓包证明：{{.seen}}；而采集数据不足以判定 {{.flow}}{{if .undecided}}（缺少 {{.undecided}} 的数据）{{end}}，能判定的各跳都放行。丢包发生在未能判定的环节或采集范围之外：{{.candidates}}。{{else}}根据采集的规则，{{.flow}} 应为 {{.verdict}}，但抓包显示：{{.seen}}。可能是采集范围之外的环节丢弃或改写了报文：{{.candidates}}。{{end}}`,
					Remedy:  `在两端同时抓包，并逐一排查：{{.candidates}}。`}}},
		{ID: "TRACE_SYMPTOM_MISMATCH", Severity: Info, Group: "trace", Guide: "现象与分析结果不一致",
			Texts: map[Lang]Text{
				EN: {Title: "The reported symptom differs from the simulated one",
					Message: `{{.flow}} was reported as {{.reported}}, but the bundle explains {{.simulated}} ({{.verdict}}, {{.reason}}).`,
					Remedy:  `Check that the bundle was collected while the problem happened and that the flow is named right (source, destination, port, protocol).`},
				ZH: {Title: "客户反馈的现象与模拟结果不一致",
					Message: `{{.flow}} 反馈的现象是 {{.reported}}，但根据采集数据应为 {{.simulated}}（{{.verdict}}，{{.reason}}）。`,
					Remedy:  `确认采集时问题正在发生，并确认流量描述（源、目的、端口、协议）正确。`}}},
		// Trace outcomes no check reports: every reason that fails a
		// reported flow has an entry, so a failing reported flow is never
		// an exit-0 report. Arguments are the trace's own: flow, at
		// (where it fails), component, verdict.
		{ID: "SVC_PORT_NOT_FOUND", Severity: Error, Group: "trace", Guide: "Service 访问不通: 端口",
			Texts: map[Lang]Text{
				EN: {Title: "The Service has no such port",
					Message: `{{.flow}} names a port the Service {{.at}} does not declare: no rule of kube-proxy forwards it, so the connection is {{.verdict}}.`,
					Remedy:  `Use a port {{.at}} declares (kubectl get svc -o yaml), or add the port to the Service's spec.ports.`},
				ZH: {Title: "Service 没有该端口",
					Message: `{{.flow}} 使用的端口不是 Service {{.at}} 声明的端口，kube-proxy 没有转发规则，连接结果为 {{.verdict}}。`,
					Remedy:  `使用 {{.at}} 声明的端口（kubectl get svc -o yaml），或在 Service 的 spec.ports 中添加该端口。`}}},
		{ID: "CLUSTERIP_FROM_OUTSIDE", Severity: Error, Group: "trace", Guide: "Service 访问不通: 访问方式",
			Texts: map[Lang]Text{
				EN: {Title: "A ClusterIP is reached from outside the cluster",
					Message: `{{.flow}} comes from outside the cluster, but {{.at}} is reachable only on its ClusterIP, which exists only in the nodes' kube-proxy rules: the VPC does not route the Service CIDR.`,
					Remedy:  `Expose {{.at}} as type LoadBalancer (a CLB, public or intranet) or NodePort, or reach it from a pod or node of the cluster.`},
				ZH: {Title: "从集群外访问了 ClusterIP",
					Message: `{{.flow}} 来自集群外，但 {{.at}} 只有 ClusterIP，而 ClusterIP 只存在于节点的 kube-proxy 规则中，VPC 不会路由 Service 网段。`,
					Remedy:  `将 {{.at}} 改为 LoadBalancer 类型（公网或内网 CLB）或 NodePort，或从集群内的 Pod/节点访问。`}}},
		{ID: "ROUTING_LOOP", Severity: Error, Group: "trace", Guide: "节点间访问: 路由",
			Texts: map[Lang]Text{
				EN: {Title: "The flow loops between nodes",
					Message: `{{.flow}} passes more than four node hops and is still not delivered when it reaches {{.at}}: the collected routes send it in a loop.`,
					Remedy:  `Compare the routes of the nodes on the path (ip route show table all) and the VPC/cluster route tables for {{.flow}}; remove the route that points back.`},
				ZH: {Title: "流量在节点间形成路由环路",
					Message: `{{.flow}} 经过了四个以上的节点跳，到达 {{.at}} 时仍未送达：采集到的路由使其形成环路。`,
					Remedy:  `对比路径上各节点的路由（ip route show table all）以及 VPC/集群路由表中 {{.flow}} 的路由，删除指回的那一条。`}}},
		{ID: "UNKNOWN_ENDPOINT", Severity: Warning, Group: "trace", Guide: "现象与分析结果不一致",
			Texts: map[Lang]Text{
				EN: {Title: "A reported flow names an endpoint the bundle does not hold",
					Message: `{{.flow}} names an object the bundle does not hold, so the flow cannot be traced.`,
					Remedy:  `Name the flow's source and destination as the cluster names them (pod:ns/name, svc:ns/name:port, node:name, ip:addr), or collect the namespace that holds them.`},
				ZH: {Title: "反馈的链路引用了采集包中不存在的对象",
					Message: `{{.flow}} 引用了采集包中不存在的对象，无法追踪该链路。`,
					Remedy:  `按集群中的名称填写链路的源和目的（pod:ns/name、svc:ns/name:port、node:name、ip:addr），或采集包含它们的命名空间。`}}},
		{ID: "TRACE_FLOW_FAILS", Severity: Error, Group: "trace", Guide: "链路追踪",
			Texts: map[Lang]Text{
				EN: {Title: "A reported flow fails at a traced hop",
					Message: `{{.flow}} is {{.verdict}} at {{.at}} ({{.component}}); reason {{.reason}}, which no check of the bundle reports on its own.`,
					Remedy:  `Follow the failing hop at {{.at}} in the trace below: it cites the rule, object or route that stops the flow.`},
				ZH: {Title: "反馈的链路在追踪的某一跳失败",
					Message: `{{.flow}} 在 {{.at}}（{{.component}}）处 {{.verdict}}，原因 {{.reason}}，但没有单独的检查项报告该问题。`,
					Remedy:  `查看下方链路追踪中 {{.at}} 这一跳：其中列出了阻断该链路的规则、对象或路由。`}}},
	} {
		Register(e)
	}
}
