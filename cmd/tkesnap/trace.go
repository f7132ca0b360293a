package main

import (
	"os"
	"strings"

	"github.com/spf13/cobra"

	"tkesnap/analysis/trace"
)

// traceOpts holds both forms of `trace` (docs/design.md §3).
type traceOpts struct {
	bundleFlags
	// bundle form
	from, to string
	// ruleset form
	iptables, ipset, ipvs string
	src, dst              string
	inIface, outIface     string
	localOut              bool
	localIPs              []string
	mark                  string
	// both
	proto   string
	format  string
	lang    string
	noColor bool
}

// The protocols each form of trace accepts: one list for the flag check,
// --help and (through readme_test.go) the README.
var (
	bundleProtos   = []string{"tcp", "udp", "icmp"}
	iptablesProtos = []string{"tcp", "udp", "sctp", "icmp"}
)

func init() {
	commands = append(commands, func() *cobra.Command {
		o := &traceOpts{}
		cmd := &cobra.Command{
			Use:   "trace [BUNDLE --from ENDPOINT --to ENDPOINT | --iptables FILE --src IP[:PORT] --dst IP[:PORT]]",
			Short: "Trace one flow hop by hop, or one packet through a saved iptables ruleset",
			Example: `  tkesnap trace bundle.tgz --from pod:default/web-0 --to svc:default/api:80
  tkesnap trace --iptables nodes/n1/iptables-save.txt --proto tcp \
      --src 10.0.0.5:40000 --dst 172.16.255.10:80 --in-iface eth0 --format json`,
			Args: cobra.MaximumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if o.iptables != "" {
					if len(args) > 0 {
						return usageErr("--iptables traces a ruleset alone; do not also give a bundle")
					}
					return traceIPTables(cmd, o)
				}
				if len(args) != 1 || o.from == "" || o.to == "" {
					return usageErr("trace needs BUNDLE --from X --to Y, or --iptables FILE --src --dst")
				}
				return traceBundle(cmd, o, args[0])
			},
		}
		o.add(cmd)
		fl := cmd.Flags()
		fl.StringVar(&o.from, "from", "", "source: "+trace.EndpointForms)
		fl.StringVar(&o.to, "to", "", "destination: "+trace.EndpointForms)
		fl.StringVar(&o.iptables, "iptables", "", "an iptables-save file to evaluate one packet through")
		fl.StringVar(&o.ipset, "ipset", "", "ipset save output for -m set matches")
		fl.StringVar(&o.ipvs, "ipvs", "", "ipvsadm -Sn or -Ln output for IPVS-mode kube-proxy")
		fl.StringVar(&o.src, "src", "", "packet source IP[:PORT]")
		fl.StringVar(&o.dst, "dst", "", "packet destination IP[:PORT]")
		fl.StringVar(&o.inIface, "in-iface", "eth0", "interface the packet arrives on")
		fl.BoolVar(&o.localOut, "local-out", false, "the packet is sent by a local process (OUTPUT → POSTROUTING)")
		fl.StringVar(&o.outIface, "out-iface", "eth0", "egress interface after routing")
		fl.StringArrayVar(&o.localIPs, "local-ip", nil, "an address of the node (repeatable); decides INPUT vs FORWARD and addrtype LOCAL")
		fl.StringVar(&o.mark, "mark", "", "initial packet mark (e.g. 0x4000)")
		fl.StringVar(&o.proto, "proto", "tcp", strings.Join(bundleProtos, ", ")+"; with --iptables: "+strings.Join(iptablesProtos, ", "))
		fl.StringVar(&o.format, "format", "text", "text or json (markdown, html for bundle traces)")
		fl.StringVar(&o.lang, "lang", "", "bundle traces: language of the text, markdown and html views, en or zh (default from LANG, else en)")
		fl.BoolVar(&o.noColor, "no-color", false, "never color the text")
		_ = cmd.RegisterFlagCompletionFunc("lang", cobra.FixedCompletions([]string{"en", "zh"}, cobra.ShellCompDirectiveNoFileComp))
		return cmd
	})
}

// colors is true only for text going to a terminal.
func (o *traceOpts) colors(cmd *cobra.Command) bool {
	if o.noColor || os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := rawWriter(cmd.OutOrStdout()).(*os.File)
	return ok && isTerminal(f)
}
