package report

import (
	"bytes"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/trace"
)

// hostile is a report whose every bundle-derived string tries to break out
// of its HTML context.
func hostile() *Report {
	x := `<script>alert(1)</script>"'><img src=x onerror=alert(2)>`
	r := fixture()
	r.Bundle.Path = x
	r.Bundle.Nodes = append(r.Bundle.Nodes, x)
	r.Findings = append(r.Findings, finding.New("T_SVC_NO_ENDPOINTS", finding.Args{"service": x}, []string{"svc/" + x},
		finding.Evidence{File: x, Line: 1, Excerpt: "</pre></details>" + x}))
	r.Traces = append(r.Traces, trace.Trace{From: x, To: "svc:" + x, Verdict: trace.Dropped, Reason: x,
		Steps: []trace.Step{{At: x, Component: x, Detail: x, Before: x, After: x, Decision: trace.Action(x), Failed: true,
			Evidence: map[string]any{"file": x, x: x}}}})
	r.Inconclusive = append(r.Inconclusive, finding.Inconclusive{Need: x, Node: x, Why: x})
	r.Bundle.Problems = append(r.Bundle.Problems, finding.Problem{File: x, Message: x})
	return r
}

func TestHTMLEscapesHostileBundleContent(t *testing.T) {
	for _, lang := range []finding.Lang{finding.EN, finding.ZH} {
		r := hostile()
		r.Localize(lang)
		var b bytes.Buffer
		if err := r.HTML(&b); err != nil {
			t.Fatal(err)
		}
		page := b.String()
		if n := strings.Count(page, "<script"); n != 1 {
			t.Errorf("%s: %d <script> elements, want only ours", lang, n)
		}
		for _, bad := range []string{"<img", "</pre></details><"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s: hostile %q reached the page unescaped", lang, bad)
			}
		}
		if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: hostile text is not shown escaped", lang)
		}
	}
}

