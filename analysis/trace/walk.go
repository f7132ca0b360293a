package trace

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
)

// pkt is the packet as one hop sees it. Ports are 0 for icmp.
type pkt struct {
	proto    string // tcp, udp, icmp
	src, dst netip.AddrPort
}

func (p pkt) String() string { return hostPort(p.src, p.proto) + "→" + hostPort(p.dst, p.proto) }

func hostPort(a netip.AddrPort, proto string) string {
	if proto == "icmp" || a.Port() == 0 {
		return a.Addr().String()
	}
	return a.String()
}

// clientPort is the source port of traced connections: any ephemeral port
// decides the same rules (kube-proxy and CNI rules never match on source
// ports), and a fixed one keeps traces reproducible.
const clientPort = 40000

// maxHops bounds node-to-node hops (NodePort to a pod on another node is
// two; more means a routing loop in the data).
const maxHops = 4

// walk is one path being traced. A fork makes child walks that become the
// trace's Branches.
type walk struct {
	tr    *Tracer
	steps []Step
	// fail is the first step that ends the flow.
	fail *outcome
	// needs are hops the bundle could not decide (UNDETERMINED), with
	// what to collect; ambiguous the facts that decide an AMBIGUOUS hop.
	needs     []string
	ambiguous []ambiguity
	// delivered: the packet reached its destination.
	delivered bool
	// note qualifies a delivered flow (source NATed ...), with its reason.
	noteReason, noteSymptom string
	// noteFinding is the finding of the note (a stale backend's SNAT)
	noteFinding *finding.Finding
	branches    []*branch
	hops        int
	// l7 is true behind an HTTP/HTTPS CLB listener or Ingress: a backend
	// failure shows as an HTTP status from the CLB, not a timeout.
	l7 bool
	// witness is filled by the capture annotator.
	flow model.Flow
	// outOfService: a CLB health check keeps client traffic away from
	// this real server (externalTrafficPolicy Local without a local
	// endpoint); benched is the finding its drop would have raised.
	outOfService bool
	benched      *finding.Finding
}

// ambiguity is a hop the data allows both ways: the fact that decides
// and the finding ID that explains the failing way.
type ambiguity struct {
	fact, reason string
	// way is the verdict if the fact goes the failing way ("" unknown).
	way Verdict
}

type branch struct {
	to part // where the branch goes, worded per language
	w  *walk
}

// outcome ends a walk.
type outcome struct {
	verdict Verdict
	reason  string
	// symptom overrides the verdict's usual symptom.
	symptom string
	// finding is what Findings reports for this outcome when the checks
	// do not (IPTABLES_DROPS_FLOW, trace-specific IDs).
	finding *finding.Finding
	// fallback is the reason's finding (a check's ID), reported only when
	// no check reported that ID, so the report never names a reason it
	// does not explain.
	fallback *finding.Finding
}

func (w *walk) add(s Step) *Step {
	if s.Detail == "" && len(s.parts) > 0 {
		s.Detail = render(finding.EN, s.parts) // built from a literal's parts
	}
	w.steps = append(w.steps, s)
	return &w.steps[len(w.steps)-1]
}

// stop records a failing step and ends the walk.
func (w *walk) stop(s Step, o outcome) {
	s.Failed = true
	if _, ok := finding.Lookup(o.reason); ok && s.Finding == "" {
		s.Finding = o.reason
	}
	w.add(s)
	if w.fail == nil {
		w.fail = &o
	}
}

// need records a hop that cannot be decided: it is listed as a step and
// the walk goes on assuming the hop passes, so later hops can still show
// a definite failure.
func (w *walk) need(at, component, what, file, node string) {
	w.needPart(at, component, part{args: []any{what}}, file, node)
}

// needSaid is need with the undecided fact from the step-text catalog.
func (w *walk) needSaid(at, component, file, node, key string, args ...any) {
	w.needPart(at, component, part{key: key, args: args}, file, node)
}

func (w *walk) needPart(at, component string, what part, file, node string) {
	s := Step{At: at, Component: component, Decision: ActUndetermined,
		Evidence: ev("need", file, "node", node), parts: []part{what}}
	s.Detail = render(finding.EN, s.parts)
	if file != "" {
		s.sayMore("need.collect", file)
		if node != "" {
			s.sayMore("need.onnode", node)
		}
	}
	w.add(s)
	w.needs = append(w.needs, s.Detail)
}

func (w *walk) ambiguousHop(s Step, fact part, reason string) { w.ambiguousWay(s, fact, reason, "") }

// ambiguousWay is an AMBIGUOUS hop whose failing way is known (nothing
// listening answers with a RST: REJECTED).
func (w *walk) ambiguousWay(s Step, fact part, reason string, way Verdict) {
	s.Decision = ActAmbiguous
	s.sayMore("decided.by", fact)
	w.add(s)
	w.ambiguous = append(w.ambiguous, ambiguity{fact: render(finding.EN, []part{fact}), reason: reason, way: way})
}

