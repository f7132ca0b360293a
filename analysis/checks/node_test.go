package checks

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/parsers/bundle"
)

// The lab bundle (lab/datapath/mknodes.sh) holds real captures of network
// namespaces built as nodes, healthy and faulty; testdata/datapath/
// lab-results.txt records which pod flows the kernel actually delivered.
func loadBundle(t testing.TB, dir string) *model.Cluster {
	t.Helper()
	b, err := bundle.Open(dir, bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return model.Load(b)
}

const labBundleDir = "../../testdata/datapath/bundle"

// fired returns "node cidr/peer" keys of the findings with the given ID.
func fired(res *driver.Result, id string) []string {
	var out []string
	for _, f := range res.Findings {
		if f.ID != id {
			continue
		}
		k := f.Args["node"]
		if f.Args["cidr"] != "" {
			k += " " + f.Args["cidr"]
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func findingsOf(res *driver.Result, id string) []finding.Finding {
	var out []finding.Finding
	for _, f := range res.Findings {
		if f.ID == id {
			out = append(out, f)
		}
	}
	return out
}

// evidenceLine returns the text of the line a piece of evidence cites.
func evidenceLine(t *testing.T, root string, ev finding.Evidence) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ev.File))
	if err != nil {
		t.Fatalf("evidence file: %v", err)
	}
	lines := strings.Split(string(b), "\n")
	if ev.Line < 1 || ev.Line > len(lines) {
		t.Fatalf("evidence %s:%d out of range", ev.File, ev.Line)
	}
	return lines[ev.Line-1]
}

func TestNodeChecksOnLabNodesFireOnlyWhereTheKernelFailed(t *testing.T) {
	res := runChecks(t, loadBundle(t, labBundleDir))
	cases := []struct {
		id   string
		want []string
	}{
		// fwd-off: every ping through it failed
		{"IP_FORWARD_DISABLED", []string{"cbr0-fwd-off", "fwd-off"}},
		// brnf-off: the DNAT to a pod on the same bridge failed, healthy-a's worked
		{"BRIDGE_NF_DISABLED", []string{"brnf-off"}},
		// route-missing reached only healthy-a's pods; unreachable could not reach healthy-b's
		{"NODE_ROUTE_MISSING", []string{
			"route-missing 172.16.1.0/24", "route-missing 172.16.2.0/24", "route-missing 172.16.4.0/24",
			"route-missing 172.16.5.0/24", "route-missing 172.16.6.0/24", "route-missing 172.16.7.0/24", "route-missing 172.16.8.0/24",
			"unreachable 172.16.1.0/24"}},
		// rp-strict and healthy-a could not ping each other's pods
		{"RP_FILTER_DROPS", []string{"rp-strict 172.16.0.0/24"}},
		{"CONNTRACK_TABLE_FULL", []string{"conntrack-full"}},
		// split-backend: rules in both iptables-legacy and iptables-nft
		{"IPTABLES_BACKEND_SPLIT", []string{"split-backend"}},
	}
	for _, c := range cases {
		if got := fired(res, c.id); strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s fired on %q, want %q", c.id, got, c.want)
		}
	}
	for _, in := range res.Inconclusive {
		if strings.HasPrefix(in.Need, "ip-") || in.Need == model.FileSysctl {
			t.Errorf("lab nodes have every file, got inconclusive %+v", in)
		}
	}
}

func TestIPForwardEvidenceCitesTheSysctlLine(t *testing.T) {
	res := runChecks(t, loadBundle(t, labBundleDir))
	fs := findingsOf(res, "IP_FORWARD_DISABLED")
	if len(fs) != 2 || fs[0].Args["node"] != "cbr0-fwd-off" || fs[0].Args["key"] != "net.ipv4.conf.cbr0.forwarding" {
		t.Fatalf("%+v", fs)
	}
	if l := evidenceLine(t, labBundleDir, fs[0].Evidence[0]); l != "net.ipv4.conf.cbr0.forwarding = 0" {
		t.Fatalf("%q", l)
	}
	fs = fs[1:]
	ev := fs[0].Evidence[0]
	if ev.File != "nodes/fwd-off/sysctl.txt" || evidenceLine(t, labBundleDir, ev) != "net.ipv4.ip_forward = 0" {
		t.Fatalf("%+v", ev)
	}
	if fs[0].Objects[0] != "node/fwd-off" {
		t.Fatalf("%v", fs[0].Objects)
	}
}

