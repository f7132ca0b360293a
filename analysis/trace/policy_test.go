package trace

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/internal/testbundle"
)

// A Docker-style node: filter FORWARD has policy DROP and no rule accepts
// pod traffic. The flow stops at the chain's policy, and the finding names
// it as a policy (not "rule 0 ... : .") with the usual fix.
func TestPodToPodDroppedByForwardPolicyNamesThePolicy(t *testing.T) {
	dir := testbundle.Copy(t, labDir+"/forward-drop")
	p := filepath.Join(dir, "nodes", "10.0.1.12", "iptables-save.txt")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	const rule = "[3:180] -A FORWARD -d 172.16.0.64/26 -p tcp -m tcp --dport 8080 -j DROP\n"
	if !strings.Contains(s, rule) || !strings.Contains(s, ":FORWARD ACCEPT [0:0]") {
		t.Fatalf("fixture changed: %s lacks the DROP rule or the FORWARD policy line", p)
	}
	s = strings.Replace(s, rule, "", 1)
	s = strings.Replace(s, ":FORWARD ACCEPT [0:0]", ":FORWARD DROP [0:0]", 1)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	c := load(t, dir)
	tr := Run(c, model.Flow{From: "pod:default/client-0", To: "pod:default/web-1:8080", Proto: "tcp"})
	if tr.Verdict != Dropped || tr.Reason != "IPTABLES_DROPS_FLOW" {
		t.Fatalf("verdict %s %s, want DROPPED IPTABLES_DROPS_FLOW", tr.Verdict, tr.Reason)
	}
	var f *finding.Finding
	for _, x := range Findings([]Trace{tr}, nil) {
		if x.ID == "IPTABLES_DROPS_FLOW" {
			f = &x
			break
		}
	}
	if f == nil {
		t.Fatal("no IPTABLES_DROPS_FLOW finding")
	}
	for lang, want := range map[finding.Lang][]string{
		finding.EN: {"by the policy DROP of filter/FORWARD (line 4)", "Docker", "-j ACCEPT"},
		finding.ZH: {"filter/FORWARD 链的默认策略 DROP（第 4 行）", "Docker"},
	} {
		g := *f
		if err := finding.Render(&g, lang); err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(g.Message+" "+g.Remedy, w) {
				t.Errorf("%s: %q / %q lacks %q", lang, g.Message, g.Remedy, w)
			}
		}
		if strings.Contains(g.Message, "rule 0") || strings.Contains(g.Message, "第 0 条") || strings.Contains(g.Message, ": .") {
			t.Errorf("%s: the policy is named as a rule: %q", lang, g.Message)
		}
	}
	if len(f.Evidence) == 0 || f.Evidence[0].Line != 4 || f.Evidence[0].Excerpt != ":FORWARD DROP" {
		t.Errorf("evidence %+v, want line 4 ':FORWARD DROP'", f.Evidence)
	}
}
