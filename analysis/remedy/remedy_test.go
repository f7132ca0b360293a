package remedy_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"tkesnap/analysis/analyzers"
	"tkesnap/analysis/driver/drivertest"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/remedy"
	"tkesnap/parsers/bundle"
)

func load(t *testing.T, dir string) *model.Cluster {
	t.Helper()
	b, err := bundle.Open(dir, bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return model.Load(b)
}

func analyse(t *testing.T, dir string) []finding.Finding {
	c := load(t, dir)
	// the driver merges and re-traces in its result assembly
	return drivertest.RunModel(t, c, analyzers.All()...).Merged
}

// The lab scenarios say what the fix is (README of testdata/bundles):
// opening the pod CIDR in the node SG, turning ip_forward on, opening the
// CLB SG's 443 delivers the reported flow; in sample the same SG fix
// delivers the pod flow while the Service flow still fails on the
// targetPort mismatch, the scenario's second fault.
func TestRemediesAreVerifiedByRetracing(t *testing.T) {
	for _, tc := range []struct {
		bundle, id string
		want       map[string]string // flow → verdict[/reason]
		command    string
		unverified string // why the model cannot apply it ("" when it can)
	}{
		{"sg-pod-cidr", "SG_POD_CIDR_BLOCKED", map[string]string{"pod:default/client-0 → pod:default/web-1:8080": "DELIVERED"},
			`--SecurityGroupId sg-lab0node --SecurityGroupPolicySet '{"Ingress":[{"PolicyIndex":5,"Protocol":"ALL","Port":"ALL","CidrBlock":"172.16.0.0/16"`, ""},
		{"ip-forward-off", "IP_FORWARD_DISABLED", map[string]string{"pod:default/client-0 → pod:default/web-1:8080": "DELIVERED"}, "sysctl -w net.ipv4.ip_forward=1", ""},
		// a client from the internet: the guide's range is 0.0.0.0/0, not the client's /32
		{"clb-sg-443", "CLB_SG_BLOCKS_LISTENER", map[string]string{"ip:203.0.113.50 → svc:default/web-lb:443": "DELIVERED"}, `"Protocol":"TCP","Port":"443","CidrBlock":"0.0.0.0/0"`, ""},
		{"sample", "SG_POD_CIDR_BLOCKED", map[string]string{
			"pod:default/client-0 → pod:default/web-1:8080": "DELIVERED",
			"pod:default/client-0 → svc:default/web:80":     "still/SVC_TARGET_PORT_MISMATCH"}, "CreateSecurityGroupPolicies", ""},
		// GlobalRouter: the cluster route of node 10.0.1.12's pod CIDR is
		// gone (the README of the lab); re-creating it delivers the flow
		// the trace stops at the VPC route table, whatever the node says
		{"route-missing", "ROUTE_MISSING", map[string]string{"pod:default/client-0 → pod:default/web-1:8080": "DELIVERED"},
			"tccli tke CreateClusterRoute --RouteTableName cls-lab00001 --DestinationCidrBlock 172.16.0.64/26 --GatewayIp 10.0.1.12", ""},
		// a rule no Kubernetes component owns: iptables -D with its spec, in
		// every view of its backend (iptables-save.txt and
		// iptables-nft-save.txt are one nf_tables ruleset)
		{"forward-drop", "IPTABLES_DROPS_FLOW", map[string]string{"pod:default/client-0 → pod:default/web-1:8080": "DELIVERED"},
			"iptables -t filter -D FORWARD -d 172.16.0.64/26 -p tcp -m tcp --dport 8080 -j DROP   # on node 10.0.1.12", ""},
		// the old tool's rule is in the legacy backend only: deleted there
		{"backend-split", "IPTABLES_DROPS_FLOW", map[string]string{"pod:default/client-0 → pod:default/web-1:8080": "DELIVERED"},
			"iptables-legacy -t filter -D FORWARD -d 172.16.0.64/26 -p tcp -m tcp --dport 8080 -j DROP", ""},
		// the IDC CIDR is added to the list the configmap already has;
		// the agent rewrites IP-MASQ-AGENT from it (RETURN per CIDR, then
		// MASQUERADE), so the pod's source is kept up to the IDC — whose
		// side (firewall, return route) the bundle does not hold
		{"masq-idc", "MASQ_HIDES_SOURCE", map[string]string{"pod:default/client-0 → ip:192.168.100.10:80": "UNDETERMINED@idc"},
			"NonMasqueradeCIDRs: [172.16.0.0/16, 10.0.0.0/16, 192.168.100.0/24]", ""},
		// the CNI's policy chain drops client-0 (app=client) at web-1
		// (app=web) on 8080: a policy admitting exactly that; the CNI's
		// rules for it are not in the bundle
		// independent cluster, public API access through a CLB that
		// forwards the client's own address to the master's 60002: the
		// master SG admits TCP 60002 from any client, before its DROP
		{"handmade/independent-kubelb-master-sg-blocked", "SG_MASTER_SUBNET_BLOCKED",
			map[string]string{"ip:203.0.113.50 → svc:default/kubelb-internet:443": "DELIVERED"},
			`--SecurityGroupId sg-hm0mst01 --SecurityGroupPolicySet '{"Ingress":[{"PolicyIndex":3,"Protocol":"TCP","Port":"60002","CidrBlock":"0.0.0.0/0"`, ""},
		// no cloud data places 10.9.0.5: the command leaves its network
		// to be filled in; the re-trace stands in its /32
		{"handmade/unknown-peer-sg-blocked", "SG_BLOCKS_FLOW",
			map[string]string{"ip:10.9.0.5 → pod:default/web-0:8080": "DELIVERED"},
			`"Protocol":"TCP","Port":"8080","CidrBlock":"<CIDR of the network of 10.9.0.5>"`, ""},
		// nat PREROUTING lost its jump to KUBE-SERVICES: the jump
		// kube-proxy writes, first in the chain
		{"handmade/entry-jump-missing", "KUBE_PROXY_JUMP_MISSING",
			map[string]string{"pod:default/client → svc:default/web:80": "DELIVERED"},
			`iptables -t nat -I PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`, ""},
		// IPVS has the virtual service but kube-ipvs0 lacks the ClusterIP
		{"handmade/ipvs-vip-unbound", "IPVS_VIP_UNBOUND",
			map[string]string{"pod:default/client → svc:default/web:80": "DELIVERED"},
			"ip addr add 172.18.252.10/32 dev kube-ipvs0", ""},
		// the ClusterIP's KUBE-SERVICES rule is gone: kube-proxy restarted
		// on the node writes it; the model does not write kube-proxy's rules
		{"handmade/clusterip-no-rules", "KUBE_PROXY_RULES_MISSING", map[string]string{},
			"kubectl -n kube-system delete pod -l k8s-app=kube-proxy --field-selector spec.nodeName=10.1.0.10", "rules kube-proxy would write on node 10.1.0.10"},
		{"netpol-deny", "NETPOL_DENIES_FLOW", map[string]string{},
			`"spec":{"ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"client"}}}],"ports":[{"port":8080,"protocol":"TCP"}]}],"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"]}}' | kubectl apply -f -`, "CNI"},
		// the pods listen on and declare 8080; the Service's only port
		{"targetport-mismatch", "SVC_TARGET_PORT_MISMATCH", map[string]string{},
			`kubectl -n default patch service web -p '{"spec":{"ports":[{"port":80,"targetPort":8080}]}}'`, "kube-proxy writes the DNAT rules"},
	} {
		t.Run(tc.bundle, func(t *testing.T) {
			dir := tc.bundle
			if !strings.Contains(dir, "/") {
				dir = "bundles/" + dir
			}
			fs := analyse(t, "../../testdata/"+dir)
			var fx *finding.Fix
			for _, f := range fs {
				if f.ID == tc.id {
					fx = f.Fix
				}
			}
			if fx == nil {
				t.Fatalf("%s has no fix", tc.id)
			}
			if !strings.Contains(strings.Join(fx.Commands, "\n"), tc.command) {
				t.Errorf("commands %q lack %q", fx.Commands, tc.command)
			}
			if !strings.Contains(fx.Unverified, tc.unverified) || (tc.unverified == "") != (fx.Unverified == "") {
				t.Errorf("unverified %q, want %q", fx.Unverified, tc.unverified)
			}
			if len(fx.Verified) != len(tc.want) {
				t.Fatalf("re-traced %+v, want %v", fx.Verified, tc.want)
			}
			for _, v := range fx.Verified {
				w := tc.want[v.Flow]
				switch {
				case w == "DELIVERED" && (v.Verdict != "DELIVERED" || v.Reason != ""):
					t.Errorf("%s: %s %s at %s, want DELIVERED", v.Flow, v.Verdict, v.Reason, v.At)
				case strings.HasPrefix(w, "still/") && (v.Verdict == "DELIVERED" || v.Reason != strings.TrimPrefix(w, "still/")):
					t.Errorf("%s: %s %s, want still blocked by %s", v.Flow, v.Verdict, v.Reason, strings.TrimPrefix(w, "still/"))
				case strings.HasPrefix(w, "UNDETERMINED@") && (v.Verdict != "UNDETERMINED" || v.At != strings.TrimPrefix(w, "UNDETERMINED@")):
					t.Errorf("%s: %s at %s, want %s", v.Flow, v.Verdict, v.At, w)
				case w == "":
					t.Errorf("%s re-traced, not a flow of the scenario", v.Flow)
				}
			}
		})
	}
}

// Apply changes a copy: the analysed model keeps its SG and sysctl.
func TestApplyLeavesTheModelAlone(t *testing.T) {
	c := load(t, "../../testdata/bundles/sg-pod-cidr")
	before := len(c.Cloud.SecurityGroups["sg-lab0node"].Ingress)
	b := 5
	fixed, err := remedy.Apply(c, &finding.Fix{Kind: "sg-policy", SG: "sg-lab0node", Direction: "ingress", Protocols: []string{"TCP", "UDP"}, Port: "30000-32768", CIDR: "0.0.0.0/0", Before: &b})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.Cloud.SecurityGroups["sg-lab0node"].Ingress); got != before {
		t.Errorf("Apply changed the original SG: %d policies, was %d", got, before)
	}
	in := fixed.Cloud.SecurityGroups["sg-lab0node"].Ingress
	if len(in) != before+2 || in[5].Action != "ACCEPT" || in[5].Proto != "tcp" || in[6].Proto != "udp" || in[7].Action != "DROP" {
		t.Errorf("fixed SG: want TCP and UDP ACCEPT inserted before PolicyIndex 5, got %d policies: %v %v %v", len(in), in[5], in[6], in[7])
	}
	if _, err := remedy.Apply(c, &finding.Fix{Kind: "sg-policy", SG: "sg-nope", Protocols: []string{"ALL"}, Port: "ALL", CIDR: "10.0.0.0/8"}); err == nil {
		t.Error("a fix to an SG the bundle lacks applied")
	}
}

