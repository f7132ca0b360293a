// Package checks holds every diagnostic check, one file per finding group,
// and the driver that runs them over a model.Cluster.
//
// A check is a value (in the manner of go/analysis): a name, the finding
// IDs it may report, a Needs function that names missing inputs so the
// driver can say "inconclusive: collect X", and Run, which reads the model
// and reports findings. Checks never open files.
package checks

import (
	"fmt"
	"sort"
	"sync"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
)

// Check is one unit of analysis.
type Check struct {
	Name string
	IDs  []string
	// Needs returns the inputs missing for this check; when it returns any,
	// Run is skipped and they are listed as inconclusive. nil means none.
	Needs func(c *model.Cluster) []finding.Inconclusive
	Run   func(p *Pass)
}

// Pass is what a check sees while it runs.
type Pass struct {
	Cluster *model.Cluster
	check   *Check

	findings     []finding.Finding
	inconclusive []finding.Inconclusive
}

// Report adds a finding. Its ID must be one the check declared.
func (p *Pass) Report(f finding.Finding) {
	p.findings = append(p.findings, f)
}

// Inconclusive records something the check could not decide and what to
// collect (and on which node) to decide it.
func (p *Pass) Inconclusive(need, node, why string) {
	p.inconclusive = append(p.inconclusive, finding.Inconclusive{Need: need, Node: node, Why: why})
}

var (
	mu       sync.Mutex
	registry []*Check
)

// Register adds a check; called from init in each check file.
func Register(c Check) {
	mu.Lock()
	defer mu.Unlock()
	for _, r := range registry {
		if r.Name == c.Name {
			panic("checks: duplicate check " + c.Name)
		}
	}
	registry = append(registry, &c)
}

// All returns the registered checks in name order.
func All() []*Check {
	mu.Lock()
	defer mu.Unlock()
	out := append([]*Check(nil), registry...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Result is what the driver collected from all checks.
type Result struct {
	Findings     []finding.Finding
	Inconclusive []finding.Inconclusive
}

// Run runs every check over c. A check that panics is a bug in tkesnap:
// it is recorded as a problem of the analysis and the others still run.
func Run(c *model.Cluster) Result {
	var res Result
	for _, ch := range All() {
		if ch.Needs != nil {
			if miss := ch.Needs(c); len(miss) > 0 {
				res.Inconclusive = append(res.Inconclusive, miss...)
				continue
			}
		}
		p := &Pass{Cluster: c, check: ch}
		func() {
			defer func() {
				if r := recover(); r != nil {
					c.Problem("", 0, "internal error in check %s: %v", ch.Name, r)
				}
			}()
			ch.Run(p)
		}()
		for _, f := range p.findings {
			if !declared(ch, f.ID) {
				c.Problem("", 0, "check %s reported undeclared ID %s", ch.Name, f.ID)
			}
		}
		res.Findings = append(res.Findings, p.findings...)
		res.Inconclusive = append(res.Inconclusive, p.inconclusive...)
	}
	finding.Sort(res.Findings)
	res.Inconclusive = sortInconclusive(res.Inconclusive)
	return res
}

func declared(ch *Check, id string) bool {
	for _, d := range ch.IDs {
		if d == id {
			return true
		}
	}
	return false
}

func sortInconclusive(in []finding.Inconclusive) []finding.Inconclusive {
	sort.SliceStable(in, func(i, j int) bool {
		a, b := in[i], in[j]
		return fmt.Sprint(a.Node, "\x00", a.Need, "\x00", a.Why) < fmt.Sprint(b.Node, "\x00", b.Need, "\x00", b.Why)
	})
	// drop exact duplicates: several checks may need the same file
	out := in[:0]
	for i, x := range in {
		if i > 0 && x == in[i-1] {
			continue
		}
		out = append(out, x)
	}
	return out
}
