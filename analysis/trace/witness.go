package trace

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/pcapflow"
)

// tuple is a packet as a capture point would show it (source port left
// out: the client's port is ephemeral).
type tuple struct {
	proto    string
	src, dst netip.Addr
	dport    uint16
}

func (t tuple) String() string {
	if t.dport == 0 {
		return fmt.Sprintf("%s %s → %s", t.proto, t.src, t.dst)
	}
	return fmt.Sprintf("%s %s → %s:%d", t.proto, t.src, t.dst, t.dport)
}

// sighting is what one capture says about a trace.
type sighting struct {
	cp   *model.Capture
	node string
	flow *pcapflow.Flow
	t    tuple
}

// witness annotates a trace with the captures of the nodes it crosses:
// "seen here (packet #n)" or "not seen here", and flags contradictions
// between the simulated path and what the captures show. A capture
// decides what the model leaves AMBIGUOUS (a RST seen from the server
// means nothing listens).
func (tr *Tracer) witness(t *Trace, f model.Flow, reported bool) {
	if len(tr.c.Captures) == 0 {
		return
	}
	for i := range t.Branches {
		t.Branches[i].Proto = t.Proto
		tr.witnessOne(&t.Branches[i], t, f, reported)
	}
	own := false
	for _, s := range t.Steps {
		own = own || s.Failed
	}
	if len(t.Branches) > 0 && !own {
		combineInto(t, f.Symptom)
		undecidedBefore(t)
		if t.Symptom == "" {
			t.Symptom = symptomOf(t.Verdict, false)
		}
	}
	tr.witnessOne(t, nil, f, reported)
}

