package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"tkesnap/analysis/netfilter"
	"tkesnap/parsers/ipset"
	"tkesnap/parsers/iptables"
	"tkesnap/parsers/ipvs"
)

// traceIPTables evaluates one packet through a saved ruleset (docs/design.md §3).
func traceIPTables(cmd *cobra.Command, o *traceOpts) (err error) {
	// The dump is mapped, not read (iptables.Options.Lazy): a file cut
	// short meanwhile faults where its lines were; say that, not crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if v := recover(); v != nil {
			if _, fault := v.(interface{ Addr() uintptr }); fault {
				err = usageErr("--iptables %s: the file shrank while it was read; save it again", o.iptables)
				return
			}
			panic(v)
		}
	}()
	pkt, err := packetFromFlags(cmd, o)
	if err != nil {
		return err
	}
	// Everything the parser allocates stays live until the trace is
	// printed: collections during the parse would only re-scan it.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	// One packet enters a few chains of a dump: those are parsed, when
	// it enters them (a 10k-Service kube-proxy dump has 40k chains).
	rs, err := iptables.ParseFileWith(o.iptables, iptables.Options{Limits: iptables.DefaultLimits(), Lazy: true})
	if err != nil {
		return usageErr("--iptables: %v", err)
	}
	stderr := cmd.ErrOrStderr()
	problems := func() {
		for _, p := range rs.Problems {
			fmt.Fprintf(stderr, "tkesnap: %s:%d: %s\n", o.iptables, p.Line, p.Message)
		}
	}
	if len(rs.Tables) == 0 {
		problems()
		return usageErr("%s: no iptables-save table found", o.iptables)
	}
	opts := netfilter.Options{}
	for _, s := range o.localIPs {
		// "10.0.0.4" or "eth0=10.0.0.4" (the interface's primary address,
		// used by MASQUERADE and REDIRECT).
		iface, ip, named := strings.Cut(s, "=")
		if !named {
			ip = iface
		}
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return usageErr("--local-ip %q: not an IP address", s)
		}
		opts.LocalAddrs = append(opts.LocalAddrs, a)
		if named {
			m := &opts.IfaceAddrs
			if a.Is6() {
				m = &opts.IfaceAddrs6
			}
			if *m == nil {
				*m = map[string]netip.Addr{}
			}
			(*m)[iface] = a
		}
	}
	if o.ipset != "" {
		sv, err := ipset.ParseFile(o.ipset)
		if err != nil {
			return usageErr("--ipset: %v", err)
		}
		for _, p := range sv.Problems {
			fmt.Fprintf(stderr, "tkesnap: %s:%d: %s\n", o.ipset, p.Line, p.Message)
		}
		opts.Sets = netfilter.IPSets(sv)
	}
	if o.ipvs != "" {
		b, err := ipvsBalancer(o.ipvs)
		if err != nil {
			return usageErr("--ipvs: %v", err)
		}
		opts.Balancer = b
	}
	res := netfilter.New(rs, opts).Simulate(pkt)
	// the problems of the lines read: the file's structure, every short
	// chain the packet entered and every rule of a long one it was
	// tested against (the rest of a long chain is skimmed for its
	// destination only)
	problems()
	out := cmd.OutOrStdout()
	switch o.format {
	case "json":
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	case "text", "":
		writeTraceText(out, pkt, res)
		return nil
	default:
		return usageErr("--format %q: trace --iptables prints text or json", o.format)
	}
}

