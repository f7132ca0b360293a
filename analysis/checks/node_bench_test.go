package checks

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/analysis/driver/drivertest"
)

// writeManyNodes writes a GlobalRouter-style bundle: npeers Node objects
// with /26 pod CIDRs, and nlocal node folders whose only route to other
// pods is the default one, plus the VPC's cluster routes.
func writeManyNodes(tb testing.TB, dir string, npeers, nlocal int) {
	tb.Helper()
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	cidr := func(i int) string { return fmt.Sprintf("172.%d.%d.%d/26", 16+i>>10, i>>2&255, (i&3)*64) }
	ip := func(i int) string { return fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255+1) }
	var nodes, routes strings.Builder
	nodes.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	routes.WriteString(`{"Response":{"RouteSet":[`)
	for i := 0; i < npeers; i++ {
		fmt.Fprintf(&nodes, "- apiVersion: v1\n  kind: Node\n  metadata: {name: n%d}\n  spec: {podCIDR: %s}\n  status:\n    addresses:\n    - {type: InternalIP, address: %s}\n", i, cidr(i), ip(i))
		if i > 0 {
			routes.WriteString(",")
		}
		fmt.Fprintf(&routes, `{"RouteTableName":"cls-x","DestinationCidrBlock":"%s","GatewayIp":"%s"}`, cidr(i), ip(i))
	}
	routes.WriteString(`],"TotalCount":1}}`)
	write("cluster/nodes.yaml", nodes.String())
	write("cloud/cluster-routes.json", routes.String())
	for i := 0; i < nlocal; i++ {
		d := fmt.Sprintf("nodes/n%d/", i)
		write(d+"ip-route.json", fmt.Sprintf(`[{"dst":"default","gateway":"10.0.0.1","dev":"eth0","flags":[]},{"dst":"%s","dev":"cbr0","protocol":"kernel","scope":"link","prefsrc":"%s","flags":[]},{"type":"local","dst":"%s","dev":"eth0","table":"local","protocol":"kernel","scope":"host","flags":[]}]`, cidr(i), strings.TrimSuffix(cidr(i), "/26"), ip(i)))
		write(d+"ip-addr.json", fmt.Sprintf(`[{"ifindex":2,"ifname":"eth0","flags":["UP"],"addr_info":[{"family":"inet","local":"%s","prefixlen":16,"scope":"global"}]}]`, ip(i)))
		write(d+"sysctl.txt", "net.ipv4.ip_forward = 1\nnet.ipv4.conf.all.rp_filter = 0\nnet.ipv4.conf.eth0.rp_filter = 1\n")
	}
}

func BenchmarkNodeRoutes1000Peers(b *testing.B) {
	dir := b.TempDir()
	writeManyNodes(b, dir, 1000, 5)
	c := loadBundle(b, dir)
	ch := drivertest.Named("node-routes", All())
	b.ResetTimer()
	for b.Loop() {
		res := drivertest.RunModel(b, c, ch...)
		if len(res.Findings) != 0 {
			b.Fatalf("%d findings, first %+v", len(res.Findings), res.Findings[0])
		}
	}
}

func TestGlobalRouterNodesWithClusterRoutesAreSilent(t *testing.T) {
	dir := t.TempDir()
	writeManyNodes(t, dir, 40, 3)
	res := runChecks(t, loadBundle(t, dir))
	for _, id := range []string{"NODE_ROUTE_MISSING", "RP_FILTER_DROPS"} {
		if got := fired(res, id); len(got) != 0 {
			t.Errorf("%s: %v", id, got)
		}
	}
	// drop one cluster route: that peer's CIDR now dies at the VPC
	b, _ := os.ReadFile(filepath.Join(dir, "cloud/cluster-routes.json"))
	s := strings.Replace(string(b), `{"RouteTableName":"cls-x","DestinationCidrBlock":"172.16.2.128/26","GatewayIp":"10.0.0.11"},`, "", 1)
	if s == string(b) {
		t.Fatal("route to drop not found")
	}
	if err := os.WriteFile(filepath.Join(dir, "cloud/cluster-routes.json"), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	res = runChecks(t, loadBundle(t, dir))
	if got := fired(res, "NODE_ROUTE_MISSING"); strings.Join(got, "|") != "n0 172.16.2.128/26|n1 172.16.2.128/26|n2 172.16.2.128/26" {
		t.Errorf("%v", got)
	}
}
