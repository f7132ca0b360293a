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
	p("| ID | Severity | Title | 标题 |\n|---|---|---|---|\n")
	for _, e := range cat {
		p("| [%s](#%s) | %s | %s | %s |\n", code(e.ID), strings.ToLower(e.ID), e.Severity, mdCell(e.Texts[finding.EN].Title), mdCell(e.Texts[finding.ZH].Title))
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
