package main

import (
	"github.com/spf13/cobra"

	"tkesnap/analysis/model"
	"tkesnap/analysis/trace"
)

// traceFlows traces every reported flow of c for analyze.
func traceFlows(c *model.Cluster) []trace.Trace { return nil }

func init() {
	commands = append(commands, func() *cobra.Command {
		cmd := &cobra.Command{
			Use:   "trace [BUNDLE] --from ENDPOINT --to ENDPOINT | --iptables FILE --src IP[:PORT] --dst IP[:PORT]",
			Short: "Trace one flow hop by hop, or one packet through a saved iptables ruleset",
			RunE: func(cmd *cobra.Command, args []string) error {
				return notYet("trace")
			},
		}
		return cmd
	})
}
