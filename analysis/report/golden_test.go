package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"tkesnap/analysis/finding"
)

var update = flag.Bool("update", false, "rewrite golden files and generated docs")

const goldenDir = "../../testdata/report/golden"

// golden compares got with the named golden file, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run: go test ./analysis/report -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; if the change is intended (for example a catalog text changed), run\n\tgo test ./analysis/report -update\nand review the diff.\n--- got:\n%s", name, got)
	}
}

func render(t *testing.T, r *Report, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "text":
		err = r.Text(&b, TextOptions{Width: 100})
	case "md":
		err = r.Markdown(&b)
	case "json":
		err = r.JSON(&b)
	case "html":
		err = r.HTML(&b)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGoldenReportsInEveryFormatAndLanguage(t *testing.T) {
	for _, lang := range []finding.Lang{finding.EN, finding.ZH} {
		for _, format := range []string{"text", "md", "json"} {
			t.Run(string(lang)+"/"+format, func(t *testing.T) {
				r := fixture()
				r.Localize(lang)
				golden(t, "fixture."+string(lang)+"."+format+".golden", render(t, r, format))
			})
		}
	}
}

func TestRenderingIsDeterministic(t *testing.T) {
	for _, format := range []string{"text", "md", "json", "html"} {
		a, b := fixture(), fixture()
		// the same content given in another order renders the same bytes
		for i, j := 0, len(b.Findings)-1; i < j; i, j = i+1, j-1 {
			b.Findings[i], b.Findings[j] = b.Findings[j], b.Findings[i]
		}
		b.Inconclusive[0], b.Inconclusive[1] = b.Inconclusive[1], b.Inconclusive[0]
		a.Localize(finding.EN)
		b.Localize(finding.EN)
		if x, y := render(t, a, format), render(t, b, format); !bytes.Equal(x, y) {
			t.Errorf("%s: output depends on input order", format)
		}
	}
}
