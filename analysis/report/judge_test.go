package report

import (
	"strings"
	"testing"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/trace"
)

// A bundle where the customer reports one failing flow (pod→pod timing
// out, dropped by a stale legacy iptables rule on node b) and one
// wrong-source-ip flow to the IDC, and the tool's implicit checks add a
// pod-pair flow that fails on node c.
func judgeScenario() ([]finding.Finding, []trace.Trace) {
	yes := true
	legacy := "nodes/b/iptables-legacy-save.txt"
	ts := []trace.Trace{
		{From: "pod:default/client-0", To: "pod:default/web-1:8080", Verdict: trace.Dropped, Reason: "IPTABLES_DROPS_FLOW",
			Symptom: "timeout", Reported: "timeout", Agrees: &yes,
			Steps: []trace.Step{{At: "node/b", Component: "iptables", Failed: true, Evidence: map[string]any{"file": legacy, "line": 6}}}},
		{From: "pod:default/client-0", To: "ip:192.168.100.10:80", Verdict: trace.Delivered, Reason: "MASQ_HIDES_SOURCE",
			Symptom: "wrong-source-ip", Reported: "wrong-source-ip", Agrees: &yes},
		{From: "pod:default/web-0", To: "pod:default/web-9:8080", Verdict: trace.Dropped, Reason: "SG_POD_CIDR_BLOCKED", Implicit: true,
			Steps: []trace.Step{{At: "sg-c", Component: "security-group", Failed: true}}},
		{From: "pod:default/web-0", To: "dns:kubernetes.default", Verdict: trace.Undetermined, Reason: "NEEDS_DATA", Implicit: true},
	}
	fs := []finding.Finding{
		finding.New("IPTABLES_DROPS_FLOW", nil, []string{"node/b"}, finding.Evidence{File: legacy, Line: 6}),
		finding.New("IPTABLES_BACKEND_SPLIT", nil, []string{"node/b"}, finding.Evidence{File: legacy}, finding.Evidence{File: "nodes/b/iptables-nft-save.txt"}),
		finding.New("MASQ_HIDES_SOURCE", nil, []string{"configmap/kube-system/ip-masq-agent-config", "node/a"}),
		finding.New("SG_POD_CIDR_BLOCKED", nil, []string{"sg-c", "node/c"}),
		// hygiene on a node no flow crosses
		finding.New("IPTABLES_BACKEND_SPLIT", nil, []string{"node/z"}, finding.Evidence{File: "nodes/z/iptables-legacy-save.txt"}),
		finding.New("PCAP_SOURCE_NATTED", nil, []string{"capture/a.pcap"}),
	}
	return fs, ts
}

func TestJudgeSeverityInContext(t *testing.T) {
	fs, ts := judgeScenario()
	got := Judge(fs, ts)
	type want struct {
		sev      finding.Severity
		base     string // "" unchanged
		explains int
	}
	wants := map[string]want{
		// the reason of the reported timeout: error, leads
		"IPTABLES_DROPS_FLOW|node/b": {finding.Error, "", 1},
		// stale legacy rules decide the reported flow: warning → error
		"IPTABLES_BACKEND_SPLIT|node/b": {finding.Error, "warning", 1},
		// SNAT when the symptom is wrong-source-ip: warning → error
		"MASQ_HIDES_SOURCE|configmap/kube-system/ip-masq-agent-config": {finding.Error, "warning", 1},
		// on an implicit check's failing hop: catalog severity
		"SG_POD_CIDR_BLOCKED|sg-c": {finding.Error, "", 0},
		// hygiene touching no flow and no failing hop: info
		"IPTABLES_BACKEND_SPLIT|node/z": {finding.Info, "warning", 0},
		// what a capture saw keeps its severity and is not raised
		"PCAP_SOURCE_NATTED|capture/a.pcap": {finding.Warning, "", 0},
	}
	for _, f := range got {
		k := f.ID + "|" + f.Objects[0]
		w, ok := wants[k]
		if !ok {
			t.Fatalf("unexpected finding %s", k)
		}
		base := ""
		if f.BaseSeverity != nil {
			base = f.BaseSeverity.String()
		}
		if f.Severity != w.sev || base != w.base || len(f.Explains) != w.explains {
			t.Errorf("%s: severity %s base %q explains %v; want %s base %q explains %d", k, f.Severity, base, f.Explains, w.sev, w.base, w.explains)
		}
	}
	// order: errors explaining reported flows in report order, then the
	// error on an implicit hop; the info last
	var order []string
	for _, f := range got {
		order = append(order, f.ID+"|"+f.Objects[0])
	}
	if order[0] != "IPTABLES_DROPS_FLOW|node/b" && order[0] != "IPTABLES_BACKEND_SPLIT|node/b" {
		t.Errorf("the finding explaining the first reported flow does not lead: %v", order)
	}
	if order[3] != "SG_POD_CIDR_BLOCKED|sg-c" || order[len(order)-1] != "IPTABLES_BACKEND_SPLIT|node/z" {
		t.Errorf("ranking: %v", order)
	}
	// idempotent
	again := Judge(got, ts)
	for i := range again {
		if again[i].Severity != got[i].Severity || (again[i].BaseSeverity == nil) != (got[i].BaseSeverity == nil) {
			t.Errorf("Judge is not idempotent at %d: %+v vs %+v", i, again[i], got[i])
		}
	}
}

func TestSummaryCountsReportedFlowsOnly(t *testing.T) {
	fs, ts := judgeScenario()
	r := &Report{Findings: fs, Traces: ts}
	r.Localize(finding.EN)
	if !strings.HasPrefix(r.Summary, "2 of 2 reported flows fail: the first: pod:default/client-0 → pod:default/web-1:8080 is dropped at node/b") {
		t.Errorf("summary does not lead with the reported flows: %s", r.Summary)
	}
	if !strings.Contains(r.Summary, "1 of 2 do not get through") {
		t.Errorf("summary does not count the implicit checks on their own: %s", r.Summary)
	}
	// a bundle whose reported flows all get through and whose implicit
	// checks cannot be decided does not open with a failure count
	yes := true
	r = &Report{Traces: []trace.Trace{
		{From: "pod:a", To: "pod:b:80", Verdict: trace.Delivered, Reported: "timeout", Agrees: &yes},
		{From: "pod:a", To: "dns:x", Verdict: trace.Undetermined, Reason: "NEEDS_DATA", Implicit: true},
	}}
	r.Localize(finding.EN)
	if !strings.HasPrefix(r.Summary, "The 1 reported flow gets through.") {
		t.Errorf("healthy reported flow: %s", r.Summary)
	}
	// an undecided reported flow is stated as undecided with what decides it
	r = &Report{Traces: []trace.Trace{
		{From: "pod:a", To: "pod:b:80", Verdict: trace.Undetermined, Reason: "NEEDS_DATA",
			Steps: []trace.Step{{At: "node/b", Component: "iptables", Decision: "UNDETERMINED", Evidence: map[string]any{"need": "iptables-save.txt", "node": "b"}}}},
	}}
	r.Localize(finding.EN)
	if want := "1 of 1 reported flow cannot be decided: whether pod:a → pod:b:80 gets through cannot be decided at node/b (iptables); it is decided by `iptables-save.txt` (node b)."; !strings.HasPrefix(r.Summary, want) {
		t.Errorf("undecided flow:\n got %s\nwant %s", r.Summary, want)
	}
}
