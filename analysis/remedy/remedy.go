// Package remedy turns a finding's remedy into data — the exact change and
// the command that makes it — applies it to a copy of the cluster model,
// and traces the reported flows again: the report can then say "verified:
// with this change the flow is DELIVERED", or what still blocks it. That
// is the step from "probably" to "checked".
//
// Fixes follow the TKE guide "网络无法访问": the NodePort range is opened
// for TCP and UDP 30000-32768 from the clients' range (0.0.0.0/0 for a
// public Service, the VPC CIDR for an intranet one), the pod CIDR, the
// peer's VPC/subnet CIDR, the IDC CIDR — never the test packet's /32.
package remedy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"path"
	"strconv"
	"strings"

	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/trace"
	"tkesnap/parsers/iptables"
	"tkesnap/parsers/sysctl"
	"tkesnap/parsers/tencent"
)

// Analyzer verifies remedies in the driver's result assembly: over the
// run's findings merged one per fault, each fix is applied to a copy of
// the model and the reported flows it explains are traced again.
var Analyzer = &driver.Analyzer{
	Name:     "remedy",
	Doc:      "remedy applies each finding's fix to a copy of the model and re-traces the reported flows it explains (verified DELIVERED, or what still blocks).",
	Requires: []*driver.Analyzer{trace.Analyzer},
	Run:      func(*driver.Pass) (any, error) { return nil, nil },
	Finish: func(p *driver.Pass, fs []finding.Finding) []finding.Finding {
		ts, _ := p.ResultOf[trace.Analyzer].([]trace.Trace)
		return Verify(p.Cluster, fs, ts)
	},
}

// Suggest builds the fix of a finding from its arguments, or nil when the
// finding's remedy is not a change the model can express.
func Suggest(f finding.Finding) *finding.Fix {
	a := f.Args
	switch f.ID {
	case "SG_NODEPORT_RANGE_BLOCKED":
		// guide: the node SG opens TCP and UDP 30000-32768 to where the
		// CLB and its clients come from
		return sgFix(a, []string{"TCP", "UDP"}, "30000-32768", first(a["range"], a["source"]), "NodePort range")
	case "CLB_SG_BLOCKS_LISTENER":
		return sgFix(a, []string{first(a["proto"], "TCP")}, a["port"], first(a["range"], a["source"]), "CLB listener "+a["port"])
	case "SG_POD_CIDR_BLOCKED":
		return sgFix(a, []string{"ALL"}, "ALL", a["cidr"], "cluster pod CIDR")
	case "SG_VPC_CIDR_BLOCKED":
		return sgFix(a, []string{"ALL"}, "ALL", a["cidr"], "VPC CIDR")
	case "SG_IDC_CIDR_BLOCKED":
		return sgFix(a, []string{"ALL"}, "ALL", a["cidr"], "IDC CIDR")
	case "SG_BLOCKS_FLOW":
		return nil // the flow's own peer: no range the guide names
	case "ROUTE_MISSING":
		// GlobalRouter: TKE keeps one cluster route per node pod CIDR
		// in the cluster's route table, next hop the node
		if a["via_kind"] != "node" || a["table"] == "" || a["cidr"] == "" || a["via_id"] == "" || a["disabled"] != "" {
			return nil
		}
		return &finding.Fix{Kind: "cluster-route", RouteTable: a["table"], CIDR: a["cidr"], Gateway: a["via_id"], Commands: []string{
			"tccli tke CreateClusterRoute --RouteTableName " + a["table"] + " --DestinationCidrBlock " + a["cidr"] + " --GatewayIp " + a["via_id"],
		}}
	case "MASQ_HIDES_SOURCE":
		// ip-masq-agent keeps the pod source for NonMasqueradeCIDRs; its
		// configmap's "config" key holds the list
		cm, cidr := "kube-system/ip-masq-agent-config", a["cidr"]
		if cidr == "" {
			return nil
		}
		list := splitCIDRs(a["nonmasq"])
		list = append(list, cidr)
		return &finding.Fix{Kind: "configmap", ConfigMap: cm, Key: "NonMasqueradeCIDRs", CIDR: cidr, Commands: []string{
			"kubectl -n kube-system edit configmap ip-masq-agent-config   # in data.config set NonMasqueradeCIDRs: [" + strings.Join(list, ", ") + "]; the agent applies it at its next resync",
		}}
	case "IPTABLES_DROPS_FLOW", "IPTABLES_BACKEND_SPLIT":
		// a rule kube-proxy does not own (or a stale backend's entry of a
		// Service, which the tracer names in file/line/text when it
		// decides a flow): delete it by its spec (-D with the rule as
		// iptables-save printed it), on the node it is on
		text, node := a["text"], a["node"]
		spec, ok := strings.CutPrefix(text, "-A ")
		line, err := strconv.Atoi(a["line"])
		if !ok || node == "" || a["table"] == "" || err != nil || line <= 0 {
			return nil
		}
		file := dumpFile(f)
		if a["file"] != "" {
			file = a["file"]
		}
		// the rule is deleted in the backend whose dump holds it
		tool := "iptables"
		switch path.Base(file) {
		case model.FileIPTablesLegacy:
			tool = "iptables-legacy"
		case model.FileIPTablesNft:
			tool = "iptables-nft"
		}
		return &finding.Fix{Kind: "iptables-delete", Node: node, Table: a["table"], Chain: a["chain"], Line: line, File: file,
			Commands: []string{
				tool + " -t " + a["table"] + " -D " + spec + "   # on node " + node + "; remove it where it is made too (the script or DaemonSet that adds it), or it comes back",
			}}
	case "IP_FORWARD_DISABLED":
		node, key := a["node"], first(a["key"], "net.ipv4.ip_forward")
		if node == "" {
			return nil
		}
		return &finding.Fix{Kind: "sysctl", Node: node, Key: key, Value: "1", Commands: []string{
			"sysctl -w " + key + "=1   # on node " + node,
			"echo '" + key + " = 1' > /etc/sysctl.d/99-tkesnap-forward.conf   # keep it across reboots",
		}}
	}
	return nil
}

