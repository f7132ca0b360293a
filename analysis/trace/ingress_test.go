package trace

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/analysis/model"
)

// ingressBundle copies the healthy lab bundle into a temp folder and adds
// what a qcloud Ingress brings: the Ingress (host web.example.com, /api →
// Service web:80, NodePort 30080) on CLB lb-lab00001, an HTTP:80
// listener and its real servers (the nodes' NodePort 30080). With
// blockNodePorts the node SG loses its NodePort and VPC rules.
func ingressBundle(t *testing.T, blockNodePorts bool) *model.Cluster {
	t.Helper()
	dst := copyBundle(t, "healthy")
	write := func(name string, v any) {
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(name string) map[string]any {
		var m map[string]any
		data, err := os.ReadFile(filepath.Join(dst, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	path := func(p, backend string) map[string]any {
		return map[string]any{"path": p, "pathType": "Prefix", "backend": map[string]any{
			"service": map[string]any{"name": backend, "port": map[string]any{"number": 80}}}}
	}
	write("cluster/ingresses.yaml", map[string]any{"apiVersion": "v1", "kind": "List", "items": []any{map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
		"metadata": map[string]any{"name": "web-ing", "namespace": "default", "annotations": map[string]any{"kubernetes.io/ingress.class": "qcloud"}},
		"spec": map[string]any{"rules": []any{map[string]any{"host": "web.example.com", "http": map[string]any{"paths": []any{
			path("/api", "web"), path("/gone", "nope")}}}}},
		"status": map[string]any{"loadBalancer": map[string]any{"ingress": []any{map[string]any{"ip": "10.0.1.100"}}}},
	}}})
	ls := read("cloud/listeners/lb-lab00001.json")
	ls["Listeners"] = append(ls["Listeners"].([]any), map[string]any{"ListenerId": "lbl-lab00080", "ListenerName": "HTTP-80", "Port": 80, "Protocol": "HTTP"})
	write("cloud/listeners/lb-lab00001.json", ls)
	ts := read("cloud/targets/lb-lab00001.json")
	var targets []any
	for _, ip := range []string{"10.0.1.11", "10.0.1.12"} {
		targets = append(targets, map[string]any{"Type": "CVM", "Port": 30080, "Weight": 10, "PrivateIpAddresses": []any{ip}})
	}
	ts["Listeners"] = append(ts["Listeners"].([]any), map[string]any{"ListenerId": "lbl-lab00080", "Port": 80, "Protocol": "HTTP",
		"Rules": []any{map[string]any{"LocationId": "loc-1", "Domain": "web.example.com", "Url": "/", "Targets": targets}}})
	write("cloud/targets/lb-lab00001.json", ts)
	if blockNodePorts {
		sg := read("cloud/security-group-policies/sg-lab0node.json")
		set := sg["SecurityGroupPolicySet"].(map[string]any)
		var keep []any
		for _, p := range set["Ingress"].([]any) {
			pm := p.(map[string]any)
			if pm["CidrBlock"] == "10.0.0.0/16" || pm["Port"] == "30000-32768" {
				continue
			}
			keep = append(keep, p)
		}
		for i, p := range keep {
			p.(map[string]any)["PolicyIndex"] = i
		}
		set["Ingress"] = keep
		write("cloud/security-group-policies/sg-lab0node.json", sg)
	}
	return load(t, dst)
}

// copyBundle copies a lab bundle into a temp folder a test may change.
func copyBundle(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join(labDir, name)
	if _, err := os.Stat(src); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// Without the source node's iptables dumps, ip-masq-agent's configmap
// still says the IDC sees the node IP.
func TestMasqueradeFromConfigWhenRulesAreMissing(t *testing.T) {
	dst := copyBundle(t, "masq-idc")
	for _, f := range []string{"iptables-save.txt", "iptables-legacy-save.txt", "iptables-nft-save.txt"} {
		os.Remove(filepath.Join(dst, "nodes", "10.0.1.11", f))
	}
	c := load(t, dst)
	tr := Run(c, model.Flow{From: "pod:default/client-0", To: "ip:192.168.100.10:80", Proto: "tcp", Symptom: "wrong-source-ip"})
	// the node's FORWARD chain is unknown, so delivery is undetermined;
	// what the peer sees if it is delivered is not
	if tr.Verdict != Undetermined || tr.Reason != "MASQ_HIDES_SOURCE" || tr.Symptom != "wrong-source-ip" {
		t.Errorf("%s %s %s, want UNDETERMINED MASQ_HIDES_SOURCE wrong-source-ip", tr.Verdict, tr.Reason, tr.Symptom)
	}
	found := false
	for _, s := range tr.Steps {
		found = found || s.Decision == ActUndetermined && strings.Contains(s.Detail, "iptables")
	}
	if !found {
		t.Error("the missing iptables dump is not named")
	}
}

// Ingress answers of the guide: 404 when no rule matches, 503 when the
// backend Service is missing, 504 when the CLB cannot reach the NodePort.
func TestIngressThroughItsCLB(t *testing.T) {
	tests := []struct {
		name      string
		block     bool
		path      string
		verdict   Verdict
		reason    string
		symptom   string
		failingAt string
	}{
		{"request matching a rule reaches a web pod through CLB and NodePort", false, "/api/v1", Delivered, "", "", ""},
		{"request no rule matches gets 404", false, "/other", Rejected, "INGRESS_NO_MATCHING_RULE", "http-404", "ingress/default/web-ing"},
		{"rule whose Service does not exist gets 503", false, "/gone", Rejected, "INGRESS_BACKEND_MISSING", "http-503", "ingress/default/web-ing"},
		{"node SG without the NodePort range gives 504 behind the HTTP listener", true, "/api", Dropped, "SG_NODEPORT_RANGE_BLOCKED", "http-504", "sg-lab0node"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ingressBundle(t, tc.block)
			tr := Run(c, model.Flow{From: "cidr:10.0.0.0/16", To: "ingress:default/web-ing", Host: "web.example.com", Path: tc.path, Symptom: tc.symptom})
			if tr.Verdict != tc.verdict || tr.Reason != tc.reason && !(len(tr.Reason) > len(tc.reason) && tr.Reason[:len(tc.reason)] == tc.reason && tc.reason != "") {
				t.Errorf("verdict %s %q, want %s %q", tr.Verdict, tr.Reason, tc.verdict, tc.reason)
			}
			if tr.Symptom != tc.symptom {
				t.Errorf("symptom %q, want %q", tr.Symptom, tc.symptom)
			}
			s := failing(tr)
			if tc.failingAt == "" && s != nil || tc.failingAt != "" && (s == nil || s.At != tc.failingAt) {
				t.Errorf("failing step %+v, want at %q", s, tc.failingAt)
			}
			// the clients are the VPC (10.0.0.0/16): the guide opens the
			// NodePort range to them, not to the one address traced
			found := false
			for _, f := range Findings([]Trace{tr}, nil) {
				if f.ID == "SG_NODEPORT_RANGE_BLOCKED" {
					found = true
					if f.Args["range"] != "10.0.0.0/16" {
						t.Errorf("NodePort range opened to %q, want the clients' VPC 10.0.0.0/16 (args %v)", f.Args["range"], f.Args)
					}
				}
			}
			if found != (tc.reason == "SG_NODEPORT_RANGE_BLOCKED") {
				t.Errorf("SG_NODEPORT_RANGE_BLOCKED among the trace's findings: %v", found)
			}
		})
	}
}

// A node whose conntrack table is full may drop a new connection: the
// trace says AMBIGUOUS and names the fact that decides.
func TestFullConntrackTableIsAmbiguous(t *testing.T) {
	dst := copyBundle(t, "healthy")
	p := filepath.Join(dst, "nodes", "10.0.1.12", "sysctl.txt")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "net.netfilter.nf_conntrack_count") || strings.HasPrefix(l, "net.netfilter.nf_conntrack_max") {
			continue
		}
		out = append(out, l)
	}
	out = append(out, "net.netfilter.nf_conntrack_count = 262144", "net.netfilter.nf_conntrack_max = 262144")
	os.WriteFile(p, []byte(strings.Join(out, "\n")+"\n"), 0o644)
	c := load(t, dst)
	tr := Run(c, model.Flow{From: "pod:default/web-0", To: "pod:default/web-1:8080", Proto: "tcp"})
	if tr.Verdict != Ambiguous || tr.Reason != "CONNTRACK_TABLE_FULL" {
		t.Errorf("%s %s, want AMBIGUOUS CONNTRACK_TABLE_FULL", tr.Verdict, tr.Reason)
	}
}
