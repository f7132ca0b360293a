package trace

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"tkesnap/analysis/capture"
	"tkesnap/analysis/driver/drivertest"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/internal/golden"
	"tkesnap/parsers/bundle"
	"tkesnap/parsers/tencent"
)

// update is the repository-wide -update switch (internal/golden).
var update = golden.Update

const (
	labDir      = "../../testdata/bundles"
	datapathDir = "../../testdata/datapath/bundle"
	goldenDir   = "../../testdata/trace/golden"
)

func load(t testing.TB, dir string) *model.Cluster {
	t.Helper()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("bundle %s not present: %v", dir, err)
	}
	b, err := bundle.Open(dir, bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	c := model.Load(b)
	// the tracer's witnesses read the captures decoded by their analyzer
	drivertest.RunModel(t, c, capture.Analyzer)
	return c
}

// failing returns the first failed step of a trace or of its branches.
func failing(t Trace) *Step {
	for i := range t.Steps {
		if t.Steps[i].Failed {
			return &t.Steps[i]
		}
	}
	for _, b := range t.Branches {
		if s := failing(b); s != nil {
			return s
		}
	}
	return nil
}

// The lab bundles (testdata/bundles/README.md): a netns TKE cluster with
// one fault each, collected by the real collector, with the customer's
// flow in flows.json. The trace of that flow must name the fault, the hop
// where it happens, and agree with the reported symptom.
func TestLabScenarios(t *testing.T) {
	tests := []struct {
		bundle, name  string
		from, to      string
		verdict       Verdict
		reason        string
		at, component string // the failing step ("" for none)
	}{
		{"sg-pod-cidr", "pod on another node times out when the node SG lacks the pod CIDR",
			"pod:default/client-0", "pod:default/web-1:8080", Dropped, "SG_POD_CIDR_BLOCKED", "sg-lab0node", "security-group"},
		{"svc-no-endpoints", "Service without endpoints is refused by kube-proxy on the client's node",
			"pod:default/client-0", "svc:default/api:80", Rejected, "SVC_NO_ENDPOINTS", "node/10.0.1.11", "iptables"},
		{"targetport-mismatch", "Service targetPort nothing listens on is refused, as the capture shows",
			"pod:default/client-0", "svc:default/web:80", Rejected, "SVC_TARGET_PORT_MISMATCH", "node/10.0.1.12", "capture"},
		{"forward-drop", "a non-kube-proxy FORWARD DROP on the peer node times out",
			"pod:default/client-0", "pod:default/web-1:8080", Dropped, "IPTABLES_DROPS_FLOW", "node/10.0.1.12", "iptables"},
		{"ip-forward-off", "peer node with ip_forward=0 drops pod traffic",
			"pod:default/client-0", "pod:default/web-1:8080", Dropped, "IP_FORWARD_DISABLED", "node/10.0.1.12", "route"},
		{"route-missing", "pod CIDR route gone from the node and the GlobalRouter table: the node's missing route is the finding that fires",
			"pod:default/client-0", "pod:default/web-1:8080", NoRoute, "NODE_ROUTE_MISSING", "vpc", "route"},
		{"backend-split", "a DROP only iptables-legacy shows still drops: the kernel runs both backends",
			"pod:default/client-0", "pod:default/web-1:8080", Dropped, "IPTABLES_DROPS_FLOW", "node/10.0.1.12", "iptables"},
		{"netpol-deny", "the CNI's policy chain drops what NetworkPolicy denies",
			"pod:default/client-0", "pod:default/web-1:8080", Dropped, "NETPOL_DENIES_FLOW", "node/10.0.1.12", "iptables"},
		{"dns-no-endpoints", "DNS times out when kube-dns has no endpoints",
			"pod:default/client-0", "dns:kubernetes.default.svc.cluster.local", Rejected, "DNS_SERVICE_UNHEALTHY", "node/10.0.1.11", "iptables"},
		{"masq-idc", "the IDC sees the node IP when ip-masq-agent lacks the IDC CIDR",
			"pod:default/client-0", "ip:192.168.100.10:80", Delivered, "MASQ_HIDES_SOURCE", "", ""},
		{"clb-sg-443", "CLB SG without the listener port times out clients",
			"ip:203.0.113.50", "svc:default/web-lb:443", Dropped, "CLB_SG_BLOCKS_LISTENER", "clb/lb-lab00001", "security-group"},
		{"sample", "sample: cross-node pod traffic blocked by the node SG",
			"pod:default/client-0", "pod:default/web-1:8080", Dropped, "SG_POD_CIDR_BLOCKED", "sg-lab0node", "security-group"},
		{"sample", "sample: the Service's refusals come from the same-node endpoint whose targetPort nothing listens on (the capture's RST decides it), though the other endpoint times out",
			"pod:default/client-0", "svc:default/web:80", Rejected, "SVC_TARGET_PORT_MISMATCH", "node/10.0.1.11", "capture"},
	}
	for _, tc := range tests {
		t.Run(tc.bundle+": "+tc.name, func(t *testing.T) {
			c := load(t, filepath.Join(labDir, tc.bundle))
			var f *model.Flow
			for i := range c.Flows {
				if c.Flows[i].From == tc.from && c.Flows[i].To == tc.to {
					f = &c.Flows[i]
				}
			}
			if f == nil {
				t.Fatalf("flows.json has no flow %s → %s: %+v", tc.from, tc.to, c.Flows)
			}
			tr := Run(c, *f)
			if tr.Verdict != tc.verdict || tr.Reason != tc.reason {
				t.Errorf("verdict %s %q, want %s %s", tr.Verdict, tr.Reason, tc.verdict, tc.reason)
			}
			s := failing(tr)
			switch {
			case tc.at == "" && s != nil:
				t.Errorf("unexpected failing step %+v", *s)
			case tc.at != "" && s == nil:
				t.Errorf("no failing step, want %s %s", tc.at, tc.component)
			case tc.at != "" && (s.At != tc.at || s.Component != tc.component):
				t.Errorf("failing step %s %s (%s), want %s %s", s.At, s.Component, s.Detail, tc.at, tc.component)
			}
			if tr.Agrees == nil || !*tr.Agrees {
				t.Errorf("symptom %q does not agree with the reported %q", tr.Symptom, tr.Reported)
			}
		})
	}
}

