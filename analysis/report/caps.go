package report

import (
	"fmt"

	"tkesnap/analysis/finding"
)

// Caps bound what one report lists, so a hostile or broken bundle cannot
// make an unreadable report of hundreds of megabytes (200,000 failed
// manifest records made a 122 MB one). What is cut is counted in a bundle
// problem, never dropped silently. Findings are cut after sorting, so the
// worst ones (and the exit code) are kept.
const (
	maxFindings     = 1000
	maxProblems     = 1000
	maxInconclusive = 1000
	maxObjects      = 100 // per finding
	maxEvidence     = 50  // per finding
)

// applyCaps cuts the report's lists to the caps and says what was cut.
func (r *Report) applyCaps() {
	var notes []finding.Problem
	if n := len(r.Findings); n > maxFindings {
		notes = append(notes, finding.Problem{Message: fmt.Sprintf("%d more findings not listed: a report lists at most %d (the most severe first)", n-maxFindings, maxFindings)})
		r.Findings = r.Findings[:maxFindings]
	}
	cutObjects, cutEvidence := 0, 0
	for i := range r.Findings {
		f := &r.Findings[i]
		if n := len(f.Objects); n > maxObjects {
			cutObjects += n - maxObjects
			f.Objects = append(f.Objects[:maxObjects:maxObjects], fmt.Sprintf("… %d more", n-maxObjects))
		}
		if n := len(f.Evidence); n > maxEvidence {
			cutEvidence += n - maxEvidence
			f.Evidence = f.Evidence[:maxEvidence]
		}
	}
	if cutEvidence > 0 {
		notes = append(notes, finding.Problem{Message: fmt.Sprintf("%d more pieces of evidence not listed: a finding lists at most %d", cutEvidence, maxEvidence)})
	}
	if n := len(r.Inconclusive); n > maxInconclusive {
		notes = append(notes, finding.Problem{Message: fmt.Sprintf("%d more undecided checks not listed: a report lists at most %d", n-maxInconclusive, maxInconclusive)})
		r.Inconclusive = r.Inconclusive[:maxInconclusive]
	}
	if n := len(r.Bundle.Problems); n > maxProblems {
		notes = append(notes, finding.Problem{Message: fmt.Sprintf("%d more bundle problems not listed: a report lists at most %d", n-maxProblems, maxProblems)})
		r.Bundle.Problems = r.Bundle.Problems[:maxProblems]
	}
	_ = cutObjects // counted in the "… N more" object of each finding
	r.Bundle.Problems = append(r.Bundle.Problems, notes...)
}
