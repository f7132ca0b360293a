package checks

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"tkesnap/analysis/driver"
	"tkesnap/internal/realdata"
)

const kubeProxyBundleDir = "../../testdata/datapath/kubeproxy-bundle"

func kubeProxyFindings(res *driver.Result) []string {
	var out []string
	for _, f := range res.Findings {
		if f.ID != "KUBE_PROXY_RULES_MISSING" && f.ID != "KUBE_PROXY_RULES_STALE" {
			continue
		}
		out = append(out, f.ID[len("KUBE_PROXY_RULES_"):]+" "+f.Args["node"]+" "+f.Args["service"]+" "+f.Args["endpoint"])
	}
	sort.Strings(out)
	return out
}

func TestIPVSNodesReconcileWithTheirServices(t *testing.T) {
	res := runChecks(t, loadBundle(t, kubeProxyBundleDir))
	var got []string
	for _, f := range kubeProxyFindings(res) {
		if strings.Contains(f, " node-1 ") || strings.Contains(f, " node-2 ") {
			got = append(got, f)
		}
	}
	want := []string{
		"MISSING node-2 default/api:443/tcp ",                  // no NodePort 10.0.1.6:31443
		"MISSING node-2 default/sticky:http/tcp ",              // no virtual service 10.96.100.50:80
		"MISSING node-2 default/web:http/tcp ",                 // KUBE-CLUSTER-IP lacks 10.96.100.20,tcp:80
		"MISSING node-2 default/web:http/tcp 172.16.1.11:8080", // ClusterIP lacks an endpoint
		"STALE node-2 kube-system/kube-dns:dns/udp 172.16.1.99:53",
		"STALE node-2 virtual service TCP 10.96.100.99:80 172.16.1.50:8080",
	}
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, in := range res.Inconclusive {
		if in.Node == "node-1" || in.Node == "node-2" {
			if strings.Contains(in.Why, "kube-proxy") {
				t.Errorf("unexpected inconclusive %+v", in)
			}
		}
	}
}

func TestIPVSFindingsCiteTheTableLine(t *testing.T) {
	res := runChecks(t, loadBundle(t, kubeProxyBundleDir))
	for _, f := range res.Findings {
		if f.Args["mode"] != "IPVS" {
			continue
		}
		switch {
		case f.ID == "KUBE_PROXY_RULES_STALE" && f.Args["endpoint"] == "172.16.1.99:53":
			if l := evidenceLine(t, kubeProxyBundleDir, f.Evidence[0]); l != "-a -u 10.96.0.10:53 -r 172.16.1.99:53 -m -w 1" {
				t.Errorf("stale evidence line %q", l)
			}
		case f.ID == "KUBE_PROXY_RULES_MISSING" && f.Args["endpoint"] == "172.16.1.11:8080":
			if l := evidenceLine(t, kubeProxyBundleDir, f.Evidence[0]); l != "-A -t 10.96.100.20:80 -s rr" {
				t.Errorf("missing evidence line %q", l)
			}
			if f.Evidence[1].File != "cluster/endpointslices.yaml" || f.Objects[1] != "svc/default/web" {
				t.Errorf("%+v %v", f.Evidence[1], f.Objects)
			}
		}
	}
}

