package kube

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"strings"
	"testing"

	"tkesnap/internal/realdata"
)

// Every kubectl-style member of the two real troubleshoot.sh support
// bundles (cluster-resources/**.json|yaml) decodes; members that are not
// Kubernetes objects at all (RBAC "can-i" lists, API discovery) must fail
// with a precise problem, never a panic.
func TestRealSupportBundles(t *testing.T) {
	files := realdata.Glob(t, "bundles/*.tar.gz")
	members, objects := 0, 0
	kinds := map[string]int{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		gz, err := gzip.NewReader(fh)
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			name := h.Name
			if !strings.Contains(name, "cluster-resources/") || strings.Contains(name, "/logs/") ||
				!(strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".yaml")) {
				continue
			}
			data, err := io.ReadAll(io.LimitReader(tr, 64<<20))
			if err != nil {
				t.Fatal(err)
			}
			members++
			probs := Decode(data, DefaultLimits(), func(o Object) {
				objects++
				kinds[o.Kind]++
				if o.Line < 1 || o.Kind == "" {
					t.Errorf("%s: object without line or kind", name)
				}
			})
			// troubleshoot writes the CRD list with TypeMeta stripped from
			// the list and its items: each item is reported "without kind"
			notObjects := strings.Contains(name, "auth-cani-list") || strings.HasSuffix(name, "/resources.json") ||
				strings.Contains(name, "groups.json") || strings.HasSuffix(name, "custom-resource-definitions.json")
			for _, p := range probs {
				if !notObjects {
					t.Errorf("%s: %v", name, p)
				} else if p.Line < 1 {
					t.Errorf("%s: problem without line: %v", name, p)
				}
			}
		}
		fh.Close()
	}
	t.Logf("%d members, %d objects: %v", members, objects, kinds)
	if members < 50 || kinds["Pod"] == 0 || kinds["Service"] == 0 || kinds["Node"] == 0 || kinds["Event"] == 0 {
		t.Errorf("too little decoded: %d members, kinds %v", members, kinds)
	}
}
