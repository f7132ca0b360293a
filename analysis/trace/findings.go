package trace

import (
	"sort"
	"strings"

	"tkesnap/analysis/finding"
)

// Inconclusive lists what to collect (and on which node) to decide the
// UNDETERMINED hops of the traces, once per file and node: the reported
// flows first, then the guide's implicit checks (an implicit flow that
// cannot be decided for a missing file is a check the bundle cannot
// answer; the driver lists a file named by a check and by a hop once).
// A hop's need names bundle paths ("cloud/vpcs.json (vpc DescribeVpcs),
// cloud/security-group-policies/"): each path is one item, whose
// collecting command the driver adds.
func Inconclusive(ts []Trace) []finding.Inconclusive {
	var out []finding.Inconclusive
	seen := map[string]bool{}
	var walk func(t Trace, flow string)
	walk = func(t Trace, flow string) {
		for _, s := range t.Steps {
			// an AMBIGUOUS hop names a file too when that file, not
			// collected, is what would decide it (ipset save)
			if s.Decision != ActUndetermined && s.Decision != ActAmbiguous {
				continue
			}
			need, _ := s.Evidence["need"].(string)
			node, _ := s.Evidence["node"].(string)
			for _, one := range needPaths(need, node) {
				if seen[one+"|"+node] {
					continue
				}
				seen[one+"|"+node] = true
				out = append(out, finding.Because(one, node, finding.Say("inc.trace", flow, detailOf(s))))
			}
		}
		for _, b := range t.Branches {
			walk(b, flow)
		}
	}
	for _, implicit := range []bool{false, true} {
		for _, t := range ts {
			if t.Implicit == implicit {
				walk(t, t.From+" → "+t.To)
			}
		}
	}
	return out
}

// needPaths splits a hop's need into the bundle paths it names, each
// without the command a step's text adds in parentheses.
// A node folder's need ("nodes/<node>/ (iptables-save.txt, …)") is the
// folder; "<node>" is the hop's node.
func needPaths(need, node string) []string {
	// drop the parenthesized commands and file lists
	var b strings.Builder
	depth := 0
	for _, r := range need {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	var out []string
	for _, one := range strings.Split(b.String(), ",") {
		one = strings.TrimSpace(one)
		if node != "" {
			one = strings.ReplaceAll(one, "<node>", node)
		}
		if one != "" {
			out = append(out, one)
		}
	}
	return out
}

// Findings returns the findings the traces establish that checks do not:
// IPTABLES_DROPS_FLOW for a rule that drops a traced flow, SG_BLOCKS_FLOW,
// and contradictions between a trace and the captures. have are the
// findings already reported; one with the same ID and objects is not
// repeated.
func Findings(ts []Trace, have []finding.Finding) []finding.Finding {
	seen := map[string]bool{}
	key := func(f finding.Finding) string {
		k := f.ID
		for _, o := range f.Objects {
			k += "|" + o
		}
		for _, e := range f.Evidence {
			k += "|" + e.File + ":" + itoa(e.Line)
		}
		return k
	}
	for _, f := range have {
		seen[key(f)] = true
	}
	haveID := map[string]bool{}
	for _, f := range have {
		haveID[f.ID] = true
	}
	var out []finding.Finding
	var walk func(t Trace)
	walk = func(t Trace) {
		for _, f := range t.findings {
			if k := key(f); !seen[k] {
				seen[k] = true
				out = append(out, f)
			}
		}
		for _, f := range t.fallbacks {
			if k := key(f); !haveID[f.ID] && !seen[k] {
				seen[k] = true
				out = append(out, f)
			}
		}
		for _, b := range t.Branches {
			walk(b)
		}
	}
	for _, t := range ts {
		walk(t)
	}
	// every failing reported flow is a finding: the reason's own entry
	// when its text needs only what the trace knows, else TRACE_FLOW_FAILS
	// naming the reason, so a DROPPED reported flow never exits 0
	for _, t := range ts {
		if t.Implicit || !failsForReason(t) || haveID[t.Reason] || hasFinding(out, t.Reason) {
			continue
		}
		if hasFinding(out, "TRACE_FLOW_FAILS") && t.Reason == "" {
			continue
		}
		out = append(out, reasonFinding(t))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// failsForReason: the flow fails (or names an endpoint the bundle lacks),
// so its reason must be reported as a finding.
func failsForReason(t Trace) bool {
	switch t.Verdict {
	case Dropped, Rejected, NoRoute:
		return true
	}
	return t.Reason == "UNKNOWN_ENDPOINT"
}

// traceArgs are what every trace-reason template may use.
var traceArgs = map[string]bool{"flow": true, "at": true, "component": true, "verdict": true, "reason": true}

// reasonFinding is the finding of a failing reported flow whose reason no
// check reported.
func reasonFinding(t Trace) finding.Finding {
	at, component := "flow", "kube"
	if s := failingStep(t); s != nil {
		at, component = s.At, s.Component
	}
	flow := t.From + " → " + t.To
	args := finding.Args{"flow": flow, "at": at, "component": component, "verdict": string(t.Verdict), "reason": t.Reason}
	if t.Reason == "" {
		args["reason"] = string(t.Verdict)
	}
	objects := []string{"flow/" + t.From + "→" + t.To}
	if at != "flow" {
		objects = append([]string{at}, objects...)
	}
	if e, ok := finding.Lookup(t.Reason); ok && onlyTraceArgs(e) {
		return finding.New(t.Reason, args, objects)
	}
	return finding.New("TRACE_FLOW_FAILS", args, objects)
}

func onlyTraceArgs(e finding.Entry) bool {
	for _, tx := range e.Texts {
		for _, src := range []string{tx.Message, tx.Remedy} {
			fields, err := finding.TemplateFields(src)
			if err != nil {
				return false
			}
			for _, f := range fields {
				if !traceArgs[f] {
					return false
				}
			}
		}
	}
	return true
}

// failingStep is the first failed step of t or of a failing branch.
func failingStep(t Trace) *Step {
	for i := range t.Steps {
		if t.Steps[i].Failed {
			return &t.Steps[i]
		}
	}
	for _, b := range t.Branches {
		if s := failingStep(b); s != nil {
			return s
		}
	}
	return nil
}

// stepDetail is a step's detail as a phrase argument: worded in the
// report's language when the step was built from the catalog.
type stepDetail struct {
	parts  []part
	detail string
}

func detailOf(s Step) stepDetail { return stepDetail{parts: s.parts, detail: s.Detail} }

func (d stepDetail) In(lang finding.Lang) string {
	if len(d.parts) == 0 || d.detail != render(finding.EN, d.parts) {
		return d.detail
	}
	return render(lang, d.parts)
}
