package checks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"tkesnap/analysis/driver/drivertest"
	"tkesnap/analysis/model"
	"tkesnap/parsers/bundle"
)

// 200 nodes in one SG: the node-pair VPC check is quadratic in nodes,
// so this is the cloud checks' worst realistic case.
func BenchmarkCloudChecks200Nodes(b *testing.B) {
	t := &testing.T{}
	dir := variant(t, "healthy", "cloud/instances.json", func(v map[string]any) {
		set := v["InstanceSet"].([]any)
		tmpl := set[0].(map[string]any)
		var out []any
		for i := 0; i < 200; i++ {
			raw, _ := json.Marshal(tmpl)
			var in map[string]any
			json.Unmarshal(raw, &in)
			in["InstanceId"] = fmt.Sprintf("ins-bench%03d", i)
			in["PrivateIpAddresses"] = []string{fmt.Sprintf("10.0.%d.%d", 1+i/200, 10+i%200)}
			out = append(out, in)
		}
		v["InstanceSet"] = out
	})
	os.Remove(filepath.Join(dir, "cloud", "cluster-instances.json"))
	os.Remove(filepath.Join(dir, "cloud", "network-interfaces.json"))
	bd, err := bundle.Open(dir, bundle.DefaultLimits())
	if err != nil {
		b.Fatal(err)
	}
	defer bd.Close()
	c := model.Load(bd)
	b.ReportAllocs()
	for b.Loop() {
		res := drivertest.RunModel(b, c, drivertest.Named("cloud-", All())...)
		if len(res.Findings) > 0 {
			b.Fatalf("healthy cluster: %v", res.Findings[0].ID)
		}
	}
}
