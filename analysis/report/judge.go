package report

import (
	"sort"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/trace"
)

// Judge sets every finding's severity in the context of the traced flows
// and orders the findings by what they explain. The rule (docs/findings.md,
// "Severity in context"):
//
//  1. A finding explains a reported flow when the flow fails (DROPPED,
//     REJECTED, NO_ROUTE, or delivered in a way that is the reported
//     symptom, e.g. SNAT for wrong-source-ip) and the finding is the
//     flow's reason (or a failing branch's reason), or it cites the very
//     rule file of the failing hop on the same object (stale legacy rules
//     deciding the flow on a node with both iptables backends). Such a
//     finding is at least error, lists the flows in Explains, and leads
//     (in the order the customer reported the flows).
//  2. A finding on a failing hop of any trace (implicit checks included),
//     or named as the reason of a failing implicit check, keeps its
//     catalog severity and comes next; so do capture findings, which
//     show the symptom rather than the cause.
//  3. Anything else touches no reported flow and no failing hop: it is
//     ranked last, and a hygiene finding (catalog Hygiene) drops to info.
//
// Findings stay grouped by severity (worst first, as every renderer shows
// them); within a severity they follow the three ranks above.
//
// A finding whose severity changed keeps the catalog's in BaseSeverity.
// Judge is pure and idempotent: judging a judged list changes nothing.
func Judge(fs []finding.Finding, ts []trace.Trace) []finding.Finding {
	out := make([]finding.Finding, len(fs))
	copy(out, fs)
	reported := reportedFailing(ts)
	hops := failingHops(ts)
	rank := make([]int, len(out))
	for i := range out {
		f := &out[i]
		if f.BaseSeverity != nil {
			f.Severity = *f.BaseSeverity
			f.BaseSeverity = nil
		}
		f.Explains = nil
		base := f.Severity
		first := -1
		for k, rf := range reported {
			if rf.explainedBy(*f) {
				f.Explains = append(f.Explains, rf.flow)
				if first < 0 {
					first = k
				}
			}
		}
		e, _ := finding.Lookup(f.ID)
		switch {
		case first >= 0:
			if f.Severity < finding.Error && explainsAsCause(f.ID) {
				f.Severity = finding.Error
			}
			rank[i] = first
		case hops.touch(*f) || symptomGroups[e.Group]:
			rank[i] = len(reported)
		default:
			if e.Hygiene && f.Severity > finding.Info {
				f.Severity = finding.Info
			}
			rank[i] = len(reported) + 1
		}
		if f.Severity != base {
			b := base
			f.BaseSeverity = &b
		}
	}
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		x, y := idx[a], idx[b]
		if out[x].Severity != out[y].Severity {
			return out[x].Severity > out[y].Severity
		}
		return rank[x] < rank[y]
	})
	sorted := make([]finding.Finding, len(out))
	for i, j := range idx {
		sorted[i] = out[j]
	}
	return sorted
}

// explainsAsCause: findings that state a cause are raised to error when
// they explain a reported flow. A contradiction or a symptom mismatch
// says the bundle and the customer disagree, and a capture finding is
// what was seen: neither is the cause, so neither is raised.
func explainsAsCause(id string) bool {
	switch id {
	case "TRACE_CAPTURE_CONTRADICTS", "TRACE_SYMPTOM_MISMATCH":
		return false
	}
	return !isSymptom(id)
}

// failingFlow is a reported flow that fails, with what explains it.
type failingFlow struct {
	flow    string
	reasons map[string]bool
	steps   []trace.Step
}

func (rf failingFlow) explainedBy(f finding.Finding) bool {
	if rf.reasons[f.ID] {
		return true
	}
	// the finding is about the object of the failing hop and cites the
	// file that decided it (IPTABLES_BACKEND_SPLIT when the legacy
	// backend's stale rule drops the flow)
	for _, s := range rf.steps {
		file, _ := s.Evidence["file"].(string)
		if file == "" || !hasString(f.Objects, s.At) {
			continue
		}
		for _, e := range f.Evidence {
			if e.File == file {
				return true
			}
		}
	}
	return false
}

// Failing says whether a trace fails from the customer's point of view:
// a definite failing verdict, or a delivery that is itself the reported
// symptom (the peer sees the node IP: wrong-source-ip).
func Failing(t trace.Trace) bool {
	switch t.Verdict {
	case trace.Dropped, trace.Rejected, trace.NoRoute:
		return true
	case trace.Delivered:
		return t.Reason != "" && t.Reported != "" && t.Agrees != nil && *t.Agrees
	}
	return false
}

// Undecided: the bundle cannot say whether the flow gets through.
func Undecided(t trace.Trace) bool {
	return t.Verdict == trace.Ambiguous || t.Verdict == trace.Undetermined
}

func reportedFailing(ts []trace.Trace) []failingFlow {
	var out []failingFlow
	for _, t := range ts {
		if t.Implicit || !Failing(t) {
			continue
		}
		rf := failingFlow{flow: t.From + " → " + t.To, reasons: map[string]bool{}}
		collectFailing(t, &rf)
		out = append(out, rf)
	}
	return out
}

// collectFailing gathers the reasons and failed steps of a failing trace
// and of its failing branches.
func collectFailing(t trace.Trace, rf *failingFlow) {
	if t.Reason != "" {
		rf.reasons[t.Reason] = true
	}
	for _, s := range t.Steps {
		if s.Failed {
			rf.steps = append(rf.steps, s)
		}
	}
	for _, b := range t.Branches {
		if Failing(b) {
			collectFailing(b, rf)
		}
	}
}

// hopSet is every failing hop of every trace (reported and implicit).
type hopSet struct {
	at      map[string]bool
	reasons map[string]bool
}

func failingHops(ts []trace.Trace) hopSet {
	h := hopSet{at: map[string]bool{}, reasons: map[string]bool{}}
	var walk func(t trace.Trace)
	walk = func(t trace.Trace) {
		if Failing(t) && t.Reason != "" {
			h.reasons[t.Reason] = true
		}
		for _, s := range t.Steps {
			if s.Failed {
				h.at[s.At] = true
			}
		}
		for _, b := range t.Branches {
			walk(b)
		}
	}
	for _, t := range ts {
		walk(t)
	}
	return h
}

func (h hopSet) touch(f finding.Finding) bool {
	if h.reasons[f.ID] {
		return true
	}
	for _, o := range f.Objects {
		if h.at[o] {
			return true
		}
	}
	return false
}

func hasString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
