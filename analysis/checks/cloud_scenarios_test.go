package checks

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"tkesnap/analysis/driver/drivertest"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/internal/testbundle"
	"tkesnap/parsers/bundle"
)

// runCloud loads a scenario bundle and runs only the cloud checks.
func runCloud(t *testing.T, dir string) (*model.Cluster, []finding.Finding, []finding.Inconclusive) {
	t.Helper()
	b, err := bundle.Open(dir, bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	c := model.Load(b)
	res := drivertest.RunModel(t, c, drivertest.Named("cloud-", All())...)
	fs, inc := res.Findings, res.Inconclusive
	for _, p := range c.Problems {
		if p.File != "manifest.json" {
			t.Errorf("problem reading scenario: %+v", p)
		}
	}
	return c, fs, inc
}

const scenarios = "../../testdata/cloud/scenarios/"

// want is one expected finding: its ID and the arguments that must match.
type want struct {
	id   string
	args map[string]string
}

// cloudScenarioWants are the findings each cloud scenario must give, with
// the arguments that must match. TestCloudScenarioWantsComeFromTheScenario
// ties them to the scenario itself: the IDs are the ones its README says
// are expected, and every argument value is written in its files.
var cloudScenarioWants = []struct {
	name string
	want []want
}{
	{"healthy", nil},
	{"independent-healthy", nil},
	{"sg-pod-cidr-blocked", []want{{"SG_POD_CIDR_BLOCKED", map[string]string{"sg": "sg-k8snode", "dir": "ingress", "cidr": "172.20.0.0/16", "node": "10.0.1.5, 10.0.2.7", "before": ""}}}},
	{"sg-vpc-cidr-blocked", []want{{"SG_VPC_CIDR_BLOCKED", map[string]string{"sg": "sg-k8snode", "dir": "ingress", "cidr": "10.0.0.0/16", "node": "10.0.1.5", "before": "1", "peer": "10.0.2.7", "peer_kind": "node"}}}},
	{"sg-nodeport-range-blocked", []want{
		{"SG_NODEPORT_RANGE_BLOCKED", map[string]string{"sg": "sg-k8snode", "source": "0.0.0.0/0", "port": "30000-32768", "lb": "lb-k8sweb01", "before": ""}},
		{"SG_NODEPORT_RANGE_BLOCKED", map[string]string{"sg": "sg-k8snode", "source": "119.29.10.20", "lb": "lb-k8sweb01", "before": ""}}}},
	{"sg-idc-cidr-blocked", []want{{"SG_IDC_CIDR_BLOCKED", map[string]string{"sg": "sg-k8snode", "dir": "ingress", "cidr": "192.168.0.0/16", "before": ""}}}},
	{"clb-sg-blocks-listener", []want{{"CLB_SG_BLOCKS_LISTENER", map[string]string{"sg": "sg-k8sclb1", "lb": "lb-k8sweb01", "proto": "TCP", "port": "443", "source": "0.0.0.0/0"}}}},
	{"node-no-public-bandwidth", []want{
		{"NODE_NO_PUBLIC_BANDWIDTH", map[string]string{"node": "10.0.1.5", "instance": "ins-k8snode1", "bandwidth": "0", "account": "LEGACY"}},
		{"NODE_NO_PUBLIC_BANDWIDTH", map[string]string{"node": "10.0.2.7", "instance": "ins-k8snode2"}}}},
	{"route-missing-idc", []want{{"ROUTE_MISSING", map[string]string{"cidr": "192.168.0.0/16", "table": "rtb-k8snap01", "disabled": "ccnr-k8s00004"}}}},
	{"route-missing-pod-cidr", []want{{"ROUTE_MISSING", map[string]string{"cidr": "172.20.0.0/16", "ccn": "ccn-k8snap01", "vpc": "vpc-k8snap01"}}}},
	{"sg-apiserver-source-blocked", []want{{"SG_APISERVER_SOURCE_BLOCKED", map[string]string{"endpoint": "public", "client": "198.51.100.7", "allowed": "203.0.113.0/24"}}}},
	// sg-k8smst admits the master's own subnet 10.0.1.0/24 (PolicyIndex
	// 0) but not the intranet access subnet 10.0.3.0/24: the guide asks
	// for the master's "VPC 网段或 VPC 子网网段" — its subnet is enough, so
	// only the access subnet is a finding.
	// The cloud scenarios hold no cluster/ files: the API port (the
	// default/kubernetes endpoints) is unknown, and the finding stands
	// because the SG admits the subnet on no TCP port at all.
	{"sg-master-subnet-blocked", []want{
		{"SG_MASTER_SUBNET_BLOCKED", map[string]string{"sg": "sg-k8smst", "cidr": "10.0.3.0/24", "port": "", "node": "10.0.1.10"}}}},
}

func TestCloudScenarios(t *testing.T) {
	for _, tc := range cloudScenarioWants {
		t.Run(tc.name, func(t *testing.T) {
			dir := scenarios + tc.name
			_, fs, inc := runCloud(t, dir)
			for _, i := range inc {
				t.Errorf("unexpected inconclusive: %+v", i)
			}
			checkFindings(t, dir, fs, tc.want)
		})
	}
}

// checkFindings matches findings to wants one to one and checks that
// every SG finding cites the deciding policy (or the Ingress/Egress list
// for an implicit deny) at a line of the policy file that really is it.
func checkFindings(t *testing.T, dir string, fs []finding.Finding, ws []want) {
	t.Helper()
	used := make([]bool, len(fs))
	for _, w := range ws {
		found := false
		for i, f := range fs {
			if used[i] || f.ID != w.id {
				continue
			}
			ok := true
			for k, v := range w.args {
				if f.Args[k] != v {
					ok = false
				}
			}
			if ok {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("missing %s %v", w.id, w.args)
		}
	}
	for i, f := range fs {
		if !used[i] {
			t.Errorf("unexpected %s %v", f.ID, f.Args)
		}
		if err := finding.Render(&f, finding.EN); err != nil {
			t.Errorf("%s: %v", f.ID, err)
		}
		if len(f.Evidence) == 0 {
			t.Errorf("%s without evidence", f.ID)
		}
		if sgID := f.Args["sg"]; sgID != "" && strings.HasPrefix(f.Evidence[0].File, "cloud/security-group-policies/") {
			checkPolicyLine(t, dir, f)
		}
	}
}

func checkPolicyLine(t *testing.T, dir string, f finding.Finding) {
	t.Helper()
	ev := f.Evidence[0]
	data, err := os.ReadFile(filepath.Join(dir, ev.File))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	if ev.Line < 1 || ev.Line > len(lines) {
		t.Fatalf("%s: evidence line %d out of range", f.ID, ev.Line)
	}
	l := strings.TrimSpace(lines[ev.Line-1])
	if before := f.Args["before"]; before != "" {
		if l != "{" || strings.TrimSpace(lines[ev.Line]) != `"PolicyIndex": `+before+"," {
			t.Errorf("%s: line %d of %s is %q, not policy %s", f.ID, ev.Line, ev.File, l, before)
		}
	} else if !strings.HasPrefix(l, `"Ingress"`) && !strings.HasPrefix(l, `"Egress"`) {
		t.Errorf("%s: implicit deny cites line %d %q, not the policy list", f.ID, ev.Line, l)
	}
	if !strings.Contains(f.Remedy, f.Args["sg"]) {
		t.Errorf("%s: remedy %q does not name %s", f.ID, f.Remedy, f.Args["sg"])
	}
}

// variant copies a scenario into a temp dir and edits one JSON file.
func variant(t *testing.T, name, file string, edit func(v map[string]any)) string {
	t.Helper()
	dst := t.TempDir()
	src := scenarios + name
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == filepath.FromSlash(file) {
			var v map[string]any
			if err := json.Unmarshal(b, &v); err != nil {
				return err
			}
			edit(v)
			b, _ = json.MarshalIndent(v, "", "    ")
		}
		os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755)
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func writeFile(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func firstLB(v map[string]any) map[string]any {
	return v["LoadBalancerSet"].([]any)[0].(map[string]any)
}

func TestNodePortRuleNotNeededWhenCLBPassesToTargets(t *testing.T) {
	dir := variant(t, "sg-nodeport-range-blocked", "cloud/load-balancers.json", func(v map[string]any) {
		firstLB(v)["LoadBalancerPassToTarget"] = true
	})
	_, fs, _ := runCloud(t, dir)
	checkFindings(t, dir, fs, nil)
}

func TestCLBWithoutSecurityGroupIsNotFiltered(t *testing.T) {
	dir := variant(t, "clb-sg-blocks-listener", "cloud/load-balancers.json", func(v map[string]any) {
		firstLB(v)["SecureGroups"] = []any{}
	})
	_, fs, _ := runCloud(t, dir)
	checkFindings(t, dir, fs, nil)
}

func TestCLBRestrictedToSomeClientsIsNotAFault(t *testing.T) {
	dir := variant(t, "clb-sg-blocks-listener", "cloud/security-group-policies/sg-k8sclb1.json", func(v map[string]any) {
		set := v["Response"].(map[string]any)["SecurityGroupPolicySet"].(map[string]any)
		p := set["Ingress"].([]any)[0].(map[string]any)
		p["Port"], p["CidrBlock"] = "80,443", "203.0.113.0/24"
	})
	_, fs, _ := runCloud(t, dir)
	// Only the office may use the CLB, and the nodes admit everyone on
	// NodePorts: nothing is broken.
	checkFindings(t, dir, fs, nil)
}

func TestClientOfCLBOutsideItsSecurityGroupTimesOut(t *testing.T) {
	dir := variant(t, "healthy", "cloud/security-group-policies/sg-k8sclb1.json", func(v map[string]any) {
		set := v["Response"].(map[string]any)["SecurityGroupPolicySet"].(map[string]any)
		set["Ingress"].([]any)[0].(map[string]any)["CidrBlock"] = "203.0.113.0/24"
	})
	writeFile(t, dir, "flows.json", `[{"from":"ip:198.51.100.7","to":"ip:119.29.10.20:443","proto":"tcp","symptom":"timeout"}]`)
	_, fs, _ := runCloud(t, dir)
	checkFindings(t, dir, fs, []want{{"CLB_SG_BLOCKS_LISTENER", map[string]string{"sg": "sg-k8sclb1", "source": "198.51.100.7", "port": "443"}}})
}

func TestMasterSubnetIsNotCheckedInManagedClusters(t *testing.T) {
	dir := variant(t, "sg-master-subnet-blocked", "cloud/clusters.json", func(v map[string]any) {
		v["Clusters"].([]any)[0].(map[string]any)["ClusterType"] = "MANAGED_CLUSTER"
	})
	_, fs, _ := runCloud(t, dir)
	for _, f := range fs {
		if f.ID == "SG_MASTER_SUBNET_BLOCKED" {
			t.Errorf("managed cluster reported %s %v", f.ID, f.Args)
		}
	}
}

func TestPodToPodFlowAcrossNodesCitesThePort(t *testing.T) {
	// Pod 172.20.0.10 on node 10.0.1.5 (cluster route 172.20.0.0/26) to
	// pod 172.20.0.70:8080 on node 10.0.2.7: the destination node's SG
	// lacks the pod CIDR rule.
	dir := variant(t, "sg-pod-cidr-blocked", "cloud/clusters.json", func(map[string]any) {})
	writeFile(t, dir, "flows.json", `[{"from":"ip:172.20.0.10","to":"ip:172.20.0.70:8080","proto":"tcp","symptom":"timeout"}]`)
	_, fs, _ := runCloud(t, dir)
	// With a reported flow the check is scoped to it: the exact port and
	// node, not the cluster-wide requirement.
	checkFindings(t, dir, fs, []want{
		{"SG_POD_CIDR_BLOCKED", map[string]string{"sg": "sg-k8snode", "dir": "ingress", "cidr": "172.20.0.0/16", "node": "10.0.2.7", "port": "8080", "peer": "172.20.0.10"}},
	})
	if f := fs[0]; strings.Join(f.Objects, " ") != "sg-k8snode node/10.0.2.7" {
		t.Errorf("objects = %v", f.Objects)
	}
}

func TestAPIServerClientInsideTheACLPasses(t *testing.T) {
	dir := variant(t, "sg-apiserver-source-blocked", "cloud/clusters.json", func(map[string]any) {})
	writeFile(t, dir, "flows.json", `[{"from":"ip:203.0.113.9","to":"ip:119.29.10.30:443"}]`)
	_, fs, _ := runCloud(t, dir)
	checkFindings(t, dir, fs, nil)
}

func TestNoCloudDataIsOneInconclusive(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "cluster"), 0o755)
	writeFile(t, filepath.Join(dir, "cluster"), "version.json", `{"serverVersion":{"gitVersion":"v1.30.0"}}`)
	b, err := bundle.Open(dir, bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := model.Load(b)
	res := drivertest.RunModel(t, c, drivertest.Named("cloud-", All())...) // must not panic without cloud data
	if len(res.Findings) > 0 {
		t.Errorf("reported %v without cloud data", res.Findings)
	}
	inc := res.Inconclusive
	if len(inc) != 1 || !strings.HasPrefix(inc[0].Need, "cloud/") {
		t.Errorf("inconclusive = %+v", inc)
	}
}

// With cluster/ objects, nodes are joined by InternalIP and the CLB is
// tied to its LoadBalancer Service by status.loadBalancer.ingress, even
// without the TKE tags.
func TestKubeObjectsJoinNodesAndServiceToTheCLB(t *testing.T) {
	dir := variant(t, "sg-nodeport-range-blocked", "cloud/load-balancers.json", func(v map[string]any) {
		firstLB(v)["Tags"] = []any{}
	})
	os.MkdirAll(filepath.Join(dir, "cluster"), 0o755)
	writeFile(t, filepath.Join(dir, "cluster"), "nodes.yaml", `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Node
  metadata: {name: worker-a}
  spec: {podCIDR: 172.20.0.0/26, providerID: "qcloud:///800003/ins-k8snode1"}
  status:
    addresses: [{type: InternalIP, address: 10.0.1.5}]
- apiVersion: v1
  kind: Node
  metadata: {name: worker-b}
  spec: {podCIDR: 172.20.0.64/26}
  status:
    addresses: [{type: InternalIP, address: 10.0.2.7}]
`)
	writeFile(t, filepath.Join(dir, "cluster"), "services.yaml", `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: default}
  spec:
    type: LoadBalancer
    clusterIP: 172.21.252.10
    ports:
    - {name: http, port: 80, targetPort: 8080, nodePort: 31080, protocol: TCP}
    - {name: https, port: 443, targetPort: 8443, nodePort: 31443, protocol: TCP}
  status:
    loadBalancer:
      ingress: [{ip: 119.29.10.20}]
- apiVersion: v1
  kind: Service
  metadata: {name: other, namespace: default}
  spec: {type: ClusterIP, clusterIP: 172.21.252.11, ports: [{port: 80, protocol: TCP}]}
`)
	_, fs, _ := runCloud(t, dir)
	checkFindings(t, dir, fs, []want{
		{"SG_NODEPORT_RANGE_BLOCKED", map[string]string{"sg": "sg-k8snode", "source": "0.0.0.0/0", "owner": "svc/default/web", "node": "worker-a, worker-b"}},
		{"SG_NODEPORT_RANGE_BLOCKED", map[string]string{"sg": "sg-k8snode", "source": "119.29.10.20", "owner": "svc/default/web"}},
	})
}

// The rendered findings of every scenario (English), as a
// reviewer reads them. Rewrite with: go test ./analysis/checks -run
// TestCloudScenarioGoldens -update
func TestCloudScenarioGoldens(t *testing.T) {
	dirs, _ := filepath.Glob(scenarios + "*")
	sort.Strings(dirs)
	n := 0
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			continue
		}
		n++
		name := filepath.Base(d)
		_, fs, inc := runCloud(t, d)
		finding.Sort(fs)
		var b strings.Builder
		fmt.Fprintf(&b, "# %s: %d finding(s), %d inconclusive\n", name, len(fs), len(inc))
		for _, lang := range []finding.Lang{finding.EN, finding.ZH} {
			for _, f := range fs {
				if err := finding.Render(&f, lang); err != nil {
					t.Errorf("%s %s: %v", name, f.ID, err)
				}
				if lang == finding.ZH {
					if w := englishLeak(f.Message + " " + f.Remedy); w != "" {
						t.Errorf("%s %s: English %q in the Chinese text: %s / %s", name, f.ID, w, f.Message, f.Remedy)
					}
				}
				fmt.Fprintf(&b, "\n[%s] %s %s %s\n  %s\n  remedy: %s\n", lang, f.Severity, f.ID, strings.Join(f.Objects, " "), f.Message, f.Remedy)
				for _, e := range f.Evidence {
					fmt.Fprintf(&b, "  evidence: %s:%d %s\n", e.File, e.Line, e.Excerpt)
				}
			}
		}
		golden := filepath.Join("..", "..", "testdata", "cloud", "golden", name+".txt")
		if *update {
			os.MkdirAll(filepath.Dir(golden), 0o755)
			if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if string(want) != b.String() {
			t.Errorf("%s differs from %s (run with -update and review the diff):\n%s", name, golden, b.String())
		}
	}
	if n < 12 {
		t.Errorf("only %d scenarios", n)
	}
}

func TestHealthChecksFrom100_64NeedThatRangeOnNodePorts(t *testing.T) {
	dir := variant(t, "sg-nodeport-range-blocked", "cloud/listeners/lb-k8sweb01.json", func(v map[string]any) {
		for _, l := range v["Listeners"].([]any) {
			l.(map[string]any)["HealthCheck"].(map[string]any)["SourceIpType"] = 1
		}
	})
	_, fs, _ := runCloud(t, dir)
	checkFindings(t, dir, fs, []want{
		{"SG_NODEPORT_RANGE_BLOCKED", map[string]string{"sg": "sg-k8snode", "source": "0.0.0.0/0"}},
		{"SG_NODEPORT_RANGE_BLOCKED", map[string]string{"sg": "sg-k8snode", "source": "100.64.0.0/10"}},
	})
}

// VPC-CNI: pods hold IPs of ENIs in the pod subnet; an ENI SG that does
// not admit the pod subnet blocks pod-to-pod traffic even though the node
// SG is fine.
func TestVPCCNIPodENISecurityGroupMustAllowPodSubnet(t *testing.T) {
	dir := variant(t, "healthy", "cloud/clusters.json", func(v map[string]any) {
		cl := v["Clusters"].([]any)[0].(map[string]any)
		cl["Property"] = `{"NodeNameType":"lan-ip","NetworkType":"VPC-CNI"}`
		cl["ClusterNetworkSettings"].(map[string]any)["Subnets"] = []string{"subnet-k8spod"}
	})
	edit := func(file string, f func(v map[string]any)) {
		p := filepath.Join(dir, filepath.FromSlash(file))
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		json.Unmarshal(b, &v)
		f(v)
		b, _ = json.MarshalIndent(v, "", "    ")
		os.WriteFile(p, b, 0o644)
	}
	edit("cloud/subnets.json", func(v map[string]any) {
		set := v["SubnetSet"].([]any)
		cp := map[string]any{}
		for k, x := range set[0].(map[string]any) {
			cp[k] = x
		}
		cp["SubnetId"], cp["CidrBlock"] = "subnet-k8spod", "10.0.8.0/24"
		v["SubnetSet"] = append(set, cp)
	})
	edit("cloud/network-interfaces.json", func(v map[string]any) {
		set := v["NetworkInterfaceSet"].([]any)
		raw, _ := json.Marshal(set[0])
		var e map[string]any
		json.Unmarshal(raw, &e)
		e["NetworkInterfaceId"], e["SubnetId"], e["Primary"], e["GroupSet"] = "eni-k8spod1", "subnet-k8spod", false, []string{"sg-k8spod"}
		e["PrivateIpAddressSet"] = []any{map[string]any{"PrivateIpAddress": "10.0.8.11", "Primary": true}}
		v["NetworkInterfaceSet"] = append(set, e)
	})
	writeFile(t, filepath.Join(dir, "cloud", "security-group-policies"), "sg-k8spod.json", `{
    "SecurityGroupPolicySet": {
        "Version": "2",
        "Ingress": [
            {
                "PolicyIndex": 0,
                "Protocol": "TCP",
                "Port": "8080",
                "CidrBlock": "10.0.1.0/24",
                "Action": "ACCEPT"
            }
        ],
        "Egress": [
            {
                "PolicyIndex": 0,
                "Protocol": "ALL",
                "Port": "ALL",
                "CidrBlock": "0.0.0.0/0",
                "Action": "ACCEPT"
            }
        ]
    },
    "RequestId": "x"
}`)
	_, fs, _ := runCloud(t, dir)
	checkFindings(t, dir, fs, []want{{"SG_POD_CIDR_BLOCKED", map[string]string{"sg": "sg-k8spod", "cidr": "10.0.8.0/24", "node": "eni-k8spod1", "dir": "ingress"}}})
}

func TestClientToNodePortIsTheNodePortRule(t *testing.T) {
	dir := variant(t, "sg-nodeport-range-blocked", "cloud/clusters.json", func(map[string]any) {})
	writeFile(t, dir, "flows.json", `[{"from":"ip:198.51.100.7","to":"ip:10.0.2.7:31080","proto":"tcp","symptom":"timeout"}]`)
	_, fs, _ := runCloud(t, dir)
	var got []string
	for _, f := range fs {
		if f.Args["flow"] != "" {
			got = append(got, f.ID+" "+f.Args["source"]+" "+f.Args["node"]+" "+f.Args["port"])
		}
	}
	if strings.Join(got, "|") != "SG_NODEPORT_RANGE_BLOCKED 198.51.100.7 10.0.2.7 30000-32768" {
		t.Errorf("flow findings = %q", got)
	}
}

// The container CIDR must be on the CCN only when a peer sees pod IPs:
// ip-masq-agent keeps pod sources towards the IDC. With the default
// (masquerade) the IDC only ever sees node IPs and needs no pod route.
func TestPodCIDRRouteNeededOnlyWhenPodsAreNotMasqueraded(t *testing.T) {
	for _, tc := range []struct {
		nonMasq string
		want    []want
	}{
		{`["172.20.0.0/16","10.0.0.0/16","192.168.0.0/16"]`, []want{{"ROUTE_MISSING", map[string]string{"cidr": "172.20.0.0/16", "ccn": "ccn-k8snap01"}}}},
		{`["172.20.0.0/16","10.0.0.0/16"]`, nil},
	} {
		dir := variant(t, "route-missing-pod-cidr", "cloud/clusters.json", func(map[string]any) {})
		os.Remove(filepath.Join(dir, "flows.json"))
		os.MkdirAll(filepath.Join(dir, "cluster"), 0o755)
		writeFile(t, filepath.Join(dir, "cluster"), "configmaps-kube-system.yaml", `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: ip-masq-agent-config, namespace: kube-system}
  data:
    config: |
      nonMasqueradeCIDRs: `+tc.nonMasq+`
      masqLinkLocal: true
      resyncInterval: 1m0s
`)
		_, fs, _ := runCloud(t, dir)
		checkFindings(t, dir, fs, tc.want)
	}
}

func TestReportedFlowsScopeTheCloudChecks(t *testing.T) {
	// The pod CIDR rule is missing, but the customer reports node → node
	// SSH, which the VPC rule allows: nothing about that flow is wrong.
	dir := variant(t, "sg-pod-cidr-blocked", "cloud/clusters.json", func(map[string]any) {})
	writeFile(t, dir, "flows.json", `[{"from":"ip:10.0.1.5","to":"ip:10.0.2.7:22","proto":"tcp"}]`)
	_, fs, _ := runCloud(t, dir)
	checkFindings(t, dir, fs, nil)
}

// Independent cluster: pods talk to the API server on the masters with
// their pod IPs; a master SG without the pod CIDR breaks in-cluster
// clients (controllers, kubectl in pods).
func TestMasterSecurityGroupMustAdmitPodsOnTheAPIPort(t *testing.T) {
	dir := variant(t, "independent-healthy", "cloud/security-group-policies/sg-k8smst.json", func(v map[string]any) {
		set := v["Response"].(map[string]any)["SecurityGroupPolicySet"].(map[string]any)
		in := set["Ingress"].([]any)
		set["Ingress"] = append(in[:1:1], in[2:]...) // drop "ACCEPT ALL 172.20.0.0/16"
	})
	_, fs, _ := runCloud(t, dir)
	// no cluster/ files: the API port is unknown, the pod CIDR is admitted on no TCP port
	checkFindings(t, dir, fs, []want{{"SG_POD_CIDR_BLOCKED", map[string]string{"sg": "sg-k8smst", "cidr": "172.20.0.0/16", "node": "10.0.1.10", "port": ""}}})
}

func TestFlowToAPeerVPCNeedsARoute(t *testing.T) {
	for _, tc := range []struct {
		to   string
		want []want
	}{
		// 10.8.0.0/16 is routed through the CCN: fine.
		{"ip:10.8.0.5:80", nil},
		// 10.9.0.0/16 (a peering that was never routed) has no route.
		{"ip:10.9.0.5:80", []want{{"ROUTE_MISSING", map[string]string{"table": "rtb-k8snap01", "vpc": "vpc-k8snap01", "cidr": "10.9.0.5/32", "from": "ip:10.0.1.5"}}}},
	} {
		dir := variant(t, "healthy", "cloud/clusters.json", func(map[string]any) {})
		writeFile(t, dir, "flows.json", `[{"from":"ip:10.0.1.5","to":"`+tc.to+`","proto":"tcp","symptom":"timeout"}]`)
		_, fs, _ := runCloud(t, dir)
		checkFindings(t, dir, fs, tc.want)
	}
}

func TestMissingPolicyFileIsInconclusiveNotAFinding(t *testing.T) {
	dir := variant(t, "sg-pod-cidr-blocked", "cloud/clusters.json", func(map[string]any) {})
	os.Remove(filepath.Join(dir, "cloud", "security-group-policies", "sg-k8snode.json"))
	_, fs, inc := runCloud(t, dir)
	checkFindings(t, dir, fs, nil)
	wantNeed(t, inc, "cloud/security-group-policies/sg-k8snode.json", "sg-k8snode's policies")
}

// wantNeed fails t unless one inconclusive result names the file need
// (what: what the file would have told).
func wantNeed(t *testing.T, inc []finding.Inconclusive, need, what string) {
	t.Helper()
	for _, i := range inc {
		if i.Need == need {
			return
		}
	}
	t.Errorf("inconclusive = %+v, want one naming %s (%s)", inc, need, what)
}

// Without DescribeListeners/DescribeTargets the Service says which ports
// the CLB listens on and which NodePorts it sends to.
func TestNodePortsFromTheServiceWhenTargetsWereNotCollected(t *testing.T) {
	dir := variant(t, "sg-nodeport-range-blocked", "cloud/clusters.json", func(map[string]any) {})
	for _, f := range []string{"listeners", "targets", "target-health"} {
		os.RemoveAll(filepath.Join(dir, "cloud", f))
	}
	os.MkdirAll(filepath.Join(dir, "cluster"), 0o755)
	writeFile(t, filepath.Join(dir, "cluster"), "services.yaml", `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
  annotations: {service.kubernetes.io/loadbalance-id: lb-k8sweb01}
spec:
  type: LoadBalancer
  clusterIP: 172.21.252.10
  ports:
  - {name: https, port: 443, targetPort: 8443, nodePort: 31443, protocol: TCP}
`)
	_, fs, inc := runCloud(t, dir)
	for _, i := range inc {
		if !strings.Contains(i.Need, "listeners") {
			t.Errorf("unexpected inconclusive %+v", i)
		}
	}
	checkFindings(t, dir, fs, []want{
		{"SG_NODEPORT_RANGE_BLOCKED", map[string]string{"source": "0.0.0.0/0", "owner": "svc/default/web", "node": "10.0.1.5, 10.0.2.7"}},
		{"SG_NODEPORT_RANGE_BLOCKED", map[string]string{"source": "119.29.10.20", "owner": "svc/default/web"}},
	})
	for _, f := range fs {
		if f.Args["blocked_proto"] != "TCP" || f.Args["blocked_ports"] != "31443" {
			t.Errorf("blocked slice %s %s does not name the Service's NodePort", f.Args["blocked_proto"], f.Args["blocked_ports"])
		}
	}
}

// A private CLB's clients and health checks come from the VPC, which the
// node SG admits: removing the internet-wide NodePort rule breaks nothing.
func TestPrivateCLBNeedsOnlyTheVPCOnNodePorts(t *testing.T) {
	dir := variant(t, "sg-nodeport-range-blocked", "cloud/load-balancers.json", func(v map[string]any) {
		lb := firstLB(v)
		lb["LoadBalancerType"], lb["LoadBalancerVips"] = "INTERNAL", []string{"10.0.1.50"}
	})
	_, fs, _ := runCloud(t, dir)
	checkFindings(t, dir, fs, nil)
}

// copyBundleWithout copies a lab bundle folder, leaving out the top-level
// entries named in skip (e.g. "cluster").
func copyBundleWithout(t *testing.T, src string, skip ...string) string {
	return testbundle.Copy(t, src, skip...)
}

// A partial upload: cloud/ and flows.json but no cluster/. The reported
// pod → pod flow cannot be placed, so the cloud checks must not stay
// silent: the cluster-wide pod CIDR requirement still finds the node SG
// that drops it, and the report says what would decide the flow itself.
func TestPodFlowWithoutClusterObjectsFallsBackToTheClusterWidePodCIDRCheck(t *testing.T) {
	dir := copyBundleWithout(t, "../../testdata/bundles/sg-pod-cidr", "cluster")
	_, fs, inc := runCloud(t, dir)
	var got []string
	for _, f := range fs {
		got = append(got, f.ID)
	}
	if !slices.Contains(got, "SG_POD_CIDR_BLOCKED") {
		t.Errorf("findings = %v, want SG_POD_CIDR_BLOCKED", got)
	}
	for _, f := range fs {
		if f.ID == "SG_POD_CIDR_BLOCKED" && (f.Args["sg"] != "sg-lab0node" || f.Args["cidr"] != "172.16.0.0/16") {
			t.Errorf("SG_POD_CIDR_BLOCKED args = %v", f.Args)
		}
	}
	found := false
	for _, in := range inc {
		if in.Need == "cluster/pods.yaml" && strings.Contains(in.Why, "pod:default/client-0") {
			found = true
		}
	}
	if !found {
		t.Errorf("no inconclusive item asks for cluster/pods.yaml to decide the flow: %+v", inc)
	}
	// With cluster/ the same bundle is scoped to the flow (exact port).
	_, fs, _ = runCloud(t, "../../testdata/bundles/sg-pod-cidr")
	if len(fs) != 1 || fs[0].ID != "SG_POD_CIDR_BLOCKED" || fs[0].Args["port"] != "8080" {
		t.Errorf("full bundle: %+v", fs)
	}
}

// englishLeak returns an English word of running text found in a
// Chinese rendering (IDs, CIDRs, protocol names and API field names are
// fine; sentences are not).
func englishLeak(s string) string {
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z')
	}) {
		switch w {
		case "the", "is", "from", "to", "of", "by", "decided", "matched", "no", "policy", "implicit", "deny",
			"container", "pods", "reach", "it", "without", "reported", "flow", "nodes", "learned", "dropped", "rejected", "nobody", "any", "client", "node":
			return w
		}
	}
	return ""
}

