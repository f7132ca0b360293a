package model

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"tkesnap/internal/realdata"
	"tkesnap/parsers/bundle"
)

// loadDir builds a directory bundle from files (bundle path → content).
func loadDir(t *testing.T, files map[string]string) *Cluster {
	t.Helper()
	dir := t.TempDir()
	for n, s := range files {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := bundle.Open(dir, bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return Load(b)
}

func kubeProblems(c *Cluster) []string {
	var out []string
	for _, p := range c.Problems {
		if strings.HasPrefix(p.File, "cluster/") {
			out = append(out, p.File+":"+itoa(p.Line)+": "+p.Message)
		}
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

func fmtInt(i int) string { return strconv.Itoa(i) }

func readReal(t *testing.T, name string) string {
	t.Helper()
	return string(realdata.Read(t, "kube/"+name))
}

// The k3s support bundle's objects, placed where the collector puts them,
// load with indexes that answer the resolver.
func TestRealK3sCluster(t *testing.T) {
	c := loadDir(t, map[string]string{
		"cluster/nodes.json":         readReal(t, "troubleshoot-k3s-nodes.json"),
		"cluster/pods.json":          readReal(t, "troubleshoot-k3s-pods-kube-system.json"),
		"cluster/pods-default.json":  readReal(t, "troubleshoot-k3s-pods-default.json"),
		"cluster/services.json":      readReal(t, "troubleshoot-k3s-services-kube-system.json"),
		"cluster/services-2.json":    readReal(t, "troubleshoot-k3s-services-default.json"),
		"cluster/ingressroutes.yaml": readReal(t, "troubleshoot-baseline-traefik-ingressroutes-kube-system.yaml"),
	})
	k := &c.Kube
	if len(k.Nodes) != 1 || len(k.Pods) != 8 || len(k.Services) != 4 {
		t.Fatalf("nodes %d pods %d services %d", len(k.Nodes), len(k.Pods), len(k.Services))
	}
	// the CRD is kept and reported, nothing else is a problem
	if len(k.Other) != 1 || k.Other[0].Kind != "IngressRoute" {
		t.Errorf("Other = %+v", k.Other)
	}
	probs := kubeProblems(c)
	if len(probs) != 1 || !strings.Contains(probs[0], "kind IngressRoute") {
		t.Errorf("problems = %v", probs)
	}
	dns := k.ServiceByIP(netip.MustParseAddr("10.43.0.10"))
	if dns == nil || dns.Name != "kube-dns" {
		t.Fatalf("ServiceByIP(10.43.0.10) = %v", dns)
	}
	e, err := c.Resolve("dns:kube-dns.kube-system:53")
	if err != nil {
		t.Fatal(err)
	}
	if e.Service != dns || e.FQDN != "kube-dns.kube-system.svc.cluster.local" || e.Port != 53 {
		t.Errorf("dns resolve = %+v", e)
	}
	for _, p := range k.Pods {
		if p.Line < 1 || p.File == "" {
			t.Errorf("pod %s without source", p.Key())
		}
	}
}

// Redacted addresses ("***HIDDEN***", "***HIDDEN***/25") are reported
// per node and ignored; the unredacted node keeps its values.
func TestRedactedNodes(t *testing.T) {
	c := loadDir(t, map[string]string{"cluster/nodes.json": readReal(t, "troubleshoot-analyze-nodes.json")})
	if len(c.Kube.Nodes) != 7 {
		t.Fatalf("nodes = %d", len(c.Kube.Nodes))
	}
	probs := kubeProblems(c)
	if len(probs) != 5 || !strings.Contains(probs[0], `node biggernode-3i745: InternalIP "***HIDDEN***", ExternalIP "***HIDDEN***", podCIDR "***HIDDEN***/25" not an address`) {
		t.Errorf("problems = %q", probs)
	}
	n := c.Kube.Node("ip-172-31-21-92")
	if n == nil || len(n.PodCIDRs) != 1 || n.PodCIDRs[0].String() != "10.32.0.0/24" || c.Kube.NodeByIP(netip.MustParseAddr("172.31.21.92")) != n {
		t.Errorf("unredacted node = %+v", n)
	}
}

const resolveCluster = `apiVersion: v1
kind: List
items:
- kind: Node
  metadata: {name: 10.0.1.5}
  status: {addresses: [{type: InternalIP, address: 10.0.1.5}]}
- kind: Pod
  metadata: {name: web-0, namespace: prod, labels: {app: web}}
  spec:
    nodeName: 10.0.1.5
    hostname: web-0
    subdomain: web-hl
    containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]
  status: {podIP: 172.16.0.10, conditions: [{type: Ready, status: "True"}]}
- kind: Service
  metadata: {name: web, namespace: prod}
  spec:
    clusterIP: 172.17.252.100
    selector: {app: web}
    ports:
    - {name: http, port: 80, targetPort: http}
    - {name: dns, port: 53, protocol: UDP}
- kind: Service
  metadata: {name: web-hl, namespace: prod}
  spec: {clusterIP: None, selector: {app: web}, ports: [{name: http, port: 8080}]}
- kind: Service
  metadata: {name: partner, namespace: prod}
  spec: {type: ExternalName, externalName: api.partner.example.com}
- kind: EndpointSlice
  apiVersion: discovery.k8s.io/v1
  metadata: {name: web-1, namespace: prod, labels: {kubernetes.io/service-name: web}}
  endpoints: [{addresses: [172.16.0.10], conditions: {ready: true}, targetRef: {kind: Pod, namespace: prod, name: web-0}}]
  ports: [{name: http, port: 8080, protocol: TCP}]
- kind: EndpointSlice
  apiVersion: discovery.k8s.io/v1
  metadata: {name: web-hl-1, namespace: prod, labels: {kubernetes.io/service-name: web-hl}}
  endpoints: [{addresses: [172.16.0.10], conditions: {ready: true}}]
  ports: [{name: http, port: 8080, protocol: TCP}]
- kind: Ingress
  apiVersion: networking.k8s.io/v1
  metadata: {name: shop, namespace: prod}
  spec: {defaultBackend: {service: {name: web, port: {number: 80}}}}
  status: {loadBalancer: {ingress: [{ip: 119.28.1.10}]}}
`

func TestResolve(t *testing.T) {
	c := loadDir(t, map[string]string{"cluster/all.yaml": resolveCluster})
	if p := kubeProblems(c); len(p) > 0 {
		t.Fatal(p)
	}
	for _, tc := range []struct {
		spec, ns string
		want     string // kind ips port target backends fqdn
		err      string
	}{
		{spec: "pod:prod/web-0:http", want: "pod [172.16.0.10] 8080 - 0 -"},
		{spec: "pod:prod/web-0", want: "pod [172.16.0.10] 0 - 0 -"},
		{spec: "pod:prod/web-0:grpc", err: `declares no container port named "grpc"`},
		{spec: "svc:prod/web:80", want: "svc [172.17.252.100] 80 http 1 -"},
		{spec: "svc:prod/web:http", want: "svc [172.17.252.100] 80 http 1 -"},
		{spec: "svc:prod/web:dns", want: "svc [172.17.252.100] 53 - 0 -"},
		{spec: "svc:prod/web:8080", err: "has no port 8080 (ports: http 80/TCP, dns 53/UDP)"},
		{spec: "svc:prod/web", err: "has 2 ports"},
		{spec: "svc:prod/nope:80", err: "no Service prod/nope"},
		{spec: "svc:prod/web-hl", want: "svc [172.16.0.10] 8080 - 1 -"},
		{spec: "ip:172.17.252.100:80", want: "ip [172.17.252.100] 80 http 1 -"},
		{spec: "10.0.1.5", want: "ip [10.0.1.5] 0 - 0 -"},
		{spec: "node:10.0.1.5", want: "node [10.0.1.5] 0 - 0 -"},
		{spec: "ingress:prod/shop", want: "ingress [119.28.1.10] 0 - 0 -"},
		{spec: "dns:web:80", ns: "prod", want: "dns [172.17.252.100] 80 http 1 web.prod.svc.cluster.local"},
		{spec: "dns:web.prod:80", ns: "default", want: "dns [172.17.252.100] 80 http 1 web.prod.svc.cluster.local"},
		{spec: "dns:web.prod.svc.cluster.local.:80", want: "dns [172.17.252.100] 80 http 1 web.prod.svc.cluster.local"},
		{spec: "dns:web-0.web-hl.prod.svc:http", want: "dns [172.16.0.10] 8080 - 0 web-0.web-hl.prod.svc.cluster.local"},
		{spec: "dns:172-16-0-10.prod.pod", want: "dns [172.16.0.10] 0 - 0 172-16-0-10.prod.pod.cluster.local"},
		{spec: "dns:web:80", ns: "default", err: `names no Service or pod`},
		{spec: "bogus:x", err: "unknown endpoint kind"},
	} {
		ns := tc.ns
		if ns == "" {
			ns = "default"
		}
		e, err := c.ResolveFrom(tc.spec, ns)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.spec, err)
			continue
		}
		tp := "-"
		if e.TargetPort.String() != "0" {
			tp = e.TargetPort.String()
		}
		fq := e.FQDN
		if fq == "" {
			fq = "-"
		}
		got := strings.Join([]string{e.Kind, strings.ReplaceAll(strings.Trim(strings.Join(addrs(e.IPs), " "), " "), " ", ","), fmtInt(e.Port), tp, fmtInt(len(e.Backends)), fq}, " ")
		got = strings.Replace(got, e.Kind+" ", e.Kind+" [", 1)
		got = strings.Replace(got, " "+fmtInt(e.Port)+" ", "] "+fmtInt(e.Port)+" ", 1)
		if got != tc.want {
			t.Errorf("%s: got %q want %q", tc.spec, got, tc.want)
		}
	}
}

func addrs(ips []netip.Addr) []string {
	var out []string
	for _, ip := range ips {
		out = append(out, ip.String())
	}
	return out
}

func TestMasqConfig(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		nonMasq      string
		linkLocal    bool
		problem      string
	}{
		{"TKE PascalCase", "NonMasqueradeCIDRs:\n  - 172.16.0.0/16\n  - 10.0.0.0/16\nMasqLinkLocal: true\nResyncInterval: 1m0s\n", "172.16.0.0/16,10.0.0.0/16", true, ""},
		{"upstream camelCase", "nonMasqueradeCIDRs:\n  - 10.0.0.0/8\nmasqLinkLocal: false\nresyncInterval: 60s\n", "10.0.0.0/8", false, ""},
		{"JSON one-liner", `{"NonMasqueradeCIDRs":["172.20.0.0/16"],"MasqLinkLocal":true,"ResyncInterval":"1m0s"}`, "172.20.0.0/16", true, ""},
		{"key omitted: empty list, everything is masqueraded", "resyncInterval: 60s\n", "", false, ""},
		{"a bad CIDR is a problem", "nonMasqueradeCIDRs: [10.0.0.0/33, 10.1.0.0/16]\n", "10.1.0.0/16", false, "10.0.0.0/33"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ip-masq-agent-config, namespace: kube-system}\ndata:\n  config: |\n" + indent(tc.config, "    ")
			c := loadDir(t, map[string]string{"cluster/configmaps-kube-system.yaml": cm})
			m := c.Kube.Masq
			if m == nil {
				t.Fatalf("no masq config; problems %v", kubeProblems(c))
			}
			var got []string
			for _, p := range m.NonMasqueradeCIDRs {
				got = append(got, p.String())
			}
			if strings.Join(got, ",") != tc.nonMasq || m.MasqLinkLocal != tc.linkLocal {
				t.Errorf("got %v linklocal %v", got, m.MasqLinkLocal)
			}
			probs := strings.Join(kubeProblems(c), "\n")
			if (tc.problem == "") != (probs == "") || !strings.Contains(probs, tc.problem) {
				t.Errorf("problems %q, want %q", probs, tc.problem)
			}
		})
	}
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = pre + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

