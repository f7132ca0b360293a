package trace

import (
	"sort"

	"tkesnap/analysis/finding"
)

// Inconclusive lists what to collect (and on which node) to decide the
// UNDETERMINED hops of the reported flows' traces, once per file and
// node. Implicit traces are left out: on a partial bundle they would
// repeat what the checks already ask for.
func Inconclusive(ts []Trace) []finding.Inconclusive {
	var out []finding.Inconclusive
	seen := map[string]bool{}
	var walk func(t Trace, flow string)
	walk = func(t Trace, flow string) {
		for _, s := range t.Steps {
			if s.Decision != "UNDETERMINED" {
				continue
			}
			need, _ := s.Evidence["need"].(string)
			node, _ := s.Evidence["node"].(string)
			if need == "" || seen[need+"|"+node] {
				continue
			}
			seen[need+"|"+node] = true
			out = append(out, finding.Inconclusive{Need: need, Node: node, Why: "trace " + flow + ": " + s.Detail})
		}
		for _, b := range t.Branches {
			walk(b, flow)
		}
	}
	for _, t := range ts {
		if t.reported {
			walk(t, t.From+" → "+t.To)
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
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
