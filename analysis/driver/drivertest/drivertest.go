// Package drivertest runs analyzers over a test bundle the way analyze
// does, and fails the test on what is a bug of tkesnap whatever the
// bundle: a panic, an undeclared finding ID, an error returned by Run.
package drivertest

import (
	"strings"
	"testing"

	"tkesnap/analysis/driver"
	"tkesnap/analysis/model"
	"tkesnap/parsers/bundle"
)

// Load opens a bundle directory or archive and builds its model; the
// bundle is closed when the test ends.
func Load(t testing.TB, path string) *model.Cluster {
	t.Helper()
	b, err := bundle.Open(path, bundle.DefaultLimits())
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { b.Close() })
	return model.Load(b)
}

// Run loads the bundle at path and runs the analyzers (and what they
// require) over it.
func Run(t testing.TB, path string, analyzers ...*driver.Analyzer) *driver.Result {
	t.Helper()
	return RunModel(t, Load(t, path), analyzers...)
}

// RunModel runs the analyzers over an already loaded model.
func RunModel(t testing.TB, c *model.Cluster, analyzers ...*driver.Analyzer) *driver.Result {
	t.Helper()
	if err := driver.Validate(analyzers); err != nil {
		t.Fatalf("analyzer declarations: %v", err)
	}
	res := driver.Run(c, analyzers)
	for _, p := range res.Problems {
		t.Errorf("%s", p.Message)
	}
	return res
}

// IDs are the finding IDs of a result, in report order.
func IDs(res *driver.Result) []string {
	out := make([]string, 0, len(res.Findings))
	for _, f := range res.Findings {
		out = append(out, f.ID)
	}
	return out
}

// Named returns the analyzers whose name starts with prefix.
func Named(prefix string, all []*driver.Analyzer) []*driver.Analyzer {
	var out []*driver.Analyzer
	for _, a := range all {
		if strings.HasPrefix(a.Name, prefix) {
			out = append(out, a)
		}
	}
	return out
}
