package checks

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"tkesnap/analysis/model"
	"tkesnap/parsers/bundle"
)

// The lab bundles (testdata/bundles, made by the real collector against a
// real kube-apiserver and netns nodes) list their expected findings in
// README.md. For the kube group, the checks report exactly those IDs:
// each expected one, and none the scenario does not call for.
func TestKubeChecksOnLabBundles(t *testing.T) {
	readme, err := os.ReadFile("../../testdata/bundles/README.md")
	if err != nil {
		t.Fatal("no lab bundles")
	}
	// | bundle | fault | traffic | trace of the flow | expected findings | exit |
	row := regexp.MustCompile("(?m)^\\| ([a-z0-9-]+) \\|[^|]*\\|[^|]*\\|[^|]*\\|([^|]*)\\|[^|]*\\|\\s*$")
	id := regexp.MustCompile("`([A-Z_]+)`")
	n := 0
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		name := m[1]
		dir := filepath.Join("../../testdata/bundles", name)
		if _, err := os.Stat(filepath.Join(dir, "cluster")); err != nil {
			continue
		}
		var want []string
		for _, x := range id.FindAllStringSubmatch(m[2], -1) {
			if kubeIDs[x[1]] {
				want = append(want, x[1])
			}
		}
		sort.Strings(want)
		b, err := bundle.Open(dir, bundle.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		c := model.Load(b)
		seen := map[string]bool{}
		for _, f := range kubeFindings(t, c) {
			seen[f.ID] = true
		}
		b.Close()
		var got []string
		for k := range seen {
			got = append(got, k)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: kube findings %v, README expects %v", name, got, want)
		}
		n++
	}
	if n < 5 {
		t.Errorf("only %d lab bundles checked", n)
	}
}
