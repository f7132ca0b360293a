package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"tkesnap/analysis/checks"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/pcapflow"
	"tkesnap/analysis/pcapflow/filter"
	"tkesnap/internal/membudget"
	"tkesnap/parsers/pcap"
)

type pcapOpts struct {
	bundleFlags
	filter   string
	format   string
	maxFlows int
	maxPkts  int
}

func init() {
	commands = append(commands, func() *cobra.Command {
		o := &pcapOpts{}
		cmd := &cobra.Command{
			Use:   "pcap BUNDLE|FILE...",
			Short: "Summarize captures and filter packets with Wireshark display filters",
			Long: `pcap reads the captures of a bundle (captures/<node>/*.pcap[ng]) or capture
files given directly (.pcap, .pcapng, either gzip-compressed) and prints, per
capture, its connections with Zeek's conn_state and history, what they show
(unanswered SYNs, refusals, ICMP errors, DNS and HTTP errors, one-way
traffic, truncation) and, across captures, where a connection disappeared
and whether its source was SNATed. --filter prints the packets a Wireshark
display filter selects.

Display filters follow Wireshark's syntax: a field alone tests that it is
present; == != < > <= >= (eq ne lt gt le ge), contains, matches (~, a
regular expression), in {a, b, lo..hi}; and/or/not (&& || !) and
parentheses; addresses take CIDRs (ip.addr == 10.0.0.0/8). As in
Wireshark, tcp.flags.syn alone is true for every TCP packet: write
tcp.flags.syn == 1; a field matches if any of its occurrences does: in
VXLAN (UDP 4789), Geneve, GRE/ERSPAN and IP-in-IP packets ip.addr, udp.port
and the rest cover the outer and the inner headers, and in an ICMP error
the header it quotes (flannel's VXLAN on UDP 8472 is UDP data to
Wireshark, and so to the filter; the connection summary still decodes
it). IP fragments are reassembled, http.* match the frame completing a
message, tcp.analysis.retransmission is Wireshark's. Fields: ` + strings.Join(filter.Fields(), ", ") + `.`,
			Example: `  tkesnap pcap bundle.tgz
  tkesnap pcap bundle.tgz --filter 'tcp contains "lbtest"'
  tkesnap pcap node-a.pcap node-b.pcapng --filter 'http.request.uri == "/mytest"'
  tkesnap pcap capture.pcap --format json`,
			Args: cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd.OutOrStdout(), args) },
		}
		o.add(cmd)
		fl := cmd.Flags()
		fl.StringVar(&o.filter, "filter", "", "Wireshark display filter: print the packets it selects")
		fl.StringVar(&o.format, "format", "text", "output format: text or json")
		fl.IntVar(&o.maxFlows, "max-flows", 50, "connections listed per capture in text output (json lists up to 5000)")
		fl.IntVar(&o.maxPkts, "max-packets", 1000, "filtered packets printed per capture")
		_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
		return cmd
	})
}

// pcapSource is one capture to read: a file on disk or in a bundle.
type pcapSource struct {
	cap  *model.Capture
	open func() (io.ReadCloser, error)
}

// pcapPacket is one filtered packet in the output.
type pcapPacket struct {
	Number  int     `json:"number"`
	Time    float64 `json:"time_relative"`
	Iface   string  `json:"interface,omitempty"`
	Src     string  `json:"src"`
	Dst     string  `json:"dst"`
	Proto   string  `json:"proto"`
	Len     int     `json:"len"`
	Info    string  `json:"info"`
	Comment string  `json:"comment,omitempty"`
}

type pcapCaptureOut struct {
	File       string            `json:"file"`
	Where      string            `json:"where,omitempty"`
	Format     string            `json:"format,omitempty"`
	Error      string            `json:"error,omitempty"`
	Problem    string            `json:"problem,omitempty"`
	Packets    int               `json:"packets"`
	Duration   float64           `json:"duration_s"`
	Interfaces []pcap.Interface  `json:"interfaces,omitempty"`
	FlowCount  int               `json:"flow_count"`
	States     map[string]int    `json:"states"`
	Flows      []*pcapflow.Flow  `json:"flows"`
	Findings   []finding.Finding `json:"findings"`
	Matched    int               `json:"matched,omitempty"`
	Filtered   []pcapPacket      `json:"packets_matching,omitempty"`
}

