package iptables

import (
	"bytes"
	"os"
	"path/filepath"
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

// BenchmarkParseFile10kServices is what `trace --iptables` does first:
// read the dump and parse it on every core.
func BenchmarkParseFile10kServices(b *testing.B) {
	var buf bytes.Buffer
	if _, err := kubeproxygen.Write(&buf, 10000); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "dump.txt")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rs, err := ParseFile(path)
		if err != nil || len(rs.Problems) > 0 {
			b.Fatal(err, rs.Problems)
		}
	}
}

// BenchmarkParseSharedDump10kServices parses a dump whose rules another
// dump of the bundle already holds (the next node of the cluster, or
// iptables-nft-save.txt next to iptables-save.txt): through the bundle's
// Interner it costs only the per-dump rule positions. Compare B/op with
// BenchmarkParseKubeProxy10kServices.
func BenchmarkParseSharedDump10kServices(b *testing.B) {
	var buf bytes.Buffer
	if _, err := kubeproxygen.Write(&buf, 10000); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	in := NewInterner()
	if _, err := ParseWith(bytes.NewReader(data), Options{Limits: DefaultLimits(), Interner: in}); err != nil {
		b.Fatal(err)
	}
	held := in.Held()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rs, err := ParseWith(bytes.NewReader(data), Options{Limits: DefaultLimits(), Interner: in})
		if err != nil || len(rs.Problems) > 0 {
			b.Fatal(err, rs.Problems)
		}
	}
	if in.Held() != held {
		b.Fatalf("the interner grew from %d to %d bytes on a dump it had seen", held, in.Held())
	}
}

// BenchmarkScanChunk10kServices is the lazy parse's line scan (scanChunk)
// of a 10k-Service dump on one core: finding the lines and telling each
// plain rule line's chain.
func BenchmarkScanChunk10kServices(b *testing.B) {
	var buf bytes.Buffer
	if _, err := kubeproxygen.Write(&buf, 10000); err != nil {
		b.Fatal(err)
	}
	s := buf.String()
	lim := DefaultLimits()
	b.SetBytes(int64(len(s)))
	var evs []scanned
	for b.Loop() {
		starts := chunkStarts(s)
		for i := 0; i+1 < len(starts); i++ {
			evs = scanChunk(s[starts[i]:starts[i+1]], starts[i], lim, evs[:0])
		}
	}
}