// On the healthy lab bundle every implicit check of the guide delivers:
// pod to pod across nodes both ways, the LoadBalancer Service through its
// CLB, the cluster DNS from every node.
func TestHealthyBundleDeliversEveryImplicitTrace(t *testing.T) {
	c := load(t, filepath.Join(labDir, "healthy"))
	ts := All(c)
	if len(ts) < 4 {
		t.Fatalf("only %d implicit traces", len(ts))
	}
	kinds := map[string]bool{}
	for _, tr := range ts {
		kinds[strings.SplitN(tr.To, ":", 2)[0]] = true
		if tr.Verdict != Delivered {
			t.Errorf("%s → %s: %s %s", tr.From, tr.To, tr.Verdict, tr.Reason)
			for _, s := range tr.Steps {
				t.Logf("  %s %s %s %s", s.At, s.Component, s.Decision, s.Detail)
			}
		}
	}
	for _, k := range []string{"pod", "svc", "dns"} {
		if !kinds[k] {
			t.Errorf("no implicit trace to a %s", k)
		}
	}
	if fs := Findings(ts, nil); len(fs) != 0 {
		t.Errorf("findings on a healthy bundle: %+v", fs)
	}
}

// The datapath lab (lab/datapath/mknodes.sh) pinged between netns nodes
// with one kernel fault each and recorded the outcome in lab-results.txt.
// Without cloud data the VPC hops are UNDETERMINED, so an "ok" must not
// be refuted, and every "fail" must be explained on a node.
func TestDatapathLabAgreesWithKernel(t *testing.T) {
	c := load(t, datapathDir)
	f, err := os.Open("../../testdata/datapath/lab-results.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pingRE := regexp.MustCompile(`^(\S+)-pod\((\S+)\) -> (\S+)-pod\((\S+)\): (ok|fail)$`)
	svcRE := regexp.MustCompile(`^(\S+)-pod -> (\S+):(\d+) .*: (ok|fail)$`)
	want := map[string]string{ // the fault each failing source/destination node explains
		"fwd-off": "IP_FORWARD_DISABLED", "cbr0-fwd-off": "IP_FORWARD_DISABLED",
		"route-missing": "NODE_ROUTE_MISSING", "unreachable": "NODE_ROUTE_MISSING",
		"rp-strict": "RP_FILTER_DROPS", "brnf-off": "BRIDGE_NF_DISABLED",
	}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		var fl model.Flow
		var result string
		var nodes []string
		if m := pingRE.FindStringSubmatch(line); m != nil {
			fl = model.Flow{From: "ip:" + m[2], To: "ip:" + m[4], Proto: "icmp"}
			result, nodes = m[5], []string{m[1], m[3]}
		} else if m := svcRE.FindStringSubmatch(line); m != nil {
			pod := map[string]string{"healthy-a": "172.16.0.2", "brnf-off": "172.16.6.2"}[m[1]]
			fl = model.Flow{From: "ip:" + pod, To: "ip:" + m[2] + ":" + m[3], Proto: "tcp"}
			result, nodes = m[4], []string{m[1]}
		} else {
			continue
		}
		n++
		tr := Run(c, fl)
		failed := tr.Verdict == Dropped || tr.Verdict == Rejected || tr.Verdict == NoRoute
		switch result {
		case "ok":
			if failed {
				t.Errorf("%s: kernel delivered, trace says %s %s", line, tr.Verdict, tr.Reason)
			}
		case "fail":
			explained := false
			for _, node := range nodes {
				if r, ok := want[node]; ok && strings.HasPrefix(tr.Reason, r) && failed {
					explained = true
				}
			}
			if !explained {
				t.Errorf("%s: kernel dropped it, trace says %s %s", line, tr.Verdict, tr.Reason)
			}
		}
	}
	if n < 20 {
		t.Errorf("read only %d lab results", n)
	}
}

// A hop without its data is UNDETERMINED and names the file to collect;
// the trace still goes on to find a definite failure further on.
func TestMissingCloudDataNamesWhatToCollect(t *testing.T) {
	c := load(t, datapathDir)
	tr := Run(c, model.Flow{From: "ip:172.16.0.2", To: "ip:172.16.1.2", Proto: "icmp"})
	if tr.Verdict != Undetermined {
		t.Fatalf("verdict %s, want UNDETERMINED", tr.Verdict)
	}
	var needs []string
	for _, s := range tr.Steps {
		if s.Decision == ActUndetermined {
			needs = append(needs, s.Detail)
		}
	}
	all := strings.Join(needs, "\n")
	for _, want := range []string{"cloud/instances.json", "cloud/cluster-routes.json"} {
		if !strings.Contains(all, want) {
			t.Errorf("no step says to collect %s:\n%s", want, all)
		}
	}
	// the same missing cloud data does not hide the peer node's fault
	tr = Run(c, model.Flow{From: "ip:172.16.0.2", To: "ip:172.16.2.2", Proto: "icmp"})
	if tr.Verdict != Dropped || tr.Reason != "IP_FORWARD_DISABLED" {
		t.Errorf("healthy-a → fwd-off: %s %s, want DROPPED IP_FORWARD_DISABLED", tr.Verdict, tr.Reason)
	}
}

