package collector

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/parsers/bundle"
)

// The lab bundles in testdata/bundles were made by this collector (make
// lab). Other packages assert findings on them; this checks they are what
// the collector promises: the v1 layout, a manifest that matches the
// files, flows for every faulty scenario, and no secret that the lab
// planted in the API objects and tccli answers.
func TestLabBundlesAreCompleteAndRedacted(t *testing.T) {
	dirs, _ := filepath.Glob("../testdata/bundles/*/manifest.json")
	if len(dirs) == 0 {
		t.Fatal("no lab bundles in testdata/bundles (run make lab as root)")
	}
	readme, err := os.ReadFile("../testdata/bundles/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range dirs {
		dir := filepath.Dir(m)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			b, err := bundle.Open(dir, bundle.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if len(b.Problems) > 0 {
				t.Errorf("problems: %+v", b.Problems)
			}
			if b.Manifest == nil || b.Manifest.Format != "tkesnap-bundle/v1" || b.Manifest.Cluster.ID != "cls-lab00001" {
				t.Fatalf("manifest header: %+v", b.Manifest)
			}
			inManifest := map[string]bool{"manifest.json": true, "flows.json": true}
			nodes := map[string]bool{}
			for _, r := range b.Manifest.Files {
				inManifest[r.Path] = true
				if r.Node != "" {
					nodes[r.Node] = true
				}
				if r.Skipped != "" {
					continue
				}
				if !b.Has(r.Path) {
					t.Errorf("%s: recorded but missing", r.Path)
				} else if n := b.Size(r.Path); n != r.Bytes {
					t.Errorf("%s: manifest %d bytes, file %d", r.Path, r.Bytes, n)
				}
				if r.ExitCode != 0 {
					t.Errorf("%s: %q exited %d: %s", r.Path, r.Command, r.ExitCode, r.Stderr)
				}
			}
			for _, f := range b.Files() {
				if !inManifest[f] {
					t.Errorf("%s: not in manifest", f)
				}
			}
			for _, n := range []string{"10.0.1.11", "10.0.1.12"} {
				if !nodes[n] || !b.Has("nodes/"+n+"/iptables-save.txt") {
					t.Errorf("node %s not collected", n)
				}
			}
			for _, f := range []string{"cluster/pods.yaml", "cluster/services.yaml", "cluster/endpointslices.yaml",
				"cluster/configmaps-kube-system.yaml", "cloud/clusters.json", "cloud/instances.json",
				"cloud/security-group-policies/sg-lab0node.json", "cloud/load-balancers.json"} {
				if !b.Has(f) {
					t.Errorf("%s missing", f)
				}
			}
			if name != "healthy" {
				var flows []map[string]string
				data, err := b.ReadFile("flows.json")
				if err != nil || json.Unmarshal(data, &flows) != nil || len(flows) == 0 {
					t.Errorf("flows.json missing or empty: %v", err)
				}
			}
			if !bytes.Contains(readme, []byte("| "+name+" |")) {
				t.Errorf("README.md does not describe %s", name)
			}
			for _, f := range b.Files() {
				if strings.HasSuffix(f, ".pcap") {
					continue
				}
				data, _ := b.ReadFile(f)
				if bytes.Contains(data, []byte("should-be-redacted")) {
					t.Errorf("%s: a planted secret survived redaction", f)
				}
				if strings.HasPrefix(f, "cluster/") && bytes.Contains(data, []byte("kind: Secret\n")) {
					t.Errorf("%s: holds a Secret", f)
				}
			}
		})
	}
}
