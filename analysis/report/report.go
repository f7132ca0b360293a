// Package report renders an analysis as text, Markdown, JSON
// (schema tkesnap-report/v1, docs/design.md §4) or a single-file HTML page.
// Rendering never computes: everything shown is in Report, and every
// sentence a reader sees comes from a per-language template (the finding
// catalog for findings, i18n.go for the report's own words).
package report

import (
	"encoding/json"
	"io"
	"sort"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/trace"
)

// Schema is the JSON report schema name.
const Schema = "tkesnap-report/v1"

// Report is the whole result of `tkesnap analyze`.
type Report struct {
	Schema string     `json:"schema"`
	Bundle BundleInfo `json:"bundle"`
	// Summary is one paragraph: what fails, where, why, what to change.
	// An extension of docs/design.md §4, rendered from templates in Lang.
	Summary      string                 `json:"summary,omitempty"`
	Findings     []finding.Finding      `json:"findings"`
	Traces       []trace.Trace          `json:"traces"`
	Inconclusive []finding.Inconclusive `json:"inconclusive"`
	Lang         finding.Lang           `json:"lang,omitempty"`
}

// BundleInfo describes the analysed bundle.
type BundleInfo struct {
	Path     string            `json:"path"`
	Format   string            `json:"format"`
	Nodes    []string          `json:"nodes"`
	Problems []finding.Problem `json:"problems"`
}

// New assembles a report and renders every finding's texts in lang.
func New(c *model.Cluster, path string, fs []finding.Finding, ts []trace.Trace, inc []finding.Inconclusive, lang finding.Lang) *Report {
	r := &Report{Schema: Schema, Findings: fs, Traces: ts, Inconclusive: inc}
	r.Bundle.Path = path
	// Without manifest.json nothing says what made the bundle: say so
	// rather than claim the collector's format.
	r.Bundle.Format = "unknown (no manifest.json)"
	if c.Manifest != nil {
		r.Bundle.Format = "tkesnap-bundle/v1"
		if c.Manifest.Format != "" {
			r.Bundle.Format = c.Manifest.Format
		}
	}
	for _, n := range c.Nodes {
		r.Bundle.Nodes = append(r.Bundle.Nodes, n.Name)
	}
	r.Bundle.Problems = append([]finding.Problem{}, c.Problems...)
	if len(r.Findings) > maxFindings || len(r.Inconclusive) > maxInconclusive || len(r.Bundle.Problems) > maxProblems {
		// sort first so the cut keeps the worst; rendering 200k findings
		// only to drop them would be the slow part
		r.normalize()
		r.Bundle.Problems = dedupProblems(r.Bundle.Problems)
	}
	r.applyCaps()
	r.Localize(lang)
	return r
}

// Localize puts the report in a stable order and renders every text in
// lang: findings from the catalog, then the summary. Calling it again
// with another language re-renders everything.
func (r *Report) Localize(lang finding.Lang) {
	if lang == "" {
		lang = finding.EN
	}
	if _, ok := labels[lang]; !ok {
		lang = finding.EN
	}
	r.Schema = Schema
	r.Lang = lang
	r.normalize()
	var internal []finding.Problem
	for i := range r.Findings {
		if err := finding.Render(&r.Findings[i], lang); err != nil {
			internal = append(internal, finding.Problem{Message: "internal: " + err.Error()})
		}
	}
	r.Bundle.Problems = dedupProblems(append(r.Bundle.Problems, internal...))
	trace.Localize(r.Traces, lang) // step details from the tracer's per-language catalog
	for i := range r.Inconclusive {
		r.Inconclusive[i].Why = r.Inconclusive[i].WhyIn(lang)
	}
	r.Summary = r.summary()
}

// normalize makes nil lists empty (the schema wants arrays) and sorts
// everything whose order does not carry meaning, so that two runs over
// the same bundle print the same bytes.
func (r *Report) normalize() {
	if r.Bundle.Format == "" {
		r.Bundle.Format = "tkesnap-bundle/v1"
	}
	if r.Bundle.Nodes == nil {
		r.Bundle.Nodes = []string{}
	}
	sort.Strings(r.Bundle.Nodes)
	if r.Bundle.Problems == nil {
		r.Bundle.Problems = []finding.Problem{}
	}
	sort.SliceStable(r.Bundle.Problems, func(i, j int) bool {
		a, b := r.Bundle.Problems[i], r.Bundle.Problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Message < b.Message
	})
	if r.Findings == nil {
		r.Findings = []finding.Finding{}
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Objects == nil {
			f.Objects = []string{}
		}
		if f.Evidence == nil {
			f.Evidence = []finding.Evidence{}
		}
	}
	finding.Sort(r.Findings)
	// Within a severity, causes (security groups, routes, objects, node
	// datapath) come before what captures saw (symptoms), so a reader meets
	// the reason first; the order is otherwise finding.Sort's.
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		return !isSymptom(a.ID) && isSymptom(b.ID)
	})
	// one finding per (ID, primary object), then severity and order in
	// the context of the traced flows (judge.go)
	r.Findings = Judge(finding.Merge(r.Findings), r.Traces)
	if r.Traces == nil {
		r.Traces = []trace.Trace{}
	}
	for i := range r.Traces {
		normalizeTrace(&r.Traces[i])
	}
	// Traces keep the order of the reported flows (flows.json, then --flow):
	// that is the order the customer described them in.
	if r.Inconclusive == nil {
		r.Inconclusive = []finding.Inconclusive{}
	}
	sort.SliceStable(r.Inconclusive, func(i, j int) bool {
		a, b := r.Inconclusive[i], r.Inconclusive[j]
		if a.Node != b.Node {
			return a.Node < b.Node
		}
		if a.Need != b.Need {
			return a.Need < b.Need
		}
		return a.Why < b.Why
	})
}

func normalizeTrace(t *trace.Trace) {
	if t.Steps == nil {
		t.Steps = []trace.Step{}
	}
	for i := range t.Branches {
		normalizeTrace(&t.Branches[i])
	}
}

func dedupProblems(ps []finding.Problem) []finding.Problem {
	out := ps[:0]
	for i, p := range ps {
		if i > 0 && p == ps[i-1] {
			continue
		}
		out = append(out, p)
	}
	return out
}

// ExitCode maps the report to `analyze`'s exit code (docs/design.md §3):
// 3 any error finding, 4 warnings only, 0 otherwise.
func (r *Report) ExitCode() int {
	w, ok := finding.Worst(r.Findings)
	switch {
	case !ok:
		return 0
	case w == finding.Error:
		return 3
	case w == finding.Warning:
		return 4
	}
	return 0
}

// JSON writes the tkesnap-report/v1 document.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