func TestSymptomAgreement(t *testing.T) {
	tests := []struct {
		sim, reported string
		want          bool
	}{
		{"timeout", "timeout", true},
		{"http-504", "timeout", true},
		{"timeout", "http-504", true},
		{"refused", "connection refused", true},
		{"refused", "timeout", false},
		{"", "timeout", false},
		{"wrong-source-ip", "wrong-source-ip", true},
	}
	for _, tc := range tests {
		if got := agrees(tc.sim, tc.reported); got != tc.want {
			t.Errorf("agrees(%q, %q) = %v", tc.sim, tc.reported, got)
		}
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// A capture that saw nothing only says "not seen here" when its filter
// would have kept the packet.
func TestCaptureFilterDecides(t *testing.T) {
	tu := tuple{proto: "tcp", src: mustAddr("172.16.0.2"), dst: mustAddr("172.16.0.66"), dport: 8080}
	tests := map[string]tri{
		"":                               yes,
		"host 172.16.0.66 and port 8080": yes,
		"host 172.16.0.66 and port 8081": unknown, // the source port could be 8081
		"host 172.16.0.67 and port 8080": no,
		"udp":                            no,
		"tcp and host 172.16.0.2":        yes,
		"net 172.16.0.0/16":              yes,
		"net 10.0.0.0/8":                 no,
		"(host 172.16.0.66 and port 8080) or icmp": yes,
		"(host 10.0.0.9 and port 8080) or icmp":    no,
		"host 10.0.0.1 or port 8080":               yes,
		"port 8080 or host 10.0.0.1":               yes,
		"host 172.16.0.66 and not port 8080":       no,
		"dst port 8080 && dst host 172.16.0.66":    yes,
		"vlan and host 172.16.0.66":                unknown,
		"host 172.16.0.66 and (port 8080":          unknown,
	}
	for f, want := range tests {
		if got := filterKeeps(f, tu); got != want {
			t.Errorf("filterKeeps(%q) = %v, want %v", f, got, want)
		}
	}
}

// Golden JSON traces of every lab bundle: the reported flows plus the
// implicit checks, as analyze puts them in the report.
func TestGoldenTraces(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(labDir, "*"))
	dirs = append(dirs, datapathDir)
	n := 0
	for _, dir := range dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		name := filepath.Base(dir)
		if dir == datapathDir {
			name = "datapath"
		}
		t.Run(name, func(t *testing.T) {
			c := load(t, dir)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			if err := enc.Encode(All(c)); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join(goldenDir, name+".json")
			if *update {
				if err := os.MkdirAll(goldenDir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./analysis/trace -update)", err)
			}
			if !bytes.Equal(want, buf.Bytes()) {
				t.Errorf("traces of %s differ from %s (run go test ./analysis/trace -update and review the diff)", name, golden)
			}
		})
		n++
	}
	if n == 0 {
		t.Fatal("no lab bundles")
	}
}

// The cloud scenarios (testdata/cloud/scenarios/README.md) hold only the
// cloud/ half of a bundle: the cloud hops decide, the node hops are
// UNDETERMINED and name what to collect.
func TestCloudScenarios(t *testing.T) {
	const dir = "../../testdata/cloud/scenarios"
	tests := []struct {
		scenario, name string
		from, to       string
		verdict        Verdict
		reason         string
		at             string // failing step's At
	}{
		{"sg-apiserver-source-blocked", "kubectl from outside the public endpoint's access sources times out",
			"ip:198.51.100.7", "ip:119.29.10.30:443", Dropped, "SG_APISERVER_SOURCE_BLOCKED", "apiserver/public"},
		{"sg-master-subnet-blocked", "independent cluster: intranet access through a subnet the master SG lacks times out",
			"ip:10.0.1.5", "ip:10.0.3.20:443", Dropped, "SG_MASTER_SUBNET_BLOCKED", "ins-k8smst1"},
		{"independent-healthy", "independent cluster: the master SG accepts the VPC",
			"ip:10.0.1.5", "ip:10.0.3.20:443", Delivered, "", ""},
		{"sg-nodeport-range-blocked", "CLB clients time out when the node SG lacks the NodePort range",
			"internet", "ip:119.29.10.20:80", Dropped, "SG_NODEPORT_RANGE_BLOCKED", "sg-k8snode"},
		{"clb-sg-blocks-listener", "CLB SG without the listener port drops clients",
			"internet", "ip:119.29.10.20:443", Dropped, "CLB_SG_BLOCKS_LISTENER", "clb/lb-k8sweb01"},
		{"sg-idc-cidr-blocked", "IDC clients are dropped by the node SG",
			"ip:192.168.1.10", "ip:10.0.1.5:22", Dropped, "SG_IDC_CIDR_BLOCKED", "sg-k8snode"},
		{"sg-vpc-cidr-blocked", "a node of another subnet is dropped by a DROP policy for that subnet",
			"ip:10.0.2.7", "ip:10.0.1.5:22", Dropped, "SG_VPC_CIDR_BLOCKED", "sg-k8snode"},
		{"sg-pod-cidr-blocked", "pods of another node are dropped when the pod CIDR rule is gone",
			"ip:172.20.0.70", "ip:172.20.0.2:8080", Dropped, "SG_POD_CIDR_BLOCKED", "sg-k8snode"},
		{"route-missing-idc", "node to IDC has no route when the CCN route is disabled",
			"ip:10.0.1.5", "ip:192.168.1.10:80", NoRoute, "ROUTE_MISSING", "vpc/rtb-k8snap01"},
		{"route-missing-pod-cidr", "IDC to pod has no route when the container CIDR is not published to the CCN",
			"ip:192.168.1.10", "ip:172.20.0.70:8080", NoRoute, "ROUTE_MISSING", "ccn"},
		{"healthy", "IDC to pod passes every cloud hop; the node is not in the bundle",
			"ip:192.168.1.10", "ip:172.20.0.70:8080", Undetermined, "NEEDS_DATA", ""},
	}
	for _, tc := range tests {
		t.Run(tc.scenario+": "+tc.name, func(t *testing.T) {
			c := load(t, filepath.Join(dir, tc.scenario))
			tr := Run(c, model.Flow{From: tc.from, To: tc.to, Proto: "tcp"})
			if tr.Verdict != tc.verdict || tr.Reason != tc.reason {
				t.Errorf("verdict %s %q, want %s %q", tr.Verdict, tr.Reason, tc.verdict, tc.reason)
			}
			s := failing(tr)
			switch {
			case tc.at == "" && s != nil:
				t.Errorf("unexpected failing step %+v", *s)
			case tc.at != "" && s == nil:
				t.Errorf("no failing step, want one at %s", tc.at)
			case tc.at != "" && s.At != tc.at:
				t.Errorf("fails at %s (%s), want %s", s.At, s.Detail, tc.at)
			}
		})
	}
}

