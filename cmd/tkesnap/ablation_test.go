package main

import (
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"tkesnap/analysis/analyzers"
	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/trace"
	"tkesnap/parsers/bundle"
)

// outcome is what an analysis concludes: the findings (one per fault, as
// the report lists them) and how every traced flow and branch ends.
type outcome struct {
	findings []finding.Finding
	flows    map[string]flowEnd
	// scoped: the bundle has reported flows and every endpoint resolves,
	// so the cloud checks answer for those flows only; otherwise they
	// check the cluster-wide requirements (checks.cloudScopedByFlows).
	scoped bool
	// inconclusive are the report's items: what could not be decided,
	// naming the file and the command that collects it.
	inconclusive []finding.Inconclusive
}

// flowEnd is how one traced flow (or branch) ends: its verdict, the
// reason, and the hop where it fails ("" when it does not).
type flowEnd struct {
	verdict trace.Verdict
	reason  string
	at      string
	// witnesses are the captures that decided a step of the flow or of
	// its branches (a step tagged capture, citing the capture file)
	witnesses []string
}

// analyzeBundle runs what `tkesnap analyze` runs on an opened bundle, up to
// the findings (one per fault) and the traces.
func analyzeBundle(t testing.TB, b *bundle.Bundle) outcome {
	c := model.Load(b)
	res := driver.Run(c, analyzers.All())
	for _, p := range res.Problems {
		t.Errorf("%s: %s", b.Path, p.Message)
	}
	o := outcome{findings: res.Merged, flows: map[string]flowEnd{}, scoped: len(c.Flows) > 0, inconclusive: res.Inconclusive}
	for _, f := range c.Flows {
		for _, spec := range []string{f.From, f.To} {
			if e, err := c.Resolve(spec); !strings.HasPrefix(spec, "dns:") && (err != nil || len(e.IPs) == 0) {
				o.scoped = false
			}
		}
	}
	var walk func(prefix string, ts []trace.Trace)
	walk = func(prefix string, ts []trace.Trace) {
		for _, tr := range ts {
			k := prefix + tr.From + " → " + tr.To
			if tr.Proto != "" {
				k += " " + tr.Proto
			}
			if tr.Implicit {
				k += " (implicit)"
			}
			e := flowEnd{verdict: tr.Verdict, reason: tr.Reason, at: failedHop(tr), witnesses: witnesses(tr)}
			o.flows[k] = e
			walk(k+" / ", tr.Branches)
		}
	}
	walk("", analyzers.Traces(res))
	return o
}

// failedHop is the trace's failed step, else its first failing branch's:
// a flow forked per endpoint only once a file is gone (no iptables dump
// of the sending node: one branch per endpoint from the API) fails at
// the same hop inside its branch.
func failedHop(tr trace.Trace) string {
	for _, s := range tr.Steps {
		if s.Failed {
			return s.At
		}
	}
	for _, b := range tr.Branches {
		if failing(b.Verdict) {
			if at := failedHop(b); at != "" {
				return at
			}
		}
	}
	return ""
}

