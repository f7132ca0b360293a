package checks

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"tkesnap/analysis/capture"
	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/pcapflow"
)

// The guide asks for captures on the source node, the peer node and in
// the pod's netns ("抓包"). Each capture is read on its own (what it shows:
// unanswered SYNs, refusals, ICMP errors, DNS and HTTP errors, one-way
// traffic, truncation), then all captures together: the same connection
// matched across them says where a packet disappeared and whether its
// source was SNATed on the way.

func init() {
	Register(&driver.Analyzer{
		Name:     "captures",
		Requires: []*driver.Analyzer{capture.Analyzer},
		Doc:      "What each capture shows on its own: unanswered SYNs, refusals, ICMP errors, DNS and HTTP errors, one-way traffic, truncation.",
		Inputs:   []driver.Input{driver.In("captures/*/*")},
		IDs: []string{"PCAP_SYN_UNANSWERED", "PCAP_CONNECTION_REFUSED", "PCAP_ICMP_UNREACHABLE",
			"PCAP_DNS_NO_RESPONSE", "PCAP_DNS_ERROR", "PCAP_HTTP_ERROR", "PCAP_ONE_WAY_TRAFFIC", "PCAP_TRUNCATED"},
		Run: report(func(p *Pass) {
			var all []finding.Finding
			for _, c := range p.Cluster.Captures {
				all = append(all, CaptureFindings(c)...)
			}
			for _, f := range mergeAcrossCaptures(all) {
				p.Report(f)
			}
		}),
	})
	Register(&driver.Analyzer{
		Name:     "captures-correlated",
		Requires: []*driver.Analyzer{capture.Analyzer},
		Doc:      "The same connection across captures: where packets disappeared, and whether the source was SNATed on the way.",
		Inputs:   []driver.Input{driver.In("captures/*/*"), driver.In("cluster/pods.yaml"), driver.In("cluster/nodes.yaml")},
		IDs:      []string{"PCAP_SOURCE_NATTED", "PCAP_LOST_BETWEEN_CAPTURES"},
		Run: report(func(p *Pass) {
			for _, f := range CorrelationFindings(p.Cluster.Captures, CaptureOwners(p.Cluster)) {
				p.Report(f)
			}
		}),
	})
}

// perID bounds findings of one ID from one capture: a scan or a flood
// must not bury the report; the first ones in packet order are cited.
const perID = 10

