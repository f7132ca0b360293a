package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/trace"
)

// segment is a run of catalog text: prose, or `code` (a rule, a command,
// an object name). Catalog templates mark code with backticks; Markdown
// keeps them as code spans, HTML as <code>, text drops the backticks.
type segment struct {
	Text string
	Code bool
}

// segments splits s at backtick pairs. An unpaired backtick (say, inside
// an object name from the bundle) stays literal text.
func segments(s string) []segment {
	var out []segment
	for s != "" {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i+1:], '`')
		if j < 0 {
			break
		}
		if i > 0 {
			out = append(out, segment{Text: s[:i]})
		}
		out = append(out, segment{Text: s[i+1 : i+1+j], Code: true})
		s = s[i+2+j:]
	}
	if s != "" {
		out = append(out, segment{Text: s})
	}
	return out
}

// plain is s without code-span backticks.
func plain(s string) string {
	var b strings.Builder
	for _, sg := range segments(s) {
		b.WriteString(sg.Text)
	}
	return b.String()
}

// location names where a piece of evidence is: file:line or file #packet.
func location(e finding.Evidence) string {
	s := e.File
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
	}
	if e.Packet > 0 {
		s += " #" + strconv.Itoa(e.Packet)
	}
	return s
}

// oneLine collapses whitespace runs (newlines in excerpts) to one space,
// for table cells and list items.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// stepEvidence renders a trace step's evidence object deterministically:
// file:line first when present, then the other keys sorted.
func stepEvidence(ev map[string]any) string {
	if len(ev) == 0 {
		return ""
	}
	var parts []string
	if f, ok := ev["file"]; ok {
		loc := scalar(f)
		if l, ok := ev["line"]; ok {
			loc += ":" + scalar(l)
		}
		if p, ok := ev["packet"]; ok {
			loc += " #" + scalar(p)
		}
		parts = append(parts, loc)
	}
	keys := make([]string, 0, len(ev))
	for k := range ev {
		switch k {
		case "file":
			continue
		case "line", "packet":
			if _, ok := ev["file"]; ok {
				continue
			}
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+scalar(ev[k]))
	}
	return strings.Join(parts, " ")
}

// scalar prints a JSON-ish value compactly: whole floats as integers
// (evidence read back from JSON has float64 line numbers).
func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []any:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = scalar(e)
		}
		return "[" + strings.Join(s, ",") + "]"
	case map[string]any:
		return "{" + stepEvidence(x) + "}"
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// transition renders a step's before → after addresses.
func transition(s trace.Step) string {
	switch {
	case s.Before == "" && s.After == "":
		return ""
	case s.After == "" || s.After == s.Before:
		return s.Before
	case s.Before == "":
		return "→ " + s.After
	}
	return s.Before + " → " + s.After
}

// bySeverity groups findings (already sorted worst first) by severity.
func bySeverity(fs []finding.Finding) []sevGroup {
	var out []sevGroup
	for _, s := range []finding.Severity{finding.Error, finding.Warning, finding.Info} {
		var g sevGroup
		g.Sev = s
		for i := range fs {
			if fs[i].Severity == s {
				g.Items = append(g.Items, numbered{N: i + 1, F: fs[i]})
			}
		}
		if len(g.Items) > 0 {
			out = append(out, g)
		}
	}
	return out
}

type sevGroup struct {
	Sev   finding.Severity
	Items []numbered
}

// numbered is a finding with its 1-based position in the report, so the
// summary table and the details can refer to each other.
type numbered struct {
	N int
	F finding.Finding
}

// flowTitle is "from → to (proto)".
func flowTitle(t trace.Trace) string {
	s := t.From + " → " + t.To
	if t.From == "" { // a branch continues its parent's flow
		s = "→ " + t.To
	}
	if t.Proto != "" {
		s += " (" + t.Proto + ")"
	}
	return s
}

// symptomWord is a symptom code (timeout, refused, http-504 ...) in the
// language of w (trace.SymptomText); other text prints as is.
func symptomWord(w *words, s string) string {
	for lang, lw := range labels {
		if lw == w {
			return trace.SymptomText(s, lang)
		}
	}
	return s
}

func cannotPredictWord(w *words, code string) string {
	for lang, lw := range labels {
		if lw == w {
			return trace.CannotPredictText(code, lang)
		}
	}
	return trace.CannotPredictText(code, finding.EN)
}

// traceNote renders symptom / reported / agreement in one language.
func traceNote(w *words, t trace.Trace) string {
	var parts []string
	if t.Symptom != "" {
		parts = append(parts, w.Symptom+w.Colon+symptomWord(w, t.Symptom))
	}
	if t.Reported != "" {
		parts = append(parts, w.Reported+w.Colon+symptomWord(w, t.Reported))
	}
	if t.Agrees != nil {
		if *t.Agrees {
			parts = append(parts, w.Agrees)
		} else {
			parts = append(parts, w.Disagrees)
		}
	}
	if t.CannotPredict != "" {
		parts = append(parts, cannotPredictWord(w, t.CannotPredict))
	}
	return strings.Join(parts, w.Comma)
}

