package checks

import (
	"fmt"
	"strings"

	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
)

// The collector records every command it ran in manifest.json. A command
// that failed (kubectl without credentials, tccli without a key) leaves
// its file missing or empty; saying so is the difference between "no
// problem found" and "nothing could be checked". Commands skipped on
// purpose (ipvsadm without IPVS) carry a reason and are not failures.
func init() {
	Register(&driver.Analyzer{
		Name:   "bundle/collection",
		Doc:    "Commands the manifest records as failed or cut: their files are missing or partial.",
		Inputs: []driver.Input{driver.In("manifest.json")},
		IDs:    []string{"COLLECTION_FAILED"},
		Run:    report(runCollection),
	})
}

func runCollection(p *Pass) {
	m := p.Cluster.Manifest
	if m == nil {
		return
	}
	lines := p.Cluster.ManifestLines
	for i, r := range m.Files {
		if r.Skipped != "" {
			continue
		}
		if r.Truncated {
			p.Problem(r.Path, 0, "the collector cut this output at %d bytes; later entries are missing", r.Bytes)
		}
		if r.ExitCode == 0 {
			continue
		}
		stderr := lastLine(r.Stderr)
		ev := finding.Evidence{File: "manifest.json", Excerpt: fmt.Sprintf("%s → exit %d", r.Command, r.ExitCode)}
		if i < len(lines) {
			ev.Line = lines[i]
		}
		objs := []string{r.Path}
		if r.Node != "" {
			objs = append(objs, "node/"+r.Node)
		}
		p.Report(finding.New("COLLECTION_FAILED", finding.Args{
			"node": r.Node, "command": r.Command, "path": r.Path,
			"exit": fmt.Sprint(r.ExitCode), "stderr": stderr,
		}, objs, ev))
		p.Inconclusive(r.Path, r.Node, finding.Say("inc.cmdfailed", r.Command, r.ExitCode))
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
