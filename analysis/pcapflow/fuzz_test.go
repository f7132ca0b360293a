package pcapflow

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzAnalyze: the flow state machine must survive any capture.
func FuzzAnalyze(f *testing.F) {
	for _, d := range []string{"../../../shared/data/real/pcap", "/work/shared/data/real/pcap"} {
		files, _ := filepath.Glob(filepath.Join(d, "zeek-tcp*.pcap"))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
		if len(files) > 0 {
			break
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		Analyze(bytes.NewReader(data), Limits{Flows: 10, Issues: 5, Signatures: 10}, nil)
	})
}
