package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// labBundles are the bundles under testdata made by the labs, the
// collector and the scenario generators: every directory with a
// manifest.json, at any depth (testdata/bundles/<name>,
// testdata/<area>/bundle, testdata/cloud/scenarios/<name>,
// testdata/pcap/lab/<name>, ...). Paths are relative to the repository root
// (tests chdir there). TestEveryBundleIsCovered checks that nothing that
// looks like a bundle is left out.
func labBundles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && notBundles[p] != "" {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == "manifest.json" {
			out = append(out, filepath.ToSlash(filepath.Dir(p)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no bundle under testdata (run from the repository root)")
	}
	sort.Strings(out)
	return out
}

// notBundles are the trees under testdata that hold bundle-shaped input
// but are not lab bundles with an expected report, and why.
var notBundles = map[string]string{
	"testdata/hostile":   "the hostile corpus: its own test expects exit codes and bounds, not reports",
	"testdata/kube/base": "the base cluster the kube tests copy and edit into their bundles (no manifest)",
}

// analyzeTo runs `tkesnap analyze` and returns the report it wrote.
func analyzeTo(t *testing.T, bundle string, args ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report")
	code := run(append([]string{"analyze", bundle, "-o", out, "--quiet"}, args...))
	if code != 0 && code != 3 && code != 4 {
		t.Fatalf("analyze %s %v: exit %d", bundle, args, code)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// goldenName names a bundle's files: testdata/bundles/sample → bundles_sample.
func goldenName(bundle string) string {
	return strings.ReplaceAll(strings.TrimPrefix(bundle, "testdata/"), "/", "_")
}

// looksLikeBundle reports whether dir holds what a bundle holds: the
// collector's manifest or one of its top-level folders.
func looksLikeBundle(dir string) bool {
	for _, n := range []string{"manifest.json", "cluster", "nodes", "cloud/security-group-policies", "cloud/clb", "captures"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return true
		}
	}
	return false
}

// Every bundle-shaped directory in testdata/ (the labs write their output
// there) is a lab bundle, so it has report goldens in both languages, or
// is listed in notBundles with the reason.
func TestEveryBundleIsCovered(t *testing.T) {
	t.Chdir("../..")
	covered := map[string]bool{}
	for _, b := range labBundles(t) {
		covered[b] = true
	}
	found := 0
	err := filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || p == "testdata" {
			return err
		}
		p = filepath.ToSlash(p)
		if notBundles[p] != "" {
			return filepath.SkipDir
		}
		if !looksLikeBundle(p) {
			return nil
		}
		found++
		if !covered[p] {
			t.Errorf("%s looks like a bundle but no test expects anything of it: give it a manifest.json (it then gets report goldens) or list it in notBundles with the reason", p)
		}
		for _, lang := range []string{"en", "zh"} {
			g := filepath.Join(reportGoldenDir, goldenName(p)+"."+lang+".md.golden")
			if _, err := os.Stat(g); err != nil {
				t.Errorf("%s: no %s report golden (go test ./cmd/tkesnap -run LabBundle -update)", p, lang)
			}
		}
		return filepath.SkipDir // a bundle's own folders are not bundles
	})
	if err != nil {
		t.Fatal(err)
	}
	if found != len(covered) {
		t.Errorf("%d bundle-shaped directories, %d lab bundles", found, len(covered))
	}
	for p := range notBundles {
		if _, err := os.Stat(p); err != nil && p != "testdata/hostile" {
			t.Errorf("notBundles lists %s, which is gone", p)
		}
	}
}

// A golden file whose bundle is gone (renamed, removed) is an orphan: it
// would never be compared again and only mislead. Each golden directory
// that is keyed by bundle names its bundle here.
func TestEveryGoldenHasABundle(t *testing.T) {
	t.Chdir("../..")
	reports := map[string]bool{}
	for _, b := range labBundles(t) {
		for _, lang := range []string{"en", "zh"} {
			reports[goldenName(b)+"."+lang+".md.golden"] = true
		}
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	for _, c := range []struct {
		dir    string
		bundle func(name string) bool
	}{
		{reportGoldenDir, func(n string) bool { return reports[n] }},
		// analysis/trace: one golden per lab cluster bundle, plus the
		// datapath lab's bundle.
		{"testdata/trace/golden", func(n string) bool {
			base := strings.TrimSuffix(n, ".json")
			return strings.HasSuffix(n, ".json") && (base == "datapath" && exists("testdata/datapath/bundle") || exists(filepath.Join("testdata/bundles", base, "manifest.json")))
		}},
		// analysis/checks cloud scenarios: one golden per scenario.
		{"testdata/cloud/golden", func(n string) bool {
			return strings.HasSuffix(n, ".txt") && exists(filepath.Join("testdata/cloud/scenarios", strings.TrimSuffix(n, ".txt"), "manifest.json"))
		}},
	} {
		files, err := os.ReadDir(c.dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Errorf("%s: no golden files", c.dir)
		}
		for _, f := range files {
			if !c.bundle(f.Name()) {
				t.Errorf("%s/%s: orphan golden, its bundle is gone (delete it, or restore the bundle)", c.dir, f.Name())
			}
		}
	}
}
