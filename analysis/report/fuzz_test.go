package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/trace"
)

// Bundle text reaches every renderer: whatever its bytes, rendering must
// not panic, the HTML must hold our one script only, the JSON must stay
// valid and the text report must keep to its width.
func FuzzRenderersWithHostileBundleText(f *testing.F) {
	for _, s := range []string{"<script>alert(1)</script>", "a|b`c`d", "```\n# x\n", "节点安全组未放通容器网段" + strings.Repeat("长", 200),
		"\x00\xff\xfe", "{{.sg}}", "</pre></details></article>", strings.Repeat("x", 500), "-A FORWARD -j DROP\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := fixture()
		r.Bundle.Path = s
		r.Bundle.Nodes = append(r.Bundle.Nodes, s)
		r.Findings = append(r.Findings, finding.New("T_SVC_NO_ENDPOINTS", finding.Args{"service": s, "notready": s}, []string{s},
			finding.Evidence{File: s, Line: 3, Excerpt: s}))
		r.Traces = append(r.Traces, trace.Trace{From: s, To: s, Proto: s, Verdict: trace.Dropped, Reason: s, Symptom: s,
			Steps: []trace.Step{{At: s, Component: s, Detail: s, Before: s, After: s, Decision: trace.Action(s), Failed: true, Evidence: map[string]any{s: s, "file": s}}}})
		r.Inconclusive = append(r.Inconclusive, finding.Inconclusive{Need: s, Node: s, Why: s})
		r.Bundle.Problems = append(r.Bundle.Problems, finding.Problem{File: s, Line: 1, Message: s})
		for _, lang := range []finding.Lang{finding.EN, finding.ZH} {
			r.Localize(lang)
			var h, j, tx, md bytes.Buffer
			if err := r.HTML(&h); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(strings.ToLower(h.String()), "<script"); n != 1 {
				t.Fatalf("%d <script in the page", n)
			}
			if err := r.JSON(&j); err != nil || !json.Valid(j.Bytes()) {
				t.Fatalf("JSON: %v", err)
			}
			if err := r.Markdown(&md); err != nil {
				t.Fatal(err)
			}
			const w = 80
			if err := r.Text(&tx, TextOptions{Width: w}); err != nil {
				t.Fatal(err)
			}
			if !utf8.ValidString(s) {
				continue // widths of broken UTF-8 are the terminal's guess
			}
			for _, l := range strings.Split(tx.String(), "\n") {
				if width(l) > w {
					t.Fatalf("text line wider than %d: %q", w, l)
				}
			}
		}
	})
}
