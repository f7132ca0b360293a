package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The hand-made fixtures (testdata/handmade, issue 14 part 6) are bundles
// written and edited by hand in the formats the real tools print, not by
// the project's collector or lab: each one's expectation is a row of
// testdata/handmade/README.md, derived from the scenario it describes.
// This test parses that table, runs `tkesnap analyze` on every bundle and
// checks the error/warning finding IDs, the exit code and the verdict,
// reason and failing hop of the first reported flow's trace.

type handmadeRow struct {
	bundle   string
	findings []string // error and warning IDs, sorted; nil for none
	verdict  string
	reason   string // "" when the row names none
	at       string // the failing (or undecided) hop, "" when none named
	exit     int
}

var backticked = regexp.MustCompile("`([^`]*)`")

func handmadeTable(t *testing.T, dir string) []handmadeRow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []handmadeRow
	inTable := false
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(l, "|") {
			inTable = false
			continue
		}
		cells := strings.Split(strings.Trim(l, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if cells[0] == "bundle" {
			inTable = true
			if len(cells) != 6 || cells[3] != "trace of the flow" || cells[4] != "expected findings" || cells[5] != "exit" {
				t.Fatalf("README table header changed: %q", l)
			}
			continue
		}
		if !inTable || strings.HasPrefix(cells[0], "---") {
			continue
		}
		r := handmadeRow{bundle: strings.Trim(cells[0], "`")}
		for _, m := range backticked.FindAllStringSubmatch(cells[4], -1) {
			r.findings = append(r.findings, m[1])
		}
		if len(r.findings) == 0 && cells[4] != "none" {
			t.Fatalf("%s: expected findings %q: list IDs in backticks or write none", r.bundle, cells[4])
		}
		sort.Strings(r.findings)
		tr := strings.Trim(cells[3], "`")
		if i := strings.Index(tr, " @ "); i >= 0 {
			r.at = tr[i+3:]
			tr = tr[:i]
		}
		f := strings.Fields(tr)
		if len(f) == 0 || len(f) > 2 {
			t.Fatalf("%s: trace cell %q: want VERDICT [REASON] [@ hop]", r.bundle, cells[3])
		}
		r.verdict = f[0]
		if len(f) == 2 {
			r.reason = f[1]
		}
		if r.exit, err = strconv.Atoi(cells[5]); err != nil {
			t.Fatalf("%s: exit %q", r.bundle, cells[5])
		}
		rows = append(rows, r)
	}
	return rows
}

func TestHandmadeBundles(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "handmade")
	rows := handmadeTable(t, dir)
	listed := map[string]bool{}
	for _, r := range rows {
		listed[r.bundle] = true
	}
	// every bundle has a row, every row a bundle
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		n++
		if !listed[e.Name()] {
			t.Errorf("testdata/handmade/%s has no row in README.md", e.Name())
		}
	}
	if n != len(rows) {
		t.Errorf("%d bundles, %d rows", n, len(rows))
	}
	for _, r := range rows {
		t.Run(r.bundle, func(t *testing.T) { checkExpected(t, filepath.Join(dir, r.bundle), r) })
	}
}

// The lab bundles (testdata/bundles, made by lab/cluster with the real
// collector) carry the same table in their README, written by labgen from
// each scenario's expectation and why it follows from the fault.
func TestLabExpectations(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "bundles")
	rows := handmadeTable(t, dir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, r := range rows {
		listed[r.bundle] = true
	}
	for _, e := range ents {
		if e.IsDir() && !listed[e.Name()] {
			t.Errorf("testdata/bundles/%s has no row in README.md", e.Name())
		}
	}
	if len(rows) < 10 {
		t.Fatalf("only %d rows in testdata/bundles/README.md", len(rows))
	}
	for _, r := range rows {
		t.Run(r.bundle, func(t *testing.T) { checkExpected(t, filepath.Join(dir, r.bundle), r) })
	}
}

// checkExpected runs analyze on one bundle and compares it with its row.
func checkExpected(t *testing.T, bundleDir string, r handmadeRow) {
	out := filepath.Join(t.TempDir(), "report.json")
	code := run([]string{"analyze", bundleDir, "--format", "json", "-o", out, "--quiet"})
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("exit %d, no report: %v", code, err)
	}
	var rep struct {
		Findings []struct{ ID, Severity string } `json:"findings"`
		Traces   []handmadeTrace                 `json:"traces"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	var got []string
	seen := map[string]bool{}
	for _, f := range rep.Findings {
		if (f.Severity == "error" || f.Severity == "warning") && !seen[f.ID] {
			seen[f.ID] = true
			got = append(got, f.ID)
		}
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(r.findings, ",") {
		t.Errorf("findings %v, want %v", got, r.findings)
	}
	if code != r.exit {
		t.Errorf("exit %d, want %d", code, r.exit)
	}
	if len(rep.Traces) == 0 {
		t.Fatal("no trace of the flow in flows.json")
	}
	tr := rep.Traces[0]
	if tr.Verdict != r.verdict || (r.reason != "" && tr.Reason != r.reason) {
		t.Errorf("trace %s → %s: %s %s, want %s %s", tr.From, tr.To, tr.Verdict, tr.Reason, r.verdict, r.reason)
	}
	if r.at != "" {
		if hop := tr.decidingHop(); hop != r.at {
			t.Errorf("deciding hop %q, want %q", hop, r.at)
		}
	}
}

type handmadeTrace struct {
	From, To, Verdict, Reason string
	Steps                     []struct {
		At       string `json:"at"`
		Decision string `json:"decision"`
		Failed   bool   `json:"failed"`
	} `json:"steps"`
	// a forked flow (one branch per CLB real server or endpoint) fails
	// inside a branch
	Branches []handmadeTrace `json:"branches"`
}

// decidingHop is the first failed or UNDETERMINED step of the trace, else
// of its first branch that has one.
func (t handmadeTrace) decidingHop() string {
	for _, s := range t.Steps {
		if s.Failed || s.Decision == "UNDETERMINED" {
			return s.At
		}
	}
	for _, b := range t.Branches {
		if h := b.decidingHop(); h != "" {
			return h
		}
	}
	return ""
}