// A rule whose match depends on state the dump does not hold (-m recent
// --rcheck: docs/design.md §6) makes the hop AMBIGUOUS and names the match.
func TestUndecidableMatchIsAmbiguous(t *testing.T) {
	src := filepath.Join(datapathDir)
	if _, err := os.Stat(src); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	copyFile := func(rel string, edit func([]byte) []byte) {
		data, err := os.ReadFile(filepath.Join(src, rel))
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			data = edit(data)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755)
		if err := os.WriteFile(filepath.Join(dst, rel), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("cluster/nodes.yaml", nil)
	for _, f := range []string{"ip-addr.json", "ip-link.json", "ip-route.json", "ip-rule.json", "sysctl.txt"} {
		copyFile("nodes/healthy-a/"+f, nil)
	}
	copyFile("nodes/healthy-a/iptables-save.txt", func(b []byte) []byte {
		return bytes.Replace(b, []byte(":OUTPUT ACCEPT [0:0]\n"),
			[]byte(":OUTPUT ACCEPT [0:0]\n-A FORWARD -p tcp -m recent --rcheck --name blocked -j DROP\n"), 1)
	})
	c := load(t, dst)
	tr := Run(c, model.Flow{From: "ip:172.16.0.2", To: "ip:172.16.1.2:80", Proto: "tcp"})
	var amb *Step
	for i := range tr.Steps {
		if tr.Steps[i].Decision == ActAmbiguous {
			amb = &tr.Steps[i]
		}
	}
	if amb == nil || !strings.Contains(amb.Detail, "recent") {
		t.Fatalf("no AMBIGUOUS step naming -m recent: %+v", tr.Steps)
	}
	// the rest of the path (the VPC, not in this bundle) is still walked
	if tr.Verdict != Undetermined && tr.Verdict != Ambiguous {
		t.Errorf("verdict %s", tr.Verdict)
	}
}

func BenchmarkTraceAllLabBundle(b *testing.B) {
	c := load(b, filepath.Join(labDir, "sample"))
	b.ResetTimer()
	for b.Loop() {
		All(c)
	}
}

// The route-missing lab with the container route put back into
// cloud/cluster-routes.json: now the bundle's rules pass the flow, but
// the client's node captured the SYN unanswered and the server's node
// never saw it — the trace names the capture points and the hops outside
// the bundle that may drop it.
func TestCaptureContradictionNamesWhereThePacketVanished(t *testing.T) {
	dir := copyBundle(t, "route-missing")
	routes := `{"RouteSet": [
  {"DestinationCidrBlock": "172.16.0.0/26", "GatewayIp": "10.0.1.11", "RouteTableName": "cls-lab00001"},
  {"DestinationCidrBlock": "172.16.0.64/26", "GatewayIp": "10.0.1.12", "RouteTableName": "cls-lab00001"}], "TotalCount": 2}`
	if err := os.WriteFile(filepath.Join(dir, "cloud", "cluster-routes.json"), []byte(routes), 0o644); err != nil {
		t.Fatal(err)
	}
	c := load(t, dir)
	tr := Run(c, model.Flow{From: "pod:default/client-0", To: "pod:default/web-1:8080", Proto: "tcp"})
	s := failing(tr)
	if s == nil || s.Component != "capture" {
		t.Fatalf("no failing capture step: %+v", tr.Steps)
	}
	for _, want := range []string{"unanswered", "never reached 10.0.1.12", "candidates", "container route", "default route"} {
		if !strings.Contains(s.Detail, want) {
			t.Errorf("contradiction %q does not say %q", s.Detail, want)
		}
	}
	fs := Findings([]Trace{tr}, nil)
	if len(fs) != 1 || fs[0].ID != "TRACE_CAPTURE_CONTRADICTS" || fs[0].Evidence[0].Packet == 0 {
		t.Fatalf("findings = %+v", fs)
	}
	// in a Chinese report the step and the finding say it in Chinese;
	// addresses, files and hop names stay as they are
	ts := []Trace{tr}
	Localize(ts, finding.ZH)
	f := fs[0]
	if err := finding.Render(&f, finding.ZH); err != nil {
		t.Fatal(err)
	}
	for what, text := range map[string]string{"step": failing(ts[0]).Detail, "finding": f.Message} {
		for _, want := range []string{"没有应答", "从未到达 10.0.1.12", "默认路由"} {
			if !strings.Contains(text, want) {
				t.Errorf("zh %s %q does not say %q", what, text, want)
			}
		}
		for _, en := range []string{"unanswered", "never reached", "candidates", "default route", "not in the bundle", "gateway"} {
			if strings.Contains(text, en) {
				t.Errorf("zh %s %q still says %q", what, text, en)
			}
		}
	}
}

// Flows come from customers (flows.json, --flow): odd or wrong endpoint
// specs give an UNDETERMINED (or failing) trace, never a panic.
func TestOddFlowsNeverPanic(t *testing.T) {
	c := load(t, filepath.Join(labDir, "sample"))
	specs := []string{"", "pod:", "pod:/", "pod:default/", "pod:default/client-0:notaport", "pod:default/client-0:99999",
		"node:", "node:nope", "ip:", "ip:999.1.1.1", "ip:10.0.1.11:0", "ip:[::1]:80", "ip:fe80::1", "svc:default/web",
		"svc:default/web:0", "svc:default/web:https", "svc:nope/nope:80", "dns:", "dns:.", "dns:web", "ingress:",
		"ingress:default/nope", "internet", "cidr:", "cidr:bad", "cidr:192.168.0.0/16", "idc:10.0.0.0/8", "kind:x", "::::"}
	for _, from := range specs {
		for _, to := range specs {
			for _, proto := range []string{"tcp", "udp", "icmp", ""} {
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("%q → %q (%s): panic %v", from, to, proto, r)
						}
					}()
					tr := Run(c, model.Flow{From: from, To: to, Proto: proto, Symptom: "timeout"})
					if tr.Verdict == "" {
						t.Errorf("%q → %q: empty verdict", from, to)
					}
				}()
			}
		}
	}
}

