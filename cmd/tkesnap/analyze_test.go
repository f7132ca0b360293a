package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"tkesnap/analysis/report/schema"
)

// tgz writes a gzipped tar of the given entries (name → body; a body
// starting with "->" makes a symlink to the rest).
func tgz(t *testing.T, p string, entries [][2]string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e[0], Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e[1]))}
		if target, ok := strings.CutPrefix(e[1], "->"); ok {
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, target, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e[1]))
		}
	}
	tw.Close()
	gz.Close()
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAnalyzeExitCodes(t *testing.T) {
	dir := t.TempDir()
	emptyDir := filepath.Join(dir, "empty")
	os.Mkdir(emptyDir, 0o755)
	notTar := filepath.Join(dir, "notes.tgz")
	os.WriteFile(notTar, []byte("the customer attached a text file\n"), 0o644)
	hostile := filepath.Join(dir, "hostile.tgz")
	tgz(t, hostile, [][2]string{{"../../etc/cron.d/x", "* * * * * root true"}, {"passwd", "->/etc/passwd"}})
	emptyTar := filepath.Join(dir, "empty.tgz")
	tgz(t, emptyTar, nil)
	wrapped := filepath.Join(dir, "wrapped")
	os.Mkdir(wrapped, 0o755)
	tgz(t, filepath.Join(wrapped, "bundle.tgz"), [][2]string{{"manifest.json", "{}"}})
	onlyManifest := filepath.Join(dir, "manifest-only")
	os.Mkdir(onlyManifest, 0o755)
	os.WriteFile(filepath.Join(onlyManifest, "manifest.json"), []byte(`{"format":"tkesnap-bundle/v1","files":[]}`), 0o644)

	tests := []struct {
		name string
		args []string
		want int
	}{
		{"unreadable input: a text file named .tgz", []string{"analyze", notTar}, 2},
		{"unreadable input: every entry is hostile", []string{"analyze", hostile}, 2},
		{"unreadable input: no such file", []string{"analyze", filepath.Join(dir, "missing.tgz")}, 2},
		{"bad usage: unknown format", []string{"analyze", "--format", "pdf", emptyDir}, 2},
		{"unreadable input: an empty bundle folder", []string{"analyze", emptyDir}, 2},
		{"unreadable input: an empty archive", []string{"analyze", emptyTar}, 2},
		{"unreadable input: a folder that only holds the customer's archive", []string{"analyze", wrapped}, 2},
		{"a bundle with only a manifest is read", []string{"analyze", onlyManifest}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report.json")
			args := append(tc.args, "--format", "json", "-o", out, "--no-color")
			if tc.args[1] == "--format" {
				args = tc.args
			}
			if got := run(args); got != tc.want {
				t.Errorf("tkesnap %s: exit %d, want %d", strings.Join(args, " "), got, tc.want)
			}
			if tc.want != 0 {
				return
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var r struct {
				Schema string
				Bundle struct{ Problems []struct{ Message string } }
			}
			if err := json.Unmarshal(data, &r); err != nil {
				t.Fatalf("report is not JSON: %v", err)
			}
			if r.Schema != "tkesnap-report/v1" {
				t.Errorf("schema %q", r.Schema)
			}
		})
	}
}

// Every lab bundle's JSON report — findings, traces with branches,
// capture steps — validates against the tkesnap-report/v1 schema.
func TestLabReportsValidateAgainstSchema(t *testing.T) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.ReportV1))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("report.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob("../../testdata/bundles/*")
	n := 0
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			continue
		}
		n++
		out := filepath.Join(t.TempDir(), "r.json")
		if code := run([]string{"analyze", d, "--format", "json", "-o", out, "-q"}); code == 1 || code == 2 {
			t.Errorf("%s: exit %d", d, code)
			continue
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		if err := s.Validate(v); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
	if n == 0 {
		t.Fatal("no lab bundles")
	}
}

// A folder of kubectl output without the collector's manifest is read,
// and the report does not pretend it is a collector bundle.
func TestBundleWithoutManifestHasUnknownFormat(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "cluster"), 0o755)
	os.WriteFile(filepath.Join(dir, "cluster", "services.yaml"), []byte("apiVersion: v1\nkind: List\nitems: []\n"), 0o644)
	out := filepath.Join(t.TempDir(), "r.json")
	if code := run([]string{"analyze", dir, "--format", "json", "-o", out, "-q"}); code == 1 || code == 2 {
		t.Fatalf("exit %d", code)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r struct{ Bundle struct{ Format string } }
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if r.Bundle.Format != "unknown (no manifest.json)" {
		t.Errorf("format %q", r.Bundle.Format)
	}
}
