package driver

import (
	"fmt"
	"runtime/debug"
	"strings"
	"sync"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/parsers/bundle"
)

// Pass is what an analyzer sees while it runs.
type Pass struct {
	Analyzer *Analyzer
	Cluster  *model.Cluster
	// ResultOf holds the result of every analyzer in Analyzer.Requires.
	ResultOf map[*Analyzer]any

	st           *state
	findings     []finding.Finding
	fallbacks    []fallback
	inconclusive []finding.Inconclusive
	problems     []finding.Problem
	// assembled: how many of problems the result assembly took before
	// Finish ran
	assembled int
}

// Report adds a finding. Its ID must be one the analyzer declared; an
// undeclared ID is an internal error and the finding is dropped.
func (p *Pass) Report(f finding.Finding) {
	if p.declaredID(f.ID) {
		p.findings = append(p.findings, f)
		return
	}
	p.internal("analyzer %s reported undeclared ID %s", p.Analyzer.Name, f.ID)
}

// ReportFallback adds a finding only if no analyzer of the run reports
// one with the same ID: the tracer's generic explanation of a failing hop
// (a NODE_ROUTE_MISSING seen on one flow) gives way to the check that
// states the same fault with all its evidence.
// A generic finding standing for a more specific one names that one's ID
// in unless: it gives way to it too.
func (p *Pass) ReportFallback(f finding.Finding, unless ...string) {
	if p.declaredID(f.ID) {
		p.fallbacks = append(p.fallbacks, fallback{f, unless})
		return
	}
	p.internal("analyzer %s reported undeclared ID %s", p.Analyzer.Name, f.ID)
}

func (p *Pass) declaredID(id string) bool {
	for _, d := range p.Analyzer.IDs {
		if d == id {
			return true
		}
	}
	return false
}

// Inconclusive records something the analyzer could not decide and what
// to collect (and on which node) to decide it.
func (p *Pass) Inconclusive(need, node string, why finding.Phrase) {
	p.inconclusive = append(p.inconclusive, finding.Because(need, node, why))
}

// Record records an inconclusive item built by the analyzer.
func (p *Pass) Record(in finding.Inconclusive) {
	p.inconclusive = append(p.inconclusive, in)
}

// Problem records a problem of the bundle found while analysing it (not
// a bug of tkesnap: a file that says it was cut, an inconsistent record).
func (p *Pass) Problem(file string, line int, format string, a ...any) {
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	p.Cluster.Problem(file, line, format, a...)
}

// Have reports whether the bundle holds a declared input, a concrete path
// ("cloud/targets/lb-1.json", "nodes/n1/ipvsadm.txt"). When it does not,
// the input is unknown: Have lists it as inconclusive (once per bundle,
// naming the command) and the analyzer must not conclude from it. Asking
// for a path the analyzer did not declare is an internal error.
func (p *Pass) Have(path string) bool {
	in, ok := p.declared(path)
	if !ok {
		p.internal("analyzer %s reads undeclared input %s", p.Analyzer.Name, path)
		return p.st.col.has(path)
	}
	if p.st.col.has(path) {
		return true
	}
	p.inconclusive = append(p.inconclusive, p.st.col.missing(path, in))
	return false
}

// HaveNode is Have for a file of a node folder (n.File(name)).
func (p *Pass) HaveNode(n *model.Node, name string) bool { return p.Have(n.File(name)) }

// Collected is Have without recording anything: for inputs whose absence
// is itself normal (an optional file the analyzer can do without).
func (p *Pass) Collected(path string) bool { return p.st.col.has(path) }

func (p *Pass) declared(path string) (Input, bool) {
	for _, in := range p.Analyzer.Inputs {
		if in.matches(path) {
			return in, true
		}
	}
	return Input{}, false
}

func (p *Pass) internal(format string, a ...any) {
	p.problems = append(p.problems, finding.Problem{Message: InternalPrefix + fmt.Sprintf(format, a...)})
}