// dumpFile is the iptables dump a finding cites ("" when none).
func dumpFile(f finding.Finding) string {
	for _, e := range f.Evidence {
		if strings.HasPrefix(e.File, "nodes/") && strings.Contains(e.File, "tables") {
			return e.File
		}
	}
	return ""
}

func sgFix(a finding.Args, protos []string, port, cidr, what string) *finding.Fix {
	sg := a["sg"]
	if sg == "" || cidr == "" || port == "" {
		return nil
	}
	fx := &finding.Fix{Kind: "sg-policy", SG: sg, Direction: first(a["dir"], "ingress"), Protocols: protos, Port: port, CIDR: cidr}
	if b, err := strconv.Atoi(a["before"]); err == nil && b >= 0 {
		fx.Before = &b
	}
	fx.Commands = []string{sgCommand(fx, "tkesnap: "+what)}
	return fx
}

// sgCommand is the tccli call that inserts the policies: every policy of
// one request carries the same PolicyIndex (a CreateSecurityGroupPolicies
// rule), so TCP and UDP both land before the policy that drops.
func sgCommand(fx *finding.Fix, desc string) string {
	type policy struct {
		PolicyIndex       *int   `json:",omitempty"`
		Protocol          string `json:"Protocol"`
		Port              string `json:"Port"`
		CidrBlock         string `json:"CidrBlock"`
		Action            string `json:"Action"`
		PolicyDescription string `json:"PolicyDescription"`
	}
	var ps []policy
	for _, cidr := range splitCIDRs(fx.CIDR) {
		for _, p := range fx.Protocols {
			ps = append(ps, policy{PolicyIndex: fx.Before, Protocol: p, Port: fx.Port, CidrBlock: cidr, Action: "ACCEPT", PolicyDescription: desc})
		}
	}
	dir := "Ingress"
	if fx.Direction == "egress" {
		dir = "Egress"
	}
	set, _ := json.Marshal(map[string][]policy{dir: ps})
	return fmt.Sprintf("tccli vpc CreateSecurityGroupPolicies --SecurityGroupId %s --SecurityGroupPolicySet '%s'", fx.SG, set)
}

// splitCIDRs splits "10.0.0.0/16, 10.1.0.0/16" into its CIDRs.
func splitCIDRs(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, f)
	}
	return out
}

func first(xs ...string) string {
	for _, x := range xs {
		if x != "" {
			return x
		}
	}
	return ""
}

