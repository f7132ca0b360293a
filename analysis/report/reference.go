package report

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"

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
	for _, f := range templateFields(t.Tree.Root) {
		args[f] = "{" + f + "}"
	}
	var b strings.Builder
	if err := t.Execute(&b, args); err != nil {
		return src
	}
	return plain(strings.TrimSpace(b.String()))
}

func templateFields(root parse.Node) []string {
	seen := map[string]bool{}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			seen[n.Ident[0]] = true
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		}
	}
	walk(root)
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}