// The chain names of kube-proxy's iptables mode are a pure function of the
// service port; check the function against every KUBE-SVC-/KUBE-SEP- chain
// of a real AKS node whose comment names the service port.
func TestChainNamesAgreeWithARealKubeProxyDump(t *testing.T) {
	f, err := os.Open(realdata.Path(t, "iptables/aks-azure-npm-2022-04-full-iptables-save.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	svc := regexp.MustCompile(`^-A KUBE-SERVICES .* -p (tcp|udp|sctp) -m comment --comment "([^/]+)/([^: ]+)(?::(\S+))? cluster IP" .*-j (KUBE-SVC-\S+)$`)
	sep := regexp.MustCompile(`^-A (KUBE-SEP-\S+) -p (tcp|udp|sctp) -m comment --comment "([^/]+)/([^:" ]+)(?::([^"]+))?" .*DNAT --to-destination (\S+)$`)
	nsvc, nsep := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if m := svc.FindStringSubmatch(l); m != nil {
			nsvc++
			if got := ServicePortChainName("KUBE-SVC-", m[2], m[3], m[4], m[1]); got != m[5] {
				t.Errorf("%s/%s:%s %s: computed %s, dump has %s", m[2], m[3], m[4], m[1], got, m[5])
			}
		}
		if m := sep.FindStringSubmatch(l); m != nil {
			nsep++
			if got := ServiceEndpointChainName(m[3], m[4], m[5], m[2], m[6]); got != m[1] {
				t.Errorf("%s/%s:%s %s %s: computed %s, dump has %s", m[3], m[4], m[5], m[2], m[6], got, m[1])
			}
		}
	}
	if nsvc < 30 || nsep < 30 {
		t.Fatalf("only %d service and %d endpoint chains checked", nsvc, nsep)
	}
}

func TestIptablesNodesReconcileWithTheirServices(t *testing.T) {
	res := runChecks(t, loadBundle(t, kubeProxyBundleDir))
	var got []string
	for _, f := range kubeProxyFindings(res) {
		if strings.Contains(f, " node-3 ") || strings.Contains(f, " node-4 ") {
			got = append(got, f)
		}
	}
	want := []string{
		"MISSING node-4 default/empty:http/tcp ",               // no REJECT for a Service without endpoints
		"MISSING node-4 default/sticky:http/tcp ",              // no -m recent affinity
		"MISSING node-4 default/web:http/tcp ",                 // no NodePort 30080 rule
		"MISSING node-4 default/web:http/tcp 172.16.1.11:8080", // KUBE-SVC lacks the endpoint
		"STALE node-4 kube-system/kube-dns:dns/udp 172.16.1.99:53",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, f := range res.Findings {
		if f.ID == "KUBE_PROXY_RULES_STALE" && f.Args["node"] == "node-4" {
			l := evidenceLine(t, kubeProxyBundleDir, f.Evidence[0])
			if !strings.Contains(l, "DNAT --to-destination 172.16.1.99:53") || !strings.HasPrefix(l, "[0:0] -A KUBE-SEP-") {
				t.Errorf("stale evidence %q", l)
			}
		}
	}
}

func TestIptablesModeWithoutDumpIsInconclusive(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"cluster/nodes.yaml", "cluster/services.yaml", "cluster/endpointslices.yaml",
		"nodes/node-3/kube-proxy.txt", "nodes/node-3/ip-addr.json"} {
		b, err := os.ReadFile(filepath.Join(kubeProxyBundleDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res := runChecks(t, loadBundle(t, dir))
	if got := kubeProxyFindings(res); len(got) != 0 {
		t.Errorf("findings without the rules: %v", got)
	}
	for _, in := range res.Inconclusive {
		if in.Node == "node-3" && in.Need == "iptables-save.txt" {
			return
		}
	}
	t.Errorf("want an inconclusive naming iptables-save.txt on node-3, got %v", res.Inconclusive)
}

// The lab cluster bundles (lab/cluster: real netns nodes running
// kube-proxy-style rules written by another generator) must reconcile
// without a finding: a cross-check of the chain-name computation and of
// the expected-state model against independently produced rules.
func TestLabClusterBundlesAgreeWithTheirKubeProxyRules(t *testing.T) {
	dirs, _ := filepath.Glob("../../testdata/bundles/*/nodes")
	if len(dirs) == 0 {
		t.Fatal("no lab cluster bundles")
	}
	for _, d := range dirs {
		dir := filepath.Dir(d)
		res := runChecks(t, loadBundle(t, dir))
		if got := kubeProxyFindings(res); len(got) != 0 {
			t.Errorf("%s: %v", filepath.Base(dir), got)
		}
		for _, in := range res.Inconclusive {
			if strings.Contains(in.Why, "kube-proxy") {
				t.Errorf("%s: reconcile did not run: %+v", filepath.Base(dir), in)
			}
		}
	}
}
