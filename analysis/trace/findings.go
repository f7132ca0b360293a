package trace

import (
	"sort"

	"tkesnap/analysis/finding"
)

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
	var out []finding.Finding
	var walk func(t Trace)
	walk = func(t Trace) {
		for _, f := range t.findings {
			if k := key(f); !seen[k] {
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
