package trace

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/analysis/finding"

	"tkesnap/analysis/model"
	"tkesnap/analysis/pcapflow"
	"tkesnap/parsers/pcap"
)

// The scenario of these tables: pod default/client-0 (172.16.0.5) on node
// n1 calls Service 10.96.0.10:80, whose kube-proxy rules fork (-m
// statistic --mode random) to endpoints 172.16.1.7:8080 and
// 172.16.1.8:8080, which answer, and 172.16.1.99:8080, an endpoint that no
// longer exists (stale rules): one connection of three times out.
const (
	vipView   = "172.16.0.5→10.96.0.10:80"
	staleView = "172.16.0.5→172.16.1.99:8080"
)

func podStep() Step {
	return Step{At: "pod/default/client-0", Component: "kube", Detail: "pod default/client-0 (172.16.0.5) on node n1", Before: vipView}
}

func branchTo(ep string, v Verdict) Trace {
	b := Trace{To: "ip:" + ep, Verdict: v, Steps: []Step{
		{At: "node/n1", Component: "iptables", Before: vipView, After: "172.16.0.5→" + ep, Decision: ActDNAT},
	}}
	if v == Dropped {
		b.Reason, b.Symptom = "KUBE_PROXY_RULES_STALE", "timeout"
		b.Steps = append(b.Steps, Step{At: "vpc", Component: "route", Before: "172.16.0.5→" + ep, Decision: ActNoRoute, Failed: true})
	} else {
		b.Steps = append(b.Steps, Step{At: "node/n2", Component: "kube", Before: "172.16.0.5→" + ep, Decision: ActDelivered})
	}
	return b
}

// staleService is the forking trace: two endpoints answer, one is stale.
func staleService() Trace {
	return Trace{From: "pod:default/client-0", To: "svc:default/web:80", Proto: "tcp",
		Steps:    []Step{podStep(), {At: "node/n1", Component: "iptables", Before: vipView, Decision: ActFork}},
		Branches: []Trace{branchTo("172.16.1.7:8080", Delivered), branchTo("172.16.1.8:8080", Delivered), branchTo("172.16.1.99:8080", Dropped)}}
}

// conn is one connection a capture on n1 shows: answered (SYN-ACK) or a
// SYN left unanswered.
func conn(view string, answered bool, pkt int) *pcapflow.Flow {
	tu, ok := parseTuple("tcp", view)
	if !ok {
		panic(view)
	}
	f := &pcapflow.Flow{Proto: pcap.ProtoTCP, Orig: pcapflow.Endpoint{Addr: tu.src, Port: 40000 + uint16(pkt)},
		Resp: pcapflow.Endpoint{Addr: tu.dst, Port: tu.dport}, FirstPkt: pkt, State: "S0", SynCount: 3}
	if answered {
		f.State, f.SynAck, f.Resp.Pkts = "SF", pkt+1, 3
	}
	return f
}

func captureOn(flows ...*pcapflow.Flow) *model.Cluster {
	return &model.Cluster{Captures: []*model.Capture{{Node: "n1", File: "captures/n1/any.pcap", Name: "any",
		Meta: model.CaptureMeta{Interface: "any"}, Result: &pcapflow.Result{Packets: 10 * len(flows), Flows: flows}}}}
}

func contradicts(t Trace) bool {
	for _, f := range Findings([]Trace{t}, nil) {
		if f.ID == "TRACE_CAPTURE_CONTRADICTS" {
			return true
		}
	}
	return false
}