func TestUnreachableRouteIsCitedWithItsLine(t *testing.T) {
	res := runChecks(t, loadBundle(t, labBundleDir))
	for _, f := range findingsOf(res, "NODE_ROUTE_MISSING") {
		switch f.Args["node"] {
		case "unreachable":
			ev := f.Evidence[0]
			if ev.File != "nodes/unreachable/ip-route.json" || ev.Line != 1 || !strings.HasPrefix(ev.Excerpt, "unreachable 172.16.1.0/24") {
				t.Errorf("%+v", ev)
			}
			if f.Args["peer"] != "healthy-b" || f.Evidence[1].File != "cluster/nodes.yaml" {
				t.Errorf("peer evidence %+v %+v", f.Args, f.Evidence[1])
			}
		case "route-missing":
			if f.Args["via"] != "" || f.Evidence[0].Excerpt != "no route matches" {
				t.Errorf("no route at all: %+v", f)
			}
		}
	}
}

func TestRPFilterNamesInterfaceAndReturnRoute(t *testing.T) {
	res := runChecks(t, loadBundle(t, labBundleDir))
	fs := findingsOf(res, "RP_FILTER_DROPS")
	if len(fs) != 1 {
		t.Fatalf("%d", len(fs))
	}
	a := fs[0].Args
	if a["iface"] != "eth0" || a["mode"] != "1" || !strings.Contains(a["via"], "dev eth1") {
		t.Fatalf("%v", a)
	}
	if l := evidenceLine(t, labBundleDir, fs[0].Evidence[0]); !strings.HasSuffix(l, "rp_filter = 1") {
		t.Fatalf("%q", l)
	}
}

func TestConntrackFullCitesCountMaxAndDrops(t *testing.T) {
	res := runChecks(t, loadBundle(t, labBundleDir))
	fs := findingsOf(res, "CONNTRACK_TABLE_FULL")
	if len(fs) != 1 {
		t.Fatalf("%d", len(fs))
	}
	why := fs[0].Args["why"]
	for _, s := range []string{"94% of nf_conntrack_max", "drop = 2301", "insert_failed = 17"} {
		if !strings.Contains(why, s) {
			t.Errorf("why %q lacks %q", why, s)
		}
	}
	var files []string
	for _, ev := range fs[0].Evidence {
		files = append(files, ev.File+":"+strings.Fields(evidenceLine(t, labBundleDir, ev))[0])
	}
	if !strings.Contains(strings.Join(files, " "), "nodes/conntrack-full/conntrack-stats.txt:cpu=1") {
		t.Errorf("%v", files)
	}
}

func TestBackendSplitCitesARuleOfEachBackend(t *testing.T) {
	res := runChecks(t, loadBundle(t, labBundleDir))
	fs := findingsOf(res, "IPTABLES_BACKEND_SPLIT")
	if len(fs) != 1 || fs[0].Args["legacy"] != "2" || fs[0].Args["nft"] != "2" {
		t.Fatalf("%+v", fs)
	}
	got := []string{}
	for _, ev := range fs[0].Evidence {
		// drop the [packets:bytes] counters: they change when the lab is re-recorded
		l := evidenceLine(t, labBundleDir, ev)
		got = append(got, ev.File+": "+l[strings.Index(l, "] ")+2:])
	}
	want := "nodes/split-backend/iptables-legacy-save.txt: -A PREROUTING -j KUBE-SERVICES|" +
		"nodes/split-backend/iptables-nft-save.txt: -A FORWARD -s 172.16.0.0/16 -j ACCEPT"
	if strings.Join(got, "|") != want {
		t.Fatalf("%q", got)
	}
}