// hasColumn says whether any step fills a column, so that Markdown and
// text tables leave out empty columns ("no wider than needed").
func stepColumns(steps []trace.Step) (detail, move, decision, evidence bool) {
	for _, s := range steps {
		detail = detail || s.Detail != ""
		move = move || transition(s) != ""
		decision = decision || s.Decision != ""
		evidence = evidence || len(s.Evidence) > 0
	}
	return
}

// clipExcerpt keeps at most max lines of an evidence excerpt (and at most
// 400 columns per line): checks quote a rule or a few lines, but a report
// must stay readable even when a bundle file is one huge line.
func clipExcerpt(s string, max int) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	more := 0
	if len(lines) > max {
		more = len(lines) - max
		lines = lines[:max]
	}
	for i, l := range lines {
		if len(l) > 400 {
			c, _ := cutWidth(l, 400)
			lines[i] = c + "…"
		}
	}
	if more > 0 {
		lines = append(lines, fmt.Sprintf("… (%d more lines)", more))
	}
	return strings.Join(lines, "\n")
}

// quiet says a branch can be shown as one line in text and Markdown: it
// is delivered and nothing in it failed. Reports are read for what fails;
// the healthy paths of a load-balanced Service stay complete in JSON and
// (collapsed) in HTML.
func quiet(b trace.Trace) bool {
	if b.Verdict != trace.Delivered {
		return false
	}
	for _, s := range b.Steps {
		if s.Failed {
			return false
		}
	}
	for _, c := range b.Branches {
		if !quiet(c) {
			return false
		}
	}
	return true
}

// shape counts a branch's hops (its own steps) and end-to-end paths
// (leaves below it), for the one-line form of a quiet branch.
func shape(b trace.Trace) (hops, paths int) {
	hops = len(b.Steps)
	for _, c := range b.Branches {
		_, p := shape(c)
		paths += max(p, 1)
	}
	return hops, paths
}

// quietLine is the one-line form of a quiet branch.
func quietLine(w *words, b trace.Trace) string {
	h, p := shape(b)
	return execText(w.Quiet, struct{ Hops, Paths int }{h, p})
}

// quietFlow says a top-level traced flow is shown as one line in text and
// Markdown: tkesnap traced it on its own (the guide's implicit checks),
// it is delivered, and nothing in it failed. A flow the customer reported
// always gets its full hop table, even when delivered: that disagreement
// is news.
func quietFlow(t trace.Trace) bool { return t.Reported == "" && quiet(t) }

// judgedNotes are the lines a renderer prints under a finding's message:
// the reported flows it explains, how many reports were merged into it,
// and the catalog severity when Judge changed it.
func (w *words) judgedNotes(f finding.Finding) (explains string, notes []string) {
	if len(f.Explains) > 0 {
		explains = strings.Join(f.Explains, w.Comma)
	}
	if f.Count > 1 {
		notes = append(notes, execText(w.Merged, struct{ N int }{f.Count}))
	}
	if f.BaseSeverity != nil {
		notes = append(notes, execText(w.BaseSev, struct{ Base string }{w.SevName[*f.BaseSeverity]}))
	}
	return explains, notes
}

// Which re-traces retraced tells: the summary names the reported flows
// only (implicit flows are never in the headline), the ticket view counts
// the implicit ones, the full views say each.
type retraceMode int

const (
	retraceReported retraceMode = iota
	retraceCountImplicit
	retraceAll
)

// retraced says, one sentence per flow, what re-tracing with a fix
// applied showed ("verified: … DELIVERED", or what still blocks it).
func (w *words) retraced(fx *finding.Fix, mode retraceMode) string {
	if fx == nil {
		return ""
	}
	lang := finding.EN
	for l, lw := range labels {
		if lw == w {
			lang = l
		}
	}
	var out []string
	if fx.StandIn != "" && len(fx.Verified) > 0 {
		peer, _, _ := strings.Cut(fx.StandIn, "/")
		out = append(out, finding.Say("fix.standin", peer, fx.StandIn).In(lang))
	}
	implicit, delivered := 0, 0
	for _, v := range fx.Verified {
		if v.Implicit && mode != retraceAll {
			implicit++
			if v.Verdict == string(trace.Delivered) && v.Reason == "" {
				delivered++
			}
			continue
		}
		v.At = w.place(v.At)
		out = append(out, execText(w.Retrace, struct {
			finding.Retrace
			Delivered bool
			Undecided bool   // the change lets the flow on to a hop the bundle cannot decide
			Tag       string // the verdict as the report's language names it
		}{v, v.Verdict == string(trace.Delivered) && v.Reason == "", v.Verdict == string(trace.Undetermined), w.tag(trace.Verdict(v.Verdict))}))
	}
	if implicit > 0 && mode == retraceCountImplicit {
		out = append(out, execText(w.RetraceImplicit, struct{ N, Delivered int }{implicit, delivered}))
	}
	if fx.Unverified != "" {
		why := fx.Unverified
		if fx.UnverifiedWhy.Key != "" {
			why = fx.UnverifiedWhy.In(lang)
		}
		out = append(out, execText(w.Unverified, why))
	}
	// sentences: a space between English ones, none after a full-width stop
	return strings.ReplaceAll(strings.Join(out, " "), "。 ", "。")
}
