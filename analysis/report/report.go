// Package report renders an analysis as text, Markdown, JSON
// (schema tkesnap-report/v1, design.md §4) or a single-file HTML page.
// Rendering never computes: everything shown is in Report.
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
	Schema       string                 `json:"schema"`
	Bundle       BundleInfo             `json:"bundle"`
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
	r := &Report{Schema: Schema, Lang: lang, Findings: fs, Traces: ts, Inconclusive: inc}
	r.Bundle.Path = path
	r.Bundle.Format = "tkesnap-bundle/v1"
	if c.Manifest != nil && c.Manifest.Format != "" {
		r.Bundle.Format = c.Manifest.Format
	}
	r.Bundle.Nodes = []string{}
	for _, n := range c.Nodes {
		r.Bundle.Nodes = append(r.Bundle.Nodes, n.Name)
	}
	r.Bundle.Problems = append([]finding.Problem{}, c.Problems...)
	sort.SliceStable(r.Bundle.Problems, func(i, j int) bool {
		a, b := r.Bundle.Problems[i], r.Bundle.Problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	for i := range r.Findings {
		if err := finding.Render(&r.Findings[i], lang); err != nil {
			r.Bundle.Problems = append(r.Bundle.Problems, finding.Problem{Message: "internal: " + err.Error()})
		}
	}
	if r.Findings == nil {
		r.Findings = []finding.Finding{}
	}
	if r.Traces == nil {
		r.Traces = []trace.Trace{}
	}
	if r.Inconclusive == nil {
		r.Inconclusive = []finding.Inconclusive{}
	}
	return r
}

// ExitCode maps the report to `analyze`'s exit code (design.md §3):
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
