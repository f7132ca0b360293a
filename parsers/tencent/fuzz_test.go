package tencent

import (
	"os"
	"path/filepath"
	"testing"
)

// Every loader must survive any byte sequence: bundles come from strangers.
func FuzzParsers(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "real", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"Response":{"Error":{"Code":"x"}}}`))
	f.Add([]byte(`[1,2,{"Ingress":[{"PolicyIndex":"7"}]}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, p := range byAPI {
			_, _ = p(b)
		}
		itemLines(b, "Ingress")
		keyLine(b, "Status")
	})
}

func FuzzFields(f *testing.F) {
	for _, s := range []string{"ALL", "80,443", "3000-32768", "tcp:80", "10.0.0.1-10.0.0.9", "10.0.0.0/8", "::ffff:1.2.3.4/120"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if rs, err := ParsePorts(s); err == nil {
			for _, r := range rs {
				if r.From > r.To || r.From < 0 || r.To > 65535 {
					t.Fatalf("%q gave %v", s, r)
				}
			}
		}
		_, _ = ParseService(s)
		_, _ = ParseProtocol(s)
		if r, err := ParseAddress(s); err == nil {
			if r.To.Less(r.From) {
				t.Fatalf("%q gave reversed %v", s, r)
			}
			_ = r.String()
		}
	})
}
