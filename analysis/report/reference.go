package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/template"

	"tkesnap/analysis/finding"
)

var groupTitles = map[string]string{
	"cloud":   "Cloud: security groups, CLB, routes, SNAT",
	"kube":    "Kubernetes objects",
	"node":    "Node datapath: iptables, IPVS, routes, sysctl",
	"capture": "Packet captures",
}

// FindingReference writes docs/findings.md: every catalog ID with its
// severity, the section of the TKE guide it comes from, what it means and
// the remedy, in English and Chinese. Template arguments show as {name}.
func FindingReference(out io.Writer) error {
	w := bufio.NewWriter(out)
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	var cat []finding.Entry
	for _, e := range finding.Catalog() {
		if !strings.HasPrefix(e.Group, "test") { // entries registered by tests only
			cat = append(cat, e)
		}
	}
	p("# Finding reference\n\n")
	p("Every finding tkesnap reports, generated from the catalog (`analysis/finding/catalog_*.go`).\n")
	p("Do not edit: run `go test ./analysis/report -update` after changing the catalog.\n")
	p("In messages, `{name}` stands for a value taken from the bundle. IDs are stable: an ID is never reused for another meaning.\n\n")
	p("Exit code of `tkesnap analyze`: 3 when any `error` finding is reported, 4 for `warning`s only, 0 otherwise.\n\n")
	p("%s\n", severityRule)
	p("| ID | Severity | Title | 标题 |\n|---|---|---|---|\n")
	for _, e := range cat {
		sev := e.Severity.String()
		if e.Hygiene {
			sev += " (hygiene)"
		}
		p("| [%s](#%s) | %s | %s | %s |\n", code(e.ID), strings.ToLower(e.ID), sev, mdCell(e.Texts[finding.EN].Title), mdCell(e.Texts[finding.ZH].Title))
	}
	group := ""
	for _, e := range cat {
		if e.Group != group {
			group = e.Group
			title := groupTitles[group]
			if title == "" {
				title = group
			}
			p("\n## %s\n", mdText(title))
		}
		en, zh := e.Texts[finding.EN], e.Texts[finding.ZH]
		p("\n### %s\n\n", e.ID)
		p("**%s** — %s\n\n", mdText(en.Title), e.Severity)
		if e.Guide != "" {
			p("- Guide section: %s\n", mdText(e.Guide))
		}
		p("- Group: `%s`\n\n", e.Group)
		p("| | English | 中文 |\n|---|---|---|\n")
		p("| Message | %s | %s |\n", mdCell(placeholders(en.Message)), mdCell(placeholders(zh.Message)))
		p("| Remedy | %s | %s |\n", mdCell(placeholders(en.Remedy)), mdCell(placeholders(zh.Remedy)))
	}
	return w.Flush()
}

// placeholders renders a catalog template with every argument set to
// "{name}", so the reference shows the sentence a reader will see.
func placeholders(src string) string {
	t, err := template.New("").Option("missingkey=zero").Funcs(template.FuncMap{"join": strings.Join}).Parse(src)
	if err != nil {
		return src
	}
	args := map[string]string{}
	fields, _ := finding.TemplateFields(src)
	for _, f := range fields {
		args[f] = "{" + f + "}"
	}
	var b strings.Builder
	if err := t.Execute(&b, args); err != nil {
		return src
	}
	return plain(strings.TrimSpace(b.String()))
}

// severityRule documents Judge (judge.go) and Merge (analysis/finding).
const severityRule = `## Severity in context

The severity below is the catalog's. A report judges every finding against
the flows the customer reported (flows.json, --flow) and the traced hops:

1. **Explains a reported flow → at least error, and leads.** A finding that is
   the reason of a failing reported flow (DROPPED, REJECTED, NO_ROUTE, or
   delivered in the very way the customer reported — SNAT when the symptom
   is wrong-source-ip), or that cites the rule file of the failing hop on
   the same object (stale iptables-legacy rules deciding a flow on a node
   with both backends), is raised to error, lists the flows in ` + "`explains`" + `,
   and the summary leads with it. Capture findings (what was seen) and
   contradictions are never raised.
2. **On a failing hop → catalog severity.** A finding about the object of a
   failing hop of any trace (the tool's implicit checks included), or the
   reason of a failing implicit check, keeps its severity and ranks after (1).
3. **Touches no reported flow and no failing hop → ranked last;** a finding
   marked *hygiene* in the table (configuration that matters only when a flow
   uses it: a CIDR missing from NonMasqueradeCIDRs, a second iptables
   backend) drops to info.

When the severity changed, the JSON report keeps the catalog's in
` + "`base_severity`" + `. The exit code follows the severity in context.

The summary counts only the reported flows ("2 of 2 reported flows fail");
an undecided one is stated as undecided with what decides it (the file to
collect, or the fact an ambiguous hop depends on). The flows the tool adds
itself (pod to pod between nodes, CLB clients, DNS) are listed in a section
of their own and never counted in the headline.

**One finding per fault.** Findings with the same ID and the same primary
object (the first object; for a capture finding the destination) are merged
into one, with every object and piece of evidence, and ` + "`count`" + ` saying how
many reports (per node, per source, per evidence file) were merged.

**Contradictions only where the model is certain.** TRACE_CAPTURE_CONTRADICTS
and TRACE_SYMPTOM_MISMATCH are reported only where every hop of the flow was
decided and the model predicts another outcome. When kube-proxy forks a
Service per endpoint (` + "`-m statistic --mode random`" + `), a share of the
connections failing and the rest answered is the prediction, not a
contradiction. Where the model cannot predict — an undecided hop or endpoint
branch, the far side of the VPC edge (IDC, internet, peer VPC), the exact HTTP
status TKE's L7 CLB answers (404, 502, 503, 504), an application's own HTTP
answer — the trace says so in ` + "`cannot_predict`" + ` and no finding is raised.
`
