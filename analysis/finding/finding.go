// Package finding holds what checks report: findings with evidence, items
// that could not be decided for lack of data, and the catalog that gives
// every finding ID its severity and its texts (templates, per language).
//
// Checks never write prose: they report an ID and named arguments, and the
// report renders title, message and remedy from the catalog in the reader's
// language. That keeps IDs stable and translations complete.
package finding

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Severity orders findings; the analyze exit code is derived from the worst.
type Severity int

const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "info"
}

func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

func (s *Severity) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v {
	case "error":
		*s = Error
	case "warning":
		*s = Warning
	case "info":
		*s = Info
	default:
		return fmt.Errorf("unknown severity %q", v)
	}
	return nil
}

// Evidence points at the input that proves a finding: a bundle file and
// line, an SG policy, a Kubernetes object or a captured packet.
type Evidence struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Excerpt string `json:"excerpt,omitempty"`
	// Packet is the 1-based frame number inside File when File is a capture.
	Packet int `json:"packet,omitempty"`
}

// Args are the named values a catalog template is rendered with.
type Args map[string]string

// Finding is one diagnosed fact. Title, Message and Remedy are filled by
// Render from the catalog; checks set ID, Args, Objects and Evidence.
type Finding struct {
	ID       string     `json:"id"`
	Severity Severity   `json:"severity"`
	Title    string     `json:"title"`
	Message  string     `json:"message"`
	Remedy   string     `json:"remedy"`
	Objects  []string   `json:"objects"`
	Evidence []Evidence `json:"evidence"`
	Args     Args       `json:"args,omitempty"`
	// Count is how many reports of the same fault (per node, per source,
	// per evidence file) Merge folded into this finding; 0 or 1 is one.
	Count int `json:"count,omitempty"`
	// BaseSeverity is the catalog's severity when the report judged the
	// finding in context (Judge) and changed it; Severity is then the
	// severity in context.
	BaseSeverity *Severity `json:"base_severity,omitempty"`
	// Explains lists the reported flows ("from → to") whose failing hop
	// this finding explains.
	Explains []string `json:"explains,omitempty"`
	// Fix is the remedy as data (in the manner of go/analysis's
	// SuggestedFix): the exact change, the command that makes it, and what
	// re-tracing the reported flows with the change applied showed.
	Fix *Fix `json:"fix,omitempty"`
	// Said holds the arguments that are sentences of the analysis (what
	// a kube-proxy rule lacks, why a capture is cut) as phrases, worded
	// in the report's language when the finding is rendered; Args holds
	// their English wording for the JSON.
	Said map[string]Phrase `json:"-"`
}

// SayArg sets argument name to a phrase: English in Args, per language
// when rendered.
func (f *Finding) SayArg(name string, p Phrase) *Finding {
	if f.Args == nil {
		f.Args = Args{}
	}
	if f.Said == nil {
		f.Said = map[string]Phrase{}
	}
	f.Args[name] = p.In(EN)
	f.Said[name] = p
	return f
}

