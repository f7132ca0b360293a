package finding

import (
	"strings"
	"testing"
)

// Args that checks and the tracer pass as data come out as sentences in
// each language: no English left in the Chinese rendering.
func TestNeutralArgsAreWordedPerLanguage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		id     string
		args   Args
		en, zh string // substrings of the rendered message
	}{
		{"SG drop by a policy", "SG_POD_CIDR_BLOCKED",
			Args{"sg": "sg-x", "node": "n1", "dir": "ingress", "cidr": "172.16.0.0/16", "decided_by": "policy", "policy_sg": "sg-x", "policy_index": "5",
				"action": "DROP", "policy_service": "ALL", "policy_peer": "0.0.0.0/0", "policy_sgs": "sg-x", "blocked_proto": "TCP", "blocked_ports": "8080", "blocked_peer": "172.16.0.2"},
			"TCP 8080 from 172.16.0.2 is decided by sg-x ingress PolicyIndex 5 (DROP ALL from 0.0.0.0/0)",
			"来自 172.16.0.2 的 TCP 8080 由安全组 sg-x 的入站规则 PolicyIndex 5（DROP ALL，来源 0.0.0.0/0）决定"},
		{"SG implicit deny on egress", "SG_IDC_CIDR_BLOCKED",
			Args{"sg": "sg-x", "node": "n1", "dir": "egress", "cidr": "192.168.0.0/16", "decided_by": "implicit", "policy_sgs": "sg-x,sg-y", "blocked_proto": "ICMP", "blocked_peer": "192.168.0.0/16"},
			"ICMP to 192.168.0.0/16 is decided by no policy matched in sg-x,sg-y egress (implicit deny)",
			"到 192.168.0.0/16 的 ICMP 由 sg-x,sg-y 出站规则的隐式拒绝（没有匹配的策略）决定"},
		{"iptables REJECT", "IPTABLES_DROPS_FLOW",
			Args{"node": "n1", "flow": "a → b", "verdict": "REJECT", "table": "filter", "chain": "FORWARD", "rule": "1", "line": "16", "text": "-A FORWARD -j REJECT"},
			"a → b is rejected by filter/FORWARD rule 1 (line 16)", "第 1 条规则（第 16 行）拒绝（REJECT）"},
		{"iptables DROP", "IPTABLES_DROPS_FLOW",
			Args{"node": "n1", "flow": "a → b", "verdict": "DROP", "table": "filter", "chain": "FORWARD", "rule": "1", "line": "16", "text": "-A FORWARD -j DROP"},
			"a → b is dropped by filter/FORWARD rule 1", "第 1 条规则（第 16 行）丢弃（DROP）"},
		{"route to the container CIDR not published", "ROUTE_MISSING",
			Args{"table": "ccn-1", "vpc": "vpc-1", "cidr": "172.20.0.0/16", "via_kind": "container", "cluster": "cls-1", "ccn": "ccn-1", "nomasq_peers": "192.168.0.0/16 (DIRECTCONNECT dcg-1)"},
			"(vpc-1 (container CIDR of cls-1)); traffic from 192.168.0.0/16 (DIRECTCONNECT dcg-1) (pods reach it without SNAT)",
			"（vpc-1（cls-1 的容器网段）），来自 192.168.0.0/16 (DIRECTCONNECT dcg-1)（Pod 访问它时不做 SNAT）"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			en, zh := New(tc.id, tc.args, nil), New(tc.id, tc.args, nil)
			if err := Render(&en, EN); err != nil {
				t.Fatal(err)
			}
			if err := Render(&zh, ZH); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(en.Message, tc.en) {
				t.Errorf("en: %q lacks %q", en.Message, tc.en)
			}
			if !strings.Contains(zh.Message, tc.zh) {
				t.Errorf("zh: %q lacks %q", zh.Message, tc.zh)
			}
			for _, w := range []string{" is ", " from ", " by ", "dropped", "rejected", "container CIDR", "without SNAT", "decided", "implicit deny"} {
				if strings.Contains(zh.Message+zh.Remedy, w) {
					t.Errorf("zh: English %q in %q / %q", w, zh.Message, zh.Remedy)
				}
			}
		})
	}
}
