package report

import (
	"strings"
	"unicode/utf8"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/trace"
)

// summaryData feeds the summary template of words.SummaryText. The
// paragraph answers, in order: how many of the customer's reported flows
// fail, what fails (the first failing reported flow), where (its failing
// hop), why (the finding that explains it: Judge puts it first) and what
// to change (that finding's remedy, and whether re-tracing with the
// change applied delivers the flow). Undecided reported flows are stated
// as undecided with what decides them; the flows the tool adds itself
// (implicit checks) are counted on their own, never in the headline.
type summaryData struct {
	Flow, Verdict, At, Component, Why string
	// Undecided: the flow the summary names cannot be decided (AMBIGUOUS
	// or UNDETERMINED); Decides says what would decide it.
	Undecided                     bool
	Decides                       string
	Title, Where, Message, Remedy string
	// Verified is the re-trace of the remedy ("" when not re-traced).
	Verified                      string
	More                          int    // findings besides the main one
	Counts                        string // "2 errors, 1 warning"
	Nodes, Inconclusive, Problems int
	// Failing and UndecidedN of Reported reported flows; ImplicitFailing
	// of Implicit implicit checks do not get through.
	Reported, Failing, UndecidedN int
	// OtherUndecided: undecided reported flows besides a failing one.
	OtherUndecided            int
	Implicit, ImplicitFailing int
}

func (r *Report) summary() string {
	w := wordsFor(r.Lang)
	d := summaryData{
		Nodes:        len(r.Bundle.Nodes),
		Inconclusive: len(r.Inconclusive),
		Problems:     len(r.Bundle.Problems),
		Counts:       w.counts(r.Findings),
	}
	for _, t := range r.Traces {
		switch {
		case t.Implicit:
			d.Implicit++
			if Failing(t) {
				d.ImplicitFailing++
			}
		case Failing(t):
			d.Reported++
			d.Failing++
		case Undecided(t):
			d.Reported++
			d.UndecidedN++
		default:
			d.Reported++
		}
	}
	main := -1
	if t, step := firstReported(r.Traces); t != nil {
		d.Flow = t.From + " → " + t.To
		d.Verdict = w.verdict(t.Verdict)
		if t.Verdict == trace.Delivered && t.Symptom != "" {
			// delivered, and that is the fault: the peer sees the node IP
			d.Verdict += " (" + trace.SymptomText(t.Symptom, r.Lang) + ")"
		}
		d.Undecided = Undecided(*t)
		if step != nil {
			d.At, d.Component = w.place(step.At), w.component(step.Component)
		}
		if d.Undecided {
			if d.Decides = w.decides(step); d.Decides == "" {
				d.Why = t.Reason
			}
		} else {
			d.OtherUndecided = d.UndecidedN
			main = explainer(r.Findings, d.Flow, t.Reason)
			if main < 0 {
				d.Why = t.Reason
				if step != nil && step.Detail != "" && d.Why == "" {
					d.Why = step.Detail
				}
			}
		}
	}
	if main < 0 {
		main = mainFinding(r.Findings)
	}
	if main >= 0 {
		f := r.Findings[main]
		d.Title, d.Message, d.Remedy = f.Title, endSentence(f.Message), f.Remedy
		d.Verified = w.retraced(f.Fix, retraceReported)
		d.Where = where(f)
		d.More = len(r.Findings) - 1
	}
	return execText(w.SummaryText, d)
}

// firstReported returns the reported flow the summary leads with — the
// first failing one, else the first undecided one — and the step where
// it fails or stops being decidable.
func firstReported(ts []trace.Trace) (*trace.Trace, *trace.Step) {
	for _, want := range []func(trace.Trace) bool{Failing, Undecided} {
		for i := range ts {
			t := &ts[i]
			if t.Implicit || !want(*t) {
				continue
			}
			return t, stepOf(t)
		}
	}
	return nil, nil
}

// decides names what would decide an undecided flow: the file to collect
// for an UNDETERMINED hop, the fact an AMBIGUOUS hop depends on.
func (w *words) decides(s *trace.Step) string {
	if s == nil || (s.Decision != trace.ActUndetermined && s.Decision != trace.ActAmbiguous) {
		return ""
	}
	if need, _ := s.Evidence["need"].(string); need != "" {
		node, _ := s.Evidence["node"].(string)
		return execText(w.NeedOn, struct{ Need, Node string }{need, node})
	}
	return s.Detail
}

// explainer is the finding that explains a failing reported flow: the
// first (Judge orders by explained flow, then severity) that names the
// flow in Explains and states a cause, else the one the trace's reason
// names.
func explainer(fs []finding.Finding, flow, reason string) int {
	for i, f := range fs {
		if hasString(f.Explains, flow) && explainsAsCause(f.ID) {
			return i
		}
	}
	return findingIndex(fs, reason)
}

// firstFailing returns the first trace (reported flows before implicit
// checks) whose verdict is not DELIVERED, and the step where it fails:
// the first failed step, in its own steps or else in its failing
// branches, else its last step.
func firstFailing(ts []trace.Trace) (*trace.Trace, *trace.Step) {
	for _, implicit := range []bool{false, true} {
		for i := range ts {
			t := &ts[i]
			if t.Verdict == trace.Delivered || t.Implicit != implicit {
				continue
			}
			return t, stepOf(t)
		}
	}
	return nil, nil
}

// stepOf is the step where a trace fails or stops being decidable.
func stepOf(t *trace.Trace) *trace.Step {
	if s := failedStep(t); s != nil {
		return s
	}
	if Undecided(*t) {
		if s := undecidedStep(t); s != nil {
			return s
		}
	}
	if n := len(t.Steps); n > 0 {
		return &t.Steps[n-1]
	}
	return nil
}

func undecidedStep(t *trace.Trace) *trace.Step {
	for j := range t.Steps {
		if d := t.Steps[j].Decision; d == trace.ActUndetermined || d == trace.ActAmbiguous {
			return &t.Steps[j]
		}
	}
	for j := range t.Branches {
		if b := &t.Branches[j]; Undecided(*b) {
			if s := undecidedStep(b); s != nil {
				return s
			}
		}
	}
	return nil
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
