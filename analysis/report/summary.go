package report

import (
	"strings"
	"unicode/utf8"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/trace"
)

// summaryData feeds the summary template of words.SummaryText. The
// paragraph answers, in order: what fails (the first failing traced flow),
// where (its failing hop), why (the finding named by the trace, else the
// worst finding) and what to change (that finding's remedy).
type summaryData struct {
	Flow, Verdict, At, Component, Why string
	// Undecided: the first non-delivered flow is AMBIGUOUS or UNDETERMINED.
	Undecided                     bool
	Title, Where, Message, Remedy string
	More                          int    // findings besides the main one
	Counts                        string // "2 errors, 1 warning"
	Nodes, Inconclusive, Problems int
	// Failing of Traced flows do not get through (shown when more than one).
	Failing, Traced int
}

func (r *Report) summary() string {
	w := wordsFor(r.Lang)
	d := summaryData{
		Nodes:        len(r.Bundle.Nodes),
		Inconclusive: len(r.Inconclusive),
		Problems:     len(r.Bundle.Problems),
		Counts:       w.counts(r.Findings),
	}
	d.Traced = len(r.Traces)
	for _, t := range r.Traces {
		if t.Verdict != trace.Delivered {
			d.Failing++
		}
	}
	main := -1
	if t, step := firstFailing(r.Traces); t != nil {
		d.Flow = t.From + " → " + t.To
		d.Verdict = w.verdict(t.Verdict)
		d.Undecided = t.Verdict == trace.Ambiguous || t.Verdict == trace.Undetermined
		if step != nil {
			d.At, d.Component = step.At, w.component(step.Component)
		}
		main = findingIndex(r.Findings, t.Reason)
		if main < 0 {
			d.Why = t.Reason
			if step != nil && step.Detail != "" && d.Why == "" {
				d.Why = step.Detail
			}
		}
	}
	if main < 0 {
		main = mainFinding(r.Findings)
	}
	if main >= 0 {
		f := r.Findings[main]
		d.Title, d.Message, d.Remedy = f.Title, endSentence(f.Message), f.Remedy
		d.Where = where(f)
		d.More = len(r.Findings) - 1
	}
	return execText(w.SummaryText, d)
}

// firstFailing returns the first trace (in report order) whose verdict is
// not DELIVERED, and the step where it fails: the first failed step, in
// its own steps or else in its failing branches, else its last step.
func firstFailing(ts []trace.Trace) (*trace.Trace, *trace.Step) {
	for i := range ts {
		t := &ts[i]
		if t.Verdict == trace.Delivered {
			continue
		}
		if s := failedStep(t); s != nil {
			return t, s
		}
		if n := len(t.Steps); n > 0 {
			return t, &t.Steps[n-1]
		}
		return t, nil
	}
	return nil, nil
}

func failedStep(t *trace.Trace) *trace.Step {
	for j := range t.Steps {
		if t.Steps[j].Failed {
			return &t.Steps[j]
		}
	}
	for j := range t.Branches {
		if b := &t.Branches[j]; b.Verdict != trace.Delivered {
			if s := failedStep(b); s != nil {
				return s
			}
		}
	}
	return nil
}

// findingIndex finds the finding a trace's reason names. A reason is a
// finding ID, possibly followed by a note ("IPTABLES_DROPS_FLOW (1 of 2
// branches)").
func findingIndex(fs []finding.Finding, reason string) int {
	id, _, _ := strings.Cut(strings.TrimSpace(reason), " ")
	if id == "" {
		return -1
	}
	for i, f := range fs {
		if f.ID == id {
			return i
		}
	}
	return -1
}

// where names the objects a finding is about (at most two, for a summary).
func where(f finding.Finding) string {
	switch {
	case len(f.Objects) > 2:
		return strings.Join(f.Objects[:2], ", ") + ", …"
	case len(f.Objects) > 0:
		return strings.Join(f.Objects, ", ")
	case len(f.Evidence) > 0:
		return f.Evidence[0].File
	}
	return ""
}

// endSentence makes sure a catalog message ends with a full stop, so the
// summary template can follow it with the remedy.
func endSentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") || strings.HasSuffix(s, "。") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "？") || strings.HasSuffix(s, "?") {
		return s
	}
	if r, _ := utf8.DecodeLastRuneInString(s); isWide(r) {
		return s + "。"
	}
	return s + "."
}

// symptomGroups are catalog groups whose findings describe what was seen
// rather than why.
var symptomGroups = map[string]bool{"capture": true}

// mainFinding picks the finding the summary leads with when no traced
// flow names one: the worst severity first (findings are sorted so), and
// within it a cause (security group, route, Service, node datapath) before
// a symptom seen in a capture (SYN unanswered, one-way traffic), which only
// says that something on the path drops packets. -1 when nothing is above
// info.
func mainFinding(fs []finding.Finding) int {
	if len(fs) == 0 || fs[0].Severity == finding.Info {
		return -1
	}
	worst := fs[0].Severity
	for i, f := range fs {
		if f.Severity != worst {
			break
		}
		if e, ok := finding.Lookup(f.ID); !ok || !symptomGroups[e.Group] {
			return i
		}
	}
	return 0
}

func isSymptom(id string) bool {
	e, ok := finding.Lookup(id)
	return ok && symptomGroups[e.Group]
}
