package main

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"tkesnap/lab/pcap/capgen"
)

// BenchmarkPcapJSON is `tkesnap pcap F --format json` in process on the
// capture make bench measures (lab/pcap/capgen), 200k packets: read,
// decode, flows, findings and the JSON report.
func BenchmarkPcapJSON(b *testing.B) {
	const packets = 200_000
	path := filepath.Join(b.TempDir(), "bench.pcap")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := capgen.Write(f, packets, 300, 1); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	for range b.N {
		o := &pcapOpts{format: "json", maxFlows: 50, maxPkts: 1000}
		if err := o.run(io.Discard, []string{path}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*packets), "ns/packet")
	// user+system of the process: the goal of make bench is CPU, and the
	// decoder's goroutine runs on the second core
	b.ReportMetric(float64(cpu)/float64(b.N*packets), "cpu-ns/packet")
}
