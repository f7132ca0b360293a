package collector

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"tkesnap/internal/testenv"
	"tkesnap/parsers/bundle"
)

// fakeKubectl serves `kubectl get KIND ... -o yaml` from the healthy lab
// bundle's cluster/ files, with a planted token in the kube-system
// configmaps, so cluster mode runs without a cluster.
func fakeKubectl(t *testing.T, dir string) {
	t.Helper()
	src, err := filepath.Abs("../testdata/bundles/healthy/cluster")
	if err != nil {
		t.Fatal(err)
	}
	cm := `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: kube-proxy, namespace: kube-system}
  data:
    kubeconfig.conf: |
      users:
      - name: default
        user:
          token: planted-kubeconfig-token
    config.conf: "mode: iptables"
`
	os.WriteFile(filepath.Join(dir, "cm.yaml"), []byte(cm), 0o644)
	ns := `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: prod, labels: {kubernetes.io/metadata.name: prod, team: payments}}
`
	os.WriteFile(filepath.Join(dir, "ns.yaml"), []byte(ns), 0o644)
	ic := `apiVersion: v1
kind: List
items:
- apiVersion: networking.k8s.io/v1
  kind: IngressClass
  metadata: {name: qcloud}
  spec: {controller: cloud.tencent.com/ingress-controller}
`
	os.WriteFile(filepath.Join(dir, "ic.yaml"), []byte(ic), 0o644)
	script := `#!/bin/sh
# fake kubectl for tests: kubectl get KIND [...] -o yaml
echo "$*" >>"` + dir + `/kubectl.log"
[ "$1" = version ] && { cat "` + src + `/version.json"; exit 0; }
case "$2" in
nodes) f=nodes.yaml ;; pods) f=pods.yaml ;; services) f=services.yaml ;; endpoints) f=endpoints.yaml ;;
endpointslices*) f=endpointslices.yaml ;; ingresses*) f=ingresses.yaml ;; networkpolicies*) f=networkpolicies.yaml ;;
configmaps) cat "` + dir + `/cm.yaml"; exit 0 ;;
namespaces) cat "` + dir + `/ns.yaml"; exit 0 ;;
ingressclasses.networking.k8s.io) cat "` + dir + `/ic.yaml"; exit 0 ;;
daemonsets) f=daemonsets-kube-system.yaml ;; events) f=events.yaml ;;
secrets) echo "SECRETS MUST NEVER BE ASKED FOR" ; exit 0 ;;
*) echo "error: the server doesn't have a resource type \"$2\"" >&2; exit 1 ;;
esac
cat "` + src + `/$f"
`
	if err := os.WriteFile(filepath.Join(dir, "kubectl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestClusterModeWithoutTccliRecordsWhyCloudIsMissing(t *testing.T) {
	for _, tool := range []string{"bash", "tar", "awk", "sed", "timeout"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skipf(t, "%s not installed", tool)
		}
	}
	bin := t.TempDir()
	fakeKubectl(t, bin)
	out := t.TempDir()
	cmd := exec.Command("bash", writeScript(t), "--cluster", "--cluster-id", "cls-lab00001", "--region", "ap-guangzhou", "-o", out+"/c.tgz")
	// PATH: the fake kubectl and the system tools, but no tccli
	cmd.Env = append(os.Environ(), "PATH="+bin+":/usr/bin:/bin:/usr/sbin:/sbin")
	if _, err := exec.LookPath("tccli"); err == nil {
		testenv.Skip(t, "a real tccli is installed on this machine")
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cluster mode: %v\n%s", err, msg)
	}
	b, err := bundle.Open(out+"/c.tgz", bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	want := []string{"cluster/version.json", "cluster/nodes.yaml", "cluster/pods.yaml", "cluster/services.yaml",
		"cluster/endpoints.yaml", "cluster/endpointslices.yaml", "cluster/ingresses.yaml", "cluster/networkpolicies.yaml",
		"cluster/configmaps-kube-system.yaml", "cluster/daemonsets-kube-system.yaml", "cluster/events.yaml",
		"cluster/namespaces.yaml", "cluster/ingressclasses.yaml"}
	for _, f := range want {
		if !b.Has(f) {
			t.Errorf("%s missing", f)
		}
	}
	// NetworkPolicy namespaceSelectors match these labels; the IngressClass
	// names the controller that should have made the CLB.
	nsData, _ := b.ReadFile("cluster/namespaces.yaml")
	icData, _ := b.ReadFile("cluster/ingressclasses.yaml")
	if !strings.Contains(string(nsData), "team: payments") || !strings.Contains(string(icData), "controller: cloud.tencent.com/ingress-controller") {
		t.Errorf("namespaces/ingressclasses not collected as served:\n%s\n%s", nsData, icData)
	}
	cms, _ := b.ReadFile("cluster/configmaps-kube-system.yaml")
	if strings.Contains(string(cms), "planted-kubeconfig-token") || !strings.Contains(string(cms), "token: <redacted>") {
		t.Errorf("configmap token not redacted:\n%s", cms)
	}
	var cloud []bundle.ManifestRecord
	for _, r := range b.Manifest.Files {
		if strings.Contains(r.Command, "secret") {
			t.Errorf("collected secrets: %+v", r)
		}
		if strings.HasPrefix(r.Path, "cloud/") {
			cloud = append(cloud, r)
		}
	}
	if len(cloud) != 1 || !strings.HasPrefix(cloud[0].Skipped, "tccli not found") {
		t.Errorf("want one cloud record saying tccli is missing, got %+v", cloud)
	}
	if b.Manifest.Cluster.ID != "cls-lab00001" || b.Manifest.Cluster.Region != "ap-guangzhou" {
		t.Errorf("manifest cluster: %+v", b.Manifest.Cluster)
	}
}

// split writes part of a lab bundle (files under the prefixes) with its
// own manifest, as a separate collector run would.
func split(t *testing.T, src, dst string, prefixes ...string) {
	t.Helper()
	b, err := bundle.Open(src, bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m := &bundle.Manifest{Format: "tkesnap-bundle/v1", Created: time.Now(), CollectorVersion: "test", Cluster: b.Manifest.Cluster}
	keep := func(p string) bool {
		for _, x := range prefixes {
			if strings.HasPrefix(p, x) {
				return true
			}
		}
		return false
	}
	for _, r := range b.Manifest.Files {
		if keep(r.Path) {
			m.Files = append(m.Files, r)
		}
	}
	if strings.HasPrefix(prefixes[0], "nodes/") {
		m.Cluster = bundle.ManifestCluster{}
	}
	for _, f := range b.Files() {
		if keep(f) {
			if err := copyOut(b, f, filepath.Join(dst, filepath.FromSlash(f))); err != nil {
				t.Fatal(err)
			}
		}
	}
	w, _ := os.Create(filepath.Join(dst, "manifest.json"))
	defer w.Close()
	if err := WriteManifest(w, m); err != nil {
		t.Fatal(err)
	}
}

func TestScriptAndGoMergeTheSameBundle(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		testenv.Skip(t, "bash not installed")
	}
	src := "../testdata/bundles/sample"
	tmp := t.TempDir()
	parts := []string{filepath.Join(tmp, "cluster"), filepath.Join(tmp, "n1"), filepath.Join(tmp, "n2")}
	split(t, src, parts[0], "cluster/", "cloud/")
	split(t, src, parts[1], "nodes/10.0.1.11/", "captures/10.0.1.11/")
	split(t, src, parts[2], "nodes/10.0.1.12/", "captures/10.0.1.12/")
	args := append([]string{writeScript(t), "--merge"}, parts...)
	args = append(args, "-o", filepath.Join(tmp, "script.tgz"))
	if msg, err := exec.Command("bash", args...).CombinedOutput(); err != nil {
		t.Fatalf("script merge: %v %s", err, msg)
	}
	goDir := filepath.Join(tmp, "go")
	os.MkdirAll(goDir, 0o755)
	if err := Merge(goDir, parts, time.Now()); err != nil {
		t.Fatal(err)
	}
	orig, _ := bundle.Open(src, bundle.DefaultLimits())
	defer orig.Close()
	for _, p := range []string{filepath.Join(tmp, "script.tgz"), goDir} {
		b, err := bundle.Open(p, bundle.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		var want, got []string
		for _, f := range orig.Files() {
			if f != "flows.json" {
				want = append(want, f)
			}
		}
		got = b.Files()
		sort.Strings(want)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: merged files differ from the original bundle:\n%v\nwant\n%v", p, got, want)
		}
		if len(b.Manifest.Files) != len(orig.Manifest.Files) || b.Manifest.Cluster != orig.Manifest.Cluster {
			t.Errorf("%s: manifest: %d records (want %d), cluster %+v", p, len(b.Manifest.Files), len(orig.Manifest.Files), b.Manifest.Cluster)
		}
		for _, f := range got {
			if f == "manifest.json" {
				continue
			}
			a, _ := orig.ReadFile(f)
			c, _ := b.ReadFile(f)
			if string(a) != string(c) {
				t.Errorf("%s: %s changed in the merge", p, f)
			}
		}
		b.Close()
	}
}
