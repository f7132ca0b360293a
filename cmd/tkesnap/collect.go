package main

import (
	"os"

	"github.com/spf13/cobra"

	"tkesnap/collector"
)

func init() {
	commands = append(commands, func() *cobra.Command {
		var node, cluster bool
		cmd := &cobra.Command{
			Use:   "collect-script [--node|--cluster]",
			Short: "Print the collector script to run on a node or a kubectl machine",
			Long: `Print tkesnap-collect.sh, the read-only collector. Run it as root on each
affected node (--node) and once on a machine with kubectl and tccli
(--cluster), then combine the tarballs with --merge:

  tkesnap collect-script --node > collect.sh && sudo bash collect.sh --node-name 10.0.1.5
  bash collect.sh --cluster --cluster-id cls-xxxx --region ap-guangzhou
  bash collect.sh --merge tkesnap-*.tgz

The script exits 0 whenever it wrote a bundle; commands that failed are
listed on stderr at the end (the bundle is then incomplete). It exits 3
when cluster mode could collect nothing (no kubectl or tccli call
succeeded), still leaving the partial bundle, and 2 on bad usage.`,
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				if node && cluster {
					return usageErr("--node and --cluster exclude each other")
				}
				mode := ""
				if node {
					mode = "node"
				} else if cluster {
					mode = "cluster"
				}
				s, err := collector.ScriptFor(mode)
				if err != nil {
					return err
				}
				_, err = os.Stdout.Write(s)
				return err
			},
		}
		cmd.Flags().BoolVar(&node, "node", false, "preset node mode (run as root on a node)")
		cmd.Flags().BoolVar(&cluster, "cluster", false, "preset cluster mode (kubectl, tccli)")
		return cmd
	})
}