type pcapOut struct {
	Schema     string            `json:"schema"`
	Filter     string            `json:"filter,omitempty"`
	Captures   []*pcapCaptureOut `json:"captures"`
	Correlated []finding.Finding `json:"correlated_findings"`
}

func (o *pcapOpts) run(w io.Writer, args []string) error {
	if o.format != "text" && o.format != "json" {
		return usageErr("unknown --format %q (text, json)", o.format)
	}
	// flows are summarized and dropped as they end: a heap this small
	// is not worth collecting every few MB
	defer membudget.Lean(leanCeiling)()
	out, err := o.report(args)
	if err != nil {
		return err
	}
	if o.format == "json" {
		return writePcapJSON(w, out)
	}
	o.text(w, out)
	return nil
}

// leanCeiling is the heap tkesnap pcap may grow to before it collects: a
// million-packet capture stays well below it (peak RSS ~50 MiB), a longer
// one levels off at it.
const leanCeiling = 128 << 20

// report reads the captures and correlates them.
func (o *pcapOpts) report(args []string) (*pcapOut, error) {
	var flt *filter.Filter
	if o.filter != "" {
		var err error
		if flt, err = filter.Compile(o.filter); err != nil {
			return nil, usageErr("%v\n  %s\n  %s^", err, o.filter, strings.Repeat(" ", colOf(err)-1))
		}
	}
	srcs, owners, closeAll, err := o.sources(args)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	out := &pcapOut{Schema: "tkesnap-pcap/v1", Filter: o.filter}
	var caps []*model.Capture
	for _, s := range srcs {
		co := o.read(s, flt)
		out.Captures = append(out.Captures, co)
		if s.cap.Result != nil {
			caps = append(caps, s.cap)
		}
	}
	if len(caps) == 0 {
		msgs := []string{}
		for _, c := range out.Captures {
			msgs = append(msgs, c.File+": "+c.Error)
		}
		return nil, usageErr("no readable capture: %s", strings.Join(msgs, "; "))
	}
	{ // one tcpdump -i any capture is already several capture points
		var own []map[netip.Addr]bool
		if owners != nil {
			own = owners(caps)
		}
		out.Correlated = checks.CorrelationFindings(caps, own)
		renderFindings(out.Correlated)
	}
	if out.Correlated == nil {
		out.Correlated = []finding.Finding{}
	}
	return out, nil
}

// writePcapJSON writes out as json.Encoder with two-space indent does,
// byte for byte, but streams the flows (thousands per capture) through
// Flow.AppendJSON instead of marshalling the whole report by reflection
// and then re-indenting it: the rest of the report is small and marshalled
// with a null in place of each list that is streamed.
func writePcapJSON(w io.Writer, out *pcapOut) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	caps := out.Captures
	out.Captures = nil
	head, err := json.MarshalIndent(out, "", "  ")
	out.Captures = caps
	if err != nil {
		return err
	}
	var scratch []byte
	err = splice(bw, head, "\n  \"captures\": ", len(caps), caps == nil, "  ", func(i int, in string) error {
		co := caps[i]
		flows := co.Flows
		co.Flows = nil
		c, err := json.MarshalIndent(co, in, "  ")
		co.Flows = flows
		if err != nil {
			return err
		}
		return splice(bw, c, "\n"+in+"  \"flows\": ", len(flows), flows == nil, in+"  ", func(i int, in string) error {
			scratch = flows[i].AppendJSON(scratch[:0], in)
			_, err := bw.Write(scratch)
			return err
		})
	})
	if err != nil {
		return err
	}
	bw.WriteByte('\n')
	return bw.Flush()
}

// splice writes doc with the list after key (marshalled as null) written
// as n elements by elem, each at indent+"  ", as json.MarshalIndent lays
// out a list.
func splice(w *bufio.Writer, doc []byte, key string, n int, isNil bool, indent string, elem func(i int, indent string) error) error {
	at := bytes.Index(doc, []byte(key+"null"))
	if at < 0 {
		return fmt.Errorf("internal error: %q not in the marshalled report", key)
	}
	at += len(key)
	w.Write(doc[:at])
	switch {
	case isNil:
		w.WriteString("null")
	case n == 0:
		w.WriteString("[]")
	default:
		in := indent + "  "
		w.WriteByte('[')
		for i := range n {
			if i > 0 {
				w.WriteByte(',')
			}
			w.WriteByte('\n')
			w.WriteString(in)
			if err := elem(i, in); err != nil {
				return err
			}
		}
		w.WriteByte('\n')
		w.WriteString(indent)
		w.WriteByte(']')
	}
	_, err := w.Write(doc[at+len("null"):])
	return err
}