// A capture contradicts a trace only where the model predicts otherwise
// with certainty; expected outcomes come from the scenario (what kube-proxy,
// an L7 CLB and the VPC edge do), not from the tool.
func TestCaptureContradictsOnlyWhatTheModelPredictsForCertain(t *testing.T) {
	direct := func(v Verdict, last Step) Trace {
		return Trace{From: "pod:default/client-0", To: "pod:default/web-1:8080", Proto: "tcp", Verdict: v,
			Steps: []Step{podStep(), {At: "node/n1", Component: "route", Before: "172.16.0.5→172.16.1.7:8080", Decision: ActDev, Via: "eth0"}, last}}
	}
	cases := []struct {
		name          string
		tr            Trace
		flows         []*pcapflow.Flow
		contradiction bool
		verdict       Verdict
		cannot        string
	}{
		{name: "stale endpoint: 1 of 3 connections unanswered, the others answered, is predicted",
			tr:    staleService(),
			flows: []*pcapflow.Flow{conn(vipView, true, 1), conn(vipView, false, 5)}, verdict: Dropped},
		{name: "stale endpoint: the first connection shown is unanswered, is predicted",
			tr:    staleService(),
			flows: []*pcapflow.Flow{conn(vipView, false, 1)}, verdict: Dropped},
		{name: "stale endpoint answering its own DNATed connection contradicts the stale rule",
			tr:    staleService(),
			flows: []*pcapflow.Flow{conn(staleView, true, 1)}, contradiction: true, verdict: Dropped},
		{name: "no fork: the rules drop, the capture shows it answered",
			tr:    direct(Dropped, Step{At: "node/n2", Component: "iptables", Before: "172.16.0.5→172.16.1.7:8080", Decision: ActDrop, Failed: true}),
			flows: []*pcapflow.Flow{conn("172.16.0.5→172.16.1.7:8080", true, 1)}, contradiction: true, verdict: Dropped},
		{name: "L7 CLB answers 404 after completing the handshake itself",
			tr: func() Trace {
				t := direct(Rejected, Step{At: "clb/lb-1", Component: "clb", Before: "172.16.0.5→10.0.0.100:80", Decision: ActHTTP404, Failed: true})
				t.Steps[1].Before, t.Symptom = "172.16.0.5→10.0.0.100:80", "http-404"
				return t
			}(),
			flows: []*pcapflow.Flow{conn("172.16.0.5→10.0.0.100:80", true, 1)}, verdict: Rejected},
		{name: "every hop decided passes, the SYN is unanswered: contradiction",
			tr:    direct(Delivered, Step{At: "node/n2", Component: "kube", Before: "172.16.0.5→172.16.1.7:8080", Decision: ActDelivered}),
			flows: []*pcapflow.Flow{conn("172.16.0.5→172.16.1.7:8080", false, 1)}, contradiction: true, verdict: Dropped},
		{name: "an undecided hop: the unanswered SYN cannot be predicted",
			tr:    direct(Undetermined, Step{At: "vpc", Component: "route", Before: "172.16.0.5→172.16.1.7:8080", Decision: ActUndetermined}),
			flows: []*pcapflow.Flow{conn("172.16.0.5→172.16.1.7:8080", false, 1)}, verdict: Undetermined, cannot: "undecided-hop"},
		{name: "the flow leaves the cluster (IDC, internet): its far side is not modelled",
			tr:    direct(Delivered, Step{At: "vpc", Component: "route", Before: "172.16.0.5→192.168.50.10:443", Decision: ActLeave}),
			flows: []*pcapflow.Flow{conn("172.16.0.5→192.168.50.10:443", false, 1)}, verdict: Delivered, cannot: "far-side"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(captureOn(tc.flows...))
			got := tc.tr
			tr.witness(&got, model.Flow{From: got.From, To: got.To, Proto: "tcp"}, true)
			if c := contradicts(got); c != tc.contradiction {
				t.Errorf("TRACE_CAPTURE_CONTRADICTS = %v, want %v; steps %+v", c, tc.contradiction, got.Steps)
			}
			if got.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s", got.Verdict, tc.verdict)
			}
			if got.CannotPredict != tc.cannot {
				t.Errorf("cannot_predict %q, want %q", got.CannotPredict, tc.cannot)
			}
			if tc.cannot != "" {
				s := got.Steps[len(got.Steps)-1]
				if s.Component != "capture" || s.Decision != ActCannotPredict || s.Failed {
					t.Errorf("no cannot-predict capture step: %+v", s)
				}
			}
		})
	}
}