// Fix is one concrete change. Kind "sg-policy" inserts security group
// policies (one per protocol, all at PolicyIndex Before; -1 appends);
// "sysctl" sets a node's kernel parameter.
type Fix struct {
	Kind      string   `json:"kind"`
	SG        string   `json:"sg,omitempty"`
	Direction string   `json:"direction,omitempty"`
	Protocols []string `json:"protocols,omitempty"`
	Port      string   `json:"port,omitempty"`
	CIDR      string   `json:"cidr,omitempty"`
	Before    *int     `json:"before,omitempty"`
	Node      string   `json:"node,omitempty"`
	Key       string   `json:"key,omitempty"`
	Value     string   `json:"value,omitempty"`
	// RouteTable and Gateway: a route (cluster-route: the cluster's
	// route table name and the node that owns the pod CIDR).
	RouteTable string `json:"route_table,omitempty"`
	Gateway    string `json:"gateway,omitempty"`
	// Table, Chain and Line: the iptables rule an iptables-delete fix
	// removes (Line in the node's dump File).
	Table string `json:"table,omitempty"`
	Chain string `json:"chain,omitempty"`
	File  string `json:"file,omitempty"`
	Line  int    `json:"line,omitempty"`
	// Rule is the rule an iptables-insert fix puts first in Chain (as
	// iptables-save prints it).
	Rule string `json:"rule,omitempty"`
	// Link is the interface an addr fix binds CIDR to.
	Link string `json:"link,omitempty"`
	// Service is the ns/name a kubectl fix patches.
	Service string `json:"service,omitempty"`
	// ConfigMap is the ns/name a configmap fix edits.
	ConfigMap string `json:"configmap,omitempty"`
	// StandIn is what the re-trace used in place of a CIDR the bundle
	// does not name (CIDR is then empty and the command holds a
	// placeholder): the flow's own peer as a /32, said in the report.
	StandIn string `json:"stand_in,omitempty"`
	// Commands make the change (tccli, kubectl, sysctl).
	Commands []string `json:"commands"`
	// Verified: the reported flows the finding explains, re-traced on the
	// model with the change applied.
	Verified []Retrace `json:"verified,omitempty"`
	// Unverified says why the flows it explains were not re-traced with
	// the fix (the model cannot apply it exactly).
	Unverified string `json:"unverified,omitempty"`
	// UnverifiedWhy is Unverified as a phrase, worded in the report's
	// language.
	UnverifiedWhy Phrase `json:"-"`
}

// Retrace is one reported flow traced again with a fix applied.
type Retrace struct {
	Flow    string `json:"flow"`
	Verdict string `json:"verdict"`
	// Reason and At say what still blocks the flow when it is not
	// delivered.
	Reason string `json:"reason,omitempty"`
	At     string `json:"at,omitempty"`
	// Implicit: a flow tkesnap traced on its own (the finding explains
	// no reported flow), not one the customer reported.
	Implicit bool `json:"implicit,omitempty"`
}

// New makes a finding of a catalogued ID with the catalog's severity.
// An unknown ID is a programming error and panics in tests via the catalog test.
func New(id string, args Args, objects []string, ev ...Evidence) Finding {
	e, ok := Lookup(id)
	sev := Warning
	if ok {
		sev = e.Severity
	}
	if objects == nil {
		objects = []string{}
	}
	if ev == nil {
		ev = []Evidence{}
	}
	return Finding{ID: id, Severity: sev, Args: args, Objects: objects, Evidence: ev}
}

// Inconclusive says which input is missing to decide something, and where
// to collect it.
type Inconclusive struct {
	Need string `json:"need"`
	Node string `json:"node,omitempty"`
	Why  string `json:"why"`
	// Command is what collects Need (the collector's command line), when
	// the item is about a file the bundle lacks.
	Command string `json:"command,omitempty"`
	// Say is Why as a phrase, worded in the report's language (Why is
	// its English wording).
	Say *Phrase `json:"-"`
}

// Because returns an inconclusive item whose reason is worded per
// language.
func Because(need, node string, why Phrase) Inconclusive {
	return Inconclusive{Need: need, Node: node, Why: why.In(EN), Say: &why}
}

// WhyIn is the reason in lang.
func (in Inconclusive) WhyIn(lang Lang) string {
	if in.Say == nil {
		return in.Why
	}
	return in.Say.In(lang)
}

// Problem is something wrong with the bundle itself: a file that could not
// be read or parsed, an archive entry refused for safety.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// Sort orders findings deterministically: severity (worst first), ID,
// then objects and first evidence, so reports are stable across runs.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		if x, y := strings.Join(a.Objects, ","), strings.Join(b.Objects, ","); x != y {
			return x < y
		}
		return evKey(a) < evKey(b)
	})
}

func evKey(f Finding) string {
	if len(f.Evidence) == 0 {
		return ""
	}
	e := f.Evidence[0]
	return fmt.Sprintf("%s:%09d:%09d", e.File, e.Line, e.Packet)
}

// Worst returns the highest severity present, and false when there are none.
func Worst(fs []Finding) (Severity, bool) {
	if len(fs) == 0 {
		return Info, false
	}
	w := Info
	for _, f := range fs {
		if f.Severity > w {
			w = f.Severity
		}
	}
	return w, true
}
