package checks

import (
	"testing"

	"tkesnap/analysis/model"
	"tkesnap/lab/kube/gen"
	"tkesnap/parsers/bundle"
)

// BenchmarkKubeScale loads the scale cluster (50 nodes, 5,000
// Services, 50,000 pods as kubectl YAML) and runs every check.
func BenchmarkKubeScale(b *testing.B) {
	dir := b.TempDir()
	if _, err := gen.Write(dir, gen.Scale); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bu, err := bundle.Open(dir, bundle.DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		c := model.Load(bu)
		res := runChecks(b, c)
		bu.Close()
		if len(c.Kube.Pods) != gen.Scale.Pods+1 || len(res.Findings) == 0 {
			b.Fatalf("pods %d findings %d", len(c.Kube.Pods), len(res.Findings))
		}
	}
}

// BenchmarkKubeChecks runs only the checks over an already loaded
// cluster: the indexes must keep them far below the load time.
func BenchmarkKubeChecks(b *testing.B) {
	dir := b.TempDir()
	if _, err := gen.Write(dir, gen.Scale); err != nil {
		b.Fatal(err)
	}
	bu, err := bundle.Open(dir, bundle.DefaultLimits())
	if err != nil {
		b.Fatal(err)
	}
	defer bu.Close()
	c := model.Load(bu)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runChecks(b, c)
	}
}