// The kube-proxy lab (testdata/datapath/kubeproxy-bundle/README.md):
// node-1 (IPVS) and node-3 (iptables) are healthy; node-2 (IPVS) and
// node-4 (iptables) still send kube-dns to 172.16.1.99:53, which is no
// endpoint, and lack web's endpoint 172.16.1.11:8080.
func TestKubeProxyChoiceIsComparedWithEndpoints(t *testing.T) {
	c := load(t, "../../testdata/datapath/kubeproxy-bundle")
	for _, node := range []string{"node-1", "node-2", "node-3", "node-4"} {
		faulty := node == "node-2" || node == "node-4"
		dns := Run(c, model.Flow{From: "node:" + node, To: "svc:kube-system/kube-dns:53", Proto: "udp"})
		stale := false
		for _, b := range dns.Branches {
			if b.Reason == "KUBE_PROXY_RULES_STALE" && strings.HasPrefix(b.To, "ip:172.16.1.99:53") {
				stale = true
			}
		}
		if stale != faulty {
			t.Errorf("%s: stale kube-dns branch = %v, want %v (%s %s)", node, stale, faulty, dns.Verdict, dns.Reason)
		}
		web := Run(c, model.Flow{From: "node:" + node, To: "svc:default/web:80", Proto: "tcp"})
		missing := false
		for _, s := range web.Steps {
			if s.Decision == ActRulesMissing && strings.Contains(s.Detail, "172.16.1.11:8080") {
				missing = true
			}
		}
		if missing != faulty {
			t.Errorf("%s: missing web endpoint noted = %v, want %v", node, missing, faulty)
		}
	}
}

// UNDETERMINED hops of reported flows become inconclusive items naming
// the file to collect; implicit traces add none.
func TestInconclusiveNamesFilesOfReportedFlows(t *testing.T) {
	c := load(t, datapathDir)
	tr := New(c)
	reported := tr.Trace(model.Flow{From: "ip:172.16.0.2", To: "ip:172.16.1.2:80", Proto: "tcp"})
	inc := Inconclusive([]Trace{reported})
	needs := map[string]bool{}
	for _, i := range inc {
		needs[i.Need] = true
	}
	// each item names one bundle path (the driver adds its command)
	for _, want := range []string{"cloud/cluster-routes.json", "cloud/instances.json", "cloud/security-group-policies/"} {
		if !needs[want] {
			t.Errorf("no inconclusive for %s: %+v", want, inc)
		}
	}
	for _, i := range Inconclusive(All(c)) {
		if strings.ContainsAny(i.Need, " ,()") {
			t.Errorf("inconclusive need %q is not a bundle path", i.Need)
		}
	}
}

// Cross-VPC and IDC traffic leaves by the subnet's route table: on the
// healthy cloud scenario both go to the CCN, citing the route.
func TestCrossVPCAndIDCLeaveThroughTheCCN(t *testing.T) {
	c := load(t, "../../testdata/cloud/scenarios/healthy")
	for _, to := range []string{"ip:10.8.0.5:80", "ip:192.168.1.10:80"} {
		tr := Run(c, model.Flow{From: "ip:10.0.1.5", To: to, Proto: "tcp"})
		found := false
		for _, s := range tr.Steps {
			if s.At == "vpc/rtb-k8snap01" && strings.Contains(s.Detail, "CCN ccn-k8snap01") && s.Evidence["file"] == "cloud/route-tables.json" {
				found = true
			}
		}
		if !found || failing(tr) != nil {
			t.Errorf("%s: no CCN route step or a failure: %s %s %+v", to, tr.Verdict, tr.Reason, tr.Steps)
		}
	}
}

// A trace's reason is always explained in the report: when no check
// reported the reason's ID, the trace reports it (rendered from the
// catalog with its arguments); when a check did, it is not repeated.
func TestReasonFindingOnlyWhenNoCheckReportedIt(t *testing.T) {
	c := load(t, "../../testdata/cloud/scenarios/sg-vpc-cidr-blocked")
	tr := Run(c, model.Flow{From: "ip:10.0.2.7", To: "ip:10.0.1.5:22", Proto: "tcp"})
	fs := Findings([]Trace{tr}, nil)
	if len(fs) != 1 || fs[0].ID != "SG_VPC_CIDR_BLOCKED" {
		t.Fatalf("findings = %+v", fs)
	}
	if err := finding.Render(&fs[0], finding.EN); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sg-k8snode", "10.0.2.0/24", "PolicyIndex 1"} {
		if !strings.Contains(fs[0].Message+fs[0].Remedy, want) {
			t.Errorf("%q / %q lacks %q", fs[0].Message, fs[0].Remedy, want)
		}
	}
	if len(fs[0].Evidence) == 0 || fs[0].Evidence[0].Line == 0 {
		t.Errorf("no policy evidence: %+v", fs[0].Evidence)
	}
	byCheck := finding.New("SG_VPC_CIDR_BLOCKED", nil, []string{"sg-k8snode"})
	if again := Findings([]Trace{tr}, []finding.Finding{byCheck}); len(again) != 0 {
		t.Errorf("repeated a reason a check reported: %+v", again)
	}
}

