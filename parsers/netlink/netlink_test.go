package netlink

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lab is the output of real `ip -j` commands recorded by
// lab/datapath/mknodes.sh in network namespaces.
const lab = "../../testdata/datapath/bundle/nodes"

func open(t testing.TB, node, file string) *bytes.Reader {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(lab, node, file))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

func TestEveryLabDumpParsesWithoutProblems(t *testing.T) {
	nodes, _ := filepath.Glob(filepath.Join(lab, "*"))
	if len(nodes) < 8 {
		t.Fatalf("lab nodes missing: %v", nodes)
	}
	for _, n := range nodes {
		node := filepath.Base(n)
		links, p1 := ParseLinks(open(t, node, "ip-addr.json"))
		dlinks, p2 := ParseLinks(open(t, node, "ip-link.json"))
		routes, p3 := ParseRoutes(open(t, node, "ip-route.json"))
		rules, p4 := ParseRules(open(t, node, "ip-rule.json"))
		_, p5 := ParseNeighs(open(t, node, "ip-neigh.json"))
		for _, p := range [][]Problem{p1, p2, p3, p4, p5} {
			if len(p) > 0 {
				t.Errorf("%s: %v", node, p)
			}
		}
		if len(links) < 3 || len(dlinks) != len(links) || len(routes) < 5 || len(rules) != 3 {
			t.Errorf("%s: %d links, %d routes, %d rules", node, len(links), len(routes), len(rules))
		}
	}
}

func TestAddrDumpGivesNodeAndBridgeAddresses(t *testing.T) {
	links, _ := ParseLinks(open(t, "healthy-a", "ip-addr.json"))
	got := map[string]string{}
	for _, l := range links {
		for _, a := range l.Addrs {
			got[a.Local.String()] = l.Name + " " + a.Prefix.String()
		}
	}
	if got["10.0.1.5"] != "eth0 10.0.1.0/24" || got["172.16.0.1"] != "cbr0 172.16.0.0/24" || got["127.0.0.1"] != "lo 127.0.0.0/8" {
		t.Fatalf("%v", got)
	}
}

func TestDetailedLinkDumpNamesBridgeAndVethKinds(t *testing.T) {
	links, _ := ParseLinks(open(t, "healthy-a", "ip-link.json"))
	kinds := map[string]string{}
	for _, l := range links {
		kinds[l.Name] = l.Kind + "/" + l.Master
	}
	if kinds["cbr0"] != "bridge/" || kinds["veth0"] != "veth/cbr0" || kinds["eth0"] != "veth/" {
		t.Fatalf("%v", kinds)
	}
}

func TestRouteDumpFillsDefaultsTableAndType(t *testing.T) {
	routes, _ := ParseRoutes(open(t, "unreachable", "ip-route.json"))
	var sawDefault, sawUnreach, sawLocal bool
	for _, r := range routes {
		switch {
		case r.Dst.Bits() == 0 && r.Dst.Addr().Is4():
			sawDefault = r.Gateway == netip.MustParseAddr("10.0.1.1") && r.Table == "main" && r.Type == "unicast" && r.Dev == "eth0"
		case r.Dst == netip.MustParsePrefix("172.16.1.0/24"):
			sawUnreach = r.Type == "unreachable" && !r.Delivers() && r.Table == "main"
		case r.Dst == netip.MustParsePrefix("10.0.1.9/32"):
			sawLocal = r.Type == "local" && r.Table == "local"
		}
	}
	if !sawDefault || !sawUnreach || !sawLocal {
		t.Fatalf("default %v unreachable %v local %v: %+v", sawDefault, sawUnreach, sawLocal, routes)
	}
}

func TestRulesAndSelectors(t *testing.T) {
	in := `[{"priority":0,"src":"all","table":"local"},
{"priority":100,"src":"172.16.0.0","srclen":24,"iif":"cbr0","table":"100"},
{"priority":200,"not":null,"fwmark":"0x4000","fwmask":"0xc000","table":"main"},
{"priority":300,"src":"all","ipproto":"tcp","action":"unreachable"},
{"priority":32766,"src":"all","table":"main"}]`
	rules, probs := ParseRules(strings.NewReader(in))
	if len(probs) > 0 || len(rules) != 5 {
		t.Fatalf("%v %v", rules, probs)
	}
	r := rules[1]
	if r.Src != netip.MustParsePrefix("172.16.0.0/24") || r.IIF != "cbr0" || r.Table != "100" || r.Line != 2 {
		t.Fatalf("%+v", r)
	}
	if m := rules[2]; !m.Not || !m.HasMark || m.FwMark != 0x4000 || m.FwMask != 0xc000 {
		t.Fatalf("%+v", m)
	}
	if u := rules[3]; u.Action != "unreachable" || len(u.Other) != 1 {
		t.Fatalf("%+v", u)
	}
}

