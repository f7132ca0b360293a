package report

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"tkesnap/analysis/finding"
)

const findingsDoc = "../../docs/findings.md"

// docs/findings.md is generated from the catalog; it fails here when a
// catalog change was not followed by `go test ./analysis/report -update`.
func TestDocsFindingReferenceIsCurrent(t *testing.T) {
	var b bytes.Buffer
	if err := FindingReference(&b); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(findingsDoc, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(findingsDoc)
	if err != nil {
		t.Fatalf("%v (run: go test ./analysis/report -update)", err)
	}
	if !bytes.Equal(have, b.Bytes()) {
		t.Error("docs/findings.md is stale: run go test ./analysis/report -update")
	}
	for _, e := range finding.Catalog() {
		if strings.HasPrefix(e.Group, "test") {
			continue
		}
		if !strings.Contains(b.String(), "\n### "+e.ID+"\n") {
			t.Errorf("%s has no section", e.ID)
		}
	}
}

func TestPlaceholdersShowArgumentNames(t *testing.T) {
	got := placeholders(`Security group {{.sg}} of node {{.node}}{{if .before}}, before {{.before}}{{end}} {{or .port "30000-32768"}}.`)
	want := "Security group {sg} of node {node}, before {before} {port}."
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
