package sg

import (
	"fmt"
	"testing"

	"tkesnap/analysis/model"
)

// A node SG with 100 rules (a long customer list) bound with a second SG:
// the hot path of every SG check and of the tracer.
func benchCloud(b *testing.B) *model.Cloud {
	var in []string
	for i := 0; i < 100; i++ {
		in = append(in, fmt.Sprintf("ACCEPT TCP %d 10.%d.0.0/16", 1000+i, i))
	}
	t := &testing.T{}
	e := &env{t: t, dir: b.TempDir(), files: map[string]any{}}
	e.sg("sg-a", in, nil).sg("sg-b", []string{"ACCEPT ALL ALL 172.20.0.0/16"}, nil)
	return e.load()
}

func BenchmarkEvaluateImplicitDenyAfter101Rules(b *testing.B) {
	c := benchCloud(b)
	f := in("udp", "192.168.1.1", 53)
	b.ReportAllocs()
	for b.Loop() {
		if d := Evaluate(c, []string{"sg-a", "sg-b"}, f); d.Action != Drop {
			b.Fatal(d)
		}
	}
}

func BenchmarkEvaluateRangePodCIDRAllPorts(b *testing.B) {
	c := benchCloud(b)
	q := Query{Dir: model.DirIngress, Proto: "tcp", Peer: mustRange("10.0.0.0/8"), Ports: tencentRange(0, 65535)}
	b.ReportAllocs()
	for b.Loop() {
		if rs := EvaluateRange(c, []string{"sg-a", "sg-b"}, q); len(rs) == 0 {
			b.Fatal("no regions")
		}
	}
}