// The real AKS dump's IP-MASQ-AGENT chain (SOURCES.tsv: nonMasq
// 10.224.0.0/12, 10.224.0.0/16, 10.0.0.0/16).
func TestMasqChainRealDump(t *testing.T) {
	b := realdata.Read(t, "iptables/aks-azure-npm-2022-04-full-iptables-save.txt")
	c := loadDir(t, map[string]string{"nodes/aks-1/iptables-save.txt": string(b)})
	ch, ok := c.MasqChain(c.Node("aks-1"))
	if !ok {
		t.Fatal("no chain")
	}
	if got := strings.Join(addrsP(ch.NonMasq), ","); got != "10.224.0.0/12,10.224.0.0/16,10.0.0.0/16" || !ch.Masquerades || !ch.Hooked || ch.Line != 18 {
		t.Errorf("chain = %+v (%s)", ch, got)
	}
	// the flattened single-line dump has no readable chain
	b = realdata.Read(t, "iptables/aks-azure-npm-2022-05-flattened-single-line-iptables-save.txt")
	c = loadDir(t, map[string]string{"nodes/aks-2/iptables-save.txt": string(b)})
	if ch, ok := c.MasqChain(c.Node("aks-2")); ok && len(ch.NonMasq) > 0 {
		t.Errorf("flattened dump gave a chain: %+v", ch)
	}
}

