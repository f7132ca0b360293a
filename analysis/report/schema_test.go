package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/report/schema"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
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
	return s
}

// validateJSON validates one JSON document against tkesnap-report/v1.
func validateJSON(t *testing.T, s *jsonschema.Schema, data []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(v)
}

func TestJSONReportValidatesAgainstSchema(t *testing.T) {
	s := compileSchema(t)
	for _, lang := range []finding.Lang{finding.EN, finding.ZH} {
		r := fixture()
		r.Localize(lang)
		if err := validateJSON(t, s, render(t, r, "json")); err != nil {
			t.Errorf("%s: %v", lang, err)
		}
	}
	// An empty analysis (nothing found, nothing traced) is a valid report too.
	empty := &Report{Bundle: BundleInfo{Path: "x"}}
	empty.Localize(finding.EN)
	if err := validateJSON(t, s, render(t, empty, "json")); err != nil {
		t.Errorf("empty report: %v", err)
	}
}

func TestSchemaRejectsReportsOutsideTheContract(t *testing.T) {
	s := compileSchema(t)
	r := fixture()
	r.Localize(finding.EN)
	good := string(render(t, r, "json"))
	for name, bad := range map[string]string{
		"unknown severity":   strings.Replace(good, `"severity": "error"`, `"severity": "fatal"`, 1),
		"unknown verdict":    strings.Replace(good, `"verdict": "DROPPED"`, `"verdict": "LOST"`, 1),
		"other schema name":  strings.Replace(good, `"tkesnap-report/v1"`, `"tkesnap-report/v2"`, 1),
		"findings missing":   strings.Replace(good, `"findings":`, `"results":`, 1),
		"line is not a line": strings.Replace(good, `"line": 41`, `"line": "41"`, 1),
	} {
		if bad == good {
			t.Fatalf("%s: the mutation did not apply", name)
		}
		if err := validateJSON(t, s, []byte(bad)); err == nil {
			t.Errorf("%s: schema accepted it", name)
		}
	}
}
