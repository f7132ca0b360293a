package remedy_test

import (
	"strings"
	"testing"

	"tkesnap/analysis/analyzers"
	"tkesnap/analysis/driver/drivertest"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/remedy"
	"tkesnap/parsers/bundle"
)

func load(t *testing.T, dir string) *model.Cluster {
	t.Helper()
	b, err := bundle.Open(dir, bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return model.Load(b)
}

func analyse(t *testing.T, dir string) []finding.Finding {
	c := load(t, dir)
	// the driver merges and re-traces in its result assembly
	return drivertest.RunModel(t, c, analyzers.All()...).Merged
}

// The lab scenarios say what the fix is (README of testdata/bundles):
// opening the pod CIDR in the node SG, turning ip_forward on, opening the
// CLB SG's 443 delivers the reported flow; in sample the same SG fix
// delivers the pod flow while the Service flow still fails on the
// targetPort mismatch, the scenario's second fault.
func TestRemediesAreVerifiedByRetracing(t *testing.T) {
	for _, tc := range []struct {
		bundle, id string
		want       map[string]string // flow → verdict[/reason]
		command    string
	}{
		{"sg-pod-cidr", "SG_POD_CIDR_BLOCKED", map[string]string{"pod:default/client-0 → pod:default/web-1:8080": "DELIVERED"},
			`--SecurityGroupId sg-lab0node --SecurityGroupPolicySet '{"Ingress":[{"PolicyIndex":5,"Protocol":"ALL","Port":"ALL","CidrBlock":"172.16.0.0/16"`},
		{"ip-forward-off", "IP_FORWARD_DISABLED", map[string]string{"pod:default/client-0 → pod:default/web-1:8080": "DELIVERED"}, "sysctl -w net.ipv4.ip_forward=1"},
		// a client from the internet: the guide's range is 0.0.0.0/0, not the client's /32
		{"clb-sg-443", "CLB_SG_BLOCKS_LISTENER", map[string]string{"ip:203.0.113.50 → svc:default/web-lb:443": "DELIVERED"}, `"Protocol":"TCP","Port":"443","CidrBlock":"0.0.0.0/0"`},
		{"sample", "SG_POD_CIDR_BLOCKED", map[string]string{
			"pod:default/client-0 → pod:default/web-1:8080": "DELIVERED",
			"pod:default/client-0 → svc:default/web:80":     "still/SVC_TARGET_PORT_MISMATCH"}, "CreateSecurityGroupPolicies"},
	} {
		t.Run(tc.bundle, func(t *testing.T) {
			fs := analyse(t, "../../testdata/bundles/"+tc.bundle)
			var fx *finding.Fix
			for _, f := range fs {
				if f.ID == tc.id {
					fx = f.Fix
				}
			}
			if fx == nil {
				t.Fatalf("%s has no fix", tc.id)
			}
			if !strings.Contains(strings.Join(fx.Commands, "\n"), tc.command) {
				t.Errorf("commands %q lack %q", fx.Commands, tc.command)
			}
			if len(fx.Verified) != len(tc.want) {
				t.Fatalf("re-traced %+v, want %v", fx.Verified, tc.want)
			}
			for _, v := range fx.Verified {
				w := tc.want[v.Flow]
				switch {
				case w == "DELIVERED" && (v.Verdict != "DELIVERED" || v.Reason != ""):
					t.Errorf("%s: %s %s at %s, want DELIVERED", v.Flow, v.Verdict, v.Reason, v.At)
				case strings.HasPrefix(w, "still/") && (v.Verdict == "DELIVERED" || v.Reason != strings.TrimPrefix(w, "still/")):
					t.Errorf("%s: %s %s, want still blocked by %s", v.Flow, v.Verdict, v.Reason, strings.TrimPrefix(w, "still/"))
				}
			}
		})
	}
}

// Apply changes a copy: the analysed model keeps its SG and sysctl.
func TestApplyLeavesTheModelAlone(t *testing.T) {
	c := load(t, "../../testdata/bundles/sg-pod-cidr")
	before := len(c.Cloud.SecurityGroups["sg-lab0node"].Ingress)
	b := 5
	fixed, err := remedy.Apply(c, &finding.Fix{Kind: "sg-policy", SG: "sg-lab0node", Direction: "ingress", Protocols: []string{"TCP", "UDP"}, Port: "30000-32768", CIDR: "0.0.0.0/0", Before: &b})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.Cloud.SecurityGroups["sg-lab0node"].Ingress); got != before {
		t.Errorf("Apply changed the original SG: %d policies, was %d", got, before)
	}
	in := fixed.Cloud.SecurityGroups["sg-lab0node"].Ingress
	if len(in) != before+2 || in[5].Action != "ACCEPT" || in[5].Proto != "tcp" || in[6].Proto != "udp" || in[7].Action != "DROP" {
		t.Errorf("fixed SG: want TCP and UDP ACCEPT inserted before PolicyIndex 5, got %d policies: %v %v %v", len(in), in[5], in[6], in[7])
	}
	if _, err := remedy.Apply(c, &finding.Fix{Kind: "sg-policy", SG: "sg-nope", Protocols: []string{"ALL"}, Port: "ALL", CIDR: "10.0.0.0/8"}); err == nil {
		t.Error("a fix to an SG the bundle lacks applied")
	}
}