func addrsP(ps []netip.Prefix) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func TestFieldLine(t *testing.T) {
	svc := `apiVersion: v1
items:
- apiVersion: v1
  kind: Service
  metadata:
    name: a
    namespace: prod
  spec:
    ports:
    - name: http
      port: 80
      targetPort: http
    - name: grpc
      port: 9090
      targetPort: 9091
    selector:
      app: a
- apiVersion: v1
  kind: Service
  metadata:
    name: b
    namespace: prod
  spec:
    selector:
      app: b
kind: List
`
	c := loadDir(t, map[string]string{"cluster/services.yaml": svc})
	a, b := c.Kube.Service("prod", "a"), c.Kube.Service("prod", "b")
	for _, tc := range []struct {
		src  Source
		path []string
		want int
	}{
		{a.Source, []string{"spec", "ports", "1", "targetPort"}, 15},
		{a.Source, []string{"spec", "ports", "0", "name"}, 10},
		{a.Source, []string{"spec", "ports", "0"}, 10},
		{a.Source, []string{"spec", "selector"}, 16},
		{a.Source, []string{"metadata", "name"}, 6},
		{a.Source, []string{"spec", "ports", "2", "targetPort"}, 9}, // no third port: the deepest found
		{a.Source, []string{"spec", "clusterIP"}, 8},
		{b.Source, []string{"spec", "selector", "app"}, 25},
		{b.Source, []string{"spec", "ports"}, 23}, // b has no ports: stays in b
		{a.Source, []string{"kind"}, 4},
		{b.Source, []string{"apiVersion"}, 18},
	} {
		if got := c.FieldLine(tc.src, tc.path...); got.Line != tc.want || got.File != "cluster/services.yaml" {
			t.Errorf("%s %v: line %d, want %d", tc.src.File, tc.path, got.Line, tc.want)
		}
	}
}

