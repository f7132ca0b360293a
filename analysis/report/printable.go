package report

import (
	"strings"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/trace"
	"tkesnap/internal/safetext"
)

// printable returns a copy of r whose every string is safe to print on a
// terminal or in a Markdown file: bundle content is untrusted, and an
// escape sequence in an object name could rewrite the support engineer's
// screen (OSC, cursor movement) or hide text (bidi overrides, CVE-2021-42574
// "Trojan Source"). Control characters other than newline, C1 controls,
// bidi and invisible format characters and invalid UTF-8 are shown as
// escapes (internal/safetext); a tab becomes a space.
func (r *Report) printable() *Report {
	c := *r
	c.Summary = clean(r.Summary)
	c.Bundle.Path = name(r.Bundle.Path)
	c.Bundle.Format = clean(r.Bundle.Format)
	c.Bundle.Nodes = cleanAll(r.Bundle.Nodes)
	c.Bundle.Problems = make([]finding.Problem, len(r.Bundle.Problems))
	for i, p := range r.Bundle.Problems {
		c.Bundle.Problems[i] = finding.Problem{File: name(p.File), Line: p.Line, Message: clean(p.Message)}
	}
	c.Findings = make([]finding.Finding, len(r.Findings))
	for i, f := range r.Findings {
		g := f
		g.ID, g.Title, g.Message, g.Remedy = clean(f.ID), clean(f.Title), clean(f.Message), clean(f.Remedy)
		g.Objects = cleanAll(f.Objects)
		g.Evidence = make([]finding.Evidence, len(f.Evidence))
		for j, e := range f.Evidence {
			g.Evidence[j] = finding.Evidence{File: name(e.File), Line: e.Line, Excerpt: clean(e.Excerpt), Packet: e.Packet}
		}
		c.Findings[i] = g
	}
	c.Traces = make([]trace.Trace, len(r.Traces))
	for i, t := range r.Traces {
		c.Traces[i] = cleanTrace(t)
	}
	c.Inconclusive = make([]finding.Inconclusive, len(r.Inconclusive))
	for i, in := range r.Inconclusive {
		c.Inconclusive[i] = finding.Inconclusive{Need: clean(in.Need), Node: name(in.Node), Why: clean(in.Why)}
	}
	return &c
}

func cleanTrace(t trace.Trace) trace.Trace {
	u := t
	u.From, u.To, u.Proto, u.Reason = clean(t.From), clean(t.To), clean(t.Proto), clean(t.Reason)
	u.Symptom, u.Reported = clean(t.Symptom), clean(t.Reported)
	u.Verdict = trace.Verdict(clean(string(t.Verdict)))
	u.Steps = make([]trace.Step, len(t.Steps))
	for i, s := range t.Steps {
		v := s
		v.At, v.Component, v.Detail = clean(s.At), clean(s.Component), clean(s.Detail)
		v.Before, v.After, v.Decision, v.Via = clean(s.Before), clean(s.After), trace.Action(clean(string(s.Decision))), clean(s.Via)
		v.Finding = clean(s.Finding)
		if s.Evidence != nil {
			v.Evidence = make(map[string]any, len(s.Evidence))
			for k, x := range s.Evidence {
				if str, ok := x.(string); ok {
					x = clean(str)
				} else {
					x = clean(scalar(x))
				}
				v.Evidence[clean(k)] = x
			}
		}
		u.Steps[i] = v
	}
	u.Branches = make([]trace.Trace, len(t.Branches))
	for i, b := range t.Branches {
		u.Branches[i] = cleanTrace(b)
	}
	return u
}

func cleanAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = name(x)
	}
	return out
}

// clean makes a text field safe with the one sanitizer every output uses
// (internal/safetext); a tab becomes a space so columns stay aligned.
func clean(s string) string {
	return safetext.String(strings.ReplaceAll(s, "\t", " "))
}

// name makes a one-line value safe (object, node and file names): a
// newline in a name must not start a line of its own in the report.
func name(s string) string { return safetext.Line(s) }
