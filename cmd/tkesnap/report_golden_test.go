package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/internal/golden"
)

// Golden reports of the lab bundles: `tkesnap analyze` end to end (bundle
// → model → checks → traces → report) in Markdown, English and Chinese.
// A change in any check or trace shows up here as a reviewable diff.
// Refresh with the repository-wide switch (internal/golden):
//
//	go test ./cmd/tkesnap -run LabBundle -update

const reportGoldenDir = "testdata/report/golden/bundles"

func TestLabBundleReportsMatchGoldenFiles(t *testing.T) {
	t.Chdir("../..") // bundle paths in reports are relative to the repository
	bundles := labBundles(t)
	if len(bundles) == 0 {
		t.Fatal("no lab bundles under testdata yet")
	}
	update := *golden.Update
	for _, b := range bundles {
		for _, c := range []struct{ lang, format, ext string }{
			// JSON is covered by the schema test; Markdown shows the same
			// content in a diff a reviewer can read.
			{"en", "markdown", "md"}, {"zh", "markdown", "md"},
		} {
			name := goldenName(b) + "." + c.lang + "." + c.ext + ".golden"
			t.Run(name, func(t *testing.T) {
				got := analyzeTo(t, b, "--format", c.format, "--lang", c.lang)
				path := filepath.Join(reportGoldenDir, name)
				if update {
					if err := os.MkdirAll(reportGoldenDir, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run: go test ./cmd/tkesnap -run LabBundle -update)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("report of %s changed; if intended, run go test ./cmd/tkesnap -run LabBundle -update and review the diff of %s\n%s", b, path, firstDiff(want, got))
				}
			})
		}
	}
}

// The HTML report of every lab bundle draws each failing traced flow with
// its failing hop in red.
func TestLabBundleHTMLShowsTheFailingHop(t *testing.T) {
	t.Chdir("../..")
	bundles := labBundles(t)
	if len(bundles) == 0 {
		t.Fatal("no lab bundles under testdata yet")
	}
	for _, b := range bundles {
		var rep struct {
			Traces []struct {
				Verdict string `json:"verdict"`
				Steps   []struct {
					Failed bool `json:"failed"`
				} `json:"steps"`
			} `json:"traces"`
		}
		if err := json.Unmarshal(analyzeTo(t, b, "--format", "json"), &rep); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		failing := 0
		for _, tr := range rep.Traces {
			for _, s := range tr.Steps {
				if s.Failed {
					failing++
					break
				}
			}
		}
		page := string(analyzeTo(t, b, "--format", "html"))
		if got := strings.Count(page, `class="flow"`); got < len(rep.Traces) {
			t.Errorf("%s: %d diagrams for %d traces", b, got, len(rep.Traces))
		}
		if drawn := strings.Count(page, `<g class="hop fail">`); drawn < failing {
			t.Errorf("%s: %d failing hops drawn, %d traces fail at a hop", b, drawn, failing)
		}
	}
}

// firstDiff shows the first line that differs, to say what changed.
func firstDiff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n  golden: %s\n  now:    %s", i+1, a, b)
		}
	}
	return ""
}
