package iptables

import (
	"bytes"
	"testing"

	"tkesnap/lab/netfilter/kubeproxygen"
)

// BenchmarkParseKubeProxy10kServices parses a kube-proxy dump of 10k
// Services (~133k rules, ~19 MB). make bench compares it with
// `iptables-restore --test` on the same file; "x-file" is the memory
// allocated per parse divided by the file size (goal: < 20).
func BenchmarkParseKubeProxy10kServices(b *testing.B) {
	var buf bytes.Buffer
	if _, err := kubeproxygen.Write(&buf, 10000); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rs, err := Parse(bytes.NewReader(data))
		if err != nil || len(rs.Problems) > 0 {
			b.Fatal(err, rs.Problems)
		}
	}
}
