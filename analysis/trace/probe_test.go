package trace

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"tkesnap/analysis/model"
)

// The intranet API CLB of an independent cluster health-checks its
// masters. testdata/handmade/independent-kubelb-intranet-subnet-blocked:
// master SG sg-hm0mst01 admits the client's subnet 10.1.3.0/24 on the API
// port 60002 but not the access subnet 10.1.2.0/24 where the CLB's VIP
// 10.1.2.8 sits. Whether that breaks the flow depends on where the
// listener's probes come from (HealthCheck.SourceIpType) and whether they
// run at all (HealthSwitch); the client's own packets always pass.
func TestIntranetCLBProbesTheMastersFromItsVIP(t *testing.T) {
	const src = "../../testdata/handmade/independent-kubelb-intranet-subnet-blocked"
	for _, tc := range []struct {
		name    string
		hc      string // the listener's HealthCheck switch and source type, as edited
		verdict Verdict
		reason  string
		cidr    string // the finding's range: the access subnet, never the client or the VIP
	}{
		{"probes from the VIP (SourceIpType 0)", `"HealthSwitch": 1`, Dropped, "SG_MASTER_SUBNET_BLOCKED", "10.1.2.0/24"},
		{"probes from 100.64.0.0/10 (SourceIpType 1)", `"SourceIpType": 1`, Delivered, "", ""},
		{"health check off", `"HealthSwitch": 0`, Delivered, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := t.TempDir()
			err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(src, p)
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				if rel == filepath.FromSlash("cloud/listeners/lb-hm0kubin.json") {
					switch tc.hc {
					case `"SourceIpType": 1`:
						b = bytes.Replace(b, []byte(`"SourceIpType": 0`), []byte(tc.hc), 1)
					default:
						b = bytes.Replace(b, []byte(`"HealthSwitch": 1`), []byte(tc.hc), 1)
					}
				}
				os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755)
				return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
			})
			if err != nil {
				t.Fatal(err)
			}
			c := load(t, dst)
			for _, to := range []string{"ip:10.1.2.8:443", "svc:default/kubernetes-intranet:443"} {
				tr := Run(c, model.Flow{From: "ip:10.1.3.20", To: to, Proto: "tcp"})
				if tr.Verdict != tc.verdict || tr.Reason != tc.reason {
					t.Errorf("%s: %s %q, want %s %q", to, tr.Verdict, tr.Reason, tc.verdict, tc.reason)
				}
				var cidr string
				for _, f := range Findings([]Trace{tr}, nil) {
					if f.ID == "SG_MASTER_SUBNET_BLOCKED" {
						cidr = f.Args["cidr"]
					}
				}
				if cidr != tc.cidr {
					t.Errorf("%s: SG_MASTER_SUBNET_BLOCKED cidr %q, want %q", to, cidr, tc.cidr)
				}
			}
		})
	}
}