func packetFromFlags(cmd *cobra.Command, o *traceOpts) (netfilter.Packet, error) {
	var p netfilter.Packet
	p.Proto = strings.ToLower(o.proto)
	if !slices.Contains(iptablesProtos, p.Proto) {
		return p, usageErr("--proto %q: want %s", o.proto, strings.Join(iptablesProtos, ", "))
	}
	var err error
	if p.Src, err = parseEndpoint(o.src); err != nil {
		return p, usageErr("--src: %v", err)
	}
	if p.Dst, err = parseEndpoint(o.dst); err != nil {
		return p, usageErr("--dst: %v", err)
	}
	if p.Src.Addr().Is4() != p.Dst.Addr().Is4() {
		return p, usageErr("--src and --dst are of different IP families")
	}
	p.LocalOut = o.localOut
	if o.localOut && cmd.Flags().Changed("in-iface") {
		return p, usageErr("--in-iface and --local-out exclude each other")
	}
	p.InIface = o.inIface
	p.OutIface = o.outIface
	if o.mark != "" {
		m, err := strconv.ParseUint(o.mark, 0, 32)
		if err != nil {
			return p, usageErr("--mark %q: not a 32-bit number", o.mark)
		}
		p.Mark = uint32(m)
	}
	return p, nil
}

// parseEndpoint reads "IP", "IP:PORT" or "[IPv6]:PORT".
func parseEndpoint(s string) (netip.AddrPort, error) {
	if s == "" {
		return netip.AddrPort{}, fmt.Errorf("missing")
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q is not IP[:PORT]", s)
	}
	return netip.AddrPortFrom(a, 0), nil
}

func writeTraceText(w io.Writer, p netfilter.Packet, res netfilter.Result) {
	from := "arriving on " + p.InIface
	if p.LocalOut {
		from = "sent by a local process"
	}
	fmt.Fprintf(w, "%s %s -> %s, %s: %s\n", p.Proto, p.Src, p.Dst, from, res.Verdict)
	for i, path := range res.Paths {
		fmt.Fprintf(w, "\npath %d (probability %.4g): %s", i+1, path.Probability, path.Verdict)
		if path.Delivered != "" {
			fmt.Fprintf(w, ", delivered %s", path.Delivered)
		}
		if path.OutIface != "" {
			fmt.Fprintf(w, " via %s", path.OutIface)
		}
		fmt.Fprintln(w)
		for _, a := range path.Assumptions {
			fmt.Fprintf(w, "  ! %s\n", a)
		}
		hook := ""
		for _, s := range path.Steps {
			if s.Hook != hook {
				fmt.Fprintf(w, "  %s\n", s.Hook)
				hook = s.Hook
			}
			if s.Table == "ipvs" {
				fmt.Fprintf(w, "    %s\n", s.Note)
				continue
			}
			if s.Rule == 0 {
				fmt.Fprintf(w, "    %s/%s policy %s (line %d)\n", s.Table, s.Chain, s.Target, s.Line)
				continue
			}
			fmt.Fprintf(w, "    %s/%s #%d line %d: %s\n", s.Table, s.Chain, s.Rule, s.Line, s.Text)
			if s.Note != "" {
				fmt.Fprintf(w, "      -> %s\n", s.Note)
			}
		}
		if path.NAT != nil && len(path.NAT.Changed) > 0 {
			fmt.Fprintf(w, "  after NAT: %s -> %s", path.NAT.Src, path.NAT.Dst)
			if path.NAT.RandomFully {
				fmt.Fprint(w, " (source port randomised)")
			}
			fmt.Fprintln(w)
		}
		if path.Reason != "" {
			fmt.Fprintf(w, "  reason: %s\n", path.Reason)
		}
	}
	if len(res.UnknownMatches) > 0 {
		fmt.Fprintln(w, "\nundecidable from the dump:")
		for _, u := range res.UnknownMatches {
			fmt.Fprintf(w, "  %s\n", u)
		}
	}
	if res.Truncated {
		fmt.Fprintln(w, "\n(too many branches: some paths are not shown)")
	}
}

// ipvsBalancer reads ipvsadm -Sn or -Ln output for IPVS-mode kube-proxy;
// every virtual address is taken as local (kube-ipvs0).
func ipvsBalancer(path string) (netfilter.Balancer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := ipvs.Parse(f)
	if t == nil || len(t.Services) == 0 {
		return nil, fmt.Errorf("%s: no IPVS virtual service found", path)
	}
	return netfilter.IPVSFromTable(t), nil
}