// Apply returns a copy of c with fx made; c itself is not modified (the
// copy shares everything the fix does not touch).
func Apply(c *model.Cluster, fx *finding.Fix) (*model.Cluster, error) {
	cp := *c
	// the captures witnessed the cluster before the change: against the
	// changed model they would only contradict it
	cp.Captures = nil
	switch fx.Kind {
	case "sg-policy":
		sg := c.Cloud.SecurityGroups[fx.SG]
		if sg == nil || !sg.HasPolicies() {
			return nil, fmt.Errorf("security group %s has no collected policies", fx.SG)
		}
		ns := *sg
		dir := model.Direction(fx.Direction)
		var add []*model.Policy
		for _, cidr := range splitCIDRs(fx.CIDR) {
			peer, err := tencent.ParseAddress(cidr)
			if err != nil {
				return nil, fmt.Errorf("fix CIDR %q: %w", cidr, err)
			}
			for _, proto := range fx.Protocols {
				ports, err := tencent.ParsePorts(fx.Port)
				if err != nil {
					return nil, fmt.Errorf("fix port %q: %w", fx.Port, err)
				}
				add = append(add, &model.Policy{SG: fx.SG, Dir: dir, Action: "ACCEPT", Proto: strings.ToLower(proto), Ports: ports, Peer: peer, Desc: "tkesnap fix"})
			}
		}
		list := sg.Ingress
		if dir == model.DirEgress {
			list = sg.Egress
		}
		list = insert(list, add, fx.Before)
		if dir == model.DirEgress {
			ns.Egress = list
		} else {
			ns.Ingress = list
		}
		cp.Cloud.SecurityGroups = make(map[string]*model.SecurityGroup, len(c.Cloud.SecurityGroups))
		for k, v := range c.Cloud.SecurityGroups {
			cp.Cloud.SecurityGroups[k] = v
		}
		cp.Cloud.SecurityGroups[fx.SG] = &ns
	case "sysctl":
		cp.Nodes = make([]*model.Node, len(c.Nodes))
		found := false
		for i, n := range c.Nodes {
			cp.Nodes[i] = n
			if n.Name != fx.Node || n.Sysctl == nil {
				continue
			}
			nn := *n
			t := &sysctl.Table{Values: map[string]sysctl.Value{}}
			for k, v := range n.Sysctl.Values {
				// ip_forward=1 sets forwarding on every interface
				if fx.Key == "net.ipv4.ip_forward" && strings.HasPrefix(k, "net.ipv4.conf.") && strings.HasSuffix(k, ".forwarding") {
					v.Value = fx.Value
				}
				t.Values[k] = v
			}
			t.Values[fx.Key] = sysctl.Value{Value: fx.Value, Line: n.Sysctl.Values[fx.Key].Line}
			nn.Sysctl = t
			cp.Nodes[i] = &nn
			found = true
		}
		if !found {
			return nil, fmt.Errorf("node %s has no sysctl.txt", fx.Node)
		}
	case "cluster-route":
		dst, err := netip.ParsePrefix(fx.CIDR)
		if err != nil {
			return nil, fmt.Errorf("fix CIDR %q: %w", fx.CIDR, err)
		}
		gw, err := netip.ParseAddr(fx.Gateway)
		if err != nil {
			return nil, fmt.Errorf("fix gateway %q: %w", fx.Gateway, err)
		}
		if !c.Cloud.Have.ClusterRoutes {
			return nil, fmt.Errorf("cloud/cluster-routes.json was not collected")
		}
		cp.Cloud.ClusterRoutes = append(append([]*model.ClusterRoute(nil), c.Cloud.ClusterRoutes...), &model.ClusterRoute{
			ClusterRoute: tencent.ClusterRoute{RouteTableName: fx.RouteTable, DestinationCidrBlock: fx.CIDR, GatewayIp: fx.Gateway},
			Dst:          dst, Gateway: gw})
	case "iptables-delete":
		return deleteRule(c, &cp, fx)
	case "configmap":
		// the nodes' IP-MASQ-AGENT chains decide the source where their
		// dumps were collected: the agent rewrites them from the
		// configmap only at its next resync, so the model cannot apply
		// the change to them exactly
		for _, n := range c.Nodes {
			if _, ok := c.MasqChain(n); ok {
				return nil, unapplicable{finding.Say("fix.masqchain", n.Name)}
			}
		}
		if c.Kube.Masq == nil {
			return nil, fmt.Errorf("configmap %s is not in the bundle", fx.ConfigMap)
		}
		p, err := netip.ParsePrefix(fx.CIDR)
		if err != nil {
			return nil, fmt.Errorf("fix CIDR %q: %w", fx.CIDR, err)
		}
		m := *c.Kube.Masq
		m.NonMasqueradeCIDRs = append(append([]netip.Prefix(nil), m.NonMasqueradeCIDRs...), p)
		m.NonMasqSet = true
		cp.Kube.Masq = &m
	default:
		return nil, fmt.Errorf("fix kind %q cannot be applied to the model", fx.Kind)
	}
	return &cp, nil
}