// A bundle with only cluster/ (testdata/kube/base): kube-proxy's choice
// is taken from the endpoints, but the node hop before the fork is not
// in the bundle, so no branch can claim delivery.
func TestClusterOnlyBundleIsUndeterminedBeforeTheFork(t *testing.T) {
	c := load(t, "../../testdata/kube/base")
	for _, tr := range All(c) {
		if tr.Verdict == Delivered {
			t.Errorf("%s → %s delivered without any node data", tr.From, tr.To)
		}
	}
}

// docs/design.md §4: reason is a bare finding ID or short code, so anything
// keyed on the ID finds it; the share of failing endpoints is its own
// field.
func TestReasonIsABareIDAndTheBranchShareIsSeparate(t *testing.T) {
	id := regexp.MustCompile(`^([A-Z][A-Z0-9_]*)?$`)
	var check func(bundle string, tr Trace)
	check = func(bundle string, tr Trace) {
		if !id.MatchString(tr.Reason) {
			t.Errorf("%s: %s → %s reason %q is not a finding ID or short code", bundle, tr.From, tr.To, tr.Reason)
		}
		if len(tr.Branches) > 0 && (tr.BranchCount != len(tr.Branches) || tr.FailingBranches > tr.BranchCount) {
			t.Errorf("%s: %s → %s: %d of %d failing branches for %d branches", bundle, tr.From, tr.To, tr.FailingBranches, tr.BranchCount, len(tr.Branches))
		}
		for _, b := range tr.Branches {
			check(bundle, b)
		}
	}
	dirs, _ := os.ReadDir(labDir)
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		c := load(t, filepath.Join(labDir, d.Name()))
		for _, tr := range All(c) {
			check(d.Name(), tr)
		}
	}
	c := load(t, filepath.Join(labDir, "sample"))
	tr := Run(c, model.Flow{From: "pod:default/client-0", To: "svc:default/web:80", Symptom: "refused"})
	if tr.BranchCount != 2 || tr.FailingBranches != 2 {
		t.Errorf("sample Service flow: %d of %d branches fail, want 2 of 2 (one refuses, one times out)", tr.FailingBranches, tr.BranchCount)
	}
	if fmt.Sprint(tr.Symptoms) != "[refused timeout]" {
		t.Errorf("sample Service flow symptoms %v, want [refused timeout]", tr.Symptoms)
	}
	for _, f := range tr.findings {
		if f.ID == "TRACE_SYMPTOM_MISMATCH" {
			t.Errorf("the refusing branch explains the reported symptom, but got %s", f.Message)
		}
	}
}

// A capture that proves a drop on an UNDETERMINED trace is worded as what
// the capture proves against what the bundle could not decide — never
// "the rules say … is UNDETERMINED, but".
func TestCaptureContradictionOnAnUndecidedFlowSaysWhatWasNotDecided(t *testing.T) {
	for _, lang := range []finding.Lang{finding.EN, finding.ZH} {
		f := finding.New("TRACE_CAPTURE_CONTRADICTS", finding.Args{"flow": "pod:a/b → pod:a/c:80", "verdict": "UNDETERMINED",
			"seen": "the SYN left 10.0.1.11 unanswered", "candidates": "the VPC route", "undecided": "node/10.0.1.12"}, nil)
		if err := finding.Render(&f, lang); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(f.Message, "UNDETERMINED") || strings.Contains(f.Message, "rules say") || !strings.Contains(f.Message, "node/10.0.1.12") {
			t.Errorf("%s: %s", lang, f.Message)
		}
	}
}

// A reported flow with a typo'd pod name: the bundle's pod list proves
// there is no such pod, so the trace names it and the close names instead
// of asking for cluster/pods.yaml, which is there.
func TestTypoInAReportedFlowNamesClosePodsNotAFileToCollect(t *testing.T) {
	c := load(t, filepath.Join(labDir, "sample"))
	for _, f := range []model.Flow{
		{From: "pod:default/clent-0", To: "svc:default/web:80"},
		{From: "pod:default/client-0", To: "pod:default/web-9:8080"},
		{From: "foo", To: "bar"},
	} {
		tr := Run(c, f)
		s := failing(tr)
		if tr.Verdict != Undetermined || tr.Reason != "UNKNOWN_ENDPOINT" || s == nil {
			t.Errorf("%s → %s: %s %s, want UNDETERMINED UNKNOWN_ENDPOINT", f.From, f.To, tr.Verdict, tr.Reason)
			continue
		}
		if strings.Contains(s.Detail, "collect") || f.From != "foo" && !strings.Contains(s.Detail, "did you mean") {
			t.Errorf("%s → %s: %s", f.From, f.To, s.Detail)
		}
		if inc := Inconclusive([]Trace{tr}); len(inc) > 0 {
			t.Errorf("%s → %s: asks to collect %+v", f.From, f.To, inc)
		}
	}
}

