package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// reportTraces reads the traced flows of a bundle from its JSON report.
func reportTraces(t *testing.T, bundle string) []struct {
	From, To string
	Verdict  string
	Implicit bool
} {
	t.Helper()
	var r struct {
		Traces []struct {
			From, To string
			Verdict  string
			Implicit bool
		}
	}
	if err := json.Unmarshal(analyzeTo(t, bundle, "--format", "json"), &r); err != nil {
		t.Fatal(err)
	}
	return r.Traces
}

// The Markdown report is the ticket view: a flow tkesnap traced on its own
// is one line, never a hop table, and the report says how to see its hops;
// --full brings every hop table back.
func TestMarkdownTicketViewShowsImplicitFlowsAsOneLine(t *testing.T) {
	t.Chdir("../..")
	bundles := labBundles(t)
	if len(bundles) == 0 {
		t.Fatal("no lab bundles under testdata")
	}
	seen := 0
	for _, b := range bundles {
		b := b
		t.Run(goldenName(b), func(t *testing.T) {
			ticket := string(analyzeTo(t, b, "--format", "markdown"))
			full := string(analyzeTo(t, b, "--format", "markdown", "--full"))
			for _, tr := range reportTraces(t, b) {
				if !tr.Implicit || tr.Verdict == "DELIVERED" {
					continue
				}
				seen++
				// a hop table heading is "### N. `from` → `to`"
				head := "`" + tr.From + "` → `" + tr.To + "`"
				for _, l := range strings.Split(ticket, "\n") {
					if strings.HasPrefix(l, "### ") && strings.Contains(l, head) {
						t.Errorf("ticket view has a hop table for the implicit flow %s", head)
					}
				}
				if !strings.Contains(ticket, "tkesnap trace ") {
					t.Errorf("ticket view does not say how to see the hops of %s", head)
				}
				if !strings.Contains(full, "### ") || !strings.Contains(full, head) {
					t.Errorf("--full lacks the hop table of %s", head)
				}
			}
			if len(ticket) > len(full) {
				t.Errorf("ticket view (%d bytes) is longer than --full (%d)", len(ticket), len(full))
			}
		})
	}
	if seen == 0 {
		t.Error("no bundle has a failing implicit flow: the test checked nothing")
	}
}

// `analyze --brief` is the text form of the ticket view.
func TestTextBriefShowsImplicitFlowsAsOneLine(t *testing.T) {
	const b = "../../testdata/bundles/sample"
	brief := string(analyzeTo(t, b, "--brief", "--no-color"))
	plain := string(analyzeTo(t, b, "--no-color"))
	// pod:default/web-0 → pod:default/web-1:8080 is implicit and fails at
	// the node SG in the sample (node SG lacks the pod CIDR)
	const flow = "pod:default/web-0 → pod:default/web-1:8080 (tcp): DROPPED"
	if !strings.Contains(plain, flow) || !strings.Contains(plain, "  3. "+flow) {
		t.Fatalf("the full text report lacks the implicit flow's hop table %q:\n%s", flow, plain)
	}
	if strings.Contains(brief, "  3. "+flow) {
		t.Errorf("--brief has the hop table of an implicit flow")
	}
	if !strings.Contains(brief, "- 3. "+flow+" — SG_POD_CIDR_BLOCKED") || !strings.Contains(brief, "tkesnap trace ../../testdata/bundles/sample --from FROM --to TO") {
		t.Errorf("--brief lacks the implicit flow's line or the command:\n%s", brief)
	}
}

// `trace BUNDLE` renders through the report's renderers: every hop, in the
// language asked for.
func TestTraceBundleSpeaksTheReportLanguage(t *testing.T) {
	const b = "../../testdata/bundles/sg-pod-cidr"
	en, code := execute(t, "trace", b, "--from", "pod:default/client-0", "--to", "pod:default/web-1:8080", "--no-color")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	zh, code := execute(t, "trace", b, "--from", "pod:default/client-0", "--to", "pod:default/web-1:8080", "--lang", "zh", "--no-color")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, w := range []string{"DROPPED — SG_POD_CIDR_BLOCKED", "Where", "security-group", "Node security group blocks the pod CIDR"} {
		if !strings.Contains(en, w) {
			t.Errorf("en trace lacks %q:\n%s", w, en)
		}
	}
	for _, w := range []string{"丢弃 — SG_POD_CIDR_BLOCKED", "位置", "安全组", "节点安全组未放通容器网段"} {
		if !strings.Contains(zh, w) {
			t.Errorf("zh trace lacks %q:\n%s", w, zh)
		}
	}
	if _, code := execute(t, "trace", b, "--from", "pod:default/client-0", "--to", "pod:default/web-1:8080", "--lang", "fr"); code != 2 {
		t.Errorf("--lang fr: exit %d, want 2", code)
	}
}

// ticketBudget is what a ticket system holds comfortably: the Markdown
// report (the ticket view) of every testdata bundle fits in it, in both
// languages (Chinese takes three bytes a character).
const ticketBudget = 8 << 10

func TestMarkdownTicketViewFitsATicket(t *testing.T) {
	t.Chdir("../..")
	for _, b := range labBundles(t) {
		for _, lang := range []string{"en", "zh"} {
			md := analyzeTo(t, b, "--format", "markdown", "--lang", lang)
			t.Logf("%s %s: %d bytes", b, lang, len(md))
			if len(md) > ticketBudget {
				t.Errorf("%s (%s): the ticket view is %d bytes, over %d", b, lang, len(md), ticketBudget)
			}
		}
	}
}
