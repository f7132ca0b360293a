package main

import (
	"encoding/json"
	"testing"

	"tkesnap/analysis/finding"
)

// No finding of any testdata bundle renders with an empty argument, in
// either language: the checks and the tracer give every argument their
// catalog text uses (e.g. never "explains  (DELIVERED, )").
func TestBundleFindingsHaveNoEmptySlots(t *testing.T) {
	t.Chdir("../..")
	bundles := labBundles(t)
	if len(bundles) == 0 {
		t.Fatal("no bundles under testdata")
	}
	for _, b := range bundles {
		for _, lang := range []string{"en", "zh"} {
			var r struct {
				Summary  string            `json:"summary"`
				Findings []finding.Finding `json:"findings"`
			}
			if err := json.Unmarshal(analyzeTo(t, b, "--format", "json", "--lang", lang), &r); err != nil {
				t.Fatal(err)
			}
			for _, f := range r.Findings {
				for part, s := range map[string]string{"message": f.Message, "remedy": f.Remedy} {
					if slots := finding.EmptySlots(s); len(slots) > 0 {
						t.Errorf("%s %s: %s %s has empty slots %q: %s", b, lang, f.ID, part, slots, s)
					}
				}
			}
		}
	}
}
