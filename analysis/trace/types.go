// Package trace walks a flow hop by hop through everything the bundle knows
// (pod netns, node iptables/IPVS, routes, security groups, VPC routes, CLB)
// and says where and why it stops. A trace is data — Flow → Steps → a
// disposition from a closed set, as in Batfish — rendered separately.
//
// API:
//
//	t := trace.Run(c, model.Flow{From: "pod:default/web-0", To: "svc:default/api:80", Proto: "tcp"})
//	ts := trace.All(c)                 // flows.json + the guide's implicit checks (Implicit)
//	fs := trace.Findings(ts, existing) // IPTABLES_DROPS_FLOW, SG_BLOCKS_FLOW, TRACE_CAPTURE_CONTRADICTS, ...
//	inc := trace.Inconclusive(ts)      // what to collect for UNDETERMINED hops of reported flows
//
// Every hop engine is optional: a hop whose data (a node's dumps, the
// cloud's SGs and routes, the CLB) is missing is an UNDETERMINED step that
// names the file to collect, and the walk goes on assuming it passes, so a
// later hop can still show a definite failure. Captures are witnesses:
// steps say where the packet was seen or not, a capture decides what the
// model leaves AMBIGUOUS, and a capture that contradicts the simulated
// path is reported with the hops outside the bundle that may explain it.
package trace

import (
	"encoding/json"
	"strings"

	"tkesnap/analysis/finding"
)

// Verdict is the disposition of a traced flow (docs/design.md §4).
type Verdict string

const (
	Delivered    Verdict = "DELIVERED"
	Dropped      Verdict = "DROPPED"
	Rejected     Verdict = "REJECTED"
	NoRoute      Verdict = "NO_ROUTE"
	Ambiguous    Verdict = "AMBIGUOUS"
	Undetermined Verdict = "UNDETERMINED"
)

// Trace is one traced flow.
type Trace struct {
	From    string  `json:"from"`
	To      string  `json:"to"`
	Proto   string  `json:"proto,omitempty"`
	Verdict Verdict `json:"verdict"`
	// Reason is the finding ID that explains the verdict, or a short code.
	Reason string `json:"reason"`
	// Symptom is what the customer sees for this verdict (timeout,
	// connection refused, http-504 ...); Reported is the symptom from
	// flows.json, and Agrees says whether the two match.
	Symptom  string `json:"symptom,omitempty"`
	Reported string `json:"reported_symptom,omitempty"`
	Agrees   *bool  `json:"agrees,omitempty"`
	// CannotPredict is set instead of a disagreement when the model does
	// not predict the outcome with certainty, so what the customer or a
	// capture saw contradicts nothing: a code (undecided-hop,
	// undecided-branch, far-side, l7-status, application) that
	// CannotPredictText words.
	CannotPredict string `json:"cannot_predict,omitempty"`
	Steps         []Step `json:"steps"`
	// FailingBranches of BranchCount sub-traces fail definitely (DROPPED,
	// REJECTED, NO_ROUTE) when the flow forks per endpoint: kube-proxy
	// balances new connections, so that share of connections fails. Kept
	// out of Reason, which is always a bare finding ID or short code.
	FailingBranches int `json:"failing_branches,omitempty"`
	BranchCount     int `json:"branch_count,omitempty"`
	// Symptoms lists every distinct symptom of the branches when they
	// differ (one endpoint refuses, another times out): what different
	// clients of the same Service see.
	Symptoms []string `json:"symptoms,omitempty"`
	// Branches are sub-traces, one per endpoint when a Service has several.
	Branches []Trace `json:"branches,omitempty"`
	// Implicit marks a flow tkesnap traced on its own (the guide's checks:
	// pod CIDRs between nodes, CLB to Service, DNS from every node), not
	// one the customer reported (flows.json or --flow). Reports keep
	// implicit flows out of the headline and out of the ticket view.
	Implicit bool `json:"implicit,omitempty"`

	// to words To per language (a branch's end: a real server, a
	// master); empty when To is a flow end the user wrote.
	to []part
	// findings are what this trace establishes (see Findings).
	findings []finding.Finding
	// fallbacks are reason findings for when no check reported the ID.
	fallbacks []finding.Finding
	// mayFail is the failing way of an AMBIGUOUS trace (REJECTED when
	// nothing may listen): what the customer would see if the deciding
	// fact goes the bad way.
	mayFail Verdict
	// outOfService / benched: see walk.
	outOfService bool
	benched      *finding.Finding
	// wrongSource: delivered, but with the source a stale iptables
	// backend's SNAT chose (walk.noteFinding): a failing way of a fork
	wrongSource bool
	// reported: the flow came from flows.json or --flow, not from the
	// guide's implicit checks.
	reported bool
}

// Step is one hop decision.
type Step struct {
	At        string `json:"at"`        // node/10.0.1.5, sg-xxx, clb/lb-xxx, vpc/vpc-xxx
	Component string `json:"component"` // iptables, ipvs, security-group, route, clb, kube, capture
	Detail    string `json:"detail"`
	Before    string `json:"before,omitempty"` // src→dst before the step
	After     string `json:"after,omitempty"`  // src→dst after (NAT)
	Decision  Action `json:"decision,omitempty"`
	// Via is the operand of a decision that names one: the egress
	// interface of ActDev, the nameserver of ActNameserver. The JSON
	// decision keeps them in one string ("dev eth0").
	Via string `json:"-"`
	// Finding is the ID of the finding the step establishes (the reason
	// of the trace when it stops here, KUBE_PROXY_RULES_MISSING on a rule
	// that never sends to a ready endpoint), apart from the action.
	Finding string `json:"finding,omitempty"`
	// Tags qualify the action: TagStale (DNAT to an address that is no
	// endpoint any more), TagStatistic (kube-proxy's per-connection
	// choice of endpoint), TagCapture (a capture decided the step).
	Tags     []string       `json:"tags,omitempty"`
	Failed   bool           `json:"failed,omitempty"`
	Evidence map[string]any `json:"evidence,omitempty"`

	// parts build Detail from the per-language catalog (i18n.go); lang
	// is the language Detail is in ("" English).
	parts []part
	lang  finding.Lang
}

