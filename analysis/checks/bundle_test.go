package checks

import (
	"os"
	"path/filepath"
	"testing"

	"tkesnap/analysis/model"
	"tkesnap/parsers/bundle"
)

// A cluster-mode run where kubectl could not reach the API server: the
// report must say so instead of "no problem found".
func TestKubectlFailureIsReportedNotHidden(t *testing.T) {
	dir := t.TempDir()
	manifest := `{
  "format": "tkesnap-bundle/v1",
  "files": [
    {
      "path": "cluster/version.json",
      "command": "kubectl version -o json",
      "exit_code": 0
    },
    {
      "path": "cluster/pods.yaml",
      "command": "kubectl get pods -A -o yaml",
      "exit_code": 1,
      "stderr": "E1125 request failed\nThe connection to the server localhost:8080 was refused"
    },
    {
      "path": "nodes/n1/ipvsadm.txt",
      "command": "ipvsadm -Sn",
      "node": "n1",
      "exit_code": 127,
      "skipped": "ipvs not available: /proc/net/ip_vs absent"
    },
    {
      "path": "nodes/n1/conntrack.txt",
      "command": "conntrack -L",
      "node": "n1",
      "exit_code": 0,
      "bytes": 1048576,
      "truncated": true
    }
  ]
}`
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(dir, bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := model.Load(b)
	res := runChecks(t, c)

	var got []string
	for _, f := range res.Findings {
		if f.ID != "COLLECTION_FAILED" {
			continue
		}
		got = append(got, f.Args["path"])
		if f.Evidence[0].File != "manifest.json" || f.Evidence[0].Line != 10 {
			t.Errorf("evidence %+v, want manifest.json line 10", f.Evidence[0])
		}
		if f.Args["stderr"] != "The connection to the server localhost:8080 was refused" {
			t.Errorf("stderr arg %q", f.Args["stderr"])
		}
	}
	if len(got) != 1 || got[0] != "cluster/pods.yaml" {
		t.Fatalf("COLLECTION_FAILED for %v, want only cluster/pods.yaml (a skipped ipvsadm is not a failure)", got)
	}
	need := false
	for _, in := range res.Inconclusive {
		need = need || in.Need == "cluster/pods.yaml"
	}
	if !need {
		t.Errorf("no inconclusive item names cluster/pods.yaml: %+v", res.Inconclusive)
	}
	truncated := false
	for _, p := range c.Problems {
		truncated = truncated || p.File == "nodes/n1/conntrack.txt"
	}
	if !truncated {
		t.Errorf("the truncated conntrack output is not a bundle problem: %+v", c.Problems)
	}
}