// witnesses are the capture files cited by the capture-decided steps of a
// trace and its branches.
func witnesses(tr trace.Trace) []string {
	var out []string
	for _, s := range tr.Steps {
		if slices.Contains(s.Tags, trace.TagCapture) {
			if f, _ := s.Evidence["file"].(string); f != "" && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	for _, b := range tr.Branches {
		for _, f := range witnesses(b) {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

func failing(v trace.Verdict) bool {
	return v == trace.Dropped || v == trace.Rejected || v == trace.NoRoute
}

// added returns what the ablated analysis concludes that the full one did
// not:
//   - an error or warning finding whose fault the full analysis does not
//     hold (holds), and that is not the restatement of a flow failure the
//     full analysis has at the same hop (a drop seen in iptables is
//     IPTABLES_DROPS_FLOW once the NetworkPolicy that explains it is gone:
//     the same fault, less specific);
//   - a flow or branch that fails definitely where the full one did not,
//     or fails at another hop.
//
// A finding that gives way to an inconclusive item is fine (the file it
// concluded from is gone); a finding that appears is a conclusion drawn
// from an absence.
//
// Removing flows.json, or a file a flow's endpoint resolves from, turns
// the question from the reported flows into the cluster-wide
// requirements: a fault the full bundle answers to that question
// (wide: its analysis without flows.json) is no conclusion from absence.
func added(full, wide, ablated outcome) []string {
	var out []string
	for _, f := range ablated.findings {
		if f.Severity < finding.Warning || holds(full.findings, f) || sameFailure(full, ablated, f) {
			continue
		}
		if full.scoped && !ablated.scoped && holds(wide.findings, f) {
			continue
		}
		out = append(out, fmt.Sprintf("finding %s %s on %s", f.Severity, f.ID, strings.Join(f.Objects, ", ")))
	}
	// A flow is known by its endpoints' names, and a removed file renames
	// some (cloud/vpcs.json: the CLB's clients are the subnet, not the
	// VPC; cluster/pods.yaml: an endpoint is its IP, not its pod), so a
	// failure is also matched by its hop: the same hop failing for the
	// same reason in the full analysis is no new failure. A flow the full
	// analysis did not fail must not fail. (The reason may change with
	// the file: a drop NETPOL_DENIES_FLOW names is IPTABLES_DROPS_FLOW
	// without cluster/networkpolicies.yaml.)
	failedAt := map[[2]string]bool{}
	for _, e := range full.flows {
		if failing(e.verdict) {
			failedAt[[2]string{e.at, e.reason}] = true
			if e.at != "" {
				failedAt[[2]string{e.at}] = true
			}
		}
	}
	var keys []string
	for k, e := range ablated.flows {
		if !failing(e.verdict) {
			continue
		}
		was, traced := full.flows[k]
		switch {
		case traced && !failing(was.verdict):
		case traced && was.at == e.at:
			continue
		case failedAt[[2]string{e.at, e.reason}], e.at != "" && failedAt[[2]string{e.at}]:
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		was, e := full.flows[k], ablated.flows[k]
		if was.verdict == "" {
			was.verdict = "not traced"
		}
		out = append(out, fmt.Sprintf("flow %s: %s at %s (%s), was %s at %q (%s)", k, e.verdict, e.at, e.reason, was.verdict, was.at, was.reason))
	}
	return out
}

// holds reports whether fs has f's fault at f's severity or worse. A
// fault is what finding.Merge makes one finding of: the ID and the primary
// object (the first; the first evidence file without objects) — the SG
// that blocks, not the list of nodes bound to it, which a missing
// cluster/pods.yaml widens from the reported flows' nodes to all — or a
// subset of its objects (subset). A
// capture finding is a fact about one packet's path across captures:
// removing one capture moves the ends of that path to the neighbouring
// captures, so it is the same fault when it shares a capture with one.
func holds(fs []finding.Finding, f finding.Finding) bool {
	for _, g := range fs {
		if g.ID != f.ID || g.Severity < f.Severity {
			continue
		}
		if primary(g) == primary(f) || subset(f.Objects, g.Objects) {
			return true
		}
		if strings.HasPrefix(f.ID, "PCAP_") {
			for _, o := range f.Objects {
				if strings.HasPrefix(o, "capture/") && slices.Contains(g.Objects, o) {
					return true
				}
			}
		}
	}
	return false
}

// subset: every object of a is one of b's (a fault named with fewer
// objects once the file naming the others is gone: MASQ_HIDES_SOURCE on a
// node's rules when the ip-masq-agent configmap is missing).
func subset(a, b []string) bool {
	for _, o := range a {
		if !slices.Contains(b, o) {
			return false
		}
	}
	return len(a) > 0
}

func primary(f finding.Finding) string {
	if len(f.Objects) > 0 {
		return f.Objects[0]
	}
	if len(f.Evidence) > 0 {
		return f.Evidence[0].File
	}
	return ""
}

// sameFailure reports whether f is the reason of an ablated flow failing
// at a hop where a flow of the full analysis fails too: the same fault,
// named less specifically once the file that named it is gone.
func sameFailure(full, ablated outcome, f finding.Finding) bool {
	for _, e := range ablated.flows {
		if !failing(e.verdict) || e.at == "" || e.reason != f.ID && f.ID != "TRACE_FLOW_FAILS" {
			continue
		}
		if f.ID == "TRACE_FLOW_FAILS" && !slices.Contains(f.Objects, e.at) {
			continue
		}
		for _, was := range full.flows {
			if failing(was.verdict) && was.at == e.at {
				return true
			}
		}
	}
	return false
}

// TestAblation is the metamorphic property of issue 14 on every bundle
// under testdata: removing any one file (and its manifest record), as an
// older collector or a refused command would, must not add an error or
// warning finding and must not make a flow fail that did not (see added).
// Absent is unknown: the analysis may conclude less, never more. And
// absent is named: when the removal changes what the analysis concludes
// (a fault found or gone, a traced flow's verdict, reason or failing hop;
// see changed and, for captures, observations), an inconclusive item of
// the report names the removed file (names).
func TestAblation(t *testing.T) {
	t.Chdir("../..")
	type job struct {
		bundle string
		b      *bundle.Bundle
		full   outcome
		wide   outcome
		file   string
	}
	bundles := labBundles(t)
	var jobs []job
	for _, p := range bundles {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := bundle.Open(abs, bundle.DefaultLimits())
		if err != nil {
			t.Fatalf("open %s: %v", p, err)
		}
		t.Cleanup(func() { b.Close() })
		full := analyzeBundle(t, b)
		wide := full
		if full.scoped {
			wide = analyzeBundle(t, b.Without("flows.json"))
		}
		for _, f := range b.Files() {
			jobs = append(jobs, job{p, b, full, wide, f})
		}
	}
	ch := make(chan job)
	var mu sync.Mutex
	var fails []string
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				abl := analyzeBundle(t, j.b.Without(j.file))
				got := added(j.full, j.wide, abl)
				full, ablated := observations(j.full, abl, j.file)
				if ch := changed(full, ablated, capturePcap(j.file)); ch != "" && !names(abl.inconclusive, j.file) {
					got = append(got, "changed without naming it: "+ch)
				}
				mu.Lock()
				for _, a := range got {
					fails = append(fails, fmt.Sprintf("%s without %s: %s", j.bundle, j.file, a))
				}
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	sort.Strings(fails)
	for _, f := range fails {
		t.Error(f)
	}
	t.Logf("%d ablations over %d bundles, %d added or unnamed conclusions", len(jobs), len(bundles), len(fails))
}

// changed says what differs between the full analysis and an ablated one:
// a fault (ID and primary object, at any severity) one has and the other
// not, or a traced flow (or branch) that ends differently — another
// verdict, reason or failing hop, or traced in one only. "" when the
// analysis concludes the same.
//
// capture is the removed file when it is a capture (its .pcap for the
// .json metadata), "" otherwise: a flow that capture decided may change.
func changed(full, ablated outcome, capture string) string {
	for _, f := range full.findings {
		if !sameFault(ablated.findings, f) {
			return fmt.Sprintf("finding %s %s on %s is gone", f.Severity, f.ID, strings.Join(f.Objects, ", "))
		}
	}
	for _, f := range ablated.findings {
		if !sameFault(full.findings, f) {
			return fmt.Sprintf("finding %s %s on %s appears", f.Severity, f.ID, strings.Join(f.Objects, ", "))
		}
	}
	var keys []string
	for k := range full.flows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		was := full.flows[k]
		e, ok := ablated.flows[k]
		if !ok {
			return fmt.Sprintf("flow %s (%s %s) is not traced", k, was.verdict, was.reason)
		}
		if e.verdict != was.verdict || e.reason != was.reason || e.at != was.at {
			if slices.Contains(was.witnesses, capture) {
				continue // the removed capture decided it: see observations
			}
			return fmt.Sprintf("flow %s: %s %s at %q, was %s %s at %q", k, e.verdict, e.reason, e.at, was.verdict, was.reason, was.at)
		}
	}
	return ""
}

// sameFault: fs holds f's fault — its ID on its primary object, or on a
// subset or superset of its objects (a fault named with fewer objects once
// the file naming one is gone, as holds has it).
func sameFault(fs []finding.Finding, f finding.Finding) bool {
	for _, g := range fs {
		if g.ID == f.ID && (primary(g) == primary(f) || subset(f.Objects, g.Objects) || subset(g.Objects, f.Objects)) {
			return true
		}
	}
	return false
}

// observations leaves out of both analyses what the captures witnessed.
// A capture is not an input a check needs: the collector takes it when
// asked (--capture), while the reported flows run, and a capture finding
// (PCAP_*) is an observation made by comparing the captures present (a
// SYN seen at one capture point and not at the next), no conclusion about
// the configuration. Removing one capture file (captures/X.pcap, or its
// metadata captures/X.json without which its capture point is unknown)
// changes what is compared, so capture findings come and go with it and
// no notice is due; so may a traced flow whose step that capture decided
// (a witness tagged capture citing it: the RST that settled an AMBIGUOUS
// hop), which without it is AMBIGUOUS again as the model alone has it.
// Every other finding and traced flow must stay, or the report must name
// the capture.
func observations(full, ablated outcome, file string) (outcome, outcome) {
	if !strings.HasPrefix(file, "captures/") {
		return full, ablated
	}
	drop := func(fs []finding.Finding) []finding.Finding {
		var keep []finding.Finding
		for _, f := range fs {
			if !strings.HasPrefix(f.ID, "PCAP_") {
				keep = append(keep, f)
			}
		}
		return keep
	}
	full.findings, ablated.findings = drop(full.findings), drop(ablated.findings)
	return full, ablated
}

// capturePcap is the capture file a removed bundle file is (its .pcap for
// the .json metadata), "" when it is no capture.
func capturePcap(file string) string {
	if !strings.HasPrefix(file, "captures/") {
		return ""
	}
	if p, ok := strings.CutSuffix(file, ".json"); ok {
		return p + ".pcap"
	}
	return file
}

// names reports whether an inconclusive item names file: the file itself
// (a node's file by its node and name) or a folder holding it (an item
// may say what the folder holds in parentheses: "cloud/ (tccli …)").
func names(in []finding.Inconclusive, file string) bool {
	for _, x := range in {
		p := driver.BundlePath(x)
		if i := strings.Index(p, "/ ("); i > 0 {
			p = p[:i+1]
		}
		if p == file || strings.HasSuffix(p, "/") && strings.HasPrefix(file, p) {
			return true
		}
	}
	return false
}

// TestAddedComparison pins what the ablation property counts as added, on
// hand-made outcomes.
func TestAddedComparison(t *testing.T) {
	sg := finding.Finding{ID: "SG_POD_CIDR_BLOCKED", Severity: finding.Error, Objects: []string{"sg-1", "node/a"}}
	route := finding.Finding{ID: "ROUTE_MISSING", Severity: finding.Error, Objects: []string{"rtb-1", "vpc-1"}}
	drop := flowEnd{verdict: trace.Dropped, reason: "IPTABLES_DROPS_FLOW", at: "node/b"}
	full := outcome{findings: []finding.Finding{sg}, flows: map[string]flowEnd{
		"a → b": {verdict: trace.Dropped, reason: "NETPOL_DENIES_FLOW", at: "node/b"},
		"c → d": {verdict: trace.Delivered},
	}, scoped: true}
	for _, tc := range []struct {
		name    string
		ablated outcome
		want    int
	}{
		{"nothing", outcome{}, 0},
		{"same fault, more nodes", outcome{findings: []finding.Finding{{ID: sg.ID, Severity: finding.Error, Objects: []string{"sg-1", "node/a", "node/c"}}}}, 0},
		{"a new fault", outcome{findings: []finding.Finding{route}}, 1},
		{"worse severity", outcome{findings: []finding.Finding{{ID: sg.ID, Severity: finding.Error + 1, Objects: sg.Objects}}}, 1},
		{"an info finding", outcome{findings: []finding.Finding{{ID: "X", Severity: finding.Info}}}, 0},
		{"same hop, less specific", outcome{findings: []finding.Finding{{ID: "IPTABLES_DROPS_FLOW", Severity: finding.Error, Objects: []string{"node/b"}}},
			flows: map[string]flowEnd{"a → b": drop}}, 0},
		{"a delivered flow fails", outcome{flows: map[string]flowEnd{"c → d": drop}}, 1},
		{"a renamed flow fails where another failed", outcome{flows: map[string]flowEnd{"ip:1 → b": drop}}, 0},
		{"a renamed flow fails at a new hop", outcome{flows: map[string]flowEnd{"ip:1 → b": {verdict: trace.NoRoute, reason: "ROUTE_MISSING", at: "vpc"}}}, 1},
		{"unscoped: the cluster-wide fault", outcome{findings: []finding.Finding{route}, scoped: false}, 0},
	} {
		wide := outcome{findings: []finding.Finding{route}}
		abl := tc.ablated
		if tc.name != "unscoped: the cluster-wide fault" {
			abl.scoped = true
		}
		if got := added(full, wide, abl); len(got) != tc.want {
			t.Errorf("%s: added %q, want %d", tc.name, got, tc.want)
		}
	}
}

// TestChangedComparison pins the second ablation property on hand-made
// outcomes: what counts as a change, which changes a removed capture may
// make, and what names the removed file.
func TestChangedComparison(t *testing.T) {
	sg := finding.Finding{ID: "SG_POD_CIDR_BLOCKED", Severity: finding.Error, Objects: []string{"sg-1", "node/a"}}
	syn := finding.Finding{ID: "PCAP_SYN_UNANSWERED", Severity: finding.Error, Objects: []string{"capture/captures/a/x.pcap"}}
	refused := flowEnd{verdict: trace.Rejected, reason: "SVC_NO_ENDPOINTS", at: "node/a", witnesses: []string{"captures/a/x.pcap"}}
	full := outcome{findings: []finding.Finding{sg, syn}, flows: map[string]flowEnd{"a → b": refused, "c → d": {verdict: trace.Delivered}}}
	for _, tc := range []struct {
		name    string
		ablated outcome
		file    string
		change  bool
	}{
		{"the same", full, "cluster/pods.yaml", false},
		{"a finding gone", outcome{findings: []finding.Finding{syn}, flows: full.flows}, "cloud/vpcs.json", true},
		{"a finding appears", outcome{findings: []finding.Finding{sg, syn, {ID: "ROUTE_MISSING", Objects: []string{"rtb-1"}}}, flows: full.flows}, "cloud/vpcs.json", true},
		{"fewer objects of the same fault", outcome{findings: []finding.Finding{{ID: sg.ID, Objects: []string{"sg-1"}}, syn}, flows: full.flows}, "cloud/vpcs.json", false},
		{"a flow fails elsewhere", outcome{findings: full.findings, flows: map[string]flowEnd{"a → b": {verdict: trace.Dropped, at: "sg-1"}, "c → d": {verdict: trace.Delivered}}}, "cloud/vpcs.json", true},
		{"a flow is not traced", outcome{findings: full.findings, flows: map[string]flowEnd{"a → b": refused}}, "cloud/vpcs.json", true},
		{"a capture's finding goes with it", outcome{findings: []finding.Finding{sg}, flows: full.flows}, "captures/a/y.pcap", false},
		{"a capture's finding goes with its metadata", outcome{findings: []finding.Finding{sg}, flows: full.flows}, "captures/a/x.json", false},
		{"a capture is no reason for a configuration finding to go", outcome{findings: []finding.Finding{syn}, flows: full.flows}, "captures/a/x.pcap", true},
		{"the flow the removed capture decided", outcome{findings: []finding.Finding{sg}, flows: map[string]flowEnd{"a → b": {verdict: trace.Ambiguous, reason: "SVC_NO_ENDPOINTS"}, "c → d": {verdict: trace.Delivered}}}, "captures/a/x.json", false},
		{"a flow another capture decided", outcome{findings: []finding.Finding{sg}, flows: map[string]flowEnd{"a → b": {verdict: trace.Ambiguous, reason: "SVC_NO_ENDPOINTS"}, "c → d": {verdict: trace.Delivered}}}, "captures/b/z.pcap", true},
	} {
		f, a := observations(full, tc.ablated, tc.file)
		if got := changed(f, a, capturePcap(tc.file)); (got != "") != tc.change {
			t.Errorf("%s: changed %q, want a change: %v", tc.name, got, tc.change)
		}
	}
	in := []finding.Inconclusive{{Need: "ip-link.json", Node: "n1"}, {Need: "nodes/n2/"}, {Need: "cloud/vpcs.json"}}
	for file, want := range map[string]bool{
		"nodes/n1/ip-link.json": true, "nodes/n2/sysctl.txt": true, "cloud/vpcs.json": true,
		"nodes/n1/ip-addr.json": false, "cloud/subnets.json": false,
	} {
		if got := names(in, file); got != want {
			t.Errorf("names(%s) = %v, want %v", file, got, want)
		}
	}
}
