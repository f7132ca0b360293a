// Package checks holds the diagnostic checks, one file per finding group.
// Each check is an analyzer (analysis/driver): it declares its name, the
// bundle inputs it reads, the finding IDs it may report and Run, and
// registers itself from its file's init. The driver runs them; checks
// never open files.
package checks

import (
	"sort"
	"sync"

	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
)

// Pass is what a check sees while it runs.
type Pass = driver.Pass

var (
	mu       sync.Mutex
	registry []*driver.Analyzer
)

// Register adds a check; called from init in each check file.
func Register(a *driver.Analyzer) {
	mu.Lock()
	defer mu.Unlock()
	for _, r := range registry {
		if r.Name == a.Name {
			panic("checks: duplicate check " + a.Name)
		}
	}
	registry = append(registry, a)
}

// All returns the registered checks in name order.
func All() []*driver.Analyzer {
	mu.Lock()
	defer mu.Unlock()
	out := append([]*driver.Analyzer(nil), registry...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// report adapts a check that only reports (no result for others).
func report(run func(p *Pass)) func(p *Pass) (any, error) {
	return func(p *Pass) (any, error) {
		run(p)
		return nil, nil
	}
}

// guarded adapts a check that first says what it lacks: when needs names
// missing inputs, they are inconclusive and the check does not run.
func guarded(needs func(c *model.Cluster) []finding.Inconclusive, run func(p *Pass)) func(p *Pass) (any, error) {
	return func(p *Pass) (any, error) {
		if miss := needs(p.Cluster); len(miss) > 0 {
			for _, m := range miss {
				p.Record(m)
			}
			return nil, nil
		}
		run(p)
		return nil, nil
	}
}
