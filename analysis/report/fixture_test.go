package report

import (
	"strings"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/trace"
)

// The fixture's findings use test-only catalog entries (group "test",
// IDs T_*), copies of real ones frozen here, so that the golden files
// change when rendering changes, not when a catalog owner rewords a text.
// The real catalog is covered by docs/findings.md, the catalog tests and
// the lab-bundle goldens of cmd/tkesnap.
func init() {
	for _, e := range []finding.Entry{
		{ID: "T_SG_POD_CIDR_BLOCKED", Severity: finding.Error, Texts: map[finding.Lang]finding.Text{
			finding.EN: {Title: "Node security group blocks the pod CIDR",
				Message: `Security group {{.sg}} of node {{.node}} does not allow traffic from the cluster pod CIDR {{.cidr}}: {{.decision}}.`,
				Remedy:  `Add an inbound ACCEPT policy ALL from {{.cidr}} to {{.sg}}{{if .before}}, placed before PolicyIndex {{.before}}{{end}}.`},
			finding.ZH: {Title: "节点安全组未放通容器网段",
				Message: `节点 {{.node}} 绑定的安全组 {{.sg}} 未放通集群容器网段 {{.cidr}}：{{.decision}}。`,
				Remedy:  `在安全组 {{.sg}} 中添加入站规则：放通来源 {{.cidr}} 的全部协议端口（ALL）{{if .before}}，并排在 PolicyIndex {{.before}} 之前{{end}}。`}}},
		{ID: "T_IPTABLES_DROPS_FLOW", Severity: finding.Error, Texts: map[finding.Lang]finding.Text{
			finding.EN: {Title: "An iptables rule drops the flow",
				Message: "On node {{.node}}, {{.flow}} is {{.verdict}} by {{.table}}/{{.chain}} rule {{.rule}} (line {{.line}}): `{{.text}}`.",
				Remedy:  `Remove or narrow that rule on {{.node}}, or add an ACCEPT before it for {{.flow}}.`},
			finding.ZH: {Title: "iptables 规则丢弃了该流量",
				Message: "在节点 {{.node}} 上，{{.flow}} 被 {{.table}}/{{.chain}} 第 {{.rule}} 条规则（第 {{.line}} 行）{{.verdict}}：`{{.text}}`。",
				Remedy:  `在节点 {{.node}} 上删除或收窄这条规则，或在它之前为 {{.flow}} 添加一条 ACCEPT 规则。`}}},
		{ID: "T_SVC_NO_ENDPOINTS", Severity: finding.Error, Texts: map[finding.Lang]finding.Text{
			finding.EN: {Title: "Service has no ready endpoints",
				Message: `Service {{.service}} has no ready endpoints{{if .notready}} ({{.notready}} not ready){{end}}.`,
				Remedy:  `Make the pods selected by {{.service}} ready (check readiness probes and pod status), or fix the selector.`},
			finding.ZH: {Title: "Service 没有就绪的 Endpoints",
				Message: `Service {{.service}} 没有就绪的 Endpoints{{if .notready}}（{{.notready}} 个未就绪）{{end}}。`,
				Remedy:  `让 {{.service}} 选中的 Pod 进入就绪状态（检查 readinessProbe 和 Pod 状态），或修正 selector。`}}},
		{ID: "T_PCAP_SYN_UNANSWERED", Severity: finding.Error, Texts: map[finding.Lang]finding.Text{
			finding.EN: {Title: "SYNs retransmitted with no answer",
				Message: `{{.flow}}: {{.count}} SYNs with no answer (gaps {{.gaps}}) in {{.capture}}.`,
				Remedy:  `The SYN is dropped on the way: check security groups, routes and iptables between {{.src}} and {{.dst}}.`},
			finding.ZH: {Title: "SYN 重传但没有响应",
				Message: `{{.flow}}：在 {{.capture}} 中有 {{.count}} 个 SYN 没有响应（重传间隔 {{.gaps}}）。`,
				Remedy:  `SYN 在途中被丢弃：检查 {{.src}} 到 {{.dst}} 之间的安全组、路由和 iptables。`}}},
		{ID: "T_MASQ_HIDES_SOURCE", Severity: finding.Warning, Texts: map[finding.Lang]finding.Text{
			finding.EN: {Title: "Traffic is SNATed to the node IP (CIDR missing from NonMasqueradeCIDRs)",
				Message: `Traffic from pods to {{.cidr}} leaves node {{.node}} SNATed to the node IP because {{.cidr}} is not in ip-masq-agent NonMasqueradeCIDRs ({{.nonmasq}}).`,
				Remedy:  "Add {{.cidr}} to NonMasqueradeCIDRs in configmap `kube-system/ip-masq-agent-config`."},
			finding.ZH: {Title: "流量被 SNAT 成节点 IP（网段不在 NonMasqueradeCIDRs 中）",
				Message: `Pod 访问 {{.cidr}} 的流量离开节点 {{.node}} 时被 SNAT 为节点 IP，因为 {{.cidr}} 不在 ip-masq-agent 的 NonMasqueradeCIDRs（{{.nonmasq}}）中。`,
				Remedy:  "在 ConfigMap `kube-system/ip-masq-agent-config` 的 NonMasqueradeCIDRs 中加入 {{.cidr}}。"}}},
		{ID: "T_PCAP_TRUNCATED", Severity: finding.Info, Texts: map[finding.Lang]finding.Text{
			finding.EN: {Title: "Capture truncated or dropped packets",
				Message: `{{.capture}}: {{.why}}.`,
				Remedy:  "Capture again with a larger snap length/buffer (`tcpdump -s 0 -B 4096`) for the whole test."},
			finding.ZH: {Title: "抓包不完整或内核丢包",
				Message: `{{.capture}}：{{.why}}。`,
				Remedy:  "加大抓包长度和缓冲区（`tcpdump -s 0 -B 4096`）重新覆盖整个测试过程抓包。"}}},
	} {
		e.Group = "test"
		if strings.HasPrefix(e.ID, "T_PCAP_") {
			e.Group = "test-capture"
			symptomGroups[e.Group] = true
		}
		finding.Register(e)
	}
}

