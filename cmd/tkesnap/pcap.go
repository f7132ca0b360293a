package main

import "github.com/spf13/cobra"

func init() {
	commands = append(commands, func() *cobra.Command {
		return &cobra.Command{
			Use:   "pcap BUNDLE|FILE...",
			Short: "Summarize captures and filter packets with Wireshark display filters",
			Example: `  tkesnap pcap bundle.tgz
  tkesnap pcap bundle.tgz --filter 'tcp contains "lbtest"'
  tkesnap pcap capture.pcap --format json`,
			RunE: func(cmd *cobra.Command, args []string) error { return notYet("pcap") },
		}
	})
}
