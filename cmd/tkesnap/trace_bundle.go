package main

import (
	"github.com/spf13/cobra"

	"tkesnap/analysis/model"
	"tkesnap/analysis/trace"
)

// traceFlows traces every reported flow of c for analyze.
func traceFlows(c *model.Cluster) []trace.Trace { return nil }

// traceBundle traces one flow through a bundle.
func traceBundle(cmd *cobra.Command, o *traceOpts, path string) error { return notYet("trace BUNDLE") }
