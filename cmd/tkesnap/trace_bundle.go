package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"tkesnap/analysis/checks"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/report"
	"tkesnap/analysis/trace"
)

// traceFlows traces every reported flow of c for analyze, then the
// guide's implicit checks (pod CIDRs between nodes, LoadBalancer Services
// and Ingresses from their CLB, cluster DNS from every node).
func traceFlows(c *model.Cluster) []trace.Trace { return trace.All(c) }

// traceBundle traces one flow through a bundle: `tkesnap trace BUNDLE
// --from X --to Y`. It exits 0 whenever it produced a trace (design.md §3).
func traceBundle(cmd *cobra.Command, o *traceOpts, path string) error {
	switch o.format {
	case "text", "", "json", "markdown", "md", "html":
	default:
		return usageErr("unknown --format %q (text, json, markdown, html)", o.format)
	}
	switch o.proto {
	case "tcp", "udp", "icmp":
	default:
		return usageErr("unknown --proto %q (tcp, udp, icmp)", o.proto)
	}
	b, err := o.open(path)
	if err != nil {
		return err
	}
	defer b.Close()
	c := model.Load(b)
	// a bad endpoint is bad input (exit 2), not a trace: say what is
	// wrong and the names that are close
	for _, e := range []struct{ flag, spec string }{{"--from", o.from}, {"--to", o.to}} {
		ns := "default"
		if e.flag == "--to" {
			if src, err := c.Resolve(o.from); err == nil && src.Pod != nil {
				ns = src.Pod.Namespace
			}
		}
		if err := trace.CheckEndpoint(c, e.spec, ns); err != nil {
			return usageErr("%s: %v", e.flag, err)
		}
	}
	t := trace.Run(c, model.Flow{From: o.from, To: o.to, Proto: o.proto})
	ts := []trace.Trace{t}
	// the findings that explain the trace: its own, and the checks'
	// findings whose ID is a reason of the trace or of a branch
	fs := trace.Findings(ts, nil)
	reasons := map[string]bool{}
	var collect func(t trace.Trace)
	collect = func(t trace.Trace) {
		reasons[t.Reason] = true
		for _, b := range t.Branches {
			collect(b)
		}
	}
	collect(t)
	for _, f := range checks.Run(c).Findings {
		if reasons[f.ID] {
			fs = append(fs, f)
		}
	}
	if o.format == "json" {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(t); err != nil {
			return &exitError{code: 1, err: err}
		}
		return nil
	}
	if o.format == "text" || o.format == "" {
		writeBundleTrace(cmd.OutOrStdout(), t, "")
		for _, f := range fs {
			if err := finding.Render(&f, finding.EN); err == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "\n[%s] %s: %s\n  → %s\n", f.Severity, f.ID, f.Message, f.Remedy)
			}
		}
		return nil
	}
	lang, err := pickLang("")
	if err != nil {
		return err
	}
	r := report.New(c, path, fs, ts, trace.Inconclusive(ts), lang)
	if err := render(r, o.format, cmd.OutOrStdout(), false); err != nil {
		return &exitError{code: 1, err: fmt.Errorf("render: %w", err)}
	}
	return nil
}

// writeBundleTrace prints one trace with every hop (the report's text
// form lists only failing traces in full; here the hops are the answer).
func writeBundleTrace(w io.Writer, t trace.Trace, indent string) {
	head := fmt.Sprintf("%s → %s", t.From, t.To)
	if indent != "" {
		head = "branch → " + t.To
	} else if t.Proto != "" {
		head += " (" + t.Proto + ")"
	}
	fmt.Fprintf(w, "%s%s: %s", indent, head, t.Verdict)
	if t.Reason != "" {
		fmt.Fprintf(w, " — %s", t.Reason)
	}
	fmt.Fprintln(w)
	var note []string
	if t.Symptom != "" {
		note = append(note, "symptom: "+t.Symptom)
	}
	if t.Reported != "" {
		note = append(note, "reported: "+t.Reported)
	}
	if t.Agrees != nil {
		note = append(note, map[bool]string{true: "agrees", false: "does not agree"}[*t.Agrees])
	}
	if t.BranchCount > 0 {
		note = append(note, fmt.Sprintf("%d of %d branches fail", t.FailingBranches, t.BranchCount))
	}
	if len(t.Symptoms) > 1 {
		note = append(note, "clients see: "+strings.Join(t.Symptoms, ", "))
	}
	if len(note) > 0 {
		fmt.Fprintf(w, "%s  %s\n", indent, strings.Join(note, ", "))
	}
	for i, s := range t.Steps {
		mark := " "
		if s.Failed {
			mark = "✗"
		}
		fmt.Fprintf(w, "%s %s%2d. %-22s %-14s %s\n", indent, mark, i+1, s.At, s.Component, s.Decision)
		if s.Before != "" {
			move := s.Before
			if s.After != "" {
				move += "  ⇒  " + s.After
			}
			fmt.Fprintf(w, "%s       %s\n", indent, move)
		}
		if s.Detail != "" {
			fmt.Fprintf(w, "%s       %s\n", indent, s.Detail)
		}
		if ev := evidenceText(s.Evidence); ev != "" {
			fmt.Fprintf(w, "%s       evidence: %s\n", indent, ev)
		}
	}
	for _, b := range t.Branches {
		fmt.Fprintln(w)
		writeBundleTrace(w, b, indent+"    ")
	}
}

func evidenceText(ev map[string]any) string {
	if len(ev) == 0 {
		return ""
	}
	var parts []string
	if f, ok := ev["file"]; ok {
		loc := fmt.Sprint(f)
		if l, ok := ev["line"]; ok {
			loc += fmt.Sprintf(":%v", l)
		}
		if p, ok := ev["packet"]; ok {
			loc += fmt.Sprintf(" #%v", p)
		}
		parts = append(parts, loc)
	}
	keys := make([]string, 0, len(ev))
	for k := range ev {
		if k != "file" && k != "line" && k != "packet" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, ev[k]))
	}
	return strings.Join(parts, " ")
}
