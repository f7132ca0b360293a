// Package analyzers is the set of analyzers `tkesnap analyze` runs: every
// registered check and the tracer. A new check registers itself from its
// own file (analysis/checks) and is part of the set without an edit here.
package analyzers

import (
	"tkesnap/analysis/checks"
	"tkesnap/analysis/driver"
	"tkesnap/analysis/remedy"
	"tkesnap/analysis/trace"
)

// All returns the checks, the tracer and the remedy verifier (their
// requirements, such as the capture decoder, are added by the driver).
func All() []*driver.Analyzer {
	return append(checks.All(), trace.Analyzer, remedy.Analyzer)
}

// Checks returns the checks alone, for `trace BUNDLE`, which adds the
// checks' findings that explain the one traced flow.
func Checks() []*driver.Analyzer { return checks.All() }

// Traces returns the traces a driver result holds (from trace.Analyzer
// or trace.Reported), nil when no tracer ran.
func Traces(res *driver.Result) []trace.Trace {
	for _, a := range []*driver.Analyzer{trace.Analyzer, trace.Reported} {
		if ts, ok := res.ResultOf(a).([]trace.Trace); ok {
			return ts
		}
	}
	return nil
}
