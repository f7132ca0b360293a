// Package testbundle copies bundle folders for tests that edit or remove
// one part of a real bundle (a scenario made from another).
package testbundle

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Copy copies the bundle folder src to a temporary folder, leaving out the
// top-level entries named in skip (e.g. "cluster"), and returns its path.
func Copy(t testing.TB, src string, skip ...string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		top, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
		for _, s := range skip {
			if top == s {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// Write writes files (bundle-relative slash paths → contents) into a fresh
// bundle folder and returns its path.
func Write(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
