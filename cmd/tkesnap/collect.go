package main

import "github.com/spf13/cobra"

func init() {
	commands = append(commands, func() *cobra.Command {
		return &cobra.Command{
			Use:   "collect-script [--node|--cluster]",
			Short: "Print the collector script to run on a node or a kubectl machine",
			RunE:  func(cmd *cobra.Command, args []string) error { return notYet("collect-script") },
		}
	})
}