func colOf(err error) int {
	var fe *filter.Error
	if errors.As(err, &fe) && fe.Col > 0 {
		return fe.Col
	}
	return 1
}

// sources opens the inputs: one bundle (archive or directory with a
// captures/ folder), or capture files.
func (o *pcapOpts) sources(args []string) ([]pcapSource, func([]*model.Capture) []map[netip.Addr]bool, func(), error) {
	if len(args) == 1 && isBundle(args[0]) {
		b, err := o.open(args[0])
		if err != nil {
			return nil, nil, nil, err
		}
		c := model.Load(b)
		if len(c.Captures) == 0 {
			b.Close()
			return nil, nil, nil, usageErr("%s: the bundle has no captures/<node>/*.pcap[ng]", args[0])
		}
		var srcs []pcapSource
		for _, cp := range c.Captures {
			f := cp.File
			srcs = append(srcs, pcapSource{cap: cp, open: func() (io.ReadCloser, error) { return b.Open(f) }})
		}
		owners := func(caps []*model.Capture) []map[netip.Addr]bool {
			all := checks.CaptureOwners(c)
			var out []map[netip.Addr]bool
			for _, cp := range caps {
				for i, x := range c.Captures {
					if x == cp {
						out = append(out, all[i])
					}
				}
			}
			return out
		}
		return srcs, owners, func() { b.Close() }, nil
	}
	var srcs []pcapSource
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, nil, nil, usageErr("%v", err)
		}
		if st.IsDir() {
			return nil, nil, nil, usageErr("%s: a directory that is not a bundle (no captures/ folder); give capture files or one bundle", a)
		}
		cp := &model.Capture{File: a, Name: strings.TrimSuffix(filepath.Base(a), filepath.Ext(a))}
		// <name>.json beside the file, as the collector writes it.
		base := strings.TrimSuffix(strings.TrimSuffix(a, ".gz"), filepath.Ext(strings.TrimSuffix(a, ".gz")))
		if data, err := os.ReadFile(base + ".json"); err == nil && json.Unmarshal(data, &cp.Meta) == nil {
			cp.MetaFile = base + ".json"
			cp.Node = cp.Meta.Node
		}
		path := a
		srcs = append(srcs, pcapSource{cap: cp, open: func() (io.ReadCloser, error) { return os.Open(path) }})
	}
	return srcs, nil, func() {}, nil
}

func isBundle(p string) bool {
	st, err := os.Stat(p)
	if err != nil {
		return false
	}
	if st.IsDir() {
		_, err := os.Stat(filepath.Join(p, "captures"))
		if err == nil {
			return true
		}
		// one top-level folder of any name
		ents, _ := os.ReadDir(p)
		for _, e := range ents {
			if e.IsDir() {
				if _, err := os.Stat(filepath.Join(p, e.Name(), "captures")); err == nil {
					return true
				}
			}
		}
		return false
	}
	n := strings.ToLower(p)
	return strings.HasSuffix(n, ".tgz") || strings.HasSuffix(n, ".tar.gz") || strings.HasSuffix(n, ".tar.zst") || strings.HasSuffix(n, ".tar")
}