// GlobalRouter: the route "172.16.0.64/26 → 10.0.1.12" is gone from the
// cluster route table (lab bundle route-missing), so pods on the other
// node cannot reach web-1; the healthy lab bundle has every route.
func TestPodCIDROfANodeWithoutItsClusterRouteIsRouteMissing(t *testing.T) {
	_, fs, _ := runCloud(t, "../../testdata/bundles/route-missing")
	var got []finding.Finding
	for _, f := range fs {
		if f.ID == "ROUTE_MISSING" {
			got = append(got, f)
		}
	}
	if len(got) != 1 {
		t.Fatalf("ROUTE_MISSING findings = %+v, want one", fs)
	}
	want := map[string]string{"table": "cls-lab00001", "vpc": "vpc-lab00001", "cidr": "172.16.0.64/26", "via_kind": "node", "via_id": "10.0.1.12"}
	for k, v := range want {
		if got[0].Args[k] != v {
			t.Errorf("arg %s = %q, want %q", k, got[0].Args[k], v)
		}
	}
	if ev := got[0].Evidence; len(ev) < 2 || ev[1].File != "cluster/nodes.yaml" || ev[1].Line == 0 {
		t.Errorf("evidence = %+v, want the node's spec.podCIDR line", ev)
	}
	for _, b := range []string{"healthy", "sg-pod-cidr"} {
		_, fs, _ := runCloud(t, "../../testdata/bundles/"+b)
		for _, f := range fs {
			if f.ID == "ROUTE_MISSING" {
				t.Errorf("%s: unexpected %+v", b, f.Args)
			}
		}
	}
}

