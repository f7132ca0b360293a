package report

import (
	"fmt"
	"io"
	"testing"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/trace"
)

// bigReport is a large analysis: 5000 findings (a cluster with thousands
// of Services missing rules) and 50 traced flows of 20 hops each.
func bigReport() *Report {
	r := fixture()
	for i := range 5000 {
		r.Findings = append(r.Findings, finding.New("T_SVC_NO_ENDPOINTS", finding.Args{"service": fmt.Sprintf("ns%d/svc-%d", i%50, i)},
			[]string{fmt.Sprintf("svc/ns%d/svc-%d", i%50, i)}, finding.Evidence{File: "cluster/endpoints.yaml", Line: i + 1}))
	}
	for i := range 50 {
		t := trace.Trace{From: fmt.Sprintf("pod:default/c-%d", i), To: "svc:default/api:80", Proto: "tcp", Verdict: trace.Dropped}
		for j := range 20 {
			t.Steps = append(t.Steps, trace.Step{At: fmt.Sprintf("node/10.0.%d.%d", i, j), Component: "iptables",
				Detail: "nat/KUBE-SERVICES → KUBE-SVC-ABCDEF", Before: "172.16.0.9:41000→172.16.255.10:80", Decision: "ACCEPT",
				Failed: j == 19, Evidence: map[string]any{"file": "nodes/n/iptables-save.txt", "line": j}})
		}
		r.Traces = append(r.Traces, t)
	}
	r.Localize(finding.EN)
	return r
}

func BenchmarkRender(b *testing.B) {
	r := bigReport()
	for _, format := range []string{"text", "markdown", "json", "html"} {
		b.Run(format, func(b *testing.B) {
			for b.Loop() {
				var err error
				switch format {
				case "text":
					err = r.Text(io.Discard, TextOptions{Width: 120})
				case "markdown":
					err = r.Markdown(io.Discard)
				case "json":
					err = r.JSON(io.Discard)
				case "html":
					err = r.HTML(io.Discard)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkLocalize(b *testing.B) {
	r := bigReport()
	for b.Loop() {
		r.Localize(finding.ZH)
	}
}