// read analyzes one capture; with a filter it streams the file again so
// the packets are filtered with the flow state (retransmissions) known.
func (o *pcapOpts) read(s pcapSource, flt *filter.Filter) *pcapCaptureOut {
	cp := s.cap
	co := &pcapCaptureOut{File: cp.File, Where: where(cp), States: map[string]int{}, Flows: []*pcapflow.Flow{}, Findings: []finding.Finding{}}
	if cp.Result == nil || flt != nil {
		rc, err := s.open()
		if err != nil {
			co.Error = err.Error()
			return co
		}
		start := int64(-1)
		var each func(*pcap.Packet, *pcapflow.PacketInfo)
		if flt != nil {
			// Reassembly (TCP streams for http.*, IP fragments) as
			// Wireshark does it, so the filter selects the same frames.
			dis := filter.NewDissector()
			each = func(p *pcap.Packet, info *pcapflow.PacketInfo) {
				if start < 0 {
					start = p.Time
				}
				if flt.Match(dis.Env(p, info)) {
					co.Matched++
					if co.Matched <= o.maxPkts {
						co.Filtered = append(co.Filtered, describe(p, start, cp))
					}
				}
			}
		}
		cp.Result, cp.Info, cp.Err = pcapflow.Analyze(rc, pcapflow.DefaultLimits(), each)
		rc.Close()
	}
	if cp.Err != nil {
		co.Error = cp.Err.Error()
		return co
	}
	r := cp.Result
	co.Format, co.Problem, co.Interfaces = cp.Info.Format, cp.Info.Problem, cp.Info.Interfaces
	if cp.Info.Gzip {
		co.Format += "+gzip"
	}
	co.Packets = r.Packets
	co.Duration = float64(r.Last-r.First) / 1e9
	co.FlowCount, co.States, co.Flows = r.FlowCount, r.States, r.Flows
	if co.Flows == nil {
		co.Flows = []*pcapflow.Flow{}
	}
	co.Findings = checks.CaptureFindings(cp)
	renderFindings(co.Findings)
	return co
}

func where(c *model.Capture) string {
	if c.Node == "" && c.Meta.Interface == "" && c.Meta.Pod == "" {
		return ""
	}
	return c.Where()
}

func renderFindings(fs []finding.Finding) {
	finding.Sort(fs)
	for i := range fs {
		_ = finding.Render(&fs[i], finding.EN)
	}
}

// describe prints a packet the way tshark's summary line does, briefly.
func describe(p *pcap.Packet, start int64, c *model.Capture) pcapPacket {
	x := pcapPacket{Number: p.Number, Time: float64(p.Time-start) / 1e9, Len: p.Len, Comment: p.Comment}
	if p.SLLIf > 0 {
		x.Iface = c.IfaceName(p.SLLIf)
	}
	if p.IPVersion == 0 {
		x.Proto, x.Info = p.LinkType.String(), "non-IP frame"
		return x
	}
	src, dst := p.Src.String(), p.Dst.String()
	var info []string
	proto := pcapflow.ProtoName(p.Proto)
	switch {
	case p.HasTCP():
		src, dst = netip.AddrPortFrom(p.Src, p.SrcPort).String(), netip.AddrPortFrom(p.Dst, p.DstPort).String()
		info = append(info, tcpFlags(p.TCPFlags), fmt.Sprintf("seq=%d ack=%d win=%d len=%d", p.Seq, p.Ack, p.Window, p.PayloadLen))
	case p.HasUDP():
		src, dst = netip.AddrPortFrom(p.Src, p.SrcPort).String(), netip.AddrPortFrom(p.Dst, p.DstPort).String()
		info = append(info, fmt.Sprintf("len=%d", p.PayloadLen))
	case p.HasICMP:
		info = append(info, fmt.Sprintf("type=%d code=%d", p.ICMPType, p.ICMPCode))
		if p.Quote.Valid {
			info = append(info, fmt.Sprintf("quoting %s %s → %s", pcapflow.ProtoName(p.Quote.Proto),
				netip.AddrPortFrom(p.Quote.Src, p.Quote.SrcPort), netip.AddrPortFrom(p.Quote.Dst, p.Quote.DstPort)))
		}
	}
	if p.IsDNS {
		proto = "dns"
		if p.DNSResponse {
			info = append(info, fmt.Sprintf("response %s %s answers=%d", p.DNSQName, pcapflow.RcodeName(p.DNSRcode), p.DNSAnswers))
		} else {
			info = append(info, fmt.Sprintf("query %s", p.DNSQName))
		}
	}
	if len(p.HTTPMethod) > 0 {
		proto = "http"
		info = append(info, fmt.Sprintf("%s %s host=%s", p.HTTPMethod, p.HTTPURI, p.HTTPHost))
	} else if p.HTTPStatus != 0 {
		proto = "http"
		info = append(info, fmt.Sprintf("%d %s", p.HTTPStatus, p.HTTPReason))
	}
	if p.NEncap > 0 {
		var e []string
		for i := 0; i < min(p.NEncap, len(p.Encaps)); i++ {
			e = append(e, p.Encaps[i].String())
		}
		info = append(info, "in "+strings.Join(e, "+"))
	}
	if p.Malformed != "" {
		info = append(info, "malformed "+p.Malformed)
	}
	x.Src, x.Dst, x.Proto, x.Info = src, dst, proto, strings.Join(info, " ")
	return x
}