func TestMultipathAndPrettyPrintedLines(t *testing.T) {
	in := "[ {\n  \"dst\": \"10.8.0.0/16\",\n  \"nexthops\": [ {\"gateway\": \"10.0.1.1\", \"dev\": \"eth0\", \"weight\": 1}, {\"gateway\": \"10.0.2.1\", \"dev\": \"eth1\", \"weight\": 2} ]\n},\n{\n  \"dst\": \"fd00::/64\", \"dev\": \"eth0\", \"table\": \"254\"\n} ]\n"
	routes, probs := ParseRoutes(strings.NewReader(in))
	if len(probs) > 0 || len(routes) != 2 {
		t.Fatalf("%v %v", routes, probs)
	}
	if len(routes[0].Nexthops) != 2 || routes[0].Nexthops[1].Dev != "eth1" || routes[0].Line != 1 {
		t.Fatalf("%+v", routes[0])
	}
	if routes[1].Line != 5 || routes[1].Table != "main" || !routes[1].Dst.Addr().Is6() {
		t.Fatalf("%+v", routes[1])
	}
}

func TestIPv6DefaultRouteWithoutGatewayIsIPv6(t *testing.T) {
	routes, p := ParseRoutes(strings.NewReader(`[{"dst":"default","dev":"wg0","metric":1024,"flags":[],"pref":"medium"},{"dst":"default","dev":"eth0","flags":[]}]`))
	if len(p) > 0 || !routes[0].Dst.Addr().Is6() || !routes[1].Dst.Addr().Is4() {
		t.Fatalf("%+v %v", routes, p)
	}
}

func TestTextOutputAndBrokenElementsAreProblems(t *testing.T) {
	if _, p := ParseRoutes(strings.NewReader("default via 10.0.1.1 dev eth0\n")); len(p) != 1 || !strings.Contains(p[0].Message, "-j") {
		t.Fatalf("%v", p)
	}
	routes, p := ParseRoutes(strings.NewReader(`[{"dst":"bogus"},{"dst":"10.0.0.0/8","dev":"eth0"}]`))
	if len(p) != 1 || len(routes) != 1 {
		t.Fatalf("%v %v", routes, p)
	}
	if r, p := ParseRoutes(strings.NewReader("")); len(r) != 0 || len(p) != 0 {
		t.Fatalf("empty input: %v %v", r, p)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(lab, "healthy-a", "ip-*.json"))
	for _, fn := range files {
		if b, err := os.ReadFile(fn); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`[{"dst":"default","nexthops":[{}]},{"src":"1.2.3.4","srclen":99}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		nlines := bytes.Count(b, []byte("\n")) + 1
		inRange := func(what string, line int) {
			if line < 1 || line > nlines {
				t.Fatalf("%s at line %d of %d", what, line, nlines)
			}
		}
		links, p1 := ParseLinks(bytes.NewReader(b))
		routes, p2 := ParseRoutes(bytes.NewReader(b))
		rules, p3 := ParseRules(bytes.NewReader(b))
		neighs, p4 := ParseNeighs(bytes.NewReader(b))
		for _, l := range links {
			inRange("link "+l.Name, l.Line)
		}
		for _, r := range routes {
			inRange("route "+r.String(), r.Line)
			if r.Dst.IsValid() && r.Dst != r.Dst.Masked() {
				t.Fatalf("route destination %v is not a network", r.Dst)
			}
		}
		for _, r := range rules {
			inRange("rule "+r.String(), r.Line)
		}
		for _, n := range neighs {
			inRange("neighbour", n.Line)
		}
		for _, ps := range [][]Problem{p1, p2, p3, p4} {
			for _, p := range ps {
				inRange("problem "+p.Message, p.Line)
			}
		}
		if len(bytes.TrimSpace(b)) == 0 && len(links)+len(routes)+len(rules)+len(neighs) > 0 {
			t.Fatal("objects from an empty file")
		}
	})
}
