package finding

// Kubernetes object findings (docs/design.md §5).
func init() {
	for _, e := range []Entry{
		{ID: "SVC_NO_ENDPOINTS", Severity: Error, Group: "kube", Guide: "Service 访问不通: endpoints",
			Texts: map[Lang]Text{EN: {
				Title:   "Service has no ready endpoints",
				Message: `Service {{.service}} has no ready endpoints{{if .notready}} ({{.notready}} not ready){{end}}.`,
				Remedy:  `Make the pods selected by {{.service}} ready (check readiness probes and pod status), or fix the selector.`}}},
		{ID: "SVC_SELECTOR_MATCHES_NO_POD", Severity: Error, Group: "kube", Guide: "Service 访问不通: selector",
			Texts: map[Lang]Text{EN: {
				Title:   "Service selector matches no pod",
				Message: `The selector {{.selector}} of Service {{.service}} matches no pod in namespace {{.namespace}}.`,
				Remedy:  `Fix the selector of {{.service}} or the labels of the pods it should select.`}}},
		{ID: "SVC_TARGET_PORT_MISMATCH", Severity: Error, Group: "kube", Guide: "Service 访问不通: targetPort",
			Texts: map[Lang]Text{EN: {
				Title: "Service targetPort is not a port the pods serve",
				// problem: noname, hostnet or undeclared (checks/kube_svc.go portProblem)
				Message: `Service {{.service}} port {{.port}} targets {{.targetPort}}, but pod {{.pod}} ` +
					`{{if eq .problem "noname"}}has no container port named "{{.targetPort}}" for {{.proto}} (declares {{.declared}}), so it is never an endpoint of this port` +
					`{{else if eq .problem "hostnet"}}is host-network and nothing on node {{.node}} listens on {{.targetPort}}/{{.proto}} (ss.txt)` +
					`{{else if eq .problem "undeclared"}}declares container ports {{.declared}} but not {{.targetPort}}/{{.proto}}{{else}}{{.why}}{{end}}.`,
				Remedy: `Set targetPort of {{.service}} port {{.port}} to the port the container listens on{{if .suggest}} ({{.suggest}}){{end}}.`}}},
		{ID: "DNS_SERVICE_UNHEALTHY", Severity: Error, Group: "kube", Guide: "集群内 DNS 解析失败",
			Texts: map[Lang]Text{EN: {
				Title: "Cluster DNS Service is unhealthy",
				// One finding per DNS Service lists every problem found
				// (each arg set is one problem), or, with client, the
				// resolver of one pod that asked a cluster name.
				Message: `{{if .client}}{{if eq .resolver "none"}}Pod {{.client}} has dnsPolicy None with nameservers [{{.nameservers}}], not the ClusterIP of DNS Service {{.service}}, so it cannot resolve {{.name}}.` +
					`{{else if eq .resolver "default"}}Pod {{.client}} has dnsPolicy Default: its resolv.conf is the node's{{if .nameservers}} (nameserver {{.nameservers}}){{end}}, which does not know cluster names like {{.name}}.` +
					`{{else}}Pod {{.client}} is host-network with dnsPolicy ClusterFirst, which kubelet turns into Default (the node's resolv.conf{{if .nameservers}}, nameserver {{.nameservers}}{{end}}), so it cannot resolve {{.name}}.{{end}}` +
					`{{else if .missing}}There is no kube-dns (or coredns) Service in kube-system.` +
					`{{else}}DNS Service {{.service}} is unhealthy.` +
					`{{if .noclusterip}} It has no ClusterIP, but pods' resolv.conf points at one.{{end}}` +
					`{{if .noports}} It has no port {{.noports}}{{if .notcp}} (truncated answers over 512 bytes are retried over TCP and fail){{end}}.{{end}}` +
					`{{if .selector}} Its selector {{.selector}} matches no pod (CoreDNS is not running).{{end}}` +
					`{{if .unready}} No ready endpoint serves {{.unready}}{{if .notready}} ({{.notready}} not ready){{end}}{{if .pod}}; pod {{.pod}}: {{if .pod_container}}container {{.pod_container}} {{or .pod_state "not ready"}}{{else if .pod_phase}}phase {{.pod_phase}}{{else}}not Ready{{end}}{{if .pod_probe}} ({{.pod_probe}}){{end}}{{end}}.{{end}}` +
					`{{if .corefile}} The Corefile of configmap {{.corefile}} has no kubernetes plugin, so Service names do not resolve.{{end}}` +
					`{{if .loopnode}} The resolv.conf of node {{.loopnode}} names the DNS Service's own ClusterIP {{.loopip}} and the Corefile forwards to /etc/resolv.conf: CoreDNS there forwards to itself (forwarding loop).{{end}}{{end}}`,
				Remedy: `{{if .client}}{{if eq .resolver "hostnet"}}Set dnsPolicy ClusterFirstWithHostNet on {{.client}}.{{else}}Set dnsPolicy ClusterFirst on {{.client}}{{if eq .resolver "none"}}, or list the ClusterIP of {{.service}} in its dnsConfig.nameservers{{end}}.{{end}}` +
					`{{else}}{{if .missing}}Create the kube-dns Service in kube-system selecting the CoreDNS pods.{{else}}Make CoreDNS/kube-dns pods ready and expose port 53 UDP and TCP on {{.service}}.{{end}}` +
					`{{if .corefile}} Restore the kubernetes plugin in the Corefile of {{.corefile}}.{{end}}` +
					`{{if .loopnode}} Point the resolv.conf of node {{.loopnode}} at the VPC DNS servers, or forward the Corefile to them instead of /etc/resolv.conf.{{end}}{{end}}`}}},
		{ID: "INGRESS_NO_MATCHING_RULE", Severity: Error, Group: "kube", Guide: "Ingress 返回 404",
			Texts: map[Lang]Text{EN: {
				Title:   "Request matches no Ingress rule (404)",
				Message: `Host {{.host}} path {{.path}} matches no rule of {{.ingress}}{{if .rules}} (rules: {{.rules}}){{end}}.`,
				Remedy:  `Add a rule for host {{.host}} and path {{.path}} to {{.ingress}}, or fix the request's Host header/path.`}}},
		{ID: "INGRESS_BACKEND_MISSING", Severity: Error, Group: "kube", Guide: "Ingress 返回 503/504: 后端 Service",
			Texts: map[Lang]Text{EN: {
				Title: "Ingress backend Service or port does not exist",
				// problem: noservice, noport or clusterip (checks/kube_ingress.go)
				Message: `{{.ingress}} routes {{.rule}} to {{.backend}}, which ` +
					`{{if eq .problem "noservice"}}does not exist in namespace {{.namespace}}{{else if eq .problem "noport"}}has no port {{.port}} (ports: {{.ports}})` +
					`{{else if eq .problem "clusterip"}}is type ClusterIP: the qcloud CLB ingress forwards to a NodePort{{else}}{{.why}}{{end}}.`,
				Remedy: `{{if eq .problem "clusterip"}}Make {{.backend}} type NodePort, or enable direct access to pods with the annotation ingress.cloud.tencent.com/direct-access: "true".` +
					`{{else}}Create {{.backend}} or point the Ingress rule at an existing Service and port.{{end}}`}}},
		{ID: "NETPOL_DENIES_FLOW", Severity: Error, Group: "kube", Guide: "Pod 访问不通: NetworkPolicy",
			Texts: map[Lang]Text{EN: {
				Title:   "NetworkPolicy denies the flow",
				Message: `{{.direction}} traffic {{.flow}} is denied: {{.pod}} is isolated by {{.policies}} and no rule allows it.`,
				Remedy:  `Add a rule to one of {{.policies}} that allows {{.flow}}.`}}},
		// Listed with the cloud group in docs/design.md §5, but decided from the
		// ip-masq-agent configmap and the node rules.
		{ID: "MASQ_HIDES_SOURCE", Severity: Warning, Hygiene: true, Group: "cloud", Guide: "IDC/跨 VPC 看到的是节点 IP: ip-masq-agent NonMasqueradeCIDRs",
			Texts: map[Lang]Text{EN: {
				Title:   "Traffic is SNATed to the node IP (CIDR missing from NonMasqueradeCIDRs)",
				Message: `Traffic from pods to {{.cidr}} leaves node {{.node}} SNATed to the node IP because {{.cidr}} is not in ip-masq-agent NonMasqueradeCIDRs ({{.nonmasq}}).`,
				Remedy:  `Add {{.cidr}} to NonMasqueradeCIDRs in configmap kube-system/ip-masq-agent-config.`}}},
		// The IP-MASQ-AGENT chain a node really has versus the configmap:
		// the agent re-reads its config every ResyncInterval, and a node
		// without a running agent keeps whatever chain it last had.
		{ID: "MASQ_RULES_DIFFER", Severity: Warning, Hygiene: true, Group: "cloud", Guide: "IDC/跨 VPC 看到的是节点 IP: ip-masq-agent NonMasqueradeCIDRs",
			Texts: map[Lang]Text{EN: {
				Title:   "ip-masq-agent rules on a node differ from its configmap",
				Message: `On node {{.node}} the IP-MASQ-AGENT chain keeps the pod source for {{.rules}}, but the configmap lists {{.config}}{{if .missing}}; missing on the node: {{.missing}}{{end}}{{if .extra}}; only on the node: {{.extra}}{{end}}{{if .nomasq}}; the chain never masquerades (no final MASQUERADE rule or no jump from POSTROUTING){{end}}.`,
				Remedy:  `Check that the ip-masq-agent pod runs on node {{.node}} and has re-read configmap kube-system/ip-masq-agent-config (it resyncs every ResyncInterval); restart it if the chain stays stale.`}}},
		// A reported dns: flow whose name no Service or pod answers, with
		// the pod resolver's search list applied (the classic: a short
		// name asked from another namespace).
		{ID: "DNS_NAME_UNRESOLVABLE", Severity: Error, Group: "kube", Guide: "集群内 DNS 解析失败",
			Texts: map[Lang]Text{EN: {
				Title:   "Name resolves to no Service or pod of the cluster",
				Message: `{{.name}} asked from namespace {{.namespace}} names no Service or pod (the resolver tries {{.searched}}){{if .near}}; Service {{.near}} exists in another namespace{{end}}.`,
				Remedy:  `{{if .suggest}}Use {{.suggest}} (the name with its namespace){{else}}Create the Service or fix the name{{end}}; a short name only finds Services of the client's own namespace.`}}},
		// A LoadBalancer Service or an Ingress whose load balancer was
		// never provisioned: the TKE controller records why in events.
		{ID: "LB_NOT_PROVISIONED", Severity: Error, Group: "kube", Guide: "CLB/Ingress 访问不通: 负载均衡未创建",
			Texts: map[Lang]Text{EN: {
				Title:   "LoadBalancer Service or Ingress has no load balancer address",
				Message: `{{.object}} has no load-balancer address in its status{{if .event}}; the controller reported: {{.event}}{{end}}.`,
				Remedy:  `Fix what the controller reports (subnet, quota, existing CLB ID, permissions) and check the events of {{.object}} until an address appears.`}}},
		// internalTrafficPolicy: Local (KEP-2086): kube-proxy only uses
		// endpoints on the client's node and drops the traffic when there
		// are none, even if other nodes have ready endpoints.
		{ID: "SVC_INTERNAL_LOCAL_NO_ENDPOINT", Severity: Error, Group: "kube", Guide: "Service 访问不通: endpoints",
			Texts: map[Lang]Text{EN: {
				Title:   "Service with a Local traffic policy has no ready endpoint on the client's node",
				Message: `Service {{.service}} has internalTrafficPolicy Local and no ready endpoint on node {{.node}}, where {{.client}} runs; kube-proxy drops the traffic there{{if .elsewhere}} although {{.elsewhere}} has ready endpoints{{end}}.`,
				Remedy:  `Run a ready pod of {{.service}} on node {{.node}} (e.g. a DaemonSet), or set internalTrafficPolicy to Cluster.`}}},
	} {
		Register(e)
	}
	Translate(ZH, "SVC_INTERNAL_LOCAL_NO_ENDPOINT", Text{
		Title:   "流量策略为 Local 的 Service 在客户端所在节点上没有就绪的 endpoint",
		Message: `Service {{.service}} 的 internalTrafficPolicy 为 Local，而 {{.client}} 所在的节点 {{.node}} 上没有就绪的 endpoint，kube-proxy 会在该节点丢弃流量{{if .elsewhere}}（尽管 {{.elsewhere}} 上有就绪的 endpoint）{{end}}。`,
		Remedy:  `在节点 {{.node}} 上运行 {{.service}} 的就绪 Pod（例如使用 DaemonSet），或将 internalTrafficPolicy 改为 Cluster。`,
	})
	Translate(ZH, "LB_NOT_PROVISIONED", Text{
		Title:   "LoadBalancer Service 或 Ingress 没有负载均衡地址",
		Message: `{{.object}} 的 status 中没有负载均衡地址{{if .event}}；控制器报告：{{.event}}{{end}}。`,
		Remedy:  `按控制器报告的原因（子网、配额、已有 CLB ID、权限等）修正配置，并查看 {{.object}} 的事件直到出现地址。`,
	})
	Translate(ZH, "DNS_NAME_UNRESOLVABLE", Text{
		Title:   "域名在集群内解析不到任何 Service 或 Pod",
		Message: `从命名空间 {{.namespace}} 查询的 {{.name}} 不对应任何 Service 或 Pod（解析器依次尝试 {{.searched}}）{{if .near}}；另一命名空间中存在 Service {{.near}}{{end}}。`,
		Remedy:  `{{if .suggest}}请使用 {{.suggest}}（带命名空间的名称）{{else}}请创建该 Service 或修正域名{{end}}；短名称只能解析到客户端所在命名空间的 Service。`,
	})
	Translate(ZH, "MASQ_RULES_DIFFER", Text{
		Title:   "节点上的 ip-masq-agent 规则与其 ConfigMap 不一致",
		Message: `节点 {{.node}} 上 IP-MASQ-AGENT 链对 {{.rules}} 保留 Pod 源地址，而 ConfigMap 中配置的是 {{.config}}{{if .missing}}；节点上缺少：{{.missing}}{{end}}{{if .extra}}；仅节点上存在：{{.extra}}{{end}}{{if .nomasq}}；该链从不做 MASQUERADE（没有末尾的 MASQUERADE 规则或 POSTROUTING 未跳转到该链）{{end}}。`,
		Remedy:  `确认节点 {{.node}} 上的 ip-masq-agent Pod 正在运行并已重新读取 ConfigMap kube-system/ip-masq-agent-config（每个 ResyncInterval 同步一次）；若规则一直未更新，重启该 Pod。`,
	})
}