// fixture is a fixed report covering every part a reader sees: findings of
// each group and severity with file/line, SG policy and packet evidence,
// a traced flow whose security-group hop fails, a Service flow with two
// endpoint branches, inconclusive items and bundle problems — some with
// characters that break Markdown or HTML if not escaped.
func fixture() *Report {
	agree := true
	fs := []finding.Finding{
		finding.New("T_PCAP_TRUNCATED", finding.Args{"capture": "captures/node-b/eth0.pcap", "why": "the kernel dropped 12 packets"},
			[]string{"captures/node-b/eth0.pcap"}, finding.Evidence{File: "captures/node-b/eth0.json", Line: 6, Excerpt: `"dropped": 12`}),
		finding.New("T_IPTABLES_DROPS_FLOW", finding.Args{"node": "node-b", "flow": "10.0.1.5 → 172.16.1.7:8080", "verdict": "DROP",
			"table": "filter", "chain": "FORWARD", "rule": "3", "line": "41", "text": "-A FORWARD -s 10.0.0.0/8 -m comment --comment \"a|b\" -j DROP"},
			[]string{"node/node-b"}, finding.Evidence{File: "nodes/node-b/iptables-save.txt", Line: 41, Excerpt: `-A FORWARD -s 10.0.0.0/8 -m comment --comment "a|b" -j DROP`}),
		finding.New("T_SG_POD_CIDR_BLOCKED", finding.Args{"sg": "sg-node2", "node": "node-b", "cidr": "172.16.0.0/16", "decision": "no policy matches (implicit deny)"},
			[]string{"sg-node2", "node/node-b"},
			finding.Evidence{File: "cloud/security-group-policies/sg-node2.json", Line: 12, Excerpt: `{"PolicyIndex": 0, "Protocol": "TCP", "Port": "22", "CidrBlock": "0.0.0.0/0", "Action": "ACCEPT"}`}),
		finding.New("T_MASQ_HIDES_SOURCE", finding.Args{"cidr": "192.168.0.0/16", "node": "node-a", "nonmasq": "10.0.0.0/8, 172.16.0.0/16"},
			[]string{"configmap/kube-system/ip-masq-agent-config", "node/node-a"},
			finding.Evidence{File: "cluster/configmaps-kube-system.yaml", Line: 88, Excerpt: "nonMasqueradeCIDRs:\n  - 10.0.0.0/8\n  - 172.16.0.0/16"}),
		finding.New("T_SVC_NO_ENDPOINTS", finding.Args{"service": "default/api", "notready": "2"},
			[]string{"svc/default/api"}, finding.Evidence{File: "cluster/endpoints.yaml", Line: 230}),
		finding.New("T_PCAP_SYN_UNANSWERED", finding.Args{"flow": "172.16.0.9:41000 → 172.16.1.7:8080", "count": "4", "gaps": "1s 2s 4s",
			"capture": "captures/node-a/pod-web-0.pcap", "src": "172.16.0.9", "dst": "172.16.1.7"},
			[]string{"pod/default/web-0"}, finding.Evidence{File: "captures/node-a/pod-web-0.pcap", Packet: 1}, finding.Evidence{File: "captures/node-a/pod-web-0.pcap", Packet: 4}),
	}
	ts := []trace.Trace{
		{From: "pod:default/web-0", To: "pod:default/api-0:8080", Proto: "tcp", Verdict: trace.Dropped, Reason: "T_SG_POD_CIDR_BLOCKED",
			Symptom: "timeout", Reported: "timeout", Agrees: &agree,
			Steps: []trace.Step{
				{At: "node/node-a", Component: "route", Detail: "172.16.1.0/24 via 10.0.1.5 dev eth0 (pod CIDR of node-b)",
					Before: "172.16.0.9:41000→172.16.1.7:8080", Decision: "forward", Evidence: map[string]any{"file": "nodes/node-a/ip-route.json", "line": 7}},
				{At: "node/node-a", Component: "iptables", Detail: "filter/FORWARD policy ACCEPT", Before: "172.16.0.9:41000→172.16.1.7:8080",
					Decision: "ACCEPT", Evidence: map[string]any{"file": "nodes/node-a/iptables-save.txt", "line": 12.0, "chain": "FORWARD", "rule": 0}},
				{At: "sg-node2", Component: "security-group", Detail: "inbound to node-b: no policy matches 172.16.0.9 (implicit deny)",
					Before: "172.16.0.9:41000→172.16.1.7:8080", Decision: "DROP", Failed: true,
					Evidence: map[string]any{"file": "cloud/security-group-policies/sg-node2.json", "policies": 2}},
			}},
		{From: "node:node-a", To: "svc:default/web:80", Proto: "tcp", Verdict: trace.Delivered,
			Steps: []trace.Step{
				{At: "node/node-a", Component: "iptables", Detail: "nat/KUBE-SERVICES → KUBE-SVC-ABCDEF (statistic 0.5)",
					Before: "10.0.1.4:50000→172.16.255.10:80", After: "10.0.1.4:50000→172.16.0.20:8080", Decision: "DNAT",
					Evidence: map[string]any{"file": "nodes/node-a/iptables-save.txt", "line": 301}},
			},
			Branches: []trace.Trace{
				{From: "node:node-a", To: "172.16.0.20:8080", Verdict: trace.Delivered, Steps: []trace.Step{
					{At: "node/node-a", Component: "route", Detail: "local pod veth", Decision: "deliver"}}},
				{From: "node:node-a", To: "172.16.1.21:8080", Verdict: trace.Ambiguous, Reason: "RECENT_UNDECIDABLE", Steps: []trace.Step{
					{At: "node/node-a", Component: "iptables", Detail: "-m recent --rcheck depends on state the bundle does not hold", Decision: "AMBIGUOUS"}}},
			}},
	}
	// a flow tkesnap traced on its own (not reported) that gets through:
	// one line in text and Markdown, collapsed in HTML
	ts = append(ts, trace.Trace{From: "node:node-b", To: "dns:kubernetes.default", Proto: "udp", Verdict: trace.Delivered,
		Steps: []trace.Step{
			{At: "node/node-b", Component: "iptables", Detail: "nat/KUBE-SERVICES → KUBE-SVC-TCOU7JCQXEZGVUNU", Before: "10.0.1.5:40000→172.16.252.10:53",
				After: "10.0.1.5:40000→172.16.0.30:53", Decision: "DNAT"},
			{At: "pod/kube-system/coredns-0", Component: "kube", Detail: "answers", Decision: "delivered"},
		}})
	inc := []finding.Inconclusive{
		{Need: "ipvsadm.txt", Node: "node-b", Why: "kube-proxy runs in IPVS mode; without ipvsadm -Sn the Service rules cannot be checked"},
		{Need: "cloud/route-tables.json", Why: "VPC routes decide whether 192.168.0.0/16 (IDC) is reachable"},
	}
	r := &Report{
		Bundle: BundleInfo{Path: "testdata/bundles/two-nodes.tgz", Format: "tkesnap-bundle/v1", Nodes: []string{"node-b", "node-a"},
			Problems: []finding.Problem{
				{File: "nodes/node-b/conntrack.txt", Line: 3, Message: "line is not a conntrack entry: \"<script>alert(1)</script> | x\""},
				{File: "cluster/events.yaml", Message: "truncated by the collector (64 MiB)"},
			}},
		Findings: fs, Traces: ts, Inconclusive: inc,
	}
	return r
}
