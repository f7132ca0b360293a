package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"tkesnap/analysis/model"
	"tkesnap/analysis/report"
	"tkesnap/analysis/trace"
)

// traceFlows traces every reported flow of c for analyze, then the
// guide's implicit checks (pod CIDRs between nodes, LoadBalancer Services
// and Ingresses from their CLB, cluster DNS from every node) that the
// reported flows do not already cover.
func traceFlows(c *model.Cluster) []trace.Trace {
	tr := trace.New(c)
	out := make([]trace.Trace, 0, len(c.Flows))
	seen := map[string]bool{}
	for _, f := range c.Flows {
		seen[f.From+"|"+f.To] = true
		out = append(out, tr.Trace(f))
	}
	for _, f := range trace.Implicit(c) {
		if seen[f.From+"|"+f.To] {
			continue
		}
		seen[f.From+"|"+f.To] = true
		out = append(out, tr.Trace(f))
	}
	return out
}

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
	t := trace.Run(c, model.Flow{From: o.from, To: o.to, Proto: o.proto})
	ts := []trace.Trace{t}
	if o.format == "json" {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(t); err != nil {
			return &exitError{code: 1, err: err}
		}
		return nil
	}
	lang, err := pickLang("")
	if err != nil {
		return err
	}
	r := report.New(c, path, trace.Findings(ts, nil), ts, nil, lang)
	if err := render(r, o.format, cmd.OutOrStdout(), false); err != nil {
		return &exitError{code: 1, err: fmt.Errorf("render: %w", err)}
	}
	return nil
}