// CaptureFindings is what one analyzed capture shows. The pcap command
// uses it for files given on the command line.
func CaptureFindings(c *model.Capture) []finding.Finding {
	r := c.Result
	if r == nil {
		return nil
	}
	var out []finding.Finding
	capture := c.File
	objects := []string{"capture/" + c.File}
	ev := func(pkts ...int) []finding.Evidence {
		var e []finding.Evidence
		for _, n := range pkts {
			if len(e) == 5 {
				break
			}
			e = append(e, finding.Evidence{File: c.File, Packet: n})
		}
		if len(e) == 0 {
			e = append(e, finding.Evidence{File: c.File})
		}
		return e
	}

	// SYNs nobody answered, grouped by destination.
	for i, g := range groupByDst(r.Unanswered) {
		if i == perID {
			break
		}
		worst := g[0]
		syns := 0
		var pk []int
		for _, f := range g {
			syns += f.SynCount
			if f.SynCount > worst.SynCount {
				worst = f
			}
		}
		for _, a := range worst.SYNs {
			pk = append(pk, a.Packet)
		}
		for _, f := range g {
			if f != worst && len(f.SYNs) > 0 {
				pk = append(pk, f.SYNs[0].Packet)
			}
		}
		flow := worst.String()
		if len(g) > 1 {
			flow = fmt.Sprintf("%s → %s", worst.Orig.Addr, worst.Resp.AddrPort())
		}
		// Args stay language-neutral: the catalog words "a single SYN" /
		// "one SYN per connection" per language from conns and gaps.
		gaps := ""
		if gs := worst.SynGaps(); len(gs) > 0 {
			gaps = durations(gs)
		}
		out = append(out, finding.New("PCAP_SYN_UNANSWERED", finding.Args{
			"flow": flow, "conns": conns(len(g)), "count": itoa(syns), "gaps": gaps, "capture": capture,
			"src": worst.Orig.Addr.String(), "dst": worst.Resp.AddrPort().String(),
		}, objects, ev(pk...)...))
	}

	// Refused: RST to a SYN, or ICMP port unreachable.
	n := 0
	for _, g := range groupByDst(r.Refused) {
		if n == perID {
			break
		}
		f := g[0]
		flow := f.String()
		if len(g) > 1 {
			flow = fmt.Sprintf("%s → %s", f.Orig.Addr, f.Resp.AddrPort())
		}
		out = append(out, finding.New("PCAP_CONNECTION_REFUSED", finding.Args{
			"flow": flow, "conns": conns(len(g)), "how": "rst", "by": f.Resp.Addr.String(), "packet": itoa(f.Reset),
			"capture": capture, "dst": f.Resp.AddrPort().String(),
		}, objects, ev(f.SYNs[0].Packet, f.Reset)...))
		n++
	}
	nu := 0
	for _, e := range r.ICMP {
		switch {
		case e.PortUnreachable() && n < perID:
			n++
			out = append(out, finding.New("PCAP_CONNECTION_REFUSED", finding.Args{
				"flow": quoted(e), "how": "icmp-port-unreachable", "by": e.From.String(), "times": itoa(e.Count),
				"capture": capture, "dst": quotedDst(e),
			}, objects, ev(e.Packets...)...))
		case e.Unreachable() && nu < perID:
			nu++
			out = append(out, finding.New("PCAP_ICMP_UNREACHABLE", finding.Args{
				"from": e.From.String(), "what": e.What(), "flow": quoted(e), "capture": capture, "dst": quotedDst(e),
			}, objects, ev(e.Packets...)...))
		}
	}

	for i, d := range r.DNSNoResponse {
		if i == perID {
			break
		}
		out = append(out, finding.New("PCAP_DNS_NO_RESPONSE", finding.Args{
			"count": itoa(d.Count), "name": d.Name, "server": d.Server.String(), "capture": capture,
		}, objects, ev(d.Packets...)...))
	}
	for i, d := range r.DNSErrors {
		if i == perID {
			break
		}
		out = append(out, finding.New("PCAP_DNS_ERROR", finding.Args{
			"server": d.Server.String(), "rcode": pcapflow.RcodeName(d.Rcode), "name": d.Name, "capture": capture,
			"count": itoa(d.Count),
		}, objects, ev(d.Packets...)...))
	}
	for i, h := range r.HTTPErrors {
		if i == perID {
			break
		}
		method := h.Method
		if method == "" {
			method = "(request not captured)"
		}
		out = append(out, finding.New("PCAP_HTTP_ERROR", finding.Args{
			"count": itoa(h.Count), "status": itoa(h.Status), "method": method, "host": h.Host, "uri": h.URI,
			"capture": capture, "server": h.Server.String(),
		}, objects, ev(h.Packets...)...))
	}
	for i, f := range r.OneWay {
		if i == perID {
			break
		}
		out = append(out, finding.New("PCAP_ONE_WAY_TRAFFIC", finding.Args{
			"flow": f.String(), "count": itoa(f.Orig.Pkts), "src": f.Orig.Addr.String(), "capture": capture,
		}, objects, ev(f.FirstPkt, f.LastPkt)...))
	}

	// Truncation and drops: the capture may not show everything.
	var why []finding.Phrase
	var pk []int
	if c.Info != nil && c.Info.Problem != "" {
		why = append(why, finding.Say("pcap.problem", c.Info.Problem))
		pk = append(pk, r.Packets)
	}
	if c.Meta.Truncated {
		why = append(why, finding.Say("pcap.cut", c.Meta.MaxBytes))
	}
	drops := c.Meta.KernelDrops
	if c.Info != nil && c.Info.Dropped > drops {
		drops = c.Info.Dropped
	}
	if drops > 0 {
		why = append(why, finding.Say("pcap.kdrops", drops))
	}
	if r.HeaderCut > 0 {
		why = append(why, finding.Say("pcap.hdrcut", r.HeaderCut))
		pk = append(pk, r.HeaderCutPackets...)
	}
	if len(why) > 0 {
		e := ev(pk...)
		if c.MetaFile != "" && (c.Meta.Truncated || c.Meta.KernelDrops > 0) {
			e = append(e, finding.Evidence{File: c.MetaFile})
		}
		f := finding.New("PCAP_TRUNCATED", finding.Args{"capture": capture}, objects, e...)
		out = append(out, *f.SayArg("why", finding.List(why)))
	}
	return out
}