// Action is what a hop decided, from a closed set (Actions). The JSON
// decision keeps the strings the free-form field used to hold, so
// reports and the schema read the same; finding IDs and qualifiers that
// used to be mixed in are in Step.Finding and Step.Tags.
type Action string

// The actions of a step. Verdict-like actions are upper case (what
// iptables, a security group or a route table decided), moves lower case.
const (
	ActAccept        Action = "ACCEPT"
	ActDrop          Action = "DROP"
	ActReject        Action = "REJECT"
	ActAmbiguous     Action = "AMBIGUOUS"    // the hop depends on a fact the bundle lacks
	ActUndetermined  Action = "UNDETERMINED" // the hop's data is not in the bundle
	ActUnknown       Action = "UNKNOWN"
	ActDNAT          Action = "DNAT"
	ActNoDNAT        Action = "NO DNAT"
	ActNAT           Action = "NAT"
	ActFork          Action = "FORK"  // kube-proxy balances connections over endpoints
	ActStale         Action = "STALE" // DNAT to an address that is no endpoint
	ActRulesMissing  Action = "KUBE_PROXY_RULES_MISSING"
	ActNotLocal      Action = "NOT LOCAL"
	ActNoAddress     Action = "NO ADDRESS"
	ActNoRoute       Action = "NO ROUTE"
	ActUnreachable   Action = "UNREACHABLE"
	ActNXDOMAIN      Action = "NXDOMAIN"
	ActHTTP404       Action = "404"
	ActHTTP503       Action = "503"
	ActBothBackends  Action = "both backends"
	ActDev           Action = "dev" // routed out of an interface (Via)
	ActLocal         Action = "local"
	ActRoute         Action = "route"
	ActEnter         Action = "enter"
	ActInternet      Action = "internet"
	ActLeave         Action = "leaves the cluster"
	ActForward       Action = "forward"
	ActListener      Action = "listener"
	ActRule          Action = "rule"
	ActOutOfService  Action = "out of service"
	ActNameserver    Action = "nameserver" // asks a resolver (Via)
	ActAnswer        Action = "answer"
	ActAllowed       Action = "allowed"
	ActDeliver       Action = "deliver"
	ActDelivered     Action = "delivered"
	ActSeen          Action = "seen"
	ActNotSeen       Action = "not seen"
	ActContradiction Action = "contradiction"
	ActCannotPredict Action = "cannot predict"
)

// Actions is the closed set of step actions.
var Actions = []Action{ActAccept, ActDrop, ActReject, ActAmbiguous, ActUndetermined, ActUnknown, ActDNAT, ActNoDNAT, ActNAT,
	ActFork, ActStale, ActRulesMissing, ActNotLocal, ActNoAddress, ActNoRoute, ActUnreachable, ActNXDOMAIN, ActHTTP404,
	ActHTTP503, ActBothBackends, ActDev, ActLocal, ActRoute, ActEnter, ActInternet, ActLeave, ActForward, ActListener, ActRule,
	ActOutOfService, ActNameserver, ActAnswer, ActAllowed, ActDeliver, ActDelivered, ActSeen, ActNotSeen, ActContradiction,
	ActCannotPredict}

// Known reports whether a is one of Actions.
func (a Action) Known() bool {
	for _, x := range Actions {
		if x == a {
			return true
		}
	}
	return false
}

// Step tags (Step.Tags).
const (
	TagStale     = "stale"
	TagStatistic = "statistic"
	TagCapture   = "capture"
)

// DecisionText is the decision as the JSON and the reports show it: the
// action, with its operand for ActDev and ActNameserver ("dev eth0").
func (s Step) DecisionText() string {
	if s.Via != "" && (s.Decision == ActDev || s.Decision == ActNameserver) {
		return string(s.Decision) + " " + s.Via
	}
	return string(s.Decision)
}

// stepJSON is Step as JSON: the field order of Step, decision as
// DecisionText.
type stepJSON struct {
	At        string         `json:"at"`
	Component string         `json:"component"`
	Detail    string         `json:"detail"`
	Before    string         `json:"before,omitempty"`
	After     string         `json:"after,omitempty"`
	Decision  string         `json:"decision,omitempty"`
	Finding   string         `json:"finding,omitempty"`
	Tags      []string       `json:"tags,omitempty"`
	Failed    bool           `json:"failed,omitempty"`
	Evidence  map[string]any `json:"evidence,omitempty"`
}

// MarshalJSON writes decision as DecisionText.
func (s Step) MarshalJSON() ([]byte, error) {
	return json.Marshal(stepJSON{At: s.At, Component: s.Component, Detail: s.Detail, Before: s.Before, After: s.After,
		Decision: s.DecisionText(), Finding: s.Finding, Tags: s.Tags, Failed: s.Failed, Evidence: s.Evidence})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Step) UnmarshalJSON(b []byte) error {
	var in stepJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*s = Step{At: in.At, Component: in.Component, Detail: in.Detail, Before: in.Before, After: in.After,
		Decision: Action(in.Decision), Finding: in.Finding, Tags: in.Tags, Failed: in.Failed, Evidence: in.Evidence}
	for _, a := range []Action{ActDev, ActNameserver} {
		if v, ok := strings.CutPrefix(in.Decision, string(a)+" "); ok {
			s.Decision, s.Via = a, v
		}
	}
	return nil
}