func TestNodeChecksSayWhatToCollectWhenFilesAreMissing(t *testing.T) {
	dir := t.TempDir()
	// a node folder with only its routes
	src := filepath.Join(labBundleDir, "nodes", "fwd-off", "ip-route.json")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "nodes", "n1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nodes", "n1", "ip-route.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	res := runChecks(t, loadBundle(t, dir))
	for _, id := range []string{"IP_FORWARD_DISABLED", "BRIDGE_NF_DISABLED", "NODE_ROUTE_MISSING", "RP_FILTER_DROPS", "CONNTRACK_TABLE_FULL"} {
		if n := len(findingsOf(res, id)); n != 0 {
			t.Errorf("%s fired without its inputs", id)
		}
	}
	// node files are named with their node; a cluster file once for the
	// bundle
	need := map[string]bool{}
	for _, in := range res.Inconclusive {
		if in.Node == "n1" || in.Node == "" && strings.HasPrefix(in.Need, "cluster/") {
			need[in.Need] = true
		}
	}
	for _, want := range []string{"sysctl.txt", "conntrack-stats.txt", "cluster/nodes.yaml"} {
		if !need[want] {
			t.Errorf("no inconclusive naming %s for n1: %v", want, res.Inconclusive)
		}
	}
}

// The lab cluster bundles (lab/cluster) route pod CIDRs node by node: a
// node that lost its route falls back to the VPC gateway, where the
// packets die (the capture there shows SYNs unanswered).
func TestHostGwNodeWithoutItsPeerRouteFallsBackToTheGateway(t *testing.T) {
	for _, c := range []struct {
		bundle string
		want   []string
	}{
		{"route-missing", []string{"10.0.1.11 172.16.0.64/26"}},
		{"healthy", nil},
	} {
		dir := filepath.Join("../../testdata/bundles", c.bundle)
		if _, err := os.Stat(dir); err != nil {
			t.Fatal(err)
		}
		res := runChecks(t, loadBundle(t, dir))
		if got := fired(res, "NODE_ROUTE_MISSING"); strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: NODE_ROUTE_MISSING on %q, want %q", c.bundle, got, c.want)
		}
		for _, f := range findingsOf(res, "NODE_ROUTE_MISSING") {
			if f.Args["via"] != "default via 10.0.1.1 dev eth0" || f.Evidence[1].File != "nodes/10.0.1.12/ip-route.json" {
				t.Errorf("%+v", f)
			}
		}
	}
}

func TestBridgeNFFromTheCNIConfigWhenLinksLackKinds(t *testing.T) {
	for _, c := range []struct {
		cni  string
		want []string
	}{
		{`{"cniVersion":"0.3.1","name":"k8s","type":"bridge","bridge":"cbr0"}`, []string{"n1"}},
		{`{"name":"x","plugins":[{"type":"ptp"},{"type":"portmap"}]}`, nil},
	} {
		dir := t.TempDir()
		for name, text := range map[string]string{
			"nodes/n1/sysctl.txt":      "net.ipv4.ip_forward = 1\nnet.bridge.bridge-nf-call-iptables = 0\n",
			"nodes/n1/cni/10-k8s.conf": c.cni,
			"nodes/n1/ip-route.json":   `[{"dst":"default","gateway":"10.0.0.1","dev":"eth0","flags":[]}]`,
		} {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		res := runChecks(t, loadBundle(t, dir))
		if got := fired(res, "BRIDGE_NF_DISABLED"); strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: fired on %v", c.cni, got)
		}
		for _, f := range findingsOf(res, "BRIDGE_NF_DISABLED") {
			if f.Args["bridge"] != "cbr0" || f.Evidence[1].File != "nodes/n1/cni/10-k8s.conf" || f.Evidence[0].Line != 2 {
				t.Errorf("%+v", f)
			}
		}
	}
}
