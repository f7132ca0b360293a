// Package realdata finds the shared real-world test inputs
// (shared/data/real beside the repository, see its SOURCES.tsv) for tests,
// wherever the clone lives: CI clones the repository next to a copy of
// shared/, so no absolute path is right everywhere.
package realdata

import (
	"os"
	"path/filepath"
	"testing"

	"tkesnap/internal/testenv"
)

// Dir returns the real-data folder: $TKESNAP_REAL when set, else
// ../shared/data/real beside the module root. It returns "" when neither
// exists.
func Dir() string {
	if d := os.Getenv("TKESNAP_REAL"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			real := filepath.Join(d, "..", "shared", "data", "real")
			if st, err := os.Stat(real); err == nil && st.IsDir() {
				return real
			}
			return ""
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// Path returns the real-data path of rel (slash-separated, e.g.
// "kube/x.json"). When the shared data is absent the test skips, which
// fails it under CI=true: CI has shared/ beside the clone. A rel that does
// not exist in present shared data fails the test (a moved file must not
// pass silently).
func Path(t testing.TB, rel string) string {
	t.Helper()
	d := Dir()
	if d == "" {
		testenv.Skip(t, "shared real data not present (set TKESNAP_REAL or clone beside shared/)")
	}
	p := filepath.Join(d, filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("real data %s: %v", rel, err)
	}
	return p
}

// Glob returns the real-data files matching pattern (slash-separated,
// relative to the real-data folder), failing the test when none match in
// present shared data and skipping (failing under CI=true) without it.
func Glob(t testing.TB, pattern string) []string {
	t.Helper()
	base := Path(t, "")
	m, err := filepath.Glob(filepath.Join(base, filepath.FromSlash(pattern)))
	if err != nil || len(m) == 0 {
		t.Fatalf("no real data matches %s in %s (%v)", pattern, base, err)
	}
	return m
}

// Read returns the content of the real-data file rel.
func Read(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
