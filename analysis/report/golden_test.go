package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/trace"
	goldenflag "tkesnap/internal/golden"
)

// update is the repository-wide -update switch (internal/golden).
var update = goldenflag.Update

const goldenDir = "../../testdata/report/golden"

// golden compares got with the named golden file, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run: go test ./analysis/report -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; if the change is intended (for example a catalog text changed), run\n\tgo test ./analysis/report -update\nand review the diff.\n--- got:\n%s", name, got)
	}
}

func render(t *testing.T, r *Report, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "text":
		err = r.Text(&b, TextOptions{Width: 100})
	case "md":
		err = r.Markdown(&b)
	case "json":
		err = r.JSON(&b)
	case "html":
		err = r.HTML(&b)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGoldenReportsInEveryFormatAndLanguage(t *testing.T) {
	for _, lang := range []finding.Lang{finding.EN, finding.ZH} {
		for _, format := range []string{"text", "md", "json"} {
			t.Run(string(lang)+"/"+format, func(t *testing.T) {
				r := fixture()
				r.Localize(lang)
				golden(t, "fixture."+string(lang)+"."+format+".golden", render(t, r, format))
			})
		}
	}
}

func TestRenderingIsDeterministic(t *testing.T) {
	for _, format := range []string{"text", "md", "json", "html"} {
		a, b := fixture(), fixture()
		// the same content given in another order renders the same bytes
		for i, j := 0, len(b.Findings)-1; i < j; i, j = i+1, j-1 {
			b.Findings[i], b.Findings[j] = b.Findings[j], b.Findings[i]
		}
		b.Inconclusive[0], b.Inconclusive[1] = b.Inconclusive[1], b.Inconclusive[0]
		a.Localize(finding.EN)
		b.Localize(finding.EN)
		if x, y := render(t, a, format), render(t, b, format); !bytes.Equal(x, y) {
			t.Errorf("%s: output depends on input order", format)
		}
	}
}

func TestSummarySaysWhatFailsWhereWhyAndWhatToChange(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(r *Report)
		lang finding.Lang
		want []string
	}{
		{"a traced flow fails at a security group", func(r *Report) {}, finding.EN, []string{
			"pod:default/web-0 → pod:default/api-0:8080 is dropped at sg-node2 (security-group)",
			"Cause: Node security group blocks the pod CIDR (sg-node2, node/node-b)",
			"To fix it: Add an inbound ACCEPT policy ALL from 172.16.0.0/16 to sg-node2."}},
		{"the same in Chinese", func(r *Report) {}, finding.ZH, []string{
			"被丢弃，位置 sg-node2（安全组）", "原因：节点安全组未放通容器网段", "处理建议：在安全组 sg-node2 中添加入站规则"}},
		{"no trace: the worst finding leads", func(r *Report) { r.Traces = nil }, finding.EN, []string{
			"Main problem: An iptables rule drops the flow (node/node-b)."}},
		{"no trace: a cause leads before a capture symptom of the same severity", func(r *Report) {
			r.Traces = nil
			r.Findings = []finding.Finding{r.Findings[5], r.Findings[2]} // T_PCAP_SYN_UNANSWERED, T_SG_POD_CIDR_BLOCKED
		}, finding.EN, []string{"Main problem: Node security group blocks the pod CIDR"}},
		{"a reason with a note still names its finding", func(r *Report) { r.Traces[0].Reason = "T_SG_POD_CIDR_BLOCKED (1 of 2 branches)" }, finding.EN, []string{
			"Cause: Node security group blocks the pod CIDR"}},
		{"an undecidable flow says what it depends on", func(r *Report) {
			r.Traces[0].Verdict, r.Traces[0].Reason = trace.Ambiguous, "RECENT_UNDECIDABLE"
			r.Traces[0].Steps[2].Failed = false
		}, finding.EN, []string{"1 of 3 reported flows cannot be decided: whether pod:default/web-0 → pod:default/api-0:8080 gets through cannot be decided at sg-node2 (security-group): it depends on data the bundle lacks: RECENT_UNDECIDABLE."}},
		{"two failing flows are counted", func(r *Report) { r.Traces[1].Verdict = trace.Rejected }, finding.EN, []string{
			"2 of 3 reported flows fail: the first: pod:default/web-0"}},
		{"nothing found", func(r *Report) { r.Traces, r.Findings, r.Inconclusive, r.Bundle.Problems = nil, nil, nil, nil }, finding.EN, []string{
			"No problem found on 2 nodes."}},
		{"nothing found, in Chinese", func(r *Report) { r.Traces, r.Findings, r.Inconclusive, r.Bundle.Problems = nil, nil, nil, nil }, finding.ZH, []string{
			"在 2 个节点上未发现问题。"}},
		// issue 16: a bundle with damaged files never says "No problem found"
		{"no finding but bundle problems", func(r *Report) {
			r.Traces, r.Findings, r.Inconclusive = nil, nil, nil
			r.Bundle.Problems = []finding.Problem{{File: "nodes/n1/iptables-save.txt", Message: "not analysed: memory budget"}}
		}, finding.EN, []string{"No finding in what could be read on 2 nodes. The bundle has 1 problem"}},
		{"no finding but bundle problems, in Chinese", func(r *Report) {
			r.Traces, r.Findings, r.Inconclusive = nil, nil, nil
			r.Bundle.Problems = []finding.Problem{{File: "nodes/n1/iptables-save.txt", Message: "not analysed: memory budget"}}
		}, finding.ZH, []string{"在 2 个节点上已读取的数据中未发现故障。采集包存在 1 个问题"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fixture()
			tc.edit(r)
			r.Localize(tc.lang)
			for _, w := range tc.want {
				if !strings.Contains(r.Summary, w) {
					t.Errorf("summary lacks %q:\n%s", w, r.Summary)
				}
			}
		})
	}
}