// The stale branch's share: the forking trace still says 1 of 3 fail.
func TestStaleEndpointForkKeepsItsShare(t *testing.T) {
	got := staleService()
	New(captureOn(conn(vipView, true, 1))).witness(&got, model.Flow{From: got.From, To: got.To, Proto: "tcp"}, true)
	if got.FailingBranches != 1 || got.BranchCount != 3 {
		t.Errorf("%d of %d branches fail, want 1 of 3", got.FailingBranches, got.BranchCount)
	}
	for _, b := range got.Branches {
		if contradicts(b) {
			t.Errorf("branch %s contradicted by a connection any endpoint may have served", b.To)
		}
	}
}

// The reported symptom disagrees (TRACE_SYMPTOM_MISMATCH) only where the
// model predicts another outcome with certainty.
func TestSymptomMismatchOnlyWhenCertain(t *testing.T) {
	withBranches := func(v Verdict, sym string, bs ...Trace) Trace {
		return Trace{From: "pod:default/client-0", To: "svc:default/web:80", Verdict: v, Symptom: sym, Branches: bs,
			Steps: []Step{podStep()}}
	}
	undecided := branchTo("172.16.1.8:8080", Delivered)
	undecided.Verdict = Undetermined
	cases := []struct {
		name     string
		tr       Trace
		reported string
		agrees   *bool // nil: no judgement
		mismatch bool
		cannot   string
	}{
		{name: "stale endpoint: 1 of 3 time out, reported timeout",
			tr:       withBranches(Dropped, "timeout", branchTo("172.16.1.7:8080", Delivered), branchTo("172.16.1.8:8080", Delivered), branchTo("172.16.1.99:8080", Dropped)),
			reported: "timeout", agrees: boolp(true)},
		{name: "stale endpoint: no branch refuses, reported refused",
			tr:       withBranches(Dropped, "timeout", branchTo("172.16.1.7:8080", Delivered), branchTo("172.16.1.99:8080", Dropped)),
			reported: "refused", agrees: boolp(false), mismatch: true},
		{name: "an undecided branch may be the one the customer hit",
			tr:       withBranches(Dropped, "timeout", undecided, branchTo("172.16.1.99:8080", Dropped)),
			reported: "refused", cannot: "undecided-branch"},
		{name: "L7 CLB: backend Service missing, simulated 503, reported 404",
			tr:       Trace{From: "ip:203.0.113.50", To: "ingress:default/web", Verdict: Rejected, Reason: "INGRESS_BACKEND_MISSING", Symptom: "http-503"},
			reported: "http-404", cannot: "l7-status"},
		{name: "delivered to a listening backend, reported HTTP 404: the application's answer",
			tr:       Trace{From: "pod:default/client-0", To: "svc:default/web:80", Verdict: Delivered, Steps: []Step{podStep()}},
			reported: "http-404", cannot: "application"},
		{name: "delivered to an IDC: its side is not in the bundle",
			tr: Trace{From: "pod:default/client-0", To: "ip:192.168.50.10:443", Verdict: Delivered,
				Steps: []Step{podStep(), {At: "vpc", Component: "route", Decision: ActLeave}}},
			reported: "timeout", cannot: "far-side"},
		{name: "every hop decided delivers, reported timeout",
			tr:       Trace{From: "pod:default/client-0", To: "pod:default/web-1:8080", Verdict: Delivered, Steps: []Step{podStep()}},
			reported: "timeout", agrees: boolp(false), mismatch: true},
		{name: "rules refuse, reported timeout",
			tr:       Trace{From: "pod:default/client-0", To: "svc:default/api:80", Verdict: Rejected, Symptom: "refused"},
			reported: "timeout", agrees: boolp(false), mismatch: true},
		{name: "undetermined trace: no judgement",
			tr:       Trace{From: "pod:default/client-0", To: "ip:192.168.50.10:443", Verdict: Undetermined, Reason: "NEEDS_DATA"},
			reported: "timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.tr
			judgeReported(&got, model.Flow{From: got.From, To: got.To, Symptom: tc.reported})
			if (got.Agrees == nil) != (tc.agrees == nil) || got.Agrees != nil && *got.Agrees != *tc.agrees {
				t.Errorf("agrees = %v, want %v", fmtBool(got.Agrees), fmtBool(tc.agrees))
			}
			mm := false
			for _, f := range got.findings {
				mm = mm || f.ID == "TRACE_SYMPTOM_MISMATCH"
			}
			if mm != tc.mismatch {
				t.Errorf("TRACE_SYMPTOM_MISMATCH = %v, want %v", mm, tc.mismatch)
			}
			if got.CannotPredict != tc.cannot {
				t.Errorf("cannot_predict %q, want %q", got.CannotPredict, tc.cannot)
			}
		})
	}
}