// mergeAcrossCaptures folds the same observation made by several
// captures (the pod's netns, the node's eth0 and the peer's eth0 all see
// one unanswered DNS query) into one finding citing every capture.
func mergeAcrossCaptures(fs []finding.Finding) []finding.Finding {
	key := func(f finding.Finding) string {
		var ks []string
		for k, v := range f.Args {
			// the retry gaps differ by a millisecond between capture points
			if k != "capture" && k != "gaps" {
				ks = append(ks, k+"="+v)
			}
		}
		sort.Strings(ks)
		return f.ID + "\x00" + strings.Join(ks, "\x00")
	}
	idx := map[string]int{}
	var out []finding.Finding
	for _, f := range fs {
		k := key(f)
		i, ok := idx[k]
		if !ok || f.ID == "PCAP_TRUNCATED" {
			idx[k] = len(out)
			out = append(out, f)
			continue
		}
		m := &out[i]
		args := finding.Args{}
		for a, v := range m.Args {
			args[a] = v
		}
		args["capture"] = m.Args["capture"] + ", " + f.Args["capture"]
		m.Args = args
		m.Objects = append(m.Objects, f.Objects...)
		m.Evidence = append(m.Evidence, f.Evidence...)
	}
	return out
}

// groupByDst groups flows by responder address:port, in first-packet order.
func groupByDst(fl []*pcapflow.Flow) [][]*pcapflow.Flow {
	idx := map[netip.AddrPort]int{}
	var out [][]*pcapflow.Flow
	for _, f := range fl {
		k := f.Resp.AddrPort()
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], f)
	}
	return out
}

func quoted(e pcapflow.ICMPEvent) string {
	q := e.Quote
	if !q.Valid {
		return fmt.Sprintf("traffic from %s (the ICMP message quotes no packet)", e.To)
	}
	switch q.Proto {
	case 6, 17:
		return fmt.Sprintf("%s %s → %s", pcapflow.ProtoName(q.Proto), netip.AddrPortFrom(q.Src, q.SrcPort), netip.AddrPortFrom(q.Dst, q.DstPort))
	}
	return fmt.Sprintf("%s %s → %s", pcapflow.ProtoName(q.Proto), q.Src, q.Dst)
}

func quotedDst(e pcapflow.ICMPEvent) string {
	q := e.Quote
	if !q.Valid {
		return e.From.String()
	}
	if q.Proto == 6 || q.Proto == 17 {
		return netip.AddrPortFrom(q.Dst, q.DstPort).String()
	}
	return q.Dst.String()
}

// durations prints gaps like "1s, 2s, 4.1s".
func durations(ns []int64) string {
	var s []string
	for _, d := range ns {
		s = append(s, time.Duration(d).Round(time.Millisecond).String())
	}
	return strings.Join(s, ", ")
}

func itoa(n int) string { return fmt.Sprint(n) }

// CaptureOwners says which addresses each capture point holds: a pod
// capture its pod's IPs, a node capture the node's own addresses (ip -j
// addr) and the IPs of pods scheduled there. Captures of unknown owners
// get none, and correlation falls back to the addresses they saw.
func CaptureOwners(c *model.Cluster) []map[netip.Addr]bool {
	out := make([]map[netip.Addr]bool, len(c.Captures))
	for i, cp := range c.Captures {
		m := map[netip.Addr]bool{}
		if cp.Meta.Pod != "" {
			ns, name, _ := strings.Cut(cp.Meta.Pod, "/")
			if pod := c.Kube.Pod(ns, name); pod != nil {
				for _, ip := range podIPs(pod) {
					m[ip] = true
				}
			}
		} else {
			if n := c.Node(cp.Node); n != nil {
				for _, a := range n.LocalAddrs() {
					m[a] = true
				}
			}
			for _, pod := range c.Kube.PodsOnNode(cp.Node) {
				for _, ip := range podIPs(pod) {
					m[ip] = true
				}
			}
		}
		out[i] = m
	}
	return out
}

func podIPs(p *model.Pod) []netip.Addr { return p.IPs }

