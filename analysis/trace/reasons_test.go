package trace

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"tkesnap/analysis/finding"
)

// Every reason the tracer can end a flow with is a catalog ID (severity,
// remedy, English and Chinese), except the two codes of an undecided
// flow; the reasons are read from the tracer's source so that a new one
// cannot be added without its entry.
func TestEveryTraceReasonIsCatalogued(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?:reason:\s*|Reason\s*=\s*|Reason,\s*[a-zA-Z.]+\s*=\s*[A-Za-z]+,\s*)"([A-Z][A-Z_]+)"`)
	undecided := map[string]bool{"NEEDS_DATA": true, "TRACE_INCOMPLETE": true}
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			seen[m[1]] = true
		}
	}
	if len(seen) < 20 {
		t.Fatalf("found only %d reasons in the tracer's source: the pattern no longer matches how outcomes are written", len(seen))
	}
	for id := range seen {
		if undecided[id] {
			continue
		}
		e, ok := finding.Lookup(id)
		if !ok {
			t.Errorf("trace reason %s has no catalog entry", id)
			continue
		}
		for _, lang := range []finding.Lang{finding.EN, finding.ZH} {
			if tx := e.Texts[lang]; tx.Title == "" || tx.Message == "" || tx.Remedy == "" {
				t.Errorf("trace reason %s lacks its %s title, message or remedy", id, lang)
			}
		}
	}
}

// A failing reported flow whose reason no check reports still yields a
// finding (its reason's entry when the trace has all its arguments, else
// TRACE_FLOW_FAILS), rendered without empty slots; implicit flows and
// delivered ones yield none.
func TestFailingReportedFlowIsAlwaysAFinding(t *testing.T) {
	step := Step{At: "node/10.0.1.12", Component: "route", Failed: true}
	for _, tc := range []struct {
		tr   Trace
		want string
	}{
		{Trace{From: "pod:a/b", To: "pod:a/c:80", Verdict: NoRoute, Reason: "ROUTING_LOOP", Steps: []Step{step}}, "ROUTING_LOOP"},
		{Trace{From: "ip:203.0.113.9", To: "svc:a/web:80", Verdict: NoRoute, Reason: "CLUSTERIP_FROM_OUTSIDE", Steps: []Step{{At: "svc/a/web", Component: "kube", Failed: true}}}, "CLUSTERIP_FROM_OUTSIDE"},
		{Trace{From: "pod:a/b", To: "svc:a/web:81", Verdict: Dropped, Reason: "SVC_PORT_NOT_FOUND", Steps: []Step{{At: "svc:a/web:81", Component: "kube", Failed: true}}}, "SVC_PORT_NOT_FOUND"},
		{Trace{From: "pod:a/x", To: "pod:a/c:80", Verdict: Undetermined, Reason: "UNKNOWN_ENDPOINT", Steps: []Step{{At: "flow", Component: "kube", Failed: true}}}, "UNKNOWN_ENDPOINT"},
		// a check's ID whose text needs the check's arguments
		{Trace{From: "pod:a/b", To: "svc:a/h:80", Verdict: Dropped, Reason: "SVC_NO_ENDPOINTS", Steps: []Step{{At: "svc/a/h", Component: "kube", Failed: true}}}, "TRACE_FLOW_FAILS"},
		{Trace{From: "pod:a/b", To: "pod:a/c:80", Verdict: Dropped, Reason: "ROUTING_LOOP", Implicit: true, Steps: []Step{step}}, ""},
		{Trace{From: "pod:a/b", To: "pod:a/c:80", Verdict: Delivered}, ""},
	} {
		fs := Findings([]Trace{tc.tr}, nil)
		if tc.want == "" {
			if len(fs) != 0 {
				t.Errorf("%s → %s (%s): findings %v, want none", tc.tr.From, tc.tr.To, tc.tr.Verdict, fs)
			}
			continue
		}
		if len(fs) != 1 || fs[0].ID != tc.want {
			t.Errorf("%s → %s: findings %+v, want one %s", tc.tr.From, tc.tr.To, fs, tc.want)
			continue
		}
		if e, _ := finding.Lookup(fs[0].ID); e.Severity == finding.Info && tc.tr.Verdict != Undetermined {
			t.Errorf("%s is info: a failing reported flow would exit 0", fs[0].ID)
		}
		for _, lang := range []finding.Lang{finding.EN, finding.ZH} {
			f := fs[0]
			if err := finding.Render(&f, lang); err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{f.Message, f.Remedy} {
				if slots := finding.EmptySlots(s); len(slots) > 0 {
					t.Errorf("%s %s: empty slots %q in %s", f.ID, lang, slots, s)
				}
			}
		}
		// covered by a check's finding: nothing added
		if got := Findings([]Trace{tc.tr}, []finding.Finding{finding.New(tc.tr.Reason, nil, nil)}); len(got) != 0 {
			t.Errorf("%s reported by a check is reported again by the trace: %v", tc.tr.Reason, got)
		}
	}
}
