package sg

import (
	"reflect"
	"testing"
)

// A finding's args name the deciding policy as data (no English words),
// so each language's template can say it in its own words.
func TestDecisionArgsAreLanguageNeutral(t *testing.T) {
	c := newEnv(t).
		sg("sg-a", []string{"ACCEPT TCP 80,443 10.0.0.0/16", "ACCEPT ICMP ALL 10.0.0.0/16", "DROP ALL ALL 0.0.0.0/0"}, nil).
		sg("sg-b", []string{"ACCEPT TCP 22 10.0.0.0/16"}, nil).load()
	for _, tc := range []struct {
		name string
		sgs  []string
		f    Flow
		want map[string]string
	}{
		{"the DROP ALL at PolicyIndex 2 decides TCP 8080", []string{"sg-a"}, in("tcp", "172.16.0.2", 8080),
			map[string]string{"decided_by": "policy", "policy_sg": "sg-a", "policy_index": "2", "action": "DROP",
				"policy_service": "ALL", "policy_peer": "0.0.0.0/0", "policy_sgs": "sg-a", "dir": "ingress"}},
		{"the ACCEPT at PolicyIndex 0 names its ports", []string{"sg-a"}, in("tcp", "10.0.3.4", 443),
			map[string]string{"decided_by": "policy", "policy_sg": "sg-a", "policy_index": "0", "action": "ACCEPT",
				"policy_service": "TCP 80,443", "policy_peer": "10.0.0.0/16", "policy_sgs": "sg-a", "dir": "ingress"}},
		{"no policy of sg-b matches: implicit deny", []string{"sg-b"}, in("udp", "10.0.3.4", 53),
			map[string]string{"decided_by": "implicit", "policy_sgs": "sg-b", "dir": "ingress"}},
		{"nothing bound", nil, in("tcp", "10.0.3.4", 80),
			map[string]string{"decided_by": "nosg", "policy_sgs": "", "dir": "ingress"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Evaluate(c, tc.sgs, tc.f)
			if got := d.Args(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s: args = %v, want %v", d, got, tc.want)
			}
		})
	}
}
