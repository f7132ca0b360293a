package main

import "github.com/spf13/cobra"

// traceIPTables evaluates one packet through a saved ruleset (design.md §3).
func traceIPTables(cmd *cobra.Command, o *traceOpts) error { return notYet("trace --iptables") }