func TestHTMLIsSelfContained(t *testing.T) {
	r := fixture()
	r.Localize(finding.EN)
	page := string(render(t, r, "html"))
	// no URL the browser would fetch: only the SVG namespace and fragment links
	for _, m := range regexp.MustCompile(`(?i)(src|href)\s*=\s*"([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if !strings.HasPrefix(m[2], "#") {
			t.Errorf("external reference %s=%q", m[1], m[2])
		}
	}
	if regexp.MustCompile(`(?i)url\((["']?)(https?:|//)`).MatchString(page) || strings.Contains(page, "@import") {
		t.Error("stylesheet fetches something")
	}
	if !strings.Contains(page, "Content-Security-Policy") || !strings.Contains(html.UnescapeString(page), "default-src 'none'") {
		t.Error("no Content-Security-Policy")
	}
}

func TestHTMLDiagramMarksTheFailingHop(t *testing.T) {
	r := fixture()
	r.Localize(finding.EN)
	page := string(render(t, r, "html"))
	// one diagram per traced flow, branches included
	if got := strings.Count(page, `<svg xmlns="http://www.w3.org/2000/svg" class="flow"`); got != 6 {
		t.Errorf("%d diagrams, want 6 (the main failing flow under the summary, 3 traces, 2 branches)", got)
	}
	fail := regexp.MustCompile(`(?s)<g class="hop fail"><title>([^<]*)</title>.*?</g>`).FindAllStringSubmatch(page, -1)
	if len(fail) != 2 {
		t.Fatalf("%d failing hops drawn, want 2 (summary and trace 1)", len(fail))
	}
	if !strings.Contains(fail[0][1], "sg-node2") || !strings.Contains(fail[0][0], "Node security group blocks the pod CIDR") {
		t.Errorf("failing hop is not sg-node2 with its reason: %s", fail[0][0])
	}
	if !strings.Contains(fail[0][0], `stroke="#c62828"`) {
		t.Error("failing hop is not red")
	}
}

// The fixture report as an HTML file, in both languages, with and without
// findings: the page written to disk is the whole rendering and shows every
// finding's title. TKESNAP_WRITE_HTML=path also keeps the English page
// there to look at in a browser.
func TestWriteFixtureHTML(t *testing.T) {
	for _, c := range []struct {
		lang         finding.Lang
		tracesOnly   bool
		keepFileName string
	}{{finding.EN, false, os.Getenv("TKESNAP_WRITE_HTML")}, {finding.ZH, false, ""}, {finding.EN, true, ""}} {
		r := fixture()
		r.Localize(c.lang)
		if c.tracesOnly {
			r.Findings = r.Findings[:0]
		}
		page := render(t, r, "html")
		p := c.keepFileName
		if p == "" {
			p = filepath.Join(t.TempDir(), "report.html")
		}
		if err := os.WriteFile(p, page, 0o644); err != nil {
			t.Fatal(err)
		}
		back, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(back, page) {
			t.Fatalf("%s: written page differs from the rendering (%v)", p, err)
		}
		text := string(page)
		if !strings.HasPrefix(strings.ToLower(text), "<!doctype html>") || !strings.Contains(text, "</html>") {
			t.Errorf("%s traces-only=%v: not a complete HTML page", c.lang, c.tracesOnly)
		}
		for _, f := range fixture().Findings {
			f := f
			finding.Render(&f, c.lang)
			if !c.tracesOnly && !strings.Contains(text, html.EscapeString(f.Title)) {
				t.Errorf("%s: title %q not shown", c.lang, f.Title)
			}
			if got := strings.Contains(text, "<code>"+f.ID+"</code></h4>"); got == c.tracesOnly {
				t.Errorf("%s traces-only=%v: finding %s listed=%v", c.lang, c.tracesOnly, f.ID, got)
			}
		}
		if n := strings.Count(text, `class="flow"`); n < len(r.Traces) {
			t.Errorf("%s: %d flow diagrams for %d traces", c.lang, n, len(r.Traces))
		}
	}
}

func TestHugeExcerptsAreClipped(t *testing.T) {
	r := fixture()
	r.Findings[0].Evidence = []finding.Evidence{{File: "nodes/n/iptables-save.txt", Line: 1, Excerpt: strings.Repeat("-A KUBE-SERVICES -j ACCEPT\n", 5000)}}
	r.Localize(finding.EN)
	for format, limit := range map[string]int{"text": 30_000, "md": 30_000, "html": 60_000} {
		if n := len(render(t, r, format)); n > limit {
			t.Errorf("%s: %d bytes for one huge excerpt", format, n)
		}
	}
}

func TestTerminalEscapesInBundleTextAreNeutralized(t *testing.T) {
	r := fixture()
	evil := "web\x1b]0;owned\x07\x1b[2J\u202egnp.exe\x9b31m"
	r.Findings[0].Objects = []string{evil}
	r.Bundle.Problems = append(r.Bundle.Problems, finding.Problem{File: evil, Message: evil})
	r.Localize(finding.EN)
	for _, format := range []string{"text", "md", "html"} {
		out := string(render(t, r, format))
		for _, bad := range []string{"\x1b", "\x07", "\u202e", "\x9b"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s: %q reached the output", format, bad)
			}
		}
		if !strings.Contains(out, `web\u001b]0;owned\u0007\u001b[2J\u202egnp.exe\x9b31m`) {
			t.Errorf("%s: the neutralized name is not shown", format)
		}
	}
}

// A CLB flow forks over the Service's nodes: the CLB's SG accepts (before
// the fork) and one node's SG drops inside its branch. The diagram's red
// box is that node SG, with the branch's reason, not the CLB SG.
func TestDiagramOfAForkedFlowMarksTheHopThatFailsInTheBranch(t *testing.T) {
	tr := trace.Trace{From: "ip:203.0.113.50", To: "svc:default/web-lb:443", Verdict: trace.Dropped, Reason: "SG_NODEPORT_RANGE_BLOCKED",
		Steps: []trace.Step{
			{At: "clb/lb-1", Component: "clb", Decision: "listener"},
			{At: "sg-clb", Component: "security-group", Decision: "ACCEPT"},
		},
		Branches: []trace.Trace{
			{To: "node 10.0.1.11", Verdict: trace.Delivered, Steps: []trace.Step{{At: "sg-node", Component: "security-group", Decision: "ACCEPT"}}},
			{To: "node 10.0.1.12", Verdict: trace.Dropped, Reason: "SG_NODEPORT_RANGE_BLOCKED", Steps: []trace.Step{
				{At: "node/10.0.1.12", Component: "route", Decision: "dev eth0"},
				{At: "sg-node2", Component: "security-group", Decision: "DROP", Failed: true},
			}},
		}}
	d := newDiagram(tr, wordsFor(finding.EN), "parent reason", func(b trace.Trace) string { return "reason of " + b.To })
	var fails []box
	for _, b := range d.Boxes {
		if b.Kind == "fail" {
			fails = append(fails, b)
		}
	}
	if len(fails) != 1 {
		t.Fatalf("%d failing boxes, want 1: %+v", len(fails), d.Boxes)
	}
	if fails[0].Lines[0] != "sg-node2" {
		t.Errorf("red box on %q, want the dropping node SG sg-node2", fails[0].Lines[0])
	}
	if !strings.Contains(strings.Join(fails[0].Reason, " "), "reason of node 10.0.1.12") {
		t.Errorf("reason %q, want the branch's", fails[0].Reason)
	}
	// start, 2 hops before the fork, 2 hops of the branch, the branch's end
	if len(d.Boxes) != 6 || d.Boxes[5].Lines[0] != "node 10.0.1.12" {
		t.Errorf("boxes %+v", d.Boxes)
	}
	// a fork whose branches all get through marks nothing
	ok := tr
	ok.Verdict, ok.Branches = trace.Delivered, ok.Branches[:1]
	for _, b := range newDiagram(ok, wordsFor(finding.EN), "", func(trace.Trace) string { return "" }).Boxes {
		if b.Kind == "fail" {
			t.Errorf("a delivered fork has a failing box: %+v", b)
		}
	}
}