// CorrelationFindings follows connections through all captures: where a
// connection was last seen when a capture that should have seen it did
// not, and where its source address changed (SNAT/MASQUERADE). owners
// may be nil (captures given on the command line).
func CorrelationFindings(caps []*model.Capture, owners []map[netip.Addr]bool) []finding.Finding {
	// One point per capture; a tcpdump -i any capture (SLL2) is one point
	// per interface, so a single capture on the node shows where a packet
	// stopped between the pod's veth and eth0, or was SNATed between them.
	var points []*pcapflow.Point
	var idx []*model.Capture
	var names []string
	var pointIf []int32 // the SLL2 interface of each point, -1 for the whole capture
	for i, c := range caps {
		if c.Result == nil {
			continue
		}
		// A tcpdump -i any capture on several interfaces is one point per
		// interface; anything else one point. Signatures are expanded
		// only when there are several points to correlate.
		ifs := c.Result.SignatureInterfaces()
		if len(ifs) <= 1 || ifs[0] < 0 {
			ifs = []int32{-1}
		}
		for _, ifi := range ifs {
			name := c.Where()
			if ifi >= 0 {
				name = c.Node + " " + c.IfaceName(ifi) + " (" + c.Name + ")"
			}
			p := &pcapflow.Point{Name: name, First: c.Result.First, Last: c.Result.Last}
			// The collector's start/stop say when tcpdump ran, also when
			// it saw nothing at all: an empty capture in the destination
			// pod is the strongest "never arrived".
			if !c.Meta.Start.IsZero() && !c.Meta.Stop.IsZero() {
				p.First, p.Last = c.Meta.Start.UnixNano(), c.Meta.Stop.UnixNano()
			}
			if owners != nil && i < len(owners) {
				p.Local = owners[i]
			}
			points = append(points, p)
			idx = append(idx, c)
			names = append(names, name)
			pointIf = append(pointIf, ifi)
		}
	}
	if len(points) < 2 {
		return nil
	}
	var sigs []pcapflow.Sig
	for i, p := range points {
		if i == 0 || idx[i] != idx[i-1] {
			sigs = idx[i].Result.Signatures()
		}
		if pointIf[i] < 0 {
			p.Sigs = sigs
			continue
		}
		for _, s := range sigs {
			if s.SLLIf == pointIf[i] {
				p.Sigs = append(p.Sigs, s)
			}
		}
	}
	var out []finding.Finding
	lost, nat := 0, map[string]bool{}
	for _, j := range pcapflow.Correlate(points) {
		last := j.Seen[len(j.Seen)-1]
		answered := false
		for _, s := range j.Seen {
			answered = answered || s.Sig.Answered
		}
		if len(j.Missing) > 0 && !answered && lost < perID {
			lost++
			lc := idx[last.Point]
			var to []string
			ev := []finding.Evidence{{File: lc.File, Packet: last.Sig.Packet}}
			objs := []string{"capture/" + lc.File}
			for _, m := range j.Missing {
				mc := idx[m]
				to = append(to, names[m])
				ev = append(ev, finding.Evidence{File: mc.File})
				objs = append(objs, "capture/"+mc.File)
			}
			at := time.Unix(0, last.Sig.Time).UTC().Format("15:04:05.000")
			out = append(out, finding.New("PCAP_LOST_BETWEEN_CAPTURES", finding.Args{
				"flow": sigFlow(j.Seen[0].Sig), "from": names[last.Point], "at": at, "packet": itoa(last.Sig.Packet), "to": strings.Join(to, ", "),
			}, objs, ev...))
		}
		if j.NATed {
			// The earliest sighting is the original; the farthest one
			// with another source address is what the peer saw.
			first := j.Seen[0]
			for k := len(j.Seen) - 1; k > 0; k-- {
				s := j.Seen[k]
				if s.Sig.Orig.Addr() == first.Sig.Orig.Addr() {
					continue // only the port changed: not what PCAP_SOURCE_NATTED is about
				}
				key := first.Sig.Orig.Addr().String() + ">" + s.Sig.Orig.Addr().String() + ">" + s.Sig.Resp.String()
				if nat[key] || len(nat) >= perID {
					continue
				}
				nat[key] = true
				fc, sc := idx[first.Point], idx[s.Point]
				out = append(out, finding.New("PCAP_SOURCE_NATTED", finding.Args{
					"flow": sigFlow(first.Sig), "original": first.Sig.Orig.String(), "original_at": names[first.Point],
					"natted": s.Sig.Orig.String(), "natted_at": names[s.Point], "capture": sc.File,
				}, []string{"capture/" + fc.File, "capture/" + sc.File},
					finding.Evidence{File: fc.File, Packet: first.Sig.Packet}, finding.Evidence{File: sc.File, Packet: s.Sig.Packet}))
				break
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// conns is the number of connections a grouped finding covers, "" for one.
func conns(n int) string {
	if n < 2 {
		return ""
	}
	return itoa(n)
}

func sigFlow(s pcapflow.Sig) string {
	return fmt.Sprintf("%s %s → %s", pcapflow.ProtoName(s.Proto), s.Orig, s.Resp)
}
