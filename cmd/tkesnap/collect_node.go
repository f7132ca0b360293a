package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"tkesnap/collector"
	"tkesnap/collector/node"
	"tkesnap/parsers/bundle"
)

func init() {
	commands = append(commands, func() *cobra.Command {
		var (
			nodeMode, merge bool
			out             string
			opts            node.Options
			capt            node.Capture
			mergeLim        = bundle.DefaultLimits()
		)
		cmd := &cobra.Command{
			Use:   "collect --node [--node-name NAME] [-o DIR|FILE] | collect --merge BUNDLE... [-o DIR|FILE]",
			Short: "Collect this node's network state (Go collector) or merge collected bundles",
			Long: `collect --node runs the Go node collector: the same files and manifest as
'tkesnap-collect.sh --node' (iptables-save for each backend, nft, IPVS, ipset,
ip -j state, net.* sysctls, conntrack, resolv.conf, ss, CNI config, kube-proxy
mode), read-only, every command under a timeout and a size cap. Run it as
root on the node. With --capture-host/--capture-port it first captures
(reproduce the failure meanwhile) on the node's eth0 and in a pod's netns.

collect --merge combines node and cluster bundles (from either collector)
into one bundle. -o names the .tgz, or a directory to write it into.`,
			Example: `  sudo tkesnap collect --node --node-name 10.0.1.5 -o /tmp
  tkesnap collect --merge node-a.tgz node-b.tgz cluster.tgz -o bundle.tgz`,
			RunE: func(cmd *cobra.Command, args []string) error {
				if nodeMode == merge {
					return usageErr("give exactly one of --node and --merge")
				}
				if nodeMode && len(args) > 0 {
					return usageErr("--node takes no arguments")
				}
				if err := capt.Validate(); err != nil {
					return usageErr("%v", err)
				}
				if merge && len(args) == 0 {
					return usageErr("--merge needs bundle files")
				}
				ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				tmp, err := os.MkdirTemp("", "tkesnap-collect-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				now := time.Now().UTC()
				stamp := now.Format("20060102T150405Z")
				var name string
				var recs []bundle.ManifestRecord
				if nodeMode {
					opts.Log = os.Stderr
					if os.Geteuid() != 0 {
						fmt.Fprintln(os.Stderr, "tkesnap collect: not root: iptables, conntrack and nft will fail (recorded in manifest.json)")
					}
					if opts.NodeName == "" {
						opts.NodeName, _ = os.Hostname()
					}
					opts.NodeName = node.SafeName(opts.NodeName)
					name = "tkesnap-node-" + opts.NodeName + "-" + stamp
					root := filepath.Join(tmp, name)
					// captures first (reproduce the failure now), then the
					// state, so conntrack holds the reproduced flow
					if capt.Host != "" || capt.Port != "" {
						capt.Log = os.Stderr
						recs = node.Captures(ctx, root, opts.NodeName, capt)
					}
					more, err := node.Collect(ctx, root, opts)
					if err != nil {
						return err
					}
					recs = append(recs, more...)
					f, err := os.Create(filepath.Join(root, "manifest.json"))
					if err != nil {
						return err
					}
					m := &bundle.Manifest{Format: "tkesnap-bundle/v1", Created: now, CollectorVersion: collector.Version, Files: recs}
					if err := collector.WriteManifest(f, m); err != nil {
						f.Close()
						return err
					}
					if err := f.Close(); err != nil {
						return err
					}
				} else {
					name = "tkesnap-bundle-" + stamp
					if err := os.MkdirAll(filepath.Join(tmp, name), 0o755); err != nil {
						return err
					}
					if err := collector.MergeWithin(filepath.Join(tmp, name), args, now, mergeLim); err != nil {
						return usageErr("%v", err)
					}
				}
				dest, err := collector.Destination(out, name)
				if err != nil {
					return err
				}
				if err := collector.WriteTarball(dest, filepath.Join(tmp, name), name); err != nil {
					return err
				}
				fmt.Println(dest)
				// Like the script: the bundle was written, so exit 0, but
				// say on stderr which commands failed before it is uploaded.
				collector.ReportFailures(os.Stderr, "tkesnap collect", recs, dest)
				return ctx.Err()
			},
		}
		f := cmd.Flags()
		f.BoolVar(&nodeMode, "node", false, "collect this node (run as root)")
		f.BoolVar(&merge, "merge", false, "merge the given bundles into one")
		f.StringVarP(&out, "output", "o", "", "output .tgz, or a directory to put it in (default: ./<name>.tgz)")
		f.StringVar(&opts.NodeName, "node-name", "", "node name for nodes/<name>/ (default: hostname; TKE names nodes by IP)")
		f.DurationVar(&opts.Timeout, "timeout", 20*time.Second, "timeout of each command")
		f.Int64Var(&opts.MaxBytes, "max-bytes", 16<<20, "size cap of each file")
		f.IntVar(&opts.ConntrackLines, "conntrack-lines", 20000, "lines of conntrack -L kept")
		f.Int64Var(&mergeLim.TotalBytes, "max-total-bytes", mergeLim.TotalBytes, "--merge: bytes of the merged bundle, all inputs together")
		f.IntVar(&mergeLim.Entries, "max-entries", mergeLim.Entries, "--merge: entries of the merged bundle, all inputs together")
		f.StringVar(&capt.Host, "capture-host", "", "capture traffic to/from this IP (with --capture-port: both)")
		f.StringVar(&capt.Port, "capture-port", "", "capture traffic on this port")
		f.IntVar(&capt.Seconds, "seconds", 10, "capture duration")
		f.StringVar(&capt.Iface, "capture-iface", "eth0", "node interface to capture on")
		f.IntVar(&capt.Packets, "capture-packets", 20000, "packet cap per capture")
		f.Int64Var(&capt.Bytes, "capture-bytes", 32<<20, "byte cap per capture")
		f.StringVar(&capt.Pod, "pod", "", "also capture inside this pod's netns (ns/name; crictl or docker)")
		f.StringVar(&capt.Netns, "pod-netns", "", "also capture inside this named netns (ip netns exec)")
		return cmd
	})
}
