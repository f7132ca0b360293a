package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"tkesnap/analysis/report/schema"
)

// `tkesnap analyze --format json` on every lab bundle (and on one that
// holds only a manifest) validates against the tkesnap-report/v1 JSON Schema, in both
// languages.
func TestAnalyzeJSONValidatesAgainstSchema(t *testing.T) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.ReportV1))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("report.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "manifest.json"), []byte(`{"format":"tkesnap-bundle/v1","files":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir("../..")
	bundles := append(labBundles(t), empty)
	for _, b := range bundles {
		for _, lang := range []string{"en", "zh"} {
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(analyzeTo(t, b, "--format", "json", "--lang", lang)))
			if err != nil {
				t.Fatalf("%s: not JSON: %v", b, err)
			}
			if err := sch.Validate(v); err != nil {
				t.Errorf("%s (%s): %v", b, lang, err)
			}
		}
	}
}
