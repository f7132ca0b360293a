// Package realdata finds the shared real-world test inputs
// (shared/data/real beside the repository, see its SOURCES.tsv) for tests,
// wherever the clone lives: CI clones the repository next to a copy of
// shared/, so no absolute path is right everywhere.
package realdata

import (
	"os"
	"path/filepath"
	"testing"
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
// "kube/x.json"), skipping the test when the shared data is absent.
func Path(t testing.TB, rel string) string {
	t.Helper()
	d := Dir()
	if d == "" {
		t.Skip("shared real data not present (set TKESNAP_REAL or clone beside shared/)")
	}
	return filepath.Join(d, filepath.FromSlash(rel))
}