// The implicit pod-to-pod checks trace what applications send (TCP), not
// ICMP: sg-lab0node accepts ICMP (PolicyIndex 4) before dropping
// everything else (PolicyIndex 5), so a ping-based check would call the
// pair healthy while every connection times out. Without cluster/ the
// pairs come from the GlobalRouter routes and still name the SG policy.
func TestImplicitPodPairsAreNotDecidedByAnICMPAccept(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(labDir, "sg-pod-cidr"))); err != nil {
		t.Fatal(err)
	}
	for _, cut := range []string{"", "cluster"} {
		if cut != "" {
			if err := os.RemoveAll(filepath.Join(dir, cut)); err != nil {
				t.Fatal(err)
			}
		}
		c := load(t, dir)
		pairs := 0
		for _, tr := range All(c) {
			if !tr.Implicit || !strings.HasPrefix(tr.From, "ip:172.16.") && !strings.HasPrefix(tr.From, "pod:") || strings.HasPrefix(tr.To, "dns:") {
				continue
			}
			pairs++
			if tr.Proto != "tcp" {
				t.Errorf("without %q: %s → %s traced as %s", cut, tr.From, tr.To, tr.Proto)
			}
			s := failing(tr)
			if tr.Verdict != Dropped || s == nil || s.Evidence["sg"] != "sg-lab0node" || s.Evidence["policy_index"] != 5 {
				t.Errorf("without %q: %s → %s %s %s at %+v, want DROPPED by sg-lab0node PolicyIndex 5", cut, tr.From, tr.To, tr.Verdict, tr.Reason, s)
			}
		}
		if pairs != 2 {
			t.Errorf("without %q: %d implicit pod pairs, want 2", cut, pairs)
		}
	}
}

// route-missing deletes 10.0.1.12's pod CIDR route from node 10.0.1.11
// and from the GlobalRouter table. The reason is the finding that fires
// for it (NODE_ROUTE_MISSING on 10.0.1.11; the trace reports it itself
// when no check did), and the way back, web-1 → web-0, still finds
// web-1's ENI from the pod object (spec.nodeName → node 10.0.1.12)
// instead of the deleted container route.
func TestRouteMissingCitesTheNodeThatLacksTheRouteAndPodsStillFindTheirENI(t *testing.T) {
	c := load(t, filepath.Join(labDir, "route-missing"))
	tr := Run(c, model.Flow{From: "pod:default/client-0", To: "pod:default/web-1:8080"})
	if tr.Verdict != NoRoute || tr.Reason != "NODE_ROUTE_MISSING" {
		t.Errorf("client-0 → web-1: %s %s, want NO_ROUTE NODE_ROUTE_MISSING", tr.Verdict, tr.Reason)
	}
	fs := Findings([]Trace{tr}, nil)
	if len(fs) != 1 || fs[0].ID != "NODE_ROUTE_MISSING" || fs[0].Args["node"] != "10.0.1.11" || fs[0].Args["cidr"] != "172.16.0.64/26" {
		t.Errorf("fallback findings %+v, want NODE_ROUTE_MISSING of node 10.0.1.11 for 172.16.0.64/26", fs)
	}
	back := Run(c, model.Flow{From: "pod:default/web-1", To: "pod:default/web-0:8080"})
	if back.Verdict != Delivered {
		t.Errorf("web-1 → web-0: %s %s, want DELIVERED", back.Verdict, back.Reason)
	}
	found := false
	for _, s := range back.Steps {
		if s.Component == "security-group" && strings.Contains(s.Detail, "egress of 172.16.0.66 (eni eni-lab00012)") {
			found = true
		}
		if s.Decision == ActUndetermined {
			t.Errorf("web-1 → web-0: undetermined step %s: %s", s.At, s.Detail)
		}
	}
	if !found {
		t.Errorf("web-1 → web-0: no egress SG step of web-1's node ENI: %+v", back.Steps)
	}
}

// externalTrafficPolicy: Local with endpoints on some nodes is the normal
// setup: the CLB health check takes the other nodes out of service. It is
// a fault only when it breaks something — no node has a local endpoint,
// or the health check is off (or says the node is alive) so the CLB does
// send clients there.
func TestLocalTrafficPolicyWarnsOnlyWhenItBreaksSomething(t *testing.T) {
	c := load(t, "../../testdata/datapath/kubeproxy-bundle")
	var api *Trace
	ts := All(c)
	for i := range ts {
		if ts[i].To == "svc:default/api:443" {
			api = &ts[i]
		}
	}
	if api == nil {
		t.Fatal("no implicit trace of the LoadBalancer Service default/api")
	}
	benched := 0
	for _, b := range api.Branches {
		if b.outOfService {
			benched++
			if b.Reason != "NOT_IN_SERVICE" {
				t.Errorf("%s: reason %s", b.To, b.Reason)
			}
		}
	}
	if benched != 2 {
		t.Errorf("%d real servers out of service, want 2 (node-3, node-4 have no local endpoint)", benched)
	}
	for _, f := range Findings(ts, nil) {
		if f.ID == "SVC_NO_LOCAL_ENDPOINTS" {
			t.Errorf("health-checked ETP Local nodes raised %s", f.Args)
		}
	}
	for _, tc := range []struct {
		health string
		sw     *int
		want   bool
	}{{"", nil, true}, {"Dead", nil, true}, {"Alive", nil, false}, {"", ptr(0), false}, {"", ptr(1), true}} {
		var l *model.Listener
		if tc.sw != nil {
			l = &model.Listener{}
			l.HealthCheck = &struct {
				HealthSwitch tencent.FlexInt `json:"HealthSwitch"`
				SourceIpType tencent.FlexInt `json:"SourceIpType"`
				CheckPort    tencent.FlexInt `json:"CheckPort"`
			}{HealthSwitch: tencent.FlexInt(*tc.sw)}
		}
		if on, why := healthChecked(l, target{health: tc.health}); on != tc.want {
			t.Errorf("health %q switch %v: checked=%v (%s), want %v", tc.health, tc.sw, on, render(finding.EN, []part{why}), tc.want)
		}
	}
	// no node has a local endpoint: every real server is out of service,
	// nothing answers, and the warning is due
	lf := finding.New("SVC_NO_LOCAL_ENDPOINTS", finding.Args{"node": "n"}, nil)
	all := Trace{Branches: []Trace{
		{Verdict: Dropped, Reason: "NOT_IN_SERVICE", Symptom: "timeout", outOfService: true, benched: &lf},
		{Verdict: Dropped, Reason: "NOT_IN_SERVICE", Symptom: "timeout", outOfService: true, benched: &lf}}}
	combineInto(&all, "")
	if all.Verdict != Dropped || all.Reason != "SVC_NO_LOCAL_ENDPOINTS" || !hasFinding(all.findings, "SVC_NO_LOCAL_ENDPOINTS") {
		t.Errorf("no local endpoint anywhere: %s %s %v", all.Verdict, all.Reason, all.findings)
	}
	some := Trace{Branches: []Trace{all.Branches[0], {Verdict: Delivered}}}
	combineInto(&some, "")
	if some.Verdict != Delivered || some.FailingBranches != 0 || len(some.findings) != 0 {
		t.Errorf("one node with a local endpoint: %s %s %d failing", some.Verdict, some.Reason, some.FailingBranches)
	}
}

