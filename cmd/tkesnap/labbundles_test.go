package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// labBundles are the bundles under testdata made by the labs and the
// collector: every directory with a manifest.json, at most three levels
// down (testdata/bundles/<name>, testdata/<area>/bundle).
func labBundles(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"testdata/bundles/*/manifest.json", "testdata/*/bundle/manifest.json", "testdata/*/bundles/*/manifest.json"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			out = append(out, filepath.Dir(f))
		}
	}
	sort.Strings(out)
	return out
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