// The guide's public-bandwidth check applies to traditional (LEGACY)
// accounts only: on a STANDARD account the same nodes without bandwidth
// are no finding, and without the account type it is inconclusive,
// naming the file and the tccli call, once.
func TestPublicBandwidthDependsOnTheAccountType(t *testing.T) {
	dir := variant(t, "node-no-public-bandwidth", "cloud/network-account-type.json", func(v map[string]any) {
		v["NetworkAccountType"] = "STANDARD"
	})
	_, fs, inc := runCloud(t, dir)
	checkFindings(t, dir, fs, nil)
	for _, i := range inc {
		t.Errorf("STANDARD account: unexpected inconclusive %+v", i)
	}

	dir = variant(t, "node-no-public-bandwidth", "cloud/clusters.json", func(map[string]any) {})
	if err := os.Remove(filepath.Join(dir, "cloud/network-account-type.json")); err != nil {
		t.Fatal(err)
	}
	_, fs, inc = runCloud(t, dir)
	checkFindings(t, dir, fs, nil)
	n := 0
	for _, i := range inc {
		if i.Need == model.CloudAccountType {
			n++
			if !strings.Contains(i.Why, "DescribeNetworkAccountType") || !strings.Contains(i.Why, "LEGACY") {
				t.Errorf("inconclusive does not name the call and the account type: %q", i.Why)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d account-type inconclusive items, want exactly 1: %+v", n, inc)
	}
}

// The expected findings of TestCloudScenarios are the scenario's own: for
// every scenario directory there is an entry, its IDs are exactly those
// the scenario README's "Expected:" line names ("no cloud finding": none),
// and every expected argument value occurs in the scenario's files (so it
// was not copied from what the checks happened to print).
func TestCloudScenarioWantsComeFromTheScenario(t *testing.T) {
	dirs, _ := filepath.Glob(scenarios + "*/manifest.json")
	if len(dirs) < 12 {
		t.Fatalf("only %d scenarios", len(dirs))
	}
	byName := map[string][]want{}
	for _, tc := range cloudScenarioWants {
		byName[tc.name] = tc.want
	}
	idRe := regexp.MustCompile(`\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b`)
	for _, m := range dirs {
		dir := filepath.Dir(m)
		name := filepath.Base(dir)
		ws, ok := byName[name]
		if !ok {
			t.Errorf("scenario %s has no expected findings in cloudScenarioWants", name)
			continue
		}
		readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		_, expected, found := strings.Cut(string(readme), "Expected:")
		if !found {
			t.Errorf("%s/README.md says nothing Expected:", name)
			continue
		}
		expected, _, _ = strings.Cut(expected, "\n\n")
		said := map[string]bool{}
		for _, id := range idRe.FindAllString(expected, -1) {
			said[id] = true
		}
		if len(said) == 0 && !strings.Contains(expected, "no cloud finding") {
			t.Errorf("%s: README Expected: names no finding and does not say none: %q", name, expected)
		}
		wanted := map[string]bool{}
		for _, w := range ws {
			wanted[w.id] = true
		}
		if !maps.Equal(said, wanted) {
			t.Errorf("%s: README expects %v, the test expects %v", name, slices.Sorted(maps.Keys(said)), slices.Sorted(maps.Keys(wanted)))
		}
		var files strings.Builder
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(p)
				files.Write(b)
			}
			return nil
		})
		all := files.String()
		for _, w := range ws {
			for k, v := range w.args {
				for _, part := range strings.Split(v, ", ") {
					if part != "" && !strings.Contains(all, part) {
						t.Errorf("%s: expected %s %s=%q is not in the scenario's files", name, w.id, k, part)
					}
				}
			}
		}
	}
}