// Deleting a rule and adding a cluster route change the copy only.
func TestApplyRuleAndRouteLeaveTheModelAlone(t *testing.T) {
	c := load(t, "../../testdata/bundles/forward-drop")
	count := func(c *model.Cluster) int {
		for _, n := range c.Nodes {
			if n.Name == "10.0.1.12" {
				return n.IPv4().Rules.NumRules()
			}
		}
		return -1
	}
	before := count(c)
	fixed, err := remedy.Apply(c, &finding.Fix{Kind: "iptables-delete", Node: "10.0.1.12", Table: "filter", Chain: "FORWARD", Line: 16,
		File: "nodes/10.0.1.12/iptables-save.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if count(c) != before || count(fixed) != before-1 {
		t.Errorf("rules: original %d (was %d), fixed %d; want the original kept and one rule less in the copy", count(c), before, count(fixed))
	}
	if _, err := remedy.Apply(c, &finding.Fix{Kind: "iptables-delete", Node: "10.0.1.12", Table: "filter", Chain: "FORWARD", Line: 2,
		File: "nodes/10.0.1.12/iptables-save.txt"}); err == nil {
		t.Error("a line that is no rule of the chain was deleted")
	}
	r := load(t, "../../testdata/bundles/route-missing")
	n := len(r.Cloud.ClusterRoutes)
	fixedR, err := remedy.Apply(r, &finding.Fix{Kind: "cluster-route", RouteTable: "cls-lab00001", CIDR: "172.16.0.64/26", Gateway: "10.0.1.12"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Cloud.ClusterRoutes) != n || len(fixedR.Cloud.ClusterRoutes) != n+1 {
		t.Errorf("cluster routes: original %d (was %d), fixed %d", len(r.Cloud.ClusterRoutes), n, len(fixedR.Cloud.ClusterRoutes))
	}
}

// A peer no cloud data places: the fix names no CIDR (the command holds a
// placeholder) and the re-trace's stand-in is the peer's /32, said apart.
func TestUnknownPeerStandIn(t *testing.T) {
	for _, f := range analyse(t, "../../testdata/handmade/unknown-peer-sg-blocked") {
		if f.ID != "SG_BLOCKS_FLOW" {
			continue
		}
		fx := f.Fix
		if fx == nil || fx.CIDR != "" || fx.StandIn != "10.9.0.5/32" || fx.Before == nil || *fx.Before != 5 {
			t.Fatalf("fix %+v: want no CIDR, stand-in 10.9.0.5/32, before PolicyIndex 5 (the final DROP)", fx)
		}
		if strings.Contains(strings.Join(fx.Commands, " "), `"CidrBlock":"10.9.0.5`) {
			t.Errorf("the command uses the test packet's address as the answer: %q", fx.Commands)
		}
		return
	}
	t.Fatal("no SG_BLOCKS_FLOW")
}

// A node fix re-traces only flows that fail on that node: in the datapath
// lab two nodes have forwarding off (fwd-off: ip_forward, cbr0-fwd-off:
// cbr0's forwarding); no reported flow, so the flows tkesnap traced on its
// own are re-traced, and each fix's re-traces never fail on its own node.
func TestNodeFixRetracesItsNode(t *testing.T) {
	n := 0
	for _, f := range analyse(t, "../../testdata/datapath/bundle") {
		if f.ID != "IP_FORWARD_DISABLED" || f.Fix == nil {
			continue
		}
		n++
		if len(f.Fix.Verified) == 0 {
			t.Errorf("%s: nothing re-traced", f.Fix.Node)
		}
		for _, v := range f.Fix.Verified {
			if v.At == "node/"+f.Fix.Node {
				t.Errorf("fix on %s: %s still fails there (%s)", f.Fix.Node, v.Flow, v.Reason)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d IP_FORWARD_DISABLED fixes, want 2 (fwd-off, cbr0-fwd-off)", n)
	}
}

// Inserting a rule, binding an address and rewriting the masquerade chain
// change the copy only.
func TestApplyInsertBindMasqLeaveTheModelAlone(t *testing.T) {
	c := load(t, "../../testdata/handmade/entry-jump-missing")
	nat := func(c *model.Cluster) int {
		return len(c.Nodes[0].IPv4().Rules.Table("nat").Chain("PREROUTING").Rules)
	}
	before := nat(c)
	fixed, err := remedy.Apply(c, &finding.Fix{Kind: "iptables-insert", Node: c.Nodes[0].Name, Table: "nat", Chain: "PREROUTING",
		Rule: `-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`})
	if err != nil {
		t.Fatal(err)
	}
	if nat(c) != before || nat(fixed) != before+1 || fixed.Nodes[0].IPv4().Rules.Table("nat").Chain("PREROUTING").Rules[0].Target.Name != "KUBE-SERVICES" {
		t.Errorf("PREROUTING: original %d (was %d), fixed %d; want the jump first in the copy only", nat(c), before, nat(fixed))
	}
	v := load(t, "../../testdata/handmade/ipvs-vip-unbound")
	vip := netip.MustParseAddr("172.18.252.10")
	var name string
	for _, n := range v.Nodes {
		if n.Name == "10.1.0.10" {
			name = n.Name
		}
	}
	fixedV, err := remedy.Apply(v, &finding.Fix{Kind: "addr", Node: name, Link: "kube-ipvs0", CIDR: "172.18.252.10/32"})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range v.Nodes {
		if n.Name == name && (n.IsLocal(vip) || !fixedV.Nodes[i].IsLocal(vip)) {
			t.Errorf("%s local: original %v, fixed %v; want only the copy to own it", vip, n.IsLocal(vip), fixedV.Nodes[i].IsLocal(vip))
		}
	}
	m := load(t, "../../testdata/bundles/masq-idc")
	fixedM, err := remedy.Apply(m, &finding.Fix{Kind: "configmap", ConfigMap: "kube-system/ip-masq-agent-config", CIDR: "192.168.100.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range m.Nodes {
		old, ok := m.MasqChain(n)
		if !ok {
			continue
		}
		nw, _ := fixedM.MasqChain(fixedM.Nodes[i])
		// the agent's chain: a RETURN per NonMasqueradeCIDRs entry in
		// order (MasqLinkLocal: true, so no 169.254.0.0/16), then
		// MASQUERADE; the original keeps the configmap's two
		want := "[172.16.0.0/16 10.0.0.0/16 192.168.100.0/24]"
		if got := fmt.Sprint(nw.NonMasq); got != want || !nw.Masquerades || len(old.NonMasq) != 2 || len(m.Kube.Masq.NonMasqueradeCIDRs) != 2 {
			t.Errorf("node %s: fixed chain returns %s (masquerades %v), want %s; original %v, list %v", n.Name, got, nw.Masquerades, want, old.NonMasq, m.Kube.Masq.NonMasqueradeCIDRs)
		}
	}
}
