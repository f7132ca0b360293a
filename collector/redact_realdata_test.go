package collector

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/internal/realdata"
)

// Real kubectl and tccli output (shared real data) and the sample bundle's
// cluster, cloud and CNI files through both collectors' redaction: the
// same bytes from each, the same line count, and the oracle's structure
// check (every key and list element kept, nothing outside a secret
// changed, everything inside one redacted).
func TestRedactionOfRealOutputKeepsEverythingButSecrets(t *testing.T) {
	files := append(realdata.Glob(t, "kube/*"), realdata.Glob(t, "tencent/*")...)
	for _, g := range []string{"cluster/*.yaml", "cloud/*.json", "cloud/*/*.json", "nodes/*/cni/*"} {
		m, _ := filepath.Glob(filepath.Join("..", "testdata", "bundles", "sample", g))
		files = append(files, m...)
	}
	if len(files) < 80 {
		t.Fatalf("only %d files found", len(files))
	}
	changed := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in := string(b)
		if !strings.HasSuffix(in, "\n") {
			in += "\n" // awk ends the last line
		}
		goOut := RedactString(in)
		if script := redactWithScript(t, in); script != goOut {
			t.Errorf("%s: script and Go differ", f)
			continue
		}
		if got, want := strings.Count(goOut, "\n"), strings.Count(in, "\n"); got != want {
			t.Errorf("%s: %d lines, input had %d", f, got, want)
		}
		for _, p := range sameStructure(in, goOut) {
			t.Errorf("%s: %s", f, p)
		}
		if goOut != in {
			changed++
		}
	}
	t.Logf("%d real files redacted by both collectors, %d with something redacted, structure kept in all", len(files), changed)
}