func ptr[T any](v T) *T { return &v }

// --lang zh: step details come from the per-language catalog, so a
// Chinese report does not show "seen here in …" or "egress of …".
// Every English format has a Chinese one, every rendering of the lab
// traces fills its arguments, and Localize can go back to English.
func TestStepDetailsRenderInChinese(t *testing.T) {
	for k := range stepTexts[finding.EN] {
		if _, ok := stepTexts[finding.ZH][k]; !ok {
			t.Errorf("step text %q has no Chinese format", k)
		}
	}
	c := load(t, filepath.Join(labDir, "sample"))
	ts := All(c)
	en := map[*Step]string{}
	var walkSteps func(ts []Trace, f func(*Step))
	walkSteps = func(ts []Trace, f func(*Step)) {
		for i := range ts {
			for j := range ts[i].Steps {
				f(&ts[i].Steps[j])
			}
			walkSteps(ts[i].Branches, f)
		}
	}
	walkSteps(ts, func(s *Step) { en[s] = s.Detail })
	Localize(ts, finding.ZH)
	localized := 0
	walkSteps(ts, func(s *Step) {
		if strings.Contains(s.Detail, "%!") {
			t.Errorf("bad format: %s", s.Detail)
		}
		if len(s.parts) > 0 && s.Detail != en[s] {
			localized++
		}
		for _, w := range []string{"seen here", "egress of", "ingress of", "container route", "outside the cluster", "on node"} {
			if len(s.parts) > 0 && strings.Contains(s.Detail, w) {
				t.Errorf("English %q left in %q", w, s.Detail)
			}
		}
	})
	if localized < 20 {
		t.Errorf("only %d step details localized", localized)
	}
	Localize(ts, finding.EN)
	walkSteps(ts, func(s *Step) {
		if s.Detail != en[s] {
			t.Errorf("back to English: %q, was %q", s.Detail, en[s])
		}
	})
	if SymptomText("timeout", finding.ZH) != "超时" || SymptomText("timeout", finding.EN) != "timeout" {
		t.Error("symptom words are not localized")
	}
}

// "internet" is a destination too (pods reaching out through the node's
// SNAT): it is traced, and the SNAT to the node IP that every internet
// flow needs is not MASQ_HIDES_SOURCE, which is about IDC and peer VPCs.
func TestInternetDestinationIsTracedAndItsSNATIsNoFault(t *testing.T) {
	c := load(t, filepath.Join(labDir, "sample"))
	tr := Run(c, model.Flow{From: "pod:default/client-0", To: "internet"})
	if tr.Verdict != Delivered || tr.Reason != "" {
		t.Errorf("pod → internet: %s %q, want DELIVERED with no reason", tr.Verdict, tr.Reason)
	}
	for _, s := range tr.Steps {
		if s.Decision == ActUndetermined {
			t.Errorf("undetermined step %s: %s", s.At, s.Detail)
		}
	}
	c = load(t, filepath.Join(labDir, "masq-idc"))
	if tr := Run(c, model.Flow{From: "pod:default/client-0", To: "ip:192.168.100.10:80"}); tr.Reason != "MASQ_HIDES_SOURCE" {
		t.Errorf("pod → IDC: reason %q, want MASQ_HIDES_SOURCE", tr.Reason)
	}
}

// A node folder without ip addr / ip route dumps: MASQUERADE's address
// (the out interface's) is unknown to the simulator, which says so; the
// trace takes the node's address from the cluster objects and says that,
// so the IDC still sees the node IP (MASQ_HIDES_SOURCE), not the pod IP.
func TestMasqueradeWithoutInterfaceAddressesUsesTheNodeAddress(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(labDir, "masq-idc"))); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ip-addr.json", "ip-route.json"} {
		if err := os.Remove(filepath.Join(dir, "nodes/10.0.1.11", f)); err != nil {
			t.Fatal(err)
		}
	}
	tr := Run(load(t, dir), model.Flow{From: "pod:default/client-0", To: "ip:192.168.100.10:80"})
	if tr.Reason != "MASQ_HIDES_SOURCE" {
		t.Errorf("reason %q, want MASQ_HIDES_SOURCE", tr.Reason)
	}
	found := false
	for _, s := range tr.Steps {
		if s.Component == "iptables" && strings.HasPrefix(s.After, "10.0.1.11:") && strings.Contains(s.Detail, "taken as the node's address 10.0.1.11") {
			found = true
		}
	}
	if !found {
		t.Errorf("no MASQUERADE step to the node's address: %+v", tr.Steps)
	}
}
