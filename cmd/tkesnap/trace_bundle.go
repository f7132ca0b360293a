package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"tkesnap/analysis/analyzers"
	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/report"
	"tkesnap/analysis/trace"
)

// traceBundle traces one flow through a bundle: `tkesnap trace BUNDLE
// --from X --to Y`. It exits 0 whenever it produced a trace (docs/design.md §3).
func traceBundle(cmd *cobra.Command, o *traceOpts, path string) error {
	switch o.format {
	case "text", "", "json", "markdown", "md", "html":
	default:
		return usageErr("unknown --format %q (text, json, markdown, html)", o.format)
	}
	if !slices.Contains(bundleProtos, o.proto) {
		return usageErr("unknown --proto %q (%s)", o.proto, strings.Join(bundleProtos, ", "))
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
	// the one flow is the reported flow; the checks' findings whose ID is
	// a reason of the trace or of a branch explain it
	c.Flows = []model.Flow{{From: o.from, To: o.to, Proto: o.proto}}
	res := driver.Run(c, append(analyzers.Checks(), trace.Reported))
	ts := analyzers.Traces(res)
	if len(ts) == 0 {
		return &exitError{code: 1, err: internalError(res)}
	}
	t := ts[0]
	reasons := map[string]bool{}
	var collect func(t trace.Trace)
	collect = func(t trace.Trace) {
		reasons[t.Reason] = true
		for _, b := range t.Branches {
			collect(b)
		}
	}
	collect(t)
	// the trace's own findings and the checks' whose ID is a reason of
	// the trace or of a branch; one finding per fault (a check and the
	// trace reporting the same SG policy print once)
	var own []finding.Finding
	for _, f := range res.Merged {
		if res.ReportedBy(f, trace.Reported) || reasons[f.ID] {
			own = append(own, f)
		}
	}
	fs := own
	if o.format == "json" {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(t); err != nil {
			return &exitError{code: 1, err: err}
		}
		return nil
	}
	lang, err := pickLang(o.lang)
	if err != nil {
		return err
	}
	r := report.New(c, path, fs, ts, res.InconclusiveOf(trace.Reported), lang)
	if err := render(r, o.format, cmd.OutOrStdout(), view{Trace: true, Full: true, Color: o.colors(cmd)}); err != nil {
		return &exitError{code: 1, err: fmt.Errorf("render: %w", err)}
	}
	return nil
}
