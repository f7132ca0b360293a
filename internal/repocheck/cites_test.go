package repocheck

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const root = "../.."

// repoFiles calls fn with every file of the repository that keep accepts
// (testdata and .git excluded), relative to the repository root.
func repoFiles(t *testing.T, keep func(rel string) bool, fn func(rel string)) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if rel, _ := filepath.Rel(root, p); !d.IsDir() && keep(filepath.ToSlash(rel)) {
			fn(filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// goFiles calls fn with every Go file of the repository.
func goFiles(t *testing.T, fn func(rel string)) {
	t.Helper()
	repoFiles(t, func(rel string) bool { return strings.HasSuffix(rel, ".go") }, fn)
}

// cited finds document citations: a path ending in .md.
var cited = regexp.MustCompile(`(?:\.\./|\./)*[A-Za-z0-9_-][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_.-]+)*\.md\b`)

// resolves reports whether the citation names a file of the repository:
// relative to the citing file's folder, to the repository root, or (a
// bare name such as README.md) in the citing folder or one above it.
func resolves(from, c string) bool {
	exists := func(p string) bool { _, err := os.Stat(filepath.Join(root, filepath.FromSlash(p))); return err == nil }
	dir := filepath.ToSlash(filepath.Dir(from))
	if exists(filepath.ToSlash(filepath.Join(dir, c))) {
		return true
	}
	trimmed := c
	for strings.HasPrefix(trimmed, "../") || strings.HasPrefix(trimmed, "./") {
		trimmed = trimmed[strings.IndexByte(trimmed, '/')+1:]
	}
	if exists(trimmed) {
		return true
	}
	if !strings.Contains(c, "/") {
		for d := dir; ; d = filepath.ToSlash(filepath.Dir(d)) {
			if exists(filepath.ToSlash(filepath.Join(d, c))) {
				return true
			}
			if d == "." || d == "/" {
				return false
			}
		}
	}
	return false
}

// Every document a Go comment or a Markdown page of the repository cites
// is in the repository: a comment that sends the reader to a document
// that only exists on one machine explains nothing. Command lines in
// Markdown (code blocks, indented examples, inline code with a space) name
// output files, not citations, and are left out.
func TestCitedDocumentsExist(t *testing.T) {
	n := 0
	fset := token.NewFileSet()
	goFiles(t, func(rel string) {
		f, err := parser.ParseFile(fset, filepath.Join(root, rel), nil, parser.ParseComments)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return
		}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				for _, m := range cited.FindAllString(c.Text, -1) {
					n++
					if !resolves(rel, m) {
						t.Errorf("%s: a comment cites %s, which is not in the repository", fset.Position(c.Pos()), m)
					}
				}
			}
		}
	})
	docs, _ := filepath.Glob(filepath.Join(root, "*.md"))
	more, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	for _, p := range append(docs, more...) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		for _, m := range cited.FindAllString(prose(string(data)), -1) {
			n++
			if !resolves(filepath.ToSlash(rel), m) {
				t.Errorf("%s cites %s, which is not in the repository", rel, m)
			}
		}
	}
	if n < 30 {
		t.Errorf("only %d citations found: is the scan broken?", n)
	}
}

var inlineCommand = regexp.MustCompile("`[^`]* [^`]*`")

// prose drops the command lines of a Markdown page: fenced and indented
// code, and inline code with a space in it.
func prose(md string) string {
	var b strings.Builder
	fenced := false
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fenced = !fenced
			continue
		}
		if fenced || strings.HasPrefix(l, "    ") || strings.HasPrefix(l, "\t") {
			continue
		}
		b.WriteString(inlineCommand.ReplaceAllString(l, "") + "\n")
	}
	return b.String()
}