// The field walker never panics and stays inside the file, whatever the
// text (JSON, flow style, garbage).
func FuzzFieldLine(f *testing.F) {
	f.Add([]byte("- a:\n  b:\n  - c: 1\n    d: 2\n"), 0, "a.b.0.d")
	f.Add([]byte("items:\n- kind: Service\n  spec:\n    ports:\n    -\n  x: 1\n"), 1, "spec.ports.0.targetPort")
	f.Add([]byte("{\"a\": 1}\n"), 0, "a")
	f.Fuzz(func(t *testing.T, data []byte, start int, path string) {
		if len(data) > 1<<16 {
			return
		}
		lines := bytes.Split(data, []byte("\n"))
		if start < 0 || start >= len(lines) {
			return
		}
		got, n := walkYAML(lines, start, strings.Split(path, "."))
		if got < start || got >= len(lines) || n < 0 {
			t.Fatalf("walk from %d gave line %d (%d found) of %d", start, got, n, len(lines))
		}
	})
}

func TestTKEAnnotations(t *testing.T) {
	c := loadDir(t, map[string]string{"cluster/all.yaml": `apiVersion: v1
kind: List
items:
- kind: Node
  metadata: {name: 10.0.1.5}
  spec: {providerID: "qcloud:///800002/ins-abcd1234"}
- kind: Node
  metadata: {name: 10.0.1.6, labels: {cloud.tencent.com/node-instance-id: ins-ffff0000}}
- kind: Service
  metadata:
    name: web
    namespace: prod
    annotations:
      service.kubernetes.io/qcloud-loadbalancer-internal-subnetid: subnet-1234
      service.kubernetes.io/tke-existed-lbid: lb-5678
  spec: {type: LoadBalancer}
  status: {loadBalancer: {ingress: [{ip: 10.0.2.9}]}}
`})
	k := &c.Kube
	if a, b := k.Node("10.0.1.5").InstanceID(), k.Node("10.0.1.6").InstanceID(); a != "ins-abcd1234" || b != "ins-ffff0000" {
		t.Errorf("instance IDs %q %q", a, b)
	}
	s := k.Service("prod", "web")
	if s.InternalSubnet() != "subnet-1234" || s.ExistedLB() != "lb-5678" || s.DirectAccess() || len(s.LBIPs()) != 1 {
		t.Errorf("annotations: %q %q %v %v", s.InternalSubnet(), s.ExistedLB(), s.DirectAccess(), s.LBIPs())
	}
}
