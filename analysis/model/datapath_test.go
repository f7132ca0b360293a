package model

import (
	"net/netip"
	"strings"
	"testing"

	"tkesnap/parsers/bundle"
)

// labBundle is the bundle lab/datapath/mknodes.sh recorded from network
// namespaces (real ip -j, sysctl, iptables-save, conntrack output).
func labBundle(t testing.TB) *Cluster {
	t.Helper()
	b, err := bundle.Open("../../testdata/datapath/bundle", bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return Load(b)
}

func TestDatapathOfLabNodesLoadsWithoutProblems(t *testing.T) {
	c := labBundle(t)
	if len(c.Nodes) < 8 {
		t.Fatalf("%d nodes", len(c.Nodes))
	}
	for _, p := range c.Problems {
		t.Errorf("problem: %+v", p)
	}
	n := c.Node("healthy-a")
	for _, f := range []string{FileIPAddr, FileIPRoute, FileIPRule, FileIPNeigh, FileIPLink, FileSysctl, FileConntrack, FileConntrackStats, FileResolvConf, FileSS} {
		if !n.HasFile(f) {
			t.Errorf("healthy-a: %s not loaded", f)
		}
	}
	if n.HasFile(FileIPVS) || n.IPVS != nil {
		t.Error("no ipvsadm.txt in the lab: IPVS must stay nil")
	}
	if n.Path(FileSysctl) != "nodes/healthy-a/sysctl.txt" {
		t.Error(n.Path(FileSysctl))
	}
}

func TestLocalAddressesAndPodBridge(t *testing.T) {
	n := labBundle(t).Node("healthy-a")
	for _, a := range []string{"10.0.1.5", "172.16.0.1", "127.0.0.1"} {
		if !n.IsLocal(netip.MustParseAddr(a)) {
			t.Errorf("%s should be local", a)
		}
	}
	if n.IsLocal(netip.MustParseAddr("10.0.1.6")) {
		t.Error("peer address is not local")
	}
	if br := n.PodBridge(); br == nil || br.Name != "cbr0" {
		t.Fatalf("pod bridge %v", br)
	}
	if ia := n.IfaceAddrs(); ia["eth0"] != netip.MustParseAddr("10.0.1.5") {
		t.Fatalf("%v", ia)
	}
}

func TestRouteLookupAgreesWithTheLabPings(t *testing.T) {
	c := labBundle(t)
	cases := []struct {
		node, dst string
		delivers  bool
		via       string // gateway, "" for connected / none
	}{
		{"healthy-a", "172.16.1.2", true, "10.0.1.1"}, // default route to the VPC
		{"healthy-a", "172.16.0.2", true, ""},         // own pod on cbr0
		{"route-missing", "172.16.0.2", true, "10.0.1.5"},
		{"route-missing", "172.16.1.2", false, ""},    // no route: ping failed in the lab
		{"unreachable", "172.16.1.2", false, ""},      // unreachable route: ping failed
		{"rp-strict", "172.16.0.2", true, "10.0.2.1"}, // via eth1
	}
	for _, tc := range cases {
		r := c.Node(tc.node).Lookup(RouteQuery{Dst: netip.MustParseAddr(tc.dst)})
		if r.Delivers() != tc.delivers {
			t.Errorf("%s -> %s: delivers %v (%+v)", tc.node, tc.dst, r.Delivers(), r.Route)
		}
		if tc.via != "" && r.Route.Gateway.String() != tc.via {
			t.Errorf("%s -> %s: via %s want %s", tc.node, tc.dst, r.Route.Gateway, tc.via)
		}
		if r.Found && r.Route.Line == 0 {
			t.Errorf("%s -> %s: route without line", tc.node, tc.dst)
		}
	}
}

func TestPolicyRoutingRulesAreHonoured(t *testing.T) {
	d := &Datapath{}
	d.Routes = []netlinkRoute{
		route("main", "0.0.0.0/0", "10.0.1.1", "eth0", 0),
		route("100", "0.0.0.0/0", "10.0.2.1", "eth1", 0),
		route("main", "172.16.0.0/16", "10.0.1.9", "eth0", 100),
		route("main", "172.16.0.0/16", "10.0.1.8", "eth0", 50),
	}
	d.Rules = rules(t, `[{"priority":0,"src":"all","table":"local"},
{"priority":100,"src":"10.0.2.15","table":"100"},
{"priority":200,"fwmark":"0x10","fwmask":"0x10","action":"prohibit"},
{"priority":32766,"src":"all","table":"main"}]`)
	ip := netip.MustParseAddr
	if r := d.Lookup(RouteQuery{Dst: ip("8.8.8.8"), Src: ip("10.0.2.15"), IIF: "eth1"}); r.Route.Dev != "eth1" || r.Rule.Priority != 100 {
		t.Fatalf("ENI pod source must use table 100: %+v", r)
	}
	if r := d.Lookup(RouteQuery{Dst: ip("8.8.8.8")}); r.Route.Dev != "eth0" {
		t.Fatalf("node traffic uses main: %+v", r)
	}
	if r := d.Lookup(RouteQuery{Dst: ip("8.8.8.8"), Mark: 0x30}); r.Found || r.Rule == nil || r.Rule.Priority != 200 {
		t.Fatalf("marked traffic is prohibited: %+v", r)
	}
	if r := d.Lookup(RouteQuery{Dst: ip("172.16.3.4")}); r.Route.Gateway != ip("10.0.1.8") {
		t.Fatalf("same prefix: lowest metric wins: %+v", r.Route)
	}
}

func TestIPVSNodeLoadsTableAndKubeIPVS0(t *testing.T) {
	b, err := bundle.Open("../../testdata/datapath/kubeproxy-bundle", bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := Load(b)
	n := c.Node("node-1")
	if n.IPVS == nil || len(n.IPVS.Services) != 10 || !n.HasFile(FileIPVS) {
		t.Fatalf("ipvs %+v", n.IPVS)
	}
	vips, ok := n.KubeIPVS0()
	if !ok || len(vips) != 7 {
		t.Fatalf("kube-ipvs0 %v %v", vips, ok)
	}
	for _, a := range []string{"10.96.0.1", "10.0.1.200", "10.0.1.5"} {
		if !n.IsLocal(netip.MustParseAddr(a)) {
			t.Errorf("%s should be local", a)
		}
	}
	if m, _ := n.KubeProxy.EffectiveMode(); m != "ipvs" {
		t.Errorf("mode %q", m)
	}
	if c.Node("node-3").IPVS != nil {
		t.Error("node-3 runs iptables mode and has no ipvsadm.txt")
	}
}

func TestCNIConfigurationPlugins(t *testing.T) {
	d := &Datapath{dir: "nodes/n1", CNI: map[string]string{
		"10-bridge.conf":    `{"cniVersion":"0.3.1","name":"k8s","type":"bridge","bridge":"cbr0","ipam":{"type":"host-local"}}`,
		"20-lab.conflist":   `{"name":"x","plugins":[{"type":"ptp"},{"type":"portmap"}]}`,
		"30-plain.conflist": `{"name":"y","plugins":[{"type":"bridge"}]}`,
		"README":            "not json",
	}}
	var got []string
	for _, p := range d.CNIPlugins() {
		got = append(got, p.File+":"+p.Type+":"+p.Bridge)
	}
	want := "nodes/n1/cni/10-bridge.conf:bridge:cbr0 nodes/n1/cni/20-lab.conflist:ptp: nodes/n1/cni/20-lab.conflist:portmap: nodes/n1/cni/30-plain.conflist:bridge:cni0"
	if strings.Join(got, " ") != want {
		t.Fatalf("%v", got)
	}
}