func boolp(b bool) *bool { return &b }

func fmtBool(b *bool) string {
	if b == nil {
		return "nil"
	}
	if *b {
		return "true"
	}
	return "false"
}

// Every step of every trace of the testdata bundles decides one of the
// closed set of actions; a finding ID lives in Finding (a catalogued ID),
// never in the decision, and a failed step that stops a trace names the
// trace's reason when the reason is a finding.
func TestStepVocabularyIsClosed(t *testing.T) {
	var dirs []string
	for _, root := range []string{labDir, "../../testdata/handmade"} {
		es, err := os.ReadDir(root)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.IsDir() {
				dirs = append(dirs, filepath.Join(root, e.Name()))
			}
		}
	}
	if len(dirs) < 10 {
		t.Fatalf("only %d bundles found", len(dirs))
	}
	var check func(dir string, tr Trace)
	check = func(dir string, tr Trace) {
		for _, s := range tr.Steps {
			if s.Decision != "" && !s.Decision.Known() {
				t.Errorf("%s %s → %s: step %s decides %q, not an Action", dir, tr.From, tr.To, s.At, s.Decision)
			}
			if _, ok := finding.Lookup(string(s.Decision)); ok && s.Finding != string(s.Decision) {
				t.Errorf("%s: decision %q is a finding ID but Finding is %q", dir, s.Decision, s.Finding)
			}
			if s.Finding != "" {
				if _, ok := finding.Lookup(s.Finding); !ok {
					t.Errorf("%s: step finding %q is not in the catalog", dir, s.Finding)
				}
			}
		}
		for _, b := range tr.Branches {
			check(dir, b)
		}
	}
	for _, d := range dirs {
		for _, tr := range All(load(t, d)) {
			check(d, tr)
		}
	}
}

// The JSON decision keeps the strings the free-form field held ("dev
// eth0", "nameserver 10.96.0.10"), and reads back into action and operand.
func TestStepJSONKeepsTheDecisionStrings(t *testing.T) {
	for _, tc := range []struct {
		step Step
		want string
	}{
		{Step{At: "node/n1", Component: "route", Decision: ActDev, Via: "eth0"}, `"decision":"dev eth0"`},
		{Step{At: "dns", Component: "kube", Decision: ActNameserver, Via: "10.96.0.10"}, `"decision":"nameserver 10.96.0.10"`},
		{Step{At: "node/n1", Component: "iptables", Decision: ActStale, Finding: "KUBE_PROXY_RULES_STALE", Tags: []string{TagStale}},
			`"decision":"STALE"`},
		{Step{At: "node/n1", Component: "iptables", Decision: ActNoDNAT}, `"decision":"NO DNAT"`},
	} {
		b, err := json.Marshal(tc.step)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), tc.want) {
			t.Errorf("%s lacks %s", b, tc.want)
		}
		var back Step
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.Decision != tc.step.Decision || back.Via != tc.step.Via || back.Finding != tc.step.Finding || fmt.Sprint(back.Tags) != fmt.Sprint(tc.step.Tags) {
			t.Errorf("round trip %+v → %s → %+v", tc.step, b, back)
		}
	}
}