func tcpFlags(f uint8) string {
	var b strings.Builder
	b.WriteByte('[')
	for _, x := range []struct {
		bit uint8
		c   string
	}{{pcap.SYN, "S"}, {pcap.FIN, "F"}, {pcap.RST, "R"}, {pcap.PSH, "P"}, {pcap.ACK, "."}, {pcap.URG, "U"}} {
		if f&x.bit != 0 {
			b.WriteString(x.c)
		}
	}
	b.WriteByte(']')
	return b.String()
}

func (o *pcapOpts) text(w io.Writer, out *pcapOut) {
	for _, c := range out.Captures {
		head := c.File
		if c.Where != "" {
			head += " (" + c.Where + ")"
		}
		fmt.Fprintf(w, "== %s\n", head)
		if c.Error != "" {
			fmt.Fprintf(w, "   cannot read: %s\n\n", c.Error)
			continue
		}
		fmt.Fprintf(w, "   %s, %d packets over %s, %d connection(s)%s\n", c.Format, c.Packets,
			time.Duration(c.Duration*1e9).Round(time.Millisecond), c.FlowCount, states(c.States))
		if c.Problem != "" {
			fmt.Fprintf(w, "   problem: %s\n", c.Problem)
		}
		if len(c.Flows) > 0 {
			fmt.Fprintf(w, "\n   %-5s %-45s %-6s %-12s %7s %7s %9s\n", "proto", "originator → responder", "state", "history", "pkts>", "<pkts", "duration")
			for i, f := range c.Flows {
				if i == o.maxFlows {
					fmt.Fprintf(w, "   ... %d more (--max-flows, or --format json)\n", c.FlowCount-i)
					break
				}
				hist := f.History
				if len(hist) > 12 {
					hist = hist[:11] + "…"
				}
				ends := strings.TrimPrefix(f.String(), pcapflow.ProtoName(f.Proto)+" ")
				fmt.Fprintf(w, "   %-5s %-45s %-6s %-12s %7d %7d %9s\n", pcapflow.ProtoName(f.Proto),
					ends, f.State, hist, f.Orig.Pkts, f.Resp.Pkts,
					time.Duration(f.Duration()).Round(time.Millisecond))
			}
		}
		if len(c.Findings) > 0 {
			fmt.Fprintf(w, "\n   findings:\n")
			for _, f := range c.Findings {
				writeFinding(w, f)
			}
		}
		if out.Filter != "" {
			fmt.Fprintf(w, "\n   %d packets match %s\n", c.Matched, out.Filter) // "packets match" is what tests and scripts grep
			for _, p := range c.Filtered {
				iface := ""
				if p.Iface != "" {
					iface = " [" + p.Iface + "]"
				}
				fmt.Fprintf(w, "   %6d %10.6f%s %s → %s %s %d %s\n", p.Number, p.Time, iface, p.Src, p.Dst, p.Proto, p.Len, p.Info)
			}
			if c.Matched > len(c.Filtered) {
				fmt.Fprintf(w, "   ... %d more (--max-packets)\n", c.Matched-len(c.Filtered))
			}
		}
		fmt.Fprintln(w)
	}
	if len(out.Correlated) > 0 {
		fmt.Fprintf(w, "== across captures\n")
		for _, f := range out.Correlated {
			writeFinding(w, f)
		}
		fmt.Fprintln(w)
	}
}

func writeFinding(w io.Writer, f finding.Finding) {
	fmt.Fprintf(w, "   [%s] %s: %s\n", f.Severity, f.ID, f.Message)
	var pk []string
	for _, e := range f.Evidence {
		if e.Packet > 0 {
			pk = append(pk, fmt.Sprintf("%s#%d", filepath.Base(e.File), e.Packet))
		}
	}
	if len(pk) > 0 {
		fmt.Fprintf(w, "          packets: %s\n", strings.Join(pk, ", "))
	}
	if f.Remedy != "" {
		fmt.Fprintf(w, "          → %s\n", f.Remedy)
	}
}

func states(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return m[ks[i]] > m[ks[j]] || m[ks[i]] == m[ks[j]] && ks[i] < ks[j] })
	var s []string
	for _, k := range ks {
		s = append(s, fmt.Sprintf("%s %d", k, m[k]))
	}
	return " (" + strings.Join(s, ", ") + ")"
}