// deleteRule removes the rule at fx.Line of the cited dump from every dump
// of the node's same backend (iptables-save.txt and iptables-nft-save.txt
// are two views of one nf_tables ruleset: iptables -D removes it from
// both). Each dump is read again from the bundle with the rule's line
// blanked (every other line keeps its number, so re-traces cite the same
// lines) and parsed on its own.
func deleteRule(c, cp *model.Cluster, fx *finding.Fix) (*model.Cluster, error) {
	if c.Bundle == nil {
		return nil, fmt.Errorf("no bundle to read the dump from")
	}
	cp.Nodes = make([]*model.Node, len(c.Nodes))
	copy(cp.Nodes, c.Nodes)
	for i, n := range c.Nodes {
		if n.Name != fx.Node {
			continue
		}
		cited := n.IPv4()
		for _, x := range n.IPTables {
			if fx.File != "" && x.File == fx.File {
				cited = x
			}
		}
		if cited == nil || cited.Rules == nil {
			return nil, fmt.Errorf("node %s has no iptables dump", fx.Node)
		}
		lines, err := readLines(c, cited.File)
		if err != nil {
			return nil, err
		}
		if fx.Line > len(lines) || !strings.HasPrefix(stripCounters(lines[fx.Line-1]), "-A "+fx.Chain+" ") {
			return nil, fmt.Errorf("line %d of %s is not a rule of chain %s", fx.Line, cited.File, fx.Chain)
		}
		rule := stripCounters(lines[fx.Line-1])
		nn := *n
		nn.IPTables = make([]*model.IPTablesDump, len(n.IPTables))
		copy(nn.IPTables, n.IPTables)
		for j, d := range n.IPTables {
			if d.Name == model.FileIP6Tables || d.Rules == nil || d != cited && d.Rules.Backend != cited.Rules.Backend {
				continue
			}
			ls, err := readLines(c, d.File)
			if err != nil {
				return nil, err
			}
			table, changed := "", false
			for k, l := range ls {
				if strings.HasPrefix(l, "*") {
					table = strings.TrimSpace(l[1:])
				}
				if table == fx.Table && stripCounters(l) == rule {
					ls[k], changed = "", true
					break
				}
			}
			if !changed {
				continue
			}
			rs, err := iptables.ParseString(strings.Join(ls, "\n"), iptables.Options{Limits: iptables.DefaultLimits()})
			if err != nil && rs == nil {
				return nil, err
			}
			nn.IPTables[j] = &model.IPTablesDump{File: d.File, Name: d.Name, Rules: rs}
		}
		cp.Nodes[i] = &nn
		return cp, nil
	}
	return nil, fmt.Errorf("node %s is not in the bundle", fx.Node)
}

func readLines(c *model.Cluster, file string) ([]string, error) {
	f, err := c.Bundle.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	return strings.Split(string(data), "\n"), nil
}

// stripCounters drops the "[pkts:bytes] " prefix iptables-save -c puts
// before a rule.
func stripCounters(l string) string {
	l = strings.TrimSpace(l)
	if strings.HasPrefix(l, "[") {
		if i := strings.Index(l, "] "); i > 0 {
			return l[i+2:]
		}
	}
	return l
}

// unapplicable: the model cannot apply a fix exactly, and why.
type unapplicable struct{ why finding.Phrase }

func (u unapplicable) Error() string { return u.why.String() }

// insert puts add before the policy of PolicyIndex before (appends when
// before is nil or past the end) and renumbers, as the console does.
func insert(list, add []*model.Policy, before *int) []*model.Policy {
	pos := len(list)
	if before != nil {
		for i, p := range list {
			if p.Index >= *before {
				pos = i
				break
			}
		}
	}
	out := make([]*model.Policy, 0, len(list)+len(add))
	out = append(out, list[:pos]...)
	out = append(out, add...)
	out = append(out, list[pos:]...)
	for i := range out {
		cp := *out[i]
		cp.Index = i
		out[i] = &cp
	}
	return out
}