// fallback is a finding reported only when no analyzer reports its ID or
// one of unless.
type fallback struct {
	f      finding.Finding
	unless []string
}

// state is shared by the passes of one run.
type state struct {
	c   *model.Cluster
	col *collected

	mu      sync.Mutex
	results map[*Analyzer]any
	failed  map[*Analyzer]bool
}

func (st *state) run(p *Pass) {
	a := p.Analyzer
	st.mu.Lock()
	for _, r := range a.Requires {
		if st.failed[r] {
			st.failed[a] = true
			st.mu.Unlock()
			return // the failure of r is already recorded
		}
		p.ResultOf[r] = st.results[r]
	}
	st.mu.Unlock()
	if st.c == nil || a.Run == nil {
		return
	}
	// required inputs: without them Run cannot conclude anything
	skip := false
	for _, in := range a.Inputs {
		if in.Required && !st.col.has(in.Path) {
			p.inconclusive = append(p.inconclusive, st.col.missing(in.Path, in))
			skip = true
		}
	}
	if skip {
		st.mu.Lock()
		st.results[a] = nil
		st.mu.Unlock()
		return
	}
	var res any
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v\n%s", r, firstFrames(debug.Stack()))
			}
		}()
		res, err = a.Run(p)
	}()
	st.mu.Lock()
	defer st.mu.Unlock()
	if err != nil {
		p.internal("analyzer %s: %v", a.Name, err)
		st.failed[a] = true
		return
	}
	st.results[a] = res
}

// firstFrames keeps the top of a stack: enough to find the bug, short
// enough for a report.
func firstFrames(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	if len(lines) > 16 {
		lines = lines[:16]
	}
	return strings.Join(lines, "\n")
}

// collected says which bundle files were collected: present in the
// bundle, and not an empty output of a command the manifest records as
// failed (a refused tccli call leaves an empty file or none).
type collected struct {
	b       *bundle.Bundle
	records map[string]bundle.ManifestRecord
}

func newCollected(c *model.Cluster) *collected {
	col := &collected{records: map[string]bundle.ManifestRecord{}}
	if c == nil {
		return col
	}
	col.b = c.Bundle
	if c.Manifest != nil {
		for _, r := range c.Manifest.Files {
			col.records[r.Path] = r
		}
	}
	return col
}

func (col *collected) has(path string) bool {
	if col.b == nil {
		return false
	}
	if strings.HasSuffix(path, "/") {
		return len(col.b.Glob(strings.TrimSuffix(path, "/")+"/*")) > 0
	}
	if !col.b.Has(path) {
		return false
	}
	if r, ok := col.records[path]; ok && r.ExitCode != 0 && col.b.Size(path) == 0 {
		return false
	}
	return true
}

// missing is the inconclusive item for an absent input: the file, the
// node whose folder it belongs to, the command (the manifest's when it
// recorded a failed or skipped run, else the declared one) and why the
// collector left it out when the manifest says.
func (col *collected) missing(path string, in Input) finding.Inconclusive {
	cmd := in.Command
	why := finding.Say("miss.absent")
	if r, ok := col.records[path]; ok {
		if r.Command != "" {
			cmd = r.Command
		}
		switch {
		case r.Skipped != "":
			why = finding.Say("miss.skipped", r.Skipped)
		case r.ExitCode != 0:
			why = finding.Say("miss.failed", r.ExitCode)
			if s := strings.TrimSpace(r.Stderr); s != "" {
				if len(s) > 200 {
					s = s[:200] + "…"
				}
				why = finding.Say("miss.failed.stderr", r.ExitCode, s)
			}
		}
	}
	node, need := "", path
	if rest, ok := strings.CutPrefix(path, "nodes/"); ok {
		if n, file, ok := strings.Cut(rest, "/"); ok {
			node, need = n, file
		}
	}
	out := finding.Because(need, node, finding.Say("miss.collect", why, cmd))
	out.Command = cmd
	return out
}
