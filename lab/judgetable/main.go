// Command judgetable prints, for every bundle under testdata, what issue
// 15's closing note asks for: the report's headline (its first sentence),
// the findings before and after one-per-fault merging, and how many
// remedies the re-trace verified (fixes with every re-traced flow
// DELIVERED, of the fixes offered), and of the others how many were
// re-traced with a flow still blocked or undecided and how many the model
// cannot re-trace.
//
//	go run ./lab/judgetable [DIR ...]   # default: testdata/bundles testdata/handmade testdata/datapath
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"tkesnap/analysis/analyzers"
	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/remedy"
	"tkesnap/analysis/report"
	"tkesnap/parsers/bundle"
)

func main() {
	roots := os.Args[1:]
	if len(roots) == 0 {
		roots = []string{"testdata/bundles", "testdata/handmade", "testdata/datapath"}
	}
	var dirs []string
	for _, r := range roots {
		es, err := os.ReadDir(r)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		for _, e := range es {
			if e.IsDir() && isBundle(filepath.Join(r, e.Name())) {
				dirs = append(dirs, filepath.Join(r, e.Name()))
			}
		}
	}
	sort.Strings(dirs)
	fmt.Println("| bundle | headline | findings before → after merge | remedies verified / offered | re-traced, not all delivered | not re-traceable by the model |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, d := range dirs {
		row, err := measure(d)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", d, err)
			os.Exit(1)
		}
		fmt.Println(row)
	}
}

func isBundle(dir string) bool {
	for _, p := range []string{"manifest.json", "cluster", "nodes", "cloud"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			return true
		}
	}
	return false
}

func measure(dir string) (string, error) {
	b, err := bundle.Open(dir, bundle.DefaultLimits())
	if err != nil {
		return "", err
	}
	defer b.Close()
	c := model.Load(b)
	res := driver.Run(c, analyzers.All())
	raw := len(res.Findings) // as the analyzers reported them, before one-per-fault merging
	ts := analyzers.Traces(res)
	fs := res.Merged // one per fault, remedies re-traced by the driver
	fixes, verified := remedy.Counts(fs)
	r := report.New(c, dir, fs, ts, res.Inconclusive, finding.EN)
	head, _, _ := strings.Cut(r.Summary, "\n")
	if i := strings.Index(head, ". "); i >= 0 {
		head = head[:i+1]
	}
	// the rest of the offered fixes: re-traced with a flow still
	// blocked or undecided, or not re-traced (the model cannot apply them)
	partial, unverified := 0, 0
	for _, f := range fs {
		switch {
		case f.Fix == nil || remedy.Delivered(f.Fix):
		case f.Fix.Unverified != "":
			unverified++
		case len(f.Fix.Verified) > 0:
			partial++
		}
	}
	return fmt.Sprintf("| %s | %s | %d → %d | %d / %d | %d | %d |", dir, head, raw, len(r.Findings), verified, fixes, partial, unverified), nil
}