// Verify gives every finding with a fix its re-traces: the fix is applied
// to a copy of c and each reported flow the finding explains (the flow
// fails and the finding's ID is its reason, or a failing branch's) is
// traced again. A finding that explains no reported flow keeps its fix
// without re-traces. fs is not modified.
func Verify(c *model.Cluster, fs []finding.Finding, ts []trace.Trace) []finding.Finding {
	out := make([]finding.Finding, len(fs))
	copy(out, fs)
	for i := range out {
		f := &out[i]
		fx := Suggest(*f)
		if fx == nil {
			continue
		}
		var flows []model.Flow
		for _, t := range ts {
			if !t.Implicit && (fails(t) || deliveredAsReported(t)) && (hasReason(t, f.ID) || failsAtHop(t, fx)) {
				flows = append(flows, flowOf(c, t))
			}
		}
		if len(flows) > 0 {
			fixed, err := Apply(c, fx)
			if err != nil {
				why := finding.Literal(err.Error())
				if u, ok := err.(unapplicable); ok {
					why = u.why
				}
				fx.Unverified, fx.UnverifiedWhy = why.String(), why
			} else {
				for _, fl := range flows {
					rt := trace.Run(fixed, fl)
					v := finding.Retrace{Flow: fl.From + " → " + fl.To, Verdict: string(rt.Verdict)}
					if rt.Verdict != trace.Delivered || rt.Reason != "" && fl.Symptom != "" && rt.Symptom == fl.Symptom {
						v.Reason = rt.Reason
						v.At = failingAt(rt)
					}
					fx.Verified = append(fx.Verified, v)
				}
			}
		}
		f.Fix = fx
	}
	return out
}

// failsAtHop: the trace (or a failing branch) stops at the hop the fix
// changes — a VPC route for a cluster route, whatever finding the trace
// names as its reason (the node's view of the same missing route).
func failsAtHop(t trace.Trace, fx *finding.Fix) bool {
	for _, s := range t.Steps {
		if !s.Failed {
			continue
		}
		switch fx.Kind {
		case "cluster-route":
			if s.Component == "route" && strings.HasPrefix(s.At, "vpc") && s.Decision == trace.ActNoRoute {
				return true
			}
		}
	}
	for _, b := range t.Branches {
		if fails(b) && failsAtHop(b, fx) {
			return true
		}
	}
	return false
}

// deliveredAsReported: the flow is delivered in the very way the
// customer reported as the fault (the peer sees the node IP).
func deliveredAsReported(t trace.Trace) bool {
	return t.Verdict == trace.Delivered && t.Reason != "" && t.Agrees != nil && *t.Agrees
}

func fails(t trace.Trace) bool {
	switch t.Verdict {
	case trace.Dropped, trace.Rejected, trace.NoRoute:
		return true
	}
	return false
}

func hasReason(t trace.Trace, id string) bool {
	if t.Reason == id {
		return true
	}
	for _, b := range t.Branches {
		if fails(b) && hasReason(b, id) {
			return true
		}
	}
	return false
}

// flowOf finds the reported flow a trace came from (its host, path and
// symptom), else rebuilds it from the trace.
func flowOf(c *model.Cluster, t trace.Trace) model.Flow {
	for _, f := range c.Flows {
		if f.From == t.From && f.To == t.To {
			return f
		}
	}
	return model.Flow{From: t.From, To: t.To, Proto: t.Proto, Symptom: t.Reported}
}

func failingAt(t trace.Trace) string {
	for _, s := range t.Steps {
		if s.Failed {
			return s.At
		}
	}
	for _, b := range t.Branches {
		if b.Verdict != trace.Delivered {
			if at := failingAt(b); at != "" {
				return at
			}
		}
	}
	return ""
}

// Counts says how many findings carry a fix, and how many of those were
// verified: every re-traced flow DELIVERED.
func Counts(fs []finding.Finding) (fixes, verified int) {
	for _, f := range fs {
		if f.Fix == nil {
			continue
		}
		fixes++
		if Delivered(f.Fix) {
			verified++
		}
	}
	return fixes, verified
}

// Delivered: the fix was re-traced and every flow is now delivered.
func Delivered(fx *finding.Fix) bool {
	if fx == nil || len(fx.Verified) == 0 {
		return false
	}
	for _, v := range fx.Verified {
		if v.Verdict != string(trace.Delivered) || v.Reason != "" {
			return false
		}
	}
	return true
}