// The guide's third independent-cluster check: the master SG admits "Master
// 节点所在的 VPC 网段或 VPC 子网网段" — either one satisfies it. sg-k8smst of
// sg-master-subnet-blocked (master 10.0.1.10 in subnet-k8sa 10.0.1.0/24,
// VPC 10.0.0.0/16) with its first policy replaced; the intranet access
// subnet 10.0.3.0/24 is never admitted, so that finding stays in every row.
func TestMasterOwnNetworkIsItsSubnetOrItsVPC(t *testing.T) {
	access := want{"SG_MASTER_SUBNET_BLOCKED", map[string]string{"sg": "sg-k8smst", "cidr": "10.0.3.0/24", "node": "10.0.1.10"}}
	for _, tc := range []struct {
		name, cidr string // the first ingress policy: ACCEPT ALL from cidr
		want       []want
	}{
		{"subnet admitted", "10.0.1.0/24", []want{access}},
		{"VPC admitted", "10.0.0.0/16", nil}, // the VPC also covers the access subnet
		{"neither admitted", "192.0.2.0/24", []want{access,
			{"SG_MASTER_SUBNET_BLOCKED", map[string]string{"sg": "sg-k8smst", "cidr": "10.0.0.0/16", "node": "10.0.1.10"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := variant(t, "sg-master-subnet-blocked", "cloud/security-group-policies/sg-k8smst.json", func(v map[string]any) {
				set := v["Response"].(map[string]any)["SecurityGroupPolicySet"].(map[string]any)
				set["Ingress"].([]any)[0].(map[string]any)["CidrBlock"] = tc.cidr
			})
			_, fs, _ := runCloud(t, dir)
			checkFindings(t, dir, fs, tc.want)
		})
	}
}

// Absent is unknown: without the default/kubernetes Service the API port
// is not known, so an SG that admits the access subnet on one TCP port
// (60002, which may be the API port) is neither a finding nor assumed to
// be fine — it is inconclusive, naming the file that says the port.
func TestUnknownAPIPortAdmittedSomewhereIsInconclusive(t *testing.T) {
	dir := variant(t, "sg-master-subnet-blocked", "cloud/security-group-policies/sg-k8smst.json", func(v map[string]any) {
		set := v["Response"].(map[string]any)["SecurityGroupPolicySet"].(map[string]any)
		in := set["Ingress"].([]any)
		p := map[string]any{}
		for k, x := range in[0].(map[string]any) {
			p[k] = x
		}
		p["Protocol"], p["Port"], p["CidrBlock"] = "TCP", "60002", "10.0.3.0/24"
		set["Ingress"] = append([]any{p}, in...)
		for i, x := range set["Ingress"].([]any) {
			x.(map[string]any)["PolicyIndex"] = i
		}
	})
	_, fs, inc := runCloud(t, dir)
	checkFindings(t, dir, fs, nil)
	wantNeed(t, inc, "cluster/services.yaml", "the API port")
}