// fork starts a branch to the place the catalog key words (a real
// server, a master, an endpoint and its share).
func (w *walk) fork(key string, args ...any) *walk {
	to := part{key: key, args: args}
	if _, ok := stepTexts[finding.EN][key]; !ok && len(args) == 0 {
		to = part{args: []any{key}} // a name, not a key: it stays as it is
	}
	c := &walk{tr: w.tr, hops: w.hops, l7: w.l7, flow: w.flow}
	w.branches = append(w.branches, &branch{to: to, w: c})
	return c
}

func (w *walk) done() bool { return w.fail != nil || w.delivered }

// ev builds step evidence from key/value pairs, leaving out empty values.
func ev(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		switch v := kv[i+1].(type) {
		case string:
			if v != "" {
				m[k] = v
			}
		case int:
			if v != 0 || k == "rule" {
				m[k] = v
			}
		default:
			if v != nil {
				m[k] = v
			}
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

func srcEv(s model.Source) map[string]any { return ev("file", s.File, "line", s.Line) }

// result turns a finished walk into a Trace (without From/To).
func (w *walk) result() Trace {
	t := Trace{Steps: w.steps, outOfService: w.outOfService, benched: w.benched}
	if t.Steps == nil {
		t.Steps = []Step{}
	}
	for _, b := range w.branches {
		bt := b.w.result()
		bt.to = []part{b.to}
		bt.To = render(finding.EN, bt.to)
		t.Branches = append(t.Branches, bt)
	}
	switch {
	case w.fail != nil:
		t.Verdict, t.Reason, t.Symptom = w.fail.verdict, w.fail.reason, w.fail.symptom
		if w.fail.finding != nil {
			t.findings = append(t.findings, *w.fail.finding)
		}
		if w.fail.fallback != nil {
			t.fallbacks = append(t.fallbacks, *w.fail.fallback)
		}
	case len(t.Branches) > 0:
		combineInto(&t, w.flow.Symptom)
		undecidedBefore(&t)
	case len(w.needs) > 0:
		// a note (the source is masqueraded) still explains what the
		// peer sees if the undecided hops pass
		t.Verdict, t.Reason, t.Symptom = Undetermined, "NEEDS_DATA", w.noteSymptom
		if w.noteReason != "" {
			t.Reason = w.noteReason
		}
		if w.noteFinding != nil {
			t.findings = append(t.findings, *w.noteFinding)
		}
	case len(w.ambiguous) > 0:
		t.Verdict, t.Reason, t.mayFail = Ambiguous, w.ambiguous[0].reason, w.ambiguous[0].way
	case w.delivered:
		t.Verdict, t.Reason, t.Symptom = Delivered, w.noteReason, w.noteSymptom
		if w.noteFinding != nil {
			t.findings = append(t.findings, *w.noteFinding)
			t.wrongSource = true
		}
	default:
		t.Verdict, t.Reason = Undetermined, "TRACE_INCOMPLETE"
	}
	if t.Symptom == "" {
		t.Symptom = symptomOf(t.Verdict, w.l7)
	}
	return t
}

// undecidedBefore: a hop before the fork could not be decided, so branches
// that deliver (or are ambiguous) only do so if it passed.
func undecidedBefore(t *Trace) {
	if t.Verdict != Delivered && t.Verdict != Ambiguous {
		return
	}
	for _, s := range t.Steps {
		if s.Decision == ActUndetermined {
			if t.Verdict == Ambiguous || t.Reason == "" {
				t.Reason = "NEEDS_DATA"
			}
			t.Verdict = Undetermined
			return
		}
	}
}

// combineInto gives a forked trace the verdict of its branches. One
// broken endpoint among good ones is a real, common fault: kube-proxy
// balances new connections over all endpoints, so a share of them fails —
// the flow takes a failing branch's verdict and reason, and
// FailingBranches/BranchCount say the share. When branches fail in
// different ways (one refuses, one times out), the headline is the branch
// that explains what the customer reported, the way an engineer reads a
// Service with two broken endpoints: "the refusals come from web-0, and
// web-1 times out too"; Symptoms lists every way.
func combineInto(t *Trace, reported string) {
	bs := t.Branches
	var bad []Trace
	und, amb := 0, 0
	t.Symptoms = nil
	benched := 0
	for _, b := range bs {
		if b.outOfService {
			benched++
			continue
		}
		switch b.Verdict {
		case Delivered:
			// the peer sees a stale backend's source: this way fails
			// for the customer (wrong-source-ip)
			if b.wrongSource {
				bad = append(bad, b)
			}
		case Undetermined:
			und++
		case Ambiguous:
			amb++
		default:
			bad = append(bad, b)
		}
		if s := branchSymptom(b); s != "" && !slices.Contains(t.Symptoms, s) {
			t.Symptoms = append(t.Symptoms, s)
		}
	}
	if len(t.Symptoms) < 2 {
		t.Symptoms = nil
	}
	t.BranchCount, t.FailingBranches = len(bs), len(bad)
	t.Symptom = ""
	if benched > 0 && benched == len(bs) {
		// the health check takes every real server out (no local
		// endpoint, or a probe the real server's SG drops) and nothing
		// answers — now the fault breaks the flow
		b := bs[0]
		reason := "SVC_NO_LOCAL_ENDPOINTS"
		if b.Reason != "" && b.Reason != "NOT_IN_SERVICE" {
			reason = b.Reason // e.g. every master fails the probe: SG_MASTER_SUBNET_BLOCKED
		}
		t.Verdict, t.Reason, t.Symptom, t.FailingBranches = b.Verdict, reason, b.Symptom, len(bs)
		if b.benched != nil && !hasFinding(t.findings, b.benched.ID) {
			t.findings = append(t.findings, *b.benched)
		}
		return
	}
	switch {
	case len(bad) > 0:
		head := bad[0]
		for _, b := range bad {
			if reported != "" && agrees(b.Symptom, reported) {
				head = b
				break
			}
		}
		t.Verdict, t.Reason, t.Symptom = head.Verdict, head.Reason, head.Symptom
		return
	case und > 0:
		t.Verdict, t.Reason = Undetermined, "NEEDS_DATA"
		return
	case amb > 0:
		for _, b := range bs {
			if b.Verdict == Ambiguous {
				t.Verdict, t.Reason, t.mayFail = Ambiguous, b.Reason, b.mayFail
				return
			}
		}
	}
	// all delivered; a note (SNAT) of one branch applies to all
	t.Verdict, t.Reason = Delivered, ""
	for _, b := range bs {
		if b.Reason != "" {
			t.Reason, t.Symptom = b.Reason, b.Symptom
			return
		}
	}
}

func hasFinding(fs []finding.Finding, id string) bool {
	for _, f := range fs {
		if f.ID == id {
			return true
		}
	}
	return false
}

// branchSymptom is what a branch's clients see: its verdict's symptom,
// or for an AMBIGUOUS branch the symptom of its failing way.
func branchSymptom(b Trace) string {
	if b.outOfService {
		return ""
	}
	switch b.Verdict {
	case Delivered, Undetermined:
		return ""
	case Ambiguous:
		if b.mayFail != "" {
			return symptomOf(b.mayFail, false)
		}
		return ""
	}
	return b.Symptom
}

// explains says whether the trace (any of its branches, including the
// failing way of an AMBIGUOUS one) accounts for the reported symptom.
func explains(t Trace, reported string) bool {
	if agrees(t.Symptom, reported) {
		return true
	}
	if t.Verdict == Ambiguous && t.mayFail != "" && agrees(symptomOf(t.mayFail, false), reported) {
		return true
	}
	for _, b := range t.Branches {
		if explains(b, reported) {
			return true
		}
	}
	return false
}

// symptomOf is what the customer sees for a verdict: the kernel answers a
// REJECT with a TCP RST or ICMP port-unreachable (connect: ECONNREFUSED),
// a silent DROP leaves the client retransmitting SYNs until it times out;
// behind an HTTP(S) CLB listener the CLB turns an unreachable backend into
// 504 Gateway Timeout (and a refused one into 502).
func symptomOf(v Verdict, l7 bool) string {
	switch v {
	case Dropped:
		if l7 {
			return "http-504"
		}
		return "timeout"
	case Rejected:
		if l7 {
			return "http-502"
		}
		return "refused"
	case NoRoute:
		if l7 {
			return "http-504"
		}
		return "timeout"
	}
	return ""
}

// agrees compares the simulated symptom with the reported one. A timeout
// and a 504 are the same failure seen from two places (the CLB waits for
// the backend, then answers 504).
func agrees(sim, reported string) bool {
	norm := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		switch s {
		case "connection refused", "econnrefused", "rst":
			return "refused"
		case "timed out", "time out", "no response":
			return "timeout"
		case "no-route-to-host", "network-unreachable", "host-unreachable":
			return "timeout"
		}
		return s
	}
	a, b := norm(sim), norm(reported)
	if a == b {
		return true
	}
	pair := map[[2]string]bool{{"timeout", "http-504"}: true, {"http-504", "timeout"}: true}
	return pair[[2]string{a, b}]
}

func itoa(n int) string { return strconv.Itoa(n) }

func newFinding(id string, args finding.Args, objects []string, evs ...finding.Evidence) *finding.Finding {
	f := finding.New(id, args, objects, evs...)
	return &f
}