// witnessOne annotates one trace; parent is the forking trace when t is
// one endpoint's branch.
func (tr *Tracer) witnessOne(t, parent *Trace, f model.Flow, reported bool) {
	tuples := traceTuples(t)
	nodes := traceNodes(t)
	if len(tuples) == 0 || len(nodes) == 0 {
		return
	}
	var seen, missed []sighting
	for _, cp := range tr.c.Captures {
		if cp.Result == nil || !slices.Contains(nodes, cp.Node) {
			continue
		}
		matched := false
		tuples := tuples
		if pod := cp.Meta.Pod; pod != "" && !strings.ContainsAny(pod, " ") {
			tuples = podView(t, tuples, pod)
		}
		for _, tu := range tuples {
			if fl := findFlow(cp.Result, tu); fl != nil {
				seen = append(seen, sighting{cp: cp, node: cp.Node, flow: fl, t: tu})
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		// "not seen" only counts when the packet crosses the capture
		// point and the capture's filter would have kept it.
		if !reported || !crosses(t, cp) {
			continue
		}
		for _, tu := range tuples {
			if filterKeeps(captureFilter(cp), tu) == yes {
				missed = append(missed, sighting{cp: cp, node: cp.Node, t: tu})
				break
			}
		}
	}
	for _, s := range seen {
		fl := s.flow
		st := said(Step{At: "node/" + s.node, Component: "capture", Decision: ActSeen,
			Evidence: ev("file", s.cp.File, "packet", fl.FirstPkt)}, "cap.seen", where(s.cp), fl.FirstPkt, s.t.String(), fl.State)
		if fl.History != "" {
			st.sayMore("cap.history", fl.History)
		}
		insertAtNode(t, st)
	}
	for _, s := range missed {
		insertAtNode(t, said(Step{At: "node/" + s.node, Component: "capture", Decision: ActNotSeen,
			Evidence: ev("file", s.cp.File)}, "cap.notseen", where(s.cp), s.cp.Result.Packets, s.t.String()))
	}
	if !reported {
		return
	}
	if parent != nil {
		// kube-proxy picks an endpoint per connection (-m statistic
		// --mode random): a connection the capture shows before DNAT
		// (client → Service) may have gone to any endpoint, so it says
		// something about this branch only when its packets carry this
		// branch's endpoint alone
		seen = exclusive(seen, t, parent)
		missed = exclusive(missed, t, parent)
	}
	tr.contradictions(t, f, seen, missed)
}

// exclusive keeps the sightings whose packet view belongs to branch b of
// parent and to no other branch nor to the path before the fork.
func exclusive(ss []sighting, b, parent *Trace) []sighting {
	var out []sighting
	for _, s := range ss {
		if slices.Contains(traceTuples(parent), s.t) {
			continue
		}
		mine := false
		other := false
		for i := range parent.Branches {
			o := &parent.Branches[i]
			in := slices.Contains(traceTuples(o), s.t)
			if o == b {
				mine = in
			} else if in {
				other = true
			}
		}
		if mine && !other {
			out = append(out, s)
		}
	}
	return out
}

// insertAtNode puts a capture step right after the trace's last step on
// that node (or its pods), so "seen here" reads next to the hop it
// witnesses; at the end when the trace never reached the node.
func insertAtNode(t *Trace, s Step) {
	node := strings.TrimPrefix(s.At, "node/")
	at := -1
	for i, x := range t.Steps {
		if x.At == s.At || strings.HasPrefix(x.At, "pod/") && strings.Contains(x.Detail, "on node "+node) {
			at = i
		}
	}
	if at < 0 || at == len(t.Steps)-1 {
		t.Steps = append(t.Steps, s)
		return
	}
	t.Steps = append(t.Steps[:at+1], append([]Step{s}, t.Steps[at+1:]...)...)
}

// contradictions compares the captures with the verdict.
func (tr *Tracer) contradictions(t *Trace, f model.Flow, seen, missed []sighting) {
	answered, refused, unanswered := (*sighting)(nil), (*sighting)(nil), (*sighting)(nil)
	for i := range seen {
		s := &seen[i]
		switch {
		case s.flow.SynAck > 0 || s.flow.State == "SF" || s.flow.State == "S1" || s.flow.Resp.Pkts > 0 && s.flow.Reset == 0:
			answered = s
		case s.flow.State == "REJ" || s.flow.Reset > 0 && s.flow.ResetByResp:
			refused = s
		case s.flow.State == "S0" || s.flow.State == "OTH" && s.flow.Resp.Pkts == 0:
			unanswered = s
		}
	}
	flow := t.From + " → " + t.To
	if len(t.Branches) > 0 {
		// the first connection a capture shows may be one that went to
		// another endpoint: any refused connection of the flow counts
		for i := 0; refused == nil && i < len(seen); i++ {
			if fl := findRefused(seen[i].cp.Result, seen[i].t); fl != nil {
				r := seen[i]
				r.flow = fl
				refused = &r
			}
		}
		if refused != nil {
			decideRefusal(t, f, refused)
		}
	}
	switch t.Verdict {
	case Ambiguous:
		// the capture is the missing fact
		switch {
		case refused != nil:
			t.Verdict, t.Symptom = Rejected, symptomOf(Rejected, false)

			t.Steps = append(t.Steps, said(Step{At: "node/" + refused.node, Component: "capture", Decision: ActReject, Tags: []string{TagCapture}, Failed: true,
				Evidence: ev("file", refused.cp.File, "packet", refused.flow.Reset)}, "cap.rst", refused.t.dst, refused.flow.Reset))
		case answered != nil:
			t.Verdict, t.Symptom = Delivered, ""
			t.Reason = ""
		}
	case Delivered, Undetermined:
		if unanswered == nil || answered != nil {
			return
		}
		gone := worded{{key: "cap.gone", args: []any{unanswered.node, unanswered.flow.FirstPkt, unanswered.cp.File}}}
		for _, m := range missed {
			if m.node != unanswered.node {
				gone = append(gone, part{key: "cap.gone.missed", args: []any{where(m.cp), m.cp.File}})
				break
			}
		}
		cands := tr.candidates(t)
		var undecided []string
		for _, s := range t.Steps {
			if s.Decision == ActUndetermined && !slices.Contains(undecided, s.At) {
				undecided = append(undecided, s.At)
			}
		}
		if why := uncertain(t); why != "" {
			var look any = strings.Join(undecided, ", ")
			if len(undecided) == 0 {
				look = cands
			}
			// the model does not predict delivery with certainty (a hop
			// it could not decide, the far side of the VPC edge): the
			// capture shows where the flow is lost, it contradicts nothing
			t.CannotPredict = why
			t.Steps = append(t.Steps, said(Step{At: "node/" + unanswered.node, Component: "capture", Decision: ActCannotPredict,
				Evidence: ev("file", unanswered.cp.File, "packet", unanswered.flow.FirstPkt)}, "cap.unpredicted", gone, look))
			if t.Symptom == "" {
				t.Symptom = "timeout"
			}
			return
		}
		ff := newFinding("TRACE_CAPTURE_CONTRADICTS", finding.Args{"flow": flow, "verdict": string(t.Verdict),
			"undecided": strings.Join(undecided, ", ")},
			[]string{"flow/" + t.From + "→" + t.To}, finding.Evidence{File: unanswered.cp.File, Packet: unanswered.flow.FirstPkt}).
			SayArg("seen", finding.Say("as.is", gone)).SayArg("candidates", finding.Say("as.is", cands))
		t.findings = append(t.findings, *ff)
		t.Steps = append(t.Steps, said(Step{At: "node/" + unanswered.node, Component: "capture", Decision: ActContradiction, Finding: "TRACE_CAPTURE_CONTRADICTS", Failed: true,
			Evidence: ev("file", unanswered.cp.File, "packet", unanswered.flow.FirstPkt)}, "cap.contra", gone, cands))
		if t.Verdict == Delivered {
			// what the customer sees is what the capture shows
			t.Verdict, t.Reason, t.Symptom = Dropped, "TRACE_CAPTURE_CONTRADICTS", "timeout"
		}
	case Dropped, Rejected, NoRoute:
		if answered == nil || strings.HasPrefix(t.Symptom, "http-") {
			// an L7 CLB completes the client's handshake itself and
			// then answers the HTTP error: an answered SYN is predicted
			return
		}
		if answerPredicted(t, answered.t) {
			return
		}
		seen := worded{{key: "cap.answered", args: []any{answered.t.String(), answered.cp.File, answered.flow.SynAck}}}
		ff := newFinding("TRACE_CAPTURE_CONTRADICTS", finding.Args{"flow": flow, "verdict": string(t.Verdict)},
			[]string{"flow/" + t.From + "→" + t.To}, finding.Evidence{File: answered.cp.File, Packet: answered.flow.SynAck}).
			SayArg("seen", finding.Say("as.is", seen)).SayArg("candidates", finding.Say("as.is", worded{{key: "cand.elsewhen"}}))
		t.findings = append(t.findings, *ff)
	}
}

// candidates names what outside the bundle's rules may drop a flow the
// rules pass: the hops the trace could not see or only assumed.
func (tr *Tracer) candidates(t *Trace) worded {
	var out []part
	for _, s := range t.Steps {
		if s.Component == "route" && strings.HasPrefix(s.At, "node/") && strings.HasPrefix(s.Detail, "default ") {
			out = append(out, part{key: "cand.default", args: []any{strings.TrimPrefix(s.At, "node/"), s.worded()}})
			break
		}
	}
	for _, s := range t.Steps {
		if s.Decision == ActUndetermined {
			out = append(out, part{key: "cand.unseen", args: []any{s.At, s.Component}})
		}
	}
	for _, s := range t.Steps {
		if s.Component == "route" && strings.HasPrefix(s.At, "vpc") {
			out = append(out, part{key: "cand.vpc", args: []any{s.worded()}})
			break
		}
	}
	out = append(out, part{key: "cand.gw"}, part{key: "cand.acl"})
	if len(out) > 4 {
		out = out[:4]
	}
	return joined(out)
}

// worded is the step's detail as catalogued pieces (the text as it is
// when it was not built from the catalog).
func (s Step) worded() worded {
	if len(s.parts) > 0 && s.Detail == render(finding.EN, s.parts) {
		return worded(s.parts)
	}
	return worded{{args: []any{s.Detail}}}
}

// crosses says whether the traced packet passes the capture point: a
// pod's netns capture for the trace's pods, a node interface when the
// packet leaves by it (route step "dev eth0") or arrives from the VPC.
func crosses(t *Trace, cp *model.Capture) bool {
	if pod := cp.Meta.Pod; pod != "" && !strings.ContainsAny(pod, " ") {
		if strings.HasPrefix(t.From, "pod:"+pod) {
			return true
		}
		for _, s := range t.Steps {
			if s.At == "pod/"+pod {
				return true
			}
		}
		return false
	}
	iface := cp.Meta.Interface
	if iface == "" || iface == "any" {
		return true
	}
	fromVPC := false
	for _, s := range t.Steps {
		if strings.HasPrefix(s.At, "vpc") || s.Component == "security-group" {
			fromVPC = true
		}
		if s.At != "node/"+cp.Node {
			continue
		}
		if s.Decision == ActDev && s.Via == iface || fromVPC && s.Component != "capture" {
			return true
		}
	}
	return false
}

// podView keeps the packet views a capture inside a pod's netns can
// show: the first (the pod sends it, before any node NAT) when the pod is
// the source, the last (after DNAT) when it is the destination.
func podView(t *Trace, tuples []tuple, pod string) []tuple {
	var out []tuple
	if strings.HasPrefix(t.From, "pod:"+pod) {
		out = append(out, tuples[0])
	}
	for _, s := range t.Steps {
		if s.At == "pod/"+pod && s.Before != "" {
			if tu, ok := parseTuple(t.Proto, s.Before); ok {
				out = append(out, tu)
			}
		}
	}
	return out
}

// traceTuples are the packet views of a trace: every before/after.
func traceTuples(t *Trace) []tuple {
	var out []tuple
	add := func(s string) {
		tu, ok := parseTuple(t.Proto, s)
		if !ok {
			return
		}
		for _, x := range out {
			if x == tu {
				return
			}
		}
		out = append(out, tu)
	}
	for _, s := range t.Steps {
		add(s.Before)
		add(s.After)
	}
	return out
}

func parseTuple(proto, s string) (tuple, bool) {
	a, b, ok := strings.Cut(s, "→")
	if !ok {
		return tuple{}, false
	}
	tu := tuple{proto: proto}
	if ap, err := netip.ParseAddrPort(a); err == nil {
		tu.src = ap.Addr()
	} else if ip, err := netip.ParseAddr(a); err == nil {
		tu.src = ip
	} else {
		return tuple{}, false
	}
	if ap, err := netip.ParseAddrPort(b); err == nil {
		tu.dst, tu.dport = ap.Addr(), ap.Port()
	} else if ip, err := netip.ParseAddr(b); err == nil {
		tu.dst = ip
	} else {
		return tuple{}, false
	}
	return tu, true
}

// traceNodes are the nodes a trace crosses.
func traceNodes(t *Trace) []string {
	var out []string
	for _, s := range t.Steps {
		if n, ok := strings.CutPrefix(s.At, "node/"); ok && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func findFlow(r *pcapflow.Result, tu tuple) *pcapflow.Flow {
	for _, f := range r.Flows {
		if pcapflow.ProtoName(f.Proto) != tu.proto {
			continue
		}
		if f.Orig.Addr == tu.src && f.Resp.Addr == tu.dst && (tu.dport == 0 || f.Resp.Port == tu.dport) {
			return f
		}
	}
	return nil
}

// findRefused is a connection of the tuple answered by a reset or an
// ICMP port unreachable (Zeek state REJ, or a reset by the responder).
func findRefused(r *pcapflow.Result, tu tuple) *pcapflow.Flow {
	for _, f := range r.Flows {
		if pcapflow.ProtoName(f.Proto) != tu.proto || f.Orig.Addr != tu.src || f.Resp.Addr != tu.dst || tu.dport != 0 && f.Resp.Port != tu.dport {
			continue
		}
		if f.State == "REJ" || f.Reset > 0 && f.ResetByResp {
			return f
		}
	}
	return nil
}

// captureFilter is the capture's BPF filter. The collector's node
// captures have put it in the metadata's pod field; a value that is no
// ns/name is taken as the filter.
func captureFilter(cp *model.Capture) string {
	if cp.Meta.Filter != "" {
		return cp.Meta.Filter
	}
	if p := cp.Meta.Pod; strings.ContainsAny(p, " ") {
		return p
	}
	return ""
}

type tri int

const (
	no tri = iota
	yes
	unknown
)

// filterKeeps decides a collector capture filter (pcap-filter(7) subset:
// host/src host/dst host A, net CIDR, port/src port/dst port N, tcp, udp,
// icmp, joined by and/or/not and parentheses) for a packet, in
// three-valued logic: anything it does not understand is unknown, and
// "not seen" is only claimed on a definite yes.
func filterKeeps(filter string, tu tuple) tri {
	f := strings.TrimSpace(filter)
	if f == "" {
		return yes
	}
	f = strings.NewReplacer("(", " ( ", ")", " ) ", "&&", " and ", "||", " or ", "!", " not ").Replace(f)
	fp := &filterParser{toks: strings.Fields(f), tu: tu}
	v := fp.expr()
	if fp.bad || fp.i != len(fp.toks) {
		return unknown
	}
	return v
}

type filterParser struct {
	toks []string
	i    int
	tu   tuple
	bad  bool
}

func (p *filterParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *filterParser) next() string {
	t := p.peek()
	p.i++
	return t
}

func (p *filterParser) expr() tri {
	v := p.term()
	for p.peek() == "or" {
		p.next()
		w := p.term()
		switch {
		case v == yes || w == yes:
			v = yes
		case v == unknown || w == unknown:
			v = unknown
		default:
			v = no
		}
	}
	return v
}

func (p *filterParser) term() tri {
	v := p.factor()
	for {
		switch p.peek() {
		case "and":
			p.next()
		case "", "or", ")":
			return v
		default: // juxtaposition is "and" in pcap-filter
		}
		w := p.factor()
		switch {
		case v == no || w == no:
			v = no
		case v == unknown || w == unknown:
			v = unknown
		default:
			v = yes
		}
	}
}

func (p *filterParser) factor() tri {
	t := p.next()
	b := func(ok bool) tri {
		if ok {
			return yes
		}
		return no
	}
	switch t {
	case "(":
		v := p.expr()
		if p.next() != ")" {
			p.bad = true
		}
		return v
	case "not":
		switch v := p.factor(); v {
		case yes:
			return no
		case no:
			return yes
		}
		return unknown
	case "tcp", "udp", "icmp":
		return b(t == p.tu.proto)
	case "ip":
		return b(p.tu.src.Is4())
	case "src", "dst":
		kind := p.next()
		arg := p.next()
		a := p.tu.src
		if t == "dst" {
			a = p.tu.dst
		}
		switch kind {
		case "host":
			ip, err := netip.ParseAddr(arg)
			if err != nil {
				p.bad = true
				return unknown
			}
			return b(ip == a)
		case "port":
			n, err := strconv.Atoi(arg)
			if err != nil {
				p.bad = true
				return unknown
			}
			if t == "src" {
				return unknown // the client's port is ephemeral
			}
			return b(uint16(n) == p.tu.dport)
		}
		p.bad = true
		return unknown
	case "host":
		ip, err := netip.ParseAddr(p.next())
		if err != nil {
			p.bad = true
			return unknown
		}
		return b(ip == p.tu.src || ip == p.tu.dst)
	case "net":
		pf, err := netip.ParsePrefix(p.next())
		if err != nil {
			p.bad = true
			return unknown
		}
		return b(pf.Contains(p.tu.src) || pf.Contains(p.tu.dst))
	case "port":
		n, err := strconv.Atoi(p.next())
		if err != nil {
			p.bad = true
			return unknown
		}
		if uint16(n) == p.tu.dport {
			return yes
		}
		// the source port is ephemeral: it could be n
		return unknown
	}
	p.bad = true
	return unknown
}

// where names a capture point: the pod's netns, else node and interface.
func where(cp *model.Capture) any {
	if p := cp.Meta.Pod; p != "" && !strings.ContainsAny(p, " ") {
		return worded{{key: "where.pod", args: []any{cp.Node, p}}}
	}
	if cp.Meta.Interface != "" {
		return cp.Node + " " + cp.Meta.Interface
	}
	return cp.Node + " " + cp.Name
}

// decideRefusal: a capture shows the flow refused (RST or ICMP port
// unreachable) while the trace forks per endpoint. Only a branch that can
// refuse explains it; when no branch refuses for certain and exactly one
// AMBIGUOUS branch refuses if its deciding fact goes the failing way
// (nothing listens on the target port), the capture is that fact.
func decideRefusal(t *Trace, f model.Flow, refused *sighting) {
	cand := -1
	for i, b := range t.Branches {
		switch {
		case b.Verdict == Rejected:
			return
		case b.Verdict == Ambiguous && b.mayFail == Rejected:
			if cand >= 0 {
				return // two could refuse: the RST does not say which
			}
			cand = i
		case b.Verdict == Undetermined:
			// a branch the bundle cannot decide (a file is missing)
			// may be the one that refused: the RST names no endpoint
			return
		}
	}
	if cand < 0 {
		return
	}
	b := &t.Branches[cand]
	b.Verdict, b.Symptom, b.mayFail = Rejected, symptomOf(Rejected, false), ""
	b.Steps = append(b.Steps, said(Step{At: "node/" + refused.node, Component: "capture", Decision: ActReject, Tags: []string{TagCapture}, Failed: true,
		Evidence: ev("file", refused.cp.File, "packet", refused.flow.Reset)}, "cap.rst.only", refused.t.String(), refused.flow.Reset))
	combineInto(t, f.Symptom)
	undecidedBefore(t)
	if t.Symptom == "" {
		t.Symptom = symptomOf(t.Verdict, false)
	}
}

// uncertain says why the model cannot predict that a DELIVERED or
// UNDETERMINED trace gets through ("" when it predicts it with
// certainty): a hop it could not decide, or the flow leaves the cluster
// and its far side (the internet, an IDC, a peer VPC's hosts) is not in
// the bundle. Codes: CannotPredictText.
func uncertain(t *Trace) string {
	if t.Verdict == Undetermined {
		return "undecided-hop"
	}
	for _, s := range t.Steps {
		switch s.Decision {
		case ActUndetermined, ActAmbiguous:
			return "undecided-hop"
		case "leaves the cluster":
			return "far-side"
		}
	}
	return ""
}

// answerPredicted: the trace forks per endpoint (kube-proxy's statistic
// branches) and the answered connection may have gone to an endpoint
// whose branch is not a definite failure — one connection of three
// failing behind a stale endpoint is what the model predicts, and the two
// others are answered. Only a connection whose packets carry a failing
// branch's endpoint alone contradicts it.
func answerPredicted(t *Trace, tu tuple) bool {
	if len(t.Branches) == 0 {
		return false
	}
	good, bad := false, false
	for i := range t.Branches {
		b := &t.Branches[i]
		if !slices.Contains(traceTuples(b), tu) {
			continue
		}
		if definite(b.Verdict) {
			bad = true
		} else {
			good = true
		}
	}
	if good || bad {
		return good
	}
	// a view before the fork (client → Service): any endpoint served it
	for _, b := range t.Branches {
		if !definite(b.Verdict) {
			return true
		}
	}
	return false
}

// definite: a verdict that fails for certain.
func definite(v Verdict) bool { return v == Dropped || v == Rejected || v == NoRoute }
