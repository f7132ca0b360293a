package finding

// Chinese texts of every catalog ID, in the words of the TKE guide
// "网络无法访问" (安全组、放通、容器网段、VPC 网段、专线网关、云联网、托管集群、
// 独立集群). Templates use only the arguments of the English template of
// the same ID (catalog_zh_test.go checks it), so a check never needs to
// know the reader's language. Commands, rules and object names go in
// `backticks`: Markdown keeps them as code spans, HTML as <code>.
func init() {
	for id, t := range map[string]Text{
		// 云上资源 / 安全组
		"SG_NODEPORT_RANGE_BLOCKED": {
			Title:   "节点安全组未放通 NodePort 端口段",
			Message: `节点 {{.node}} 绑定的安全组 {{.sg}} 未放通来自 {{.source}} 的 {{or .proto "TCP"}} {{or .port "30000-32768"}}{{if .lb}}（负载均衡 {{.lb}}{{if .owner}}，{{.owner}}{{end}}）{{end}}：` + SGDecisionZH + `。`,
			Remedy:  `在安全组 {{.sg}} 中添加入站规则：放通来自 {{or .range .source}} 的 TCP 和 UDP 30000-32768{{if .before}}，并排在 PolicyIndex {{.before}} 之前{{end}}（按指引向 CLB 及其客户端的来源放通整个 NodePort 端口段{{if eq .range "0.0.0.0/0"}}；公网 Service 即所有来源{{end}}）。`},
		"SG_POD_CIDR_BLOCKED": {
			Title:   "节点安全组未放通容器网段",
			Message: `节点 {{.node}} 绑定的安全组 {{.sg}} 未放通{{if eq .dir "egress"}}到{{else}}来自{{end}}集群容器网段 {{.cidr}} 的流量：` + SGDecisionZH + `。`,
			Remedy:  `在安全组 {{.sg}} 中添加{{if eq .dir "egress"}}出站规则：放通目的{{else}}入站规则：放通来源{{end}} {{.cidr}} 的全部协议端口（ALL）{{if .before}}，并排在 PolicyIndex {{.before}} 之前{{end}}。`},
		"SG_VPC_CIDR_BLOCKED": {
			Title:   "节点安全组未放通 VPC 网段",
			Message: `节点 {{.node}} 绑定的安全组 {{.sg}} 未放通{{if eq .dir "egress"}}到{{else}}来自{{end}} {{.cidr}}（对端{{if eq .peer_kind "node"}}节点{{else if eq .peer_kind "peer-vpc"}} VPC{{if .via}}（经 {{.via}}）{{end}}，客户端{{end}} {{.peer}}）的流量：` + SGDecisionZH + `。`,
			Remedy:  `在安全组 {{.sg}} 中添加{{if eq .dir "egress"}}出站规则：放通目的{{else}}入站规则：放通来源{{end}} {{.cidr}} 的全部协议端口（ALL）{{if .before}}，并排在 PolicyIndex {{.before}} 之前{{end}}。`},
		"SG_MASTER_SUBNET_BLOCKED": {
			Title:   "独立集群 Master 安全组未放通内网访问子网",
			Message: `独立集群：Master {{.node}} 绑定的安全组 {{.sg}} 未放通 {{.cidr}} 访问 API Server 的{{if .port}} {{.port}} 端口{{else}}任何 TCP 端口（采集包中没有 API 端口）{{end}}：` + SGDecisionZH + `。`,
			Remedy:  `在安全组 {{.sg}} 中添加入站规则：放通来源 {{.cidr}} 的 TCP {{or .port "<API Server 端口>"}}{{if .before}}，并排在 PolicyIndex {{.before}} 之前{{end}}。`},
		"SG_APISERVER_SOURCE_BLOCKED": {
			Title:   "托管集群 API Server 访问来源未包含客户端",
			Message: `托管集群：{{if eq .endpoint "public"}}外网 {{else if eq .endpoint "intranet"}}内网 {{else}}{{.endpoint}} {{end}}API Server 访问地址只允许 {{or .allowed "（无）"}}，不包含{{if .client}}客户端 {{.client}}{{else}}任何客户端{{end}}。`,
			Remedy:  `把{{if .client}} {{.client}}（或其所在子网）{{else}}客户端地址{{end}}加入集群{{if eq .endpoint "public"}}外网{{else if eq .endpoint "intranet"}}内网{{else}} {{.endpoint}} {{end}}访问地址的访问来源{{if .sg}}，或在安全组 {{.sg}} 中放通它{{end}}。`},
		"SG_IDC_CIDR_BLOCKED": {
			Title:   "节点安全组未放通 IDC 网段",
			Message: `节点 {{.node}} 绑定的安全组 {{.sg}} 未放通{{if eq .dir "egress"}}到{{else}}来自{{end}} IDC 网段 {{.cidr}} 的流量：` + SGDecisionZH + `。`,
			Remedy:  `在安全组 {{.sg}} 中添加{{if eq .dir "egress"}}出站规则：放通目的{{else}}入站规则：放通来源{{end}} {{.cidr}} 的全部协议端口（ALL）{{if .before}}，并排在 PolicyIndex {{.before}} 之前{{end}}。`},
		"CLB_SG_BLOCKS_LISTENER": {
			Title:   "CLB 安全组未放通监听端口",
			Message: `负载均衡 {{.lb}}{{if .owner}}（{{.owner}}）{{else}} {{end}}绑定的安全组 {{.sg}} 未放通来自 {{or .source "0.0.0.0/0"}} 的 {{.proto}} {{.port}}：` + SGDecisionZH + `。`,
			Remedy:  `在安全组 {{.sg}} 中添加入站规则：放通来自 {{or .range .source "0.0.0.0/0"}} 的 {{.proto}} {{.port}}{{if .before}}，并排在 PolicyIndex {{.before}} 之前{{end}}{{if eq .owner "svc/default/kubelb-internet"}}，或将 {{.sg}} 从 {{.lb}} 解绑{{end}}。`},
		"NODE_NO_PUBLIC_BANDWIDTH": {
			Title:   "承载公网 Service 的节点没有公网带宽",
			Message: `节点 {{.node}}（{{.instance}}）承载公网 {{.service}}，但其 InternetMaxBandwidthOut = {{or .bandwidth "0"}}。{{if .account}}账户网络类型为 {{.account}}（传统账户类型）：没有自身带宽的公网 CLB 使用后端云服务器的公网带宽转发。{{end}}`,
			Remedy:  `为 {{.instance}} 开通公网带宽，或让该 Service 通过不依赖节点公网带宽的 CLB 访问（LoadBalancerPassToTarget / VPC-CNI 直连）。`},
		"ROUTE_MISSING": {
			Title:   "缺少到对端网段的路由",
			Message: `{{.vpc}} 的路由表 {{.table}} 中没有到 {{.cidr}} 的{{if .disabled}}已启用的{{end}}路由（` + RouteViaZH + `），来自 ` + RouteFromZH + ` 的流量无法到达。`,
			Remedy:  `{{if eq .via_kind "node"}}重新创建节点 {{.via_id}} 的集群路由：` + "`tccli tke CreateClusterRoute --RouteTableName {{.table}} --DestinationCidrBlock {{.cidr}} --GatewayIp {{.via_id}}`" + `（TKE 为每个节点的容器网段维护一条路由；请确认该节点没有被移出后以其他网段重新加入）。{{else if .disabled}}重新启用到 {{.cidr}} 的路由 {{.disabled}}（路由与其他路由重叠时会被禁用，请先消除重叠），使路由表 {{.table}} 经 ` + RouteViaZH + ` 转发。{{else}}在路由表 {{.table}} 中添加目的端 {{.cidr}}、下一跳 ` + RouteViaZH + ` 的路由{{if eq .via_kind "container"}}，并将其发布到云联网{{if .ccn}} {{.ccn}}{{end}}{{end}}。{{end}}`},
		"MASQ_HIDES_SOURCE": {
			Title:   "流量被 SNAT 成节点 IP（网段不在 NonMasqueradeCIDRs 中）",
			Message: `Pod 访问 {{.cidr}} 的流量离开节点 {{.node}} 时被 SNAT 为节点 IP，因为 {{.cidr}} 不在 ip-masq-agent 的 NonMasqueradeCIDRs（{{.nonmasq}}）中。`,
			Remedy:  `在 ConfigMap ` + "`kube-system/ip-masq-agent-config`" + ` 的 NonMasqueradeCIDRs 中加入 {{.cidr}}。`},

		// Kubernetes 对象
		"SVC_NO_ENDPOINTS": {
			Title:   "Service 没有就绪的 Endpoints",
			Message: `Service {{.service}} 没有就绪的 Endpoints{{if .notready}}（{{.notready}} 个未就绪）{{end}}。`,
			Remedy:  `让 {{.service}} 选中的 Pod 进入就绪状态（检查 readinessProbe 和 Pod 状态），或修正其标签选择器。`},
		"SVC_SELECTOR_MATCHES_NO_POD": {
			Title:   "Service 的标签选择器选不中任何 Pod",
			Message: `Service {{.service}} 的标签选择器 {{.selector}} 在命名空间 {{.namespace}} 中选不中任何 Pod。`,
			Remedy:  `修正 {{.service}} 的标签选择器，或给应被选中的 Pod 打上对应的标签。`},
		"SVC_TARGET_PORT_MISMATCH": {
			Title: "Service 的 targetPort 不是 Pod 提供服务的端口",
			Message: `Service {{.service}} 的端口 {{.port}} 指向 {{.targetPort}}，但 Pod {{.pod}} ` +
				`{{if eq .problem "noname"}}没有名为“{{.targetPort}}”的 {{.proto}} 容器端口（声明的是 {{.declared}}），因此永远不会成为该端口的后端` +
				`{{else if eq .problem "hostnet"}}使用主机网络，而节点 {{.node}} 上没有进程监听 {{.targetPort}}/{{.proto}}（ss.txt）` +
				`{{else if eq .problem "undeclared"}}声明的容器端口是 {{.declared}}，没有 {{.targetPort}}/{{.proto}}{{else}}{{.why}}{{end}}。`,
			Remedy: `把 {{.service}} 端口 {{.port}} 的 targetPort 改为容器实际监听的端口{{if .suggest}}（{{.suggest}}）{{end}}。`},
		"DNS_SERVICE_UNHEALTHY": {
			Title: "集群 DNS Service 不可用",
			Message: `{{if .client}}{{if eq .resolver "none"}}Pod {{.client}} 的 dnsPolicy 为 None，nameservers 为 [{{.nameservers}}]，不是 DNS Service {{.service}} 的 ClusterIP，因此无法解析 {{.name}}。` +
				`{{else if eq .resolver "default"}}Pod {{.client}} 的 dnsPolicy 为 Default：它使用节点的 resolv.conf{{if .nameservers}}（nameserver {{.nameservers}}）{{end}}，无法解析 {{.name}} 这类集群内域名。` +
				`{{else}}Pod {{.client}} 使用主机网络且 dnsPolicy 为 ClusterFirst，kubelet 会按 Default 处理（使用节点的 resolv.conf{{if .nameservers}}，nameserver {{.nameservers}}{{end}}），因此无法解析 {{.name}}。{{end}}` +
				`{{else if .missing}}kube-system 中没有 kube-dns（或 coredns）Service。` +
				`{{else}}DNS Service {{.service}} 不可用。` +
				`{{if .noclusterip}}它没有 ClusterIP，而 Pod 的 resolv.conf 指向 ClusterIP。{{end}}` +
				`{{if .noports}}它没有 {{.noports}} 端口{{if .notcp}}（超过 512 字节的截断应答会改用 TCP 重试并失败）{{end}}。{{end}}` +
				`{{if .selector}}它的标签选择器 {{.selector}} 选不中任何 Pod（CoreDNS 没有运行）。{{end}}` +
				`{{if .unready}}{{.unready}} 没有就绪的后端{{if .notready}}（{{.notready}} 个未就绪）{{end}}{{if .pod}}；Pod {{.pod}}：{{if .pod_container}}容器 {{.pod_container}} {{or .pod_state "未就绪"}}{{else if .pod_phase}}处于 {{.pod_phase}} 阶段{{else}}未就绪{{end}}{{if .pod_probe}}（{{.pod_probe}}）{{end}}{{end}}。{{end}}` +
				`{{if .corefile}}ConfigMap {{.corefile}} 的 Corefile 中没有 kubernetes 插件，Service 域名无法解析。{{end}}` +
				`{{if .loopnode}}节点 {{.loopnode}} 的 resolv.conf 指向 DNS Service 自身的 ClusterIP {{.loopip}}，而 Corefile 转发到 /etc/resolv.conf：该节点上的 CoreDNS 会转发给自己（转发环路）。{{end}}{{end}}`,
			Remedy: `{{if .client}}{{if eq .resolver "hostnet"}}为 {{.client}} 设置 dnsPolicy ClusterFirstWithHostNet。{{else}}为 {{.client}} 设置 dnsPolicy ClusterFirst{{if eq .resolver "none"}}，或在其 dnsConfig.nameservers 中加入 {{.service}} 的 ClusterIP{{end}}。{{end}}` +
				`{{else}}{{if .missing}}在 kube-system 中创建选中 CoreDNS Pod 的 kube-dns Service。{{else}}让 CoreDNS/kube-dns Pod 进入就绪状态，并确保 {{.service}} 暴露 UDP 和 TCP 的 53 端口。{{end}}` +
				`{{if .corefile}}在 {{.corefile}} 的 Corefile 中恢复 kubernetes 插件。{{end}}` +
				`{{if .loopnode}}把节点 {{.loopnode}} 的 resolv.conf 改为 VPC 的 DNS 服务器，或让 Corefile 直接转发到这些服务器而不是 /etc/resolv.conf。{{end}}{{end}}`},
		"INGRESS_NO_MATCHING_RULE": {
			Title:   "请求没有匹配任何 Ingress 规则（404）",
			Message: `域名 {{.host}} 路径 {{.path}} 没有匹配 {{.ingress}} 的任何规则{{if .rules}}（现有规则：{{.rules}}）{{end}}。`,
			Remedy:  `在 {{.ingress}} 中添加域名 {{.host}}、路径 {{.path}} 的规则，或修正请求的 Host 头/路径。`},
		"INGRESS_BACKEND_MISSING": {
			Title: "Ingress 后端 Service 或端口不存在",
			Message: `{{.ingress}} 把 {{.rule}} 转发到 {{.backend}}，但` +
				`{{if eq .problem "noservice"}}命名空间 {{.namespace}} 中不存在该 Service{{else if eq .problem "noport"}}该 Service 没有端口 {{.port}}（现有端口：{{.ports}}）` +
				`{{else if eq .problem "clusterip"}}该 Service 是 ClusterIP 类型，而 qcloud CLB Ingress 转发到 NodePort{{else}}它{{.why}}{{end}}。`,
			Remedy: `{{if eq .problem "clusterip"}}把 {{.backend}} 改为 NodePort 类型，或添加注解 ingress.cloud.tencent.com/direct-access: "true" 开启直连 Pod。` +
				`{{else}}创建 {{.backend}}，或让 Ingress 规则指向已存在的 Service 和端口。{{end}}`},
		"NETPOL_DENIES_FLOW": {
			Title:   "NetworkPolicy 拒绝了该流量",
			Message: `{{.direction}} 方向的流量 {{.flow}} 被拒绝：{{.pod}} 受 {{.policies}} 隔离，且没有规则允许它。`,
			Remedy:  `在 {{.policies}} 之一中添加允许 {{.flow}} 的规则。`},

		// 节点数据面
		"KUBE_PROXY_RULES_MISSING": {
			Title:   "节点上缺少 kube-proxy 转发规则",
			Message: `节点 {{.node}} 上没有 {{.service}}{{if .endpoint}} 后端 {{.endpoint}}{{end}} 的 {{.mode}} 规则{{if .what}}（{{.what}}）{{end}}。`,
			Remedy:  `检查节点 {{.node}} 上的 kube-proxy（日志、同步报错），重启它以重新下发 {{.service}} 的规则。`},
		"KUBE_PROXY_RULES_STALE": {
			Title:   "kube-proxy 规则仍指向已不存在的后端",
			Message: `节点 {{.node}} 仍把 {{.service}} 转发到 {{.endpoint}}，而它已不是该 Service 的后端。`,
			Remedy:  `检查节点 {{.node}} 上的 kube-proxy：它已停止同步规则，请重启。`},
		"IPTABLES_DROPS_FLOW": {
			Title:   "iptables 规则丢弃了该流量",
			Message: `在节点 {{.node}} 上，{{.flow}} 被 {{if .policy}}{{.table}}/{{.chain}} 链的默认策略 {{.policy}}（第 {{.line}} 行）{{else}}{{.table}}/{{.chain}} 第 {{.rule}} 条规则（第 {{.line}} 行）{{end}}{{if or (eq .verdict "REJECT") (eq .verdict "rejected")}}拒绝（REJECT）{{else}}丢弃（DROP）{{end}}{{if .policy}}：链中没有规则放行它{{else}}：` + "`{{.text}}`" + `{{end}}。`,
			Remedy: `{{if and .policy (eq .table "filter") (eq .chain "FORWARD")}}在节点 {{.node}} 的 filter/FORWARD 中放行容器流量，使其不落到默认策略：` + "`iptables -A FORWARD -s POD_CIDR -j ACCEPT`" + ` 和 ` + "`iptables -A FORWARD -d POD_CIDR -j ACCEPT`" + `（POD_CIDR 为集群容器网段）。FORWARD 默认策略 DROP 通常由 Docker 的 iptables 集成设置：可将 dockerd 配置为 "iptables": false 并执行 ` + "`iptables -P FORWARD ACCEPT`" + `，或由 CNI 添加放行规则。` +
				`{{else if .policy}}在节点 {{.node}} 的 {{.table}}/{{.chain}} 中为 {{.flow}} 添加 ACCEPT 规则，或把该链的默认策略改为 ACCEPT。` +
				`{{else}}在节点 {{.node}} 上删除或收窄这条规则，或在它之前为 {{.flow}} 添加一条 ACCEPT 规则。{{end}}`},
		"IPTABLES_BACKEND_SPLIT": {
			Title: "iptables-legacy 和 iptables-nft 两套后端同时有规则",
			Message: `节点 {{.node}} 上 iptables-legacy（{{or .legacy "0"}} 条规则）和 iptables-nft（{{or .nft "0"}} 条规则）同时存在规则，内核会两套都执行。` +
				`{{if eq .manip "snat"}}{{.stale}} 把 {{.flow}} 的源地址改为 {{.source}}（{{.file}}{{if .line}} 第 {{.line}} 行{{end}}），而 {{.current}} ` +
				`{{if .current_src}}把它改为 {{.current_src}}：两个 nat POSTROUTING 链都在优先级 100 为新连接做绑定，由后注册钩子的那套生效，而规则导出中看不出是哪一套` +
				`{{else}}保留 Pod 源地址{{if .nonmasq}}（{{.nonmasq}} 在 ip-masq-agent 的 NonMasqueradeCIDRs 中）{{end}}：不做源地址转换的 nat 表会把连接交给同一钩子的下一个 nat 表，因此无论顺序如何都由 {{.stale}} 决定{{end}}；` +
				`{{.peer}} 看到的源地址是 {{.source}} 而不是 Pod 地址。` +
				`{{else if .stale}}{{.stale}} 仍把 {{.service}} 转发到 {{.endpoint}}，而它已不是该 Service 的后端（{{.file}}{{if .line}} 第 {{.line}} 行{{end}}）{{if .current}}，同时 {{.current}} 把它转发到 {{.current_dst}}：两个 nat 表都在优先级 -100 为新连接做绑定，由后注册钩子的那套生效，而规则导出中看不出是哪一套{{end}}；被它绑定到 {{.endpoint}} 的连接会失败（{{.flow}}）。{{end}}`,
			Remedy: `{{if and (eq .manip "snat") .spec}}在节点 {{.node}} 上删除 {{.stale}} 中残留的源地址转换规则：` + "`{{.stale}} -t {{.table}} -D {{.spec}}`" + `（{{.file}} 第 {{.line}} 行）；之后源地址只由 {{.current}} 决定。请停止仍在写 {{.stale}} 的组件（旧版 ip-masq-agent 或 kube-proxy 镜像、脚本），否则规则会再次出现。` +
				`{{else if and .stale .spec}}在节点 {{.node}} 上删除 {{.stale}} 中的残留规则：` + "`{{.stale}} -t {{.table}} -D {{.spec}}`" + ` 可把 {{.service}} 从中移除；{{.stale}} 中 kube-proxy 的其余 KUBE-* 链也已过期（{{.stale}}-save -t nat 可列出），请同样删除，并停止仍在写 {{.stale}} 的组件（旧版 kube-proxy 镜像或脚本）。` +
				`{{else if .stale}}在节点 {{.node}} 上删除 {{.stale}} 中 {{.service}} 的残留规则（{{.stale}}-save -t nat 可列出），并停止仍在写 {{.stale}} 的组件（旧版 kube-proxy 镜像或脚本）。` +
				`{{else}}让节点 {{.node}} 上的所有组件（kube-proxy 和 CNI）使用同一种 iptables 后端，再清空另一套规则。{{end}}`},
		"IP_FORWARD_DISABLED": {
			Title:   "节点未开启 IP 转发",
			Message: `节点 {{.node}} 上 {{.key}} = {{.value}}，不会转发 Pod 流量。`,
			Remedy:  `在节点 {{.node}} 上执行 ` + "`sysctl -w {{.key}}={{or .want \"1\"}}`" + `，并写入 /etc/sysctl.d 持久化。`},
		"NODE_ROUTE_MISSING": {
			Title:   "节点没有到对端节点容器网段的路由",
			Message: `节点 {{.node}} 上没有到 {{.cidr}}（{{.peer}} 的容器网段）的路由{{if .via}}，会走 ` + "`{{.via}}`" + `{{end}}。`,
			Remedy:  `在节点 {{.node}} 上恢复经 {{.peer}} 到 {{.cidr}} 的路由（GlobalRouter 模式检查集群路由表；VPC-CNI 模式检查弹性网卡）。`},
		"CONNTRACK_TABLE_FULL": {
			Title:   "conntrack 表已满或在丢包",
			Message: `节点 {{.node}}：{{.why}}。`,
			Remedy:  `调大节点 {{.node}} 的 net.netfilter.nf_conntrack_max，或减少短连接。`},

		// 抓包
		"PCAP_SYN_UNANSWERED": {
			Title:   "SYN 重传但没有响应",
			Message: `{{if .conns}}{{.conns}} 个连接 {{end}}{{.flow}}：在 {{.capture}} 中有 {{.count}} 个 SYN 没有响应（{{if .gaps}}重传间隔 {{.gaps}}{{else if .conns}}每个连接只有一个 SYN{{else}}只有一个 SYN{{end}}）。`,
			Remedy:  `SYN 在途中被丢弃：检查 {{.src}} 到 {{.dst}} 之间的安全组、路由和 iptables。`},
		"PCAP_CONNECTION_REFUSED": {
			Title:   "连接被拒绝",
			Message: `在 {{.capture}} 中{{if .conns}} {{.conns}} 个连接{{end}} {{.flow}} 被拒绝（{{if eq .how "rst"}}{{.by}} 以 RST 回应 SYN，第 {{.packet}} 个包{{else if eq .how "icmp-port-unreachable"}}{{.by}} 返回 ICMP 端口不可达，{{.times}} 次{{else}}{{.how}}{{end}}）。`,
			Remedy:  `{{.dst}} 上没有进程监听，或有 REJECT 规则应答：检查 Service 的 Endpoints 和 targetPort。`},
		"PCAP_ICMP_UNREACHABLE": {
			Title:   "ICMP 目的不可达",
			Message: `在 {{.capture}} 中，{{.from}} 对 {{.flow}} 回复了 ICMP 差错报文“{{.what}}”。`,
			Remedy:  `检查 {{.from}} 上到 {{.dst}} 的路由和防火墙规则。`},
		"PCAP_DNS_NO_RESPONSE": {
			Title:   "DNS 查询没有响应",
			Message: `在 {{.capture}} 中，发往 {{.server}} 的 {{.count}} 个 {{.name}} 查询都没有响应。`,
			Remedy:  `检查 DNS Service {{.server}} 是否有就绪的 Endpoints，以及 UDP/TCP 53 端口是否放通。`},
		"PCAP_DNS_ERROR": {
			Title:   "DNS 返回错误",
			Message: `在 {{.capture}} 中，{{.server}} 对 {{.name}} 返回了 {{.rcode}}。`,
			Remedy:  `检查域名本身（搜索域、命名空间）以及 CoreDNS 的上游配置。`},
		"PCAP_HTTP_ERROR": {
			Title:   "HTTP 返回错误",
			Message: `在 {{.capture}} 中，{{.method}} {{.host}}{{.uri}} 收到 {{.count}} 个 HTTP {{.status}} 响应。`,
			Remedy:  `{{if eq .status "404"}}检查 Ingress 中该域名和路径的规则。{{else if eq .status "504"}}后端没有及时响应：检查 CLB 到 NodePort 以及到 Pod 的连通性。{{else}}检查为 {{.host}}{{.uri}} 提供服务的后端。{{end}}`},
		"PCAP_ONE_WAY_TRAFFIC": {
			Title:   "只看到单向流量",
			Message: `{{.flow}}：在 {{.capture}} 中有 {{.count}} 个来自 {{.src}} 的包，没有任何回包。`,
			Remedy:  `回包丢失或走了其他路径：检查 {{.src}} 的路由和 SNAT。`},
		"PCAP_SOURCE_NATTED": {
			Title:   "对端看到的是节点 IP 而不是 Pod IP",
			Message: `{{.flow}} 发出时源地址为 {{.original}}{{if .original_at}}（{{.original_at}}）{{end}}，到达时变为 {{.natted}}{{if .natted_at}}（{{.natted_at}}）{{end}}（{{.capture}}）。`,
			Remedy:  `如果对端需要看到 Pod IP，请把目的网段加入 ip-masq-agent 的 NonMasqueradeCIDRs。`},
		"PCAP_LOST_BETWEEN_CAPTURES": {
			Title:   "包在一个抓包点出现后没有到达下一个抓包点",
			Message: `{{.flow}} 最后出现在 {{.from}}（{{.at}}，第 {{.packet}} 个包），没有到达 {{.to}}。`,
			Remedy:  `包在 {{.from}} 和 {{.to}} 之间被丢弃：检查两者之间的安全组、路由和 iptables（跨 VPC 时还要检查 VPC 路由表和云联网）。`},
		"PCAP_TRUNCATED": {
			Title:   "抓包不完整或内核丢包",
			Message: `{{.capture}}：{{.why}}。`,
			Remedy:  `加大抓包长度和缓冲区（` + "`tcpdump -s 0 -B 4096`" + `）重新覆盖整个测试过程抓包。`},
	} {
		Translate(ZH, id, t)
	}
}
