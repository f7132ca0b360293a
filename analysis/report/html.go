package report

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
	"io"
	"strconv"
	"strings"
	"sync"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/trace"
)

// The HTML report is one self-contained file: styles and the one small
// script are inline, the diagrams are inline SVG, nothing is fetched, so it
// works offline and as a ticket attachment. Everything from the bundle is
// untrusted (object names, excerpts, problems): it only ever reaches the
// page through html/template's contextual escaping, and a Content Security
// Policy allows no script but ours (by hash) and no network at all.

//go:embed html.tmpl
var htmlSource string

// htmlScript expands or collapses every evidence <details> at once.
// It marks the page ready (data-ready) whatever the page holds; the
// Chromium tests read that mark to know the script ran under the CSP.
const htmlScript = `document.addEventListener("DOMContentLoaded",function(){` +
	`document.documentElement.dataset.ready="1";` +
	`var b=document.getElementById("toggle-evidence");if(!b)return;var open=false;` +
	`b.addEventListener("click",function(){open=!open;` +
	`document.querySelectorAll("details.evidence").forEach(function(d){d.open=open});` +
	`b.textContent=open?b.dataset.collapse:b.dataset.expand;});});`

var (
	// parsed on first use: every command's start would pay for it
	htmlTmpl = sync.OnceValue(func() *template.Template {
		return template.Must(template.New("report").Funcs(template.FuncMap{
			"rich":    segments,
			"lower":   strings.ToLower,
			"inc":     func(i int) int { return i + 1 },
			"loc":     location,
			"stepev":  stepEvidence,
			"move":    transition,
			"sev":     func(s finding.Severity) string { return s.String() },
			"comp":    func(w *words, c string) string { return w.component(c) },
			"dec":     func(w *words, d string) string { return w.decision(d) },
			"tag":     func(w *words, v trace.Verdict) string { return w.tag(v) },
			"excerpt": func(s string) string { return clipExcerpt(s, 200) },
			// the fix's re-traces, each flow (HTML is a full view)
			"retraced": func(w *words, fx *finding.Fix) string { return w.retraced(fx, retraceAll) },
		}).Parse(htmlSource))
	})
	htmlCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-" + scriptHash() + "'"
)

func scriptHash() string {
	h := sha256.Sum256([]byte(htmlScript))
	return base64.StdEncoding.EncodeToString(h[:])
}

type htmlView struct {
	R       *Report
	W       *words
	Groups  []sevGroup
	Traces  []htmlTrace
	Collect []string
	Script  template.JS
	CSP     string
	// Clean: nothing found and no traced flow fails (green summary).
	Clean bool
	// Main is the first failing flow, drawn again under the summary so the
	// first screen shows where it breaks.
	Main *htmlTrace
}

type htmlTrace struct {
	W       *words
	ID      string
	Num     string
	T       trace.Trace
	Title   string
	Note    string
	Reason  string // finding title behind Reason, if any
	Diagram diagram
	Columns [4]bool // detail, move, decision, evidence
	Steps   []trace.Step
	Subs    []htmlTrace
	// Quiet branches (delivered, nothing failed) are drawn collapsed.
	Quiet     bool
	QuietLine string
}

// HTML writes the single-file HTML report.
func (r *Report) HTML(w io.Writer) error {
	// html/template escapes for HTML, but a raw ESC, BEL or RLO would still
	// reach whoever copies text out of the page: shown as escapes instead.
	r = r.printable()
	wd := wordsFor(r.Lang)
	v := htmlView{R: r, W: wd, Groups: bySeverity(r.Findings), Script: template.JS(htmlScript), CSP: htmlCSP}
	for i, t := range r.Traces {
		ht := r.htmlTrace(wd, strconv.Itoa(i+1), t)
		ht.Quiet, ht.QuietLine = quietFlow(t), quietLine(wd, t)
		v.Traces = append(v.Traces, ht)
	}
	ft, _ := firstFailing(r.Traces)
	v.Clean = len(r.Findings) == 0 && ft == nil
	for i := range r.Traces {
		if &r.Traces[i] == ft {
			m := v.Traces[i]
			m.ID = "summary-flow"
			v.Main = &m
		}
	}
	for _, in := range r.Inconclusive {
		// Need and Node are file and node names: code, as in Markdown
		in.Need = "`" + in.Need + "`"
		if in.Node != "" {
			in.Node = "`" + in.Node + "`"
		}
		v.Collect = append(v.Collect, wd.collect(in))
	}
	return htmlTmpl().Execute(w, v)
}

func (r *Report) htmlTrace(wd *words, num string, t trace.Trace) htmlTrace {
	ht := htmlTrace{W: wd, ID: "t-" + strings.ReplaceAll(num, ".", "-"), Num: num, T: t, Title: flowTitle(t), Note: traceNote(wd, t), Steps: t.Steps}
	reason := t.Reason
	if i := findingIndex(r.Findings, t.Reason); i >= 0 {
		ht.Reason = r.Findings[i].Title
		reason = r.Findings[i].Title
	}
	ht.Diagram = newDiagram(t, wd, reason, func(b trace.Trace) string {
		if i := findingIndex(r.Findings, b.Reason); i >= 0 {
			return r.Findings[i].Title
		}
		return b.Reason
	})
	d, m, dec, ev := stepColumns(t.Steps)
	ht.Columns = [4]bool{d, m, dec, ev}
	for i, b := range t.Branches {
		sub := r.htmlTrace(wd, num+"."+strconv.Itoa(i+1), b)
		sub.Quiet, sub.QuietLine = quiet(b), quietLine(wd, b)
		ht.Subs = append(ht.Subs, sub)
	}
	return ht
}
