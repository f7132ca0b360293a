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

// Suggest builds the fix of a finding from its arguments (and the
// objects of c they name), or nil when the guide names no one change for
// it. A fix the model cannot re-trace carries Unverified, with why.
func Suggest(c *model.Cluster, f finding.Finding) *finding.Fix {
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
	case "SG_MASTER_SUBNET_BLOCKED":
		// guide: the master SG of an independent cluster admits the API
		// port from the subnet chosen for intranet access (a public CLB:
		// from the clients, 0.0.0.0/0; narrow it at the CLB's SG)
		if a["port"] == "" {
			return nil // the API port is not in the bundle: no command to give
		}
		return sgFix(a, []string{"TCP"}, a["port"], a["cidr"], "API server "+a["port"])
	case "SG_BLOCKS_FLOW":
		// no guide rule names the peer: the peer's network when the cloud
		// data places it, else a placeholder the engineer fills in — the
		// re-trace then puts the flow's peer in its place and says so
		if a["proto"] == "" || a["port"] == "" {
			return nil
		}
		if a["net"] != "" {
			return sgFix(a, []string{a["proto"]}, a["port"], a["net"], "peer "+a["peer"])
		}
		peer, err := netip.ParseAddr(a["peer"])
		if err != nil {
			return nil
		}
		fx := sgFix(a, []string{a["proto"]}, a["port"], netip.PrefixFrom(peer, peer.BitLen()).String(), "peer "+a["peer"])
		if fx == nil {
			return nil
		}
		fx.StandIn, fx.CIDR = fx.CIDR, ""
		fx.Commands = []string{sgCommand(fx, "tkesnap: peer "+a["peer"])}
		return fx
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
	case "KUBE_PROXY_JUMP_MISSING":
		// kube-proxy prepends its entry jumps at every sync; the rule it
		// writes is known, so the model inserts it and re-traces
		node, table, hook, chain := a["node"], a["table"], a["hook"], a["chain"]
		if node == "" || table == "" || hook == "" || chain == "" {
			return nil
		}
		fx := &finding.Fix{Kind: "iptables-insert", Node: node, Table: table, Chain: hook, File: a["file"],
			Commands: []string{restartKubeProxy(node)}}
		if rule, ok := kubeProxyJumpRule(table, hook, chain); ok {
			fx.Rule = rule
			fx.Commands = append(fx.Commands, "iptables -t "+table+" -I "+strings.TrimPrefix(rule, "-A ")+"   # on node "+node+": the same rule at once, until kube-proxy's next sync")
		} else {
			unverified(fx, finding.Say("fix.kpjump", table, hook, chain))
		}
		return fx
	case "KUBE_PROXY_RULES_MISSING":
		// the guide: kube-proxy rewrites every Service's rules when it
		// starts; which rules it would write are not in the bundle
		node := a["node"]
		if node == "" {
			return nil
		}
		fx := &finding.Fix{Kind: "kubectl", Node: node, Commands: []string{restartKubeProxy(node)}}
		unverified(fx, finding.Say("fix.kprules", node))
		return fx
	case "IPVS_VIP_UNBOUND":
		// IPVS mode: kube-proxy binds every Service address to the dummy
		// kube-ipvs0 so the node accepts it as local
		node, vip := a["node"], a["vip"]
		ip, err := netip.ParseAddr(vip)
		if node == "" || err != nil {
			return nil
		}
		pfx := netip.PrefixFrom(ip, ip.BitLen()).String()
		return &finding.Fix{Kind: "addr", Node: node, Link: "kube-ipvs0", CIDR: pfx, Commands: []string{
			restartKubeProxy(node),
			"ip addr add " + pfx + " dev kube-ipvs0   # on node " + node + ": the same binding at once, until kube-proxy's next sync",
		}}
	case "SVC_TARGET_PORT_MISMATCH":
		// the guide: the Service's targetPort is the port the pods
		// listen on (their declared containerPort)
		return targetPortFix(c, a)
	case "NETPOL_DENIES_FLOW":
		return netpolFix(c, a)
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

// unverified marks a fix the model cannot re-trace, and why.
func unverified(fx *finding.Fix, why finding.Phrase) {
	fx.Unverified, fx.UnverifiedWhy = why.String(), why
}

// restartKubeProxy is the guide's way to have kube-proxy write a node's
// rules again: its DaemonSet pod on the node is recreated and syncs every
// Service at start.
func restartKubeProxy(node string) string {
	return "kubectl -n kube-system delete pod -l k8s-app=kube-proxy --field-selector spec.nodeName=" + node +
		"   # the DaemonSet starts a new kube-proxy on " + node + ", which writes every Service's rules"
}

// kubeProxyJumpRule is the entry jump kube-proxy writes (its
// iptablesJumpChains), when it is a plain jump the model can insert as
// is; the filter jumps it guards with conntrack state are left out.
func kubeProxyJumpRule(table, hook, chain string) (string, bool) {
	comment := map[[3]string]string{
		{"nat", "PREROUTING", "KUBE-SERVICES"}:     "kubernetes service portals",
		{"nat", "OUTPUT", "KUBE-SERVICES"}:         "kubernetes service portals",
		{"nat", "POSTROUTING", "KUBE-POSTROUTING"}: "kubernetes postrouting rules",
		{"filter", "FORWARD", "KUBE-FORWARD"}:      "kubernetes forwarding rules",
	}[[3]string{table, hook, chain}]
	if comment == "" {
		return "", false
	}
	return "-A " + hook + " -m comment --comment \"" + comment + "\" -j " + chain, true
}

// targetPortFix patches the Service port's targetPort to the port the
// selected pods declare (the check's suggest).
func targetPortFix(c *model.Cluster, a finding.Args) *finding.Fix {
	ns, name, ok := strings.Cut(a["service"], "/")
	want, err := strconv.Atoi(a["suggest"])
	if !ok || err != nil || c == nil {
		return nil
	}
	sv := c.Kube.Service(ns, name)
	if sv == nil {
		return nil
	}
	// "http(80/TCP)" or "80/TCP": the Service port by name, else number
	pname, rest, named := strings.Cut(a["port"], "(")
	num := strings.TrimSuffix(rest, ")")
	if !named {
		num, pname = pname, ""
	}
	num, _, _ = strings.Cut(num, "/")
	idx := -1
	for i, sp := range sv.Spec.Ports {
		if pname != "" && sp.Name == pname || pname == "" && strconv.Itoa(int(sp.Port)) == num {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil
	}
	// a strategic merge patch finds the port by its number (the ports'
	// merge key); two ports of one number (TCP and UDP 53) need the
	// JSON patch by index
	same := 0
	for _, sp := range sv.Spec.Ports {
		if sp.Port == sv.Spec.Ports[idx].Port {
			same++
		}
	}
	cmd := fmt.Sprintf(`kubectl -n %s patch service %s -p '{"spec":{"ports":[{"port":%d,"targetPort":%d}]}}'`, ns, name, sv.Spec.Ports[idx].Port, want)
	if same > 1 {
		cmd = fmt.Sprintf(`kubectl -n %s patch service %s --type=json -p '[{"op":"replace","path":"/spec/ports/%d/targetPort","value":%d}]'`, ns, name, idx, want)
	}
	fx := &finding.Fix{Kind: "kubectl", Service: a["service"], Port: strconv.Itoa(want), Commands: []string{cmd}}
	unverified(fx, finding.Say("fix.targetport", a["service"]))
	return fx
}

// netpolFix adds a NetworkPolicy that admits the denied flow: the
// isolated pod selected by its labels, the peer pod by its labels (and
// its namespace's name), the port and protocol of the flow.
func netpolFix(c *model.Cluster, a finding.Args) *finding.Fix {
	if c == nil {
		return nil
	}
	ns, name, ok := strings.Cut(a["pod"], "/")
	peerNS, peerName, pok := strings.Cut(a["peer_pod"], "/")
	port, err := strconv.Atoi(a["port"])
	if !ok || !pok || err != nil || a["proto"] == "" {
		return nil
	}
	pod, peer := c.Kube.Pod(ns, name), c.Kube.Pod(peerNS, peerName)
	if pod == nil || peer == nil || len(pod.Labels) == 0 || len(peer.Labels) == 0 {
		return nil
	}
	dir, peerKey := "ingress", "from"
	if a["direction"] == "Egress" {
		dir, peerKey = "egress", "to"
	}
	sel := map[string]any{"podSelector": map[string]any{"matchLabels": peer.Labels}}
	if peerNS != ns {
		sel["namespaceSelector"] = map[string]any{"matchLabels": map[string]string{"kubernetes.io/metadata.name": peerNS}}
	}
	rule := map[string]any{peerKey: []any{sel}, "ports": []any{map[string]any{"protocol": strings.ToUpper(a["proto"]), "port": port}}}
	np := map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
		"metadata": map[string]any{"name": "allow-" + peerName + "-" + name, "namespace": ns},
		"spec": map[string]any{
			"podSelector": map[string]any{"matchLabels": pod.Labels},
			"policyTypes": []string{strings.ToUpper(dir[:1]) + dir[1:]},
			dir:           []any{rule},
		},
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(np) != nil || strings.Contains(b.String(), "'") {
		return nil // the manifest is one single-quoted shell word
	}
	fx := &finding.Fix{Kind: "kubectl", Commands: []string{
		"echo '" + strings.TrimSuffix(b.String(), "\n") + "' | kubectl apply -f -",
	}}
	unverified(fx, finding.Say("fix.netpol"))
	return fx
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
	cidrs := splitCIDRs(fx.CIDR)
	if len(cidrs) == 0 {
		// the network the bundle does not name: the engineer's to fill in
		// (no quote in it: the set is one single-quoted shell word)
		peer, _, _ := strings.Cut(fx.StandIn, "/")
		cidrs = []string{"<CIDR of the network of " + peer + ">"}
	}
	for _, cidr := range cidrs {
		for _, p := range fx.Protocols {
			ps = append(ps, policy{PolicyIndex: fx.Before, Protocol: p, Port: fx.Port, CidrBlock: cidr, Action: "ACCEPT", PolicyDescription: desc})
		}
	}
	dir := "Ingress"
	if fx.Direction == "egress" {
		dir = "Egress"
	}
	var set strings.Builder
	enc := json.NewEncoder(&set)
	enc.SetEscapeHTML(false) // the placeholder's <> as typed
	_ = enc.Encode(map[string][]policy{dir: ps})
	return fmt.Sprintf("tccli vpc CreateSecurityGroupPolicies --SecurityGroupId %s --SecurityGroupPolicySet '%s'", fx.SG, strings.TrimSuffix(set.String(), "\n"))
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
		cidrs := fx.CIDR
		if cidrs == "" {
			cidrs = fx.StandIn // what the report says the re-trace used
		}
		for _, cidr := range splitCIDRs(cidrs) {
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
	case "iptables-insert":
		return insertRule(c, &cp, fx)
	case "addr":
		return bindAddr(c, &cp, fx)
	case "configmap":
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
		// the nodes' IP-MASQ-AGENT chains decide the source where their
		// dumps were collected: the agent rewrites each chain whole from
		// the configmap at its next resync, and what it writes is known
		return rewriteMasqChains(c, &cp, &m)
	default:
		return nil, fmt.Errorf("fix kind %q cannot be applied to the model", fx.Kind)
	}
	return &cp, nil
}

// deleteRule removes the rule at fx.Line of the cited dump from every dump
// of the node's same backend (iptables-save.txt and iptables-nft-save.txt
// are two views of one nf_tables ruleset: iptables -D removes it from
// both). The rule's line is blanked (every other line keeps its number,
// so re-traces cite the same lines).
func deleteRule(c, cp *model.Cluster, fx *finding.Fix) (*model.Cluster, error) {
	var rule string
	check := func(cited *model.IPTablesDump, lines []string) error {
		if fx.Line > len(lines) || !strings.HasPrefix(stripCounters(lines[fx.Line-1]), "-A "+fx.Chain+" ") {
			return fmt.Errorf("line %d of %s is not a rule of chain %s", fx.Line, cited.File, fx.Chain)
		}
		rule = stripCounters(lines[fx.Line-1])
		return nil
	}
	return editDumps(c, cp, fx.Node, fx.File, check, func(ls []string) ([]string, bool) {
		table := ""
		for k, l := range ls {
			if strings.HasPrefix(l, "*") {
				table = strings.TrimSpace(l[1:])
			}
			if table == fx.Table && stripCounters(l) == rule {
				ls[k] = ""
				return ls, true
			}
		}
		return nil, false
	})
}

// insertRule puts fx.Rule first in chain fx.Chain of table fx.Table (as
// iptables -I does), in every dump of the node's backend.
func insertRule(c, cp *model.Cluster, fx *finding.Fix) (*model.Cluster, error) {
	if !strings.HasPrefix(fx.Rule, "-A "+fx.Chain+" ") {
		return nil, fmt.Errorf("rule %q is not a rule of chain %s", fx.Rule, fx.Chain)
	}
	return editDumps(c, cp, fx.Node, fx.File, nil, func(ls []string) ([]string, bool) {
		table, at := "", -1
		for k, l := range ls {
			switch {
			case strings.HasPrefix(l, "*"):
				table = strings.TrimSpace(l[1:])
			case table != fx.Table:
			case strings.HasPrefix(stripCounters(l), "-A "+fx.Chain+" "):
				at = k
			case strings.TrimSpace(l) == "COMMIT":
				at = k
			}
			if at >= 0 {
				break
			}
		}
		if at < 0 {
			return nil, false
		}
		return append(append(append([]string(nil), ls[:at]...), fx.Rule), ls[at:]...), true
	})
}

// ip-masq-agent's rules (kubernetes-sigs/ip-masq-agent syncMasqRules): it
// flushes IP-MASQ-AGENT and writes a RETURN per non-masquerade CIDR
// (169.254.0.0/16 first unless masqLinkLocal), then the MASQUERADE.
const (
	masqChain      = "IP-MASQ-AGENT"
	nonMasqComment = `-m comment --comment "ip-masq-agent: local traffic is not subject to MASQUERADE"`
	masqRule       = `-A IP-MASQ-AGENT -m comment --comment "ip-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE`
)

// rewriteMasqChains writes every node's IP-MASQ-AGENT chain as the agent
// writes it from m at its next resync.
func rewriteMasqChains(c, cp *model.Cluster, m *model.MasqConfig) (*model.Cluster, error) {
	var rules []string
	if !m.MasqLinkLocal {
		rules = append(rules, "-A "+masqChain+" -d 169.254.0.0/16 "+nonMasqComment+" -j RETURN")
	}
	for _, p := range m.NonMasqueradeCIDRs {
		if p.Addr().Is4() {
			rules = append(rules, "-A "+masqChain+" -d "+p.String()+" "+nonMasqComment+" -j RETURN")
		}
	}
	rules = append(rules, masqRule)
	out := cp
	for _, n := range c.Nodes {
		if _, ok := c.MasqChain(n); !ok {
			continue
		}
		var err error
		// each node's edit starts from the copy so far
		out, err = editDumps(out, out, n.Name, "", nil, func(ls []string) ([]string, bool) {
			table, at := "", -1
			var kept []string
			for _, l := range ls {
				if strings.HasPrefix(l, "*") {
					table = strings.TrimSpace(l[1:])
				}
				if table == "nat" && strings.HasPrefix(stripCounters(l), "-A "+masqChain+" ") {
					if at < 0 {
						at = len(kept)
					}
					continue
				}
				kept = append(kept, l)
			}
			if at < 0 {
				return nil, false
			}
			return append(append(append([]string(nil), kept[:at]...), rules...), kept[at:]...), true
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// bindAddr binds fx.CIDR to the node's link fx.Link (ip addr add): the
// node then takes the address as local.
func bindAddr(c, cp *model.Cluster, fx *finding.Fix) (*model.Cluster, error) {
	p, err := netip.ParsePrefix(fx.CIDR)
	if err != nil {
		return nil, fmt.Errorf("fix CIDR %q: %w", fx.CIDR, err)
	}
	cp.Nodes = append([]*model.Node(nil), c.Nodes...)
	for i, n := range c.Nodes {
		if n.Name != fx.Node {
			continue
		}
		d, ok := n.Datapath.WithAddr(fx.Link, p)
		if !ok {
			return nil, fmt.Errorf("node %s has no link %s in ip-addr.json", fx.Node, fx.Link)
		}
		nn := *n
		nn.Datapath = d
		cp.Nodes[i] = &nn
		return cp, nil
	}
	return nil, fmt.Errorf("node %s is not in the bundle", fx.Node)
}

// editDumps changes the text of node's iptables dumps with edit — the
// cited one (file, else the node's IPv4 dump) and every other view of
// its backend — and parses each changed dump again on its own (read from
// the bundle: an edit of several nodes edits each node's files once).
// check, when set, vets the cited dump's lines first; edit returns the
// new lines, or false when the change does not apply to a dump.
func editDumps(c, cp *model.Cluster, node, file string, check func(*model.IPTablesDump, []string) error, edit func([]string) ([]string, bool)) (*model.Cluster, error) {
	if c.Bundle == nil {
		return nil, fmt.Errorf("no bundle to read the dump from")
	}
	nodes := append([]*model.Node(nil), c.Nodes...)
	for i, n := range c.Nodes {
		if n.Name != node {
			continue
		}
		cited := n.IPv4()
		for _, x := range n.IPTables {
			if file != "" && x.File == file {
				cited = x
			}
		}
		if cited == nil || cited.Rules == nil {
			return nil, fmt.Errorf("node %s has no iptables dump", node)
		}
		if check != nil {
			lines, err := readLines(c, cited.File)
			if err != nil {
				return nil, err
			}
			if err := check(cited, lines); err != nil {
				return nil, err
			}
		}
		nn := *n
		nn.IPTables = append([]*model.IPTablesDump(nil), n.IPTables...)
		citedChanged := false
		for j, d := range n.IPTables {
			if d.Name == model.FileIP6Tables || d.Rules == nil || d != cited && d.Rules.Backend != cited.Rules.Backend {
				continue
			}
			ls, err := readLines(c, d.File)
			if err != nil {
				return nil, err
			}
			ls, ok := edit(ls)
			if !ok {
				continue
			}
			rs, err := iptables.ParseString(strings.Join(ls, "\n"), iptables.Options{Limits: iptables.DefaultLimits()})
			if err != nil && rs == nil {
				return nil, err
			}
			nn.IPTables[j] = &model.IPTablesDump{File: d.File, Name: d.Name, Rules: rs}
			citedChanged = citedChanged || d == cited
		}
		if !citedChanged {
			return nil, fmt.Errorf("the change does not apply to %s", cited.File)
		}
		nodes[i] = &nn
		out := *cp
		out.Nodes = nodes
		// derived views of the old dumps (the masquerade chain) go
		out.Kube.ResetDerived()
		return &out, nil
	}
	return nil, fmt.Errorf("node %s is not in the bundle", node)
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
		fx := Suggest(c, *f)
		if fx == nil {
			continue
		}
		var flows []model.Flow
		implicit := false
		explained := func(t trace.Trace) bool {
			return (fails(t) || deliveredAsReported(t)) && (hasReason(t, f.ID) || failsAtHop(t, fx)) && atFixedNode(t, fx)
		}
		for _, t := range ts {
			if !t.Implicit && explained(t) {
				flows = append(flows, flowOf(c, t))
			}
		}
		if len(flows) == 0 {
			// no reported flow: the flows tkesnap traced on its own that
			// fail for this finding are what the fix must deliver (the
			// report names each)
			for _, t := range ts {
				if t.Implicit && explained(t) {
					flows = append(flows, flowOf(c, t))
					implicit = true
				}
			}
		}
		if len(flows) > 0 && fx.Unverified == "" {
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
					v := finding.Retrace{Flow: fl.From + " → " + fl.To, Verdict: string(rt.Verdict), Implicit: implicit}
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

// atFixedNode: a fix made on one node (a sysctl, a rule deleted) can
// deliver only the flows that fail on that node — two nodes with the same
// fault are two fixes.
func atFixedNode(t trace.Trace, fx *finding.Fix) bool {
	switch fx.Kind {
	case "sysctl", "iptables-delete":
	default:
		return true
	}
	return failingOn(t, "node/"+fx.Node)
}

func failingOn(t trace.Trace, at string) bool {
	for _, s := range t.Steps {
		if s.Failed && s.At == at {
			return true
		}
	}
	for _, b := range t.Branches {
		if fails(b) && failingOn(b, at) {
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
		if s.Failed || t.Verdict == trace.Undetermined && s.Decision == trace.ActUndetermined {
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
