package report

import (
	"tkesnap/analysis/finding"
	"tkesnap/analysis/trace"
)

// fixture is a fixed report covering every part a reader sees: findings of
// each group and severity with file/line, SG policy and packet evidence,
// a traced flow whose security-group hop fails, a Service flow with two
// endpoint branches, inconclusive items and bundle problems — some with
// characters that break Markdown or HTML if not escaped.
func fixture() *Report {
	agree := true
	fs := []finding.Finding{
		finding.New("PCAP_TRUNCATED", finding.Args{"capture": "captures/node-b/eth0.pcap", "why": "the kernel dropped 12 packets"},
			[]string{"captures/node-b/eth0.pcap"}, finding.Evidence{File: "captures/node-b/eth0.json", Line: 6, Excerpt: `"dropped": 12`}),
		finding.New("IPTABLES_DROPS_FLOW", finding.Args{"node": "node-b", "flow": "10.0.1.5 → 172.16.1.7:8080", "verdict": "DROP",
			"table": "filter", "chain": "FORWARD", "rule": "3", "line": "41", "text": "-A FORWARD -s 10.0.0.0/8 -m comment --comment \"a|b\" -j DROP"},
			[]string{"node/node-b"}, finding.Evidence{File: "nodes/node-b/iptables-save.txt", Line: 41, Excerpt: `-A FORWARD -s 10.0.0.0/8 -m comment --comment "a|b" -j DROP`}),
		finding.New("SG_POD_CIDR_BLOCKED", finding.Args{"sg": "sg-node2", "node": "node-b", "cidr": "172.16.0.0/16", "decision": "no policy matches (implicit deny)"},
			[]string{"sg-node2", "node/node-b"},
			finding.Evidence{File: "cloud/security-group-policies/sg-node2.json", Line: 12, Excerpt: `{"PolicyIndex": 0, "Protocol": "TCP", "Port": "22", "CidrBlock": "0.0.0.0/0", "Action": "ACCEPT"}`}),
		finding.New("MASQ_HIDES_SOURCE", finding.Args{"cidr": "192.168.0.0/16", "node": "node-a", "nonmasq": "10.0.0.0/8, 172.16.0.0/16"},
			[]string{"configmap/kube-system/ip-masq-agent-config", "node/node-a"},
			finding.Evidence{File: "cluster/configmaps-kube-system.yaml", Line: 88, Excerpt: "nonMasqueradeCIDRs:\n  - 10.0.0.0/8\n  - 172.16.0.0/16"}),
		finding.New("SVC_NO_ENDPOINTS", finding.Args{"service": "default/api", "notready": "2"},
			[]string{"svc/default/api"}, finding.Evidence{File: "cluster/endpoints.yaml", Line: 230}),
		finding.New("PCAP_SYN_UNANSWERED", finding.Args{"flow": "172.16.0.9:41000 → 172.16.1.7:8080", "count": "4", "gaps": "1s 2s 4s",
			"capture": "captures/node-a/pod-web-0.pcap", "src": "172.16.0.9", "dst": "172.16.1.7"},
			[]string{"pod/default/web-0"}, finding.Evidence{File: "captures/node-a/pod-web-0.pcap", Packet: 1}, finding.Evidence{File: "captures/node-a/pod-web-0.pcap", Packet: 4}),
	}
	ts := []trace.Trace{
		{From: "pod:default/web-0", To: "pod:default/api-0:8080", Proto: "tcp", Verdict: trace.Dropped, Reason: "SG_POD_CIDR_BLOCKED",
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
