package checks

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/internal/realdata"
)

// svcYAML is one Service with its Endpoints, enough for the reconcile.
type realSvc struct {
	ns, name, extra string // extra: more spec lines (4-space indent)
	status          string // status lines (2-space indent)
	ip, proto       string
	port            int
	targetPort      int
	eps             []string // endpoint IPs, on node n1 unless "ip@node"
}

// realDumpBundle writes a bundle whose node n1 has the real ipvsadm dump
// and whose cluster/ holds the Services the dump's ground truth names.
func realDumpBundle(t *testing.T, dump string, svcs []realSvc) string {
	t.Helper()
	data := realdata.Read(t, "ipvsadm/"+dump)
	dir := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("nodes/n1/ipvsadm.txt", string(data))
	write("nodes/n1/kube-proxy.txt", "found: true\nmode: ipvs\nmode_source: flag --proxy-mode\n")
	write("cluster/nodes.yaml", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Node\n  metadata: {name: n1}\n  status:\n    addresses:\n    - {type: InternalIP, address: 10.240.0.5}\n")
	var s, e strings.Builder
	s.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	e.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	for _, v := range svcs {
		fmt.Fprintf(&s, "- apiVersion: v1\n  kind: Service\n  metadata: {name: %s, namespace: %s}\n  spec:\n    clusterIP: %s\n    clusterIPs: [%s]\n%s    ports:\n    - {name: p, port: %d, protocol: %s, targetPort: %d}\n%s",
			v.name, v.ns, v.ip, v.ip, v.extra, v.port, v.proto, v.targetPort, v.status)
		fmt.Fprintf(&e, "- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  metadata:\n    name: %s-%s\n    namespace: %s\n    labels: {kubernetes.io/service-name: %s}\n  addressType: IPv4\n  endpoints:\n", v.name, strings.ToLower(v.proto), v.ns, v.name)
		for _, ep := range v.eps {
			ip, node, ok := strings.Cut(ep, "@")
			if !ok {
				node = "n1"
			}
			fmt.Fprintf(&e, "  - addresses: [%s]\n    conditions: {ready: true}\n    nodeName: %s\n", ip, node)
		}
		if len(v.eps) == 0 {
			e.WriteString("  []\n")
		}
		fmt.Fprintf(&e, "  ports:\n  - {name: p, port: %d, protocol: %s}\n", v.targetPort, v.proto)
	}
	write("cluster/services.yaml", s.String())
	write("cluster/endpointslices.yaml", strings.Replace(e.String(), "  endpoints:\n  []\n", "  endpoints: []\n", -1))
	return dir
}

// Every real IPVS dump, next to the Services its ground truth (SOURCES.tsv)
// describes: silent where kube-proxy's state matches, a finding where the
// dump shows a fault.
func TestRealIPVSDumpsAgainstTheirServices(t *testing.T) {
	web := func(eps ...string) realSvc {
		return realSvc{ns: "default", name: "web", ip: "10.102.128.4", proto: "TCP", port: 3080, targetPort: 8080, eps: eps}
	}
	cases := []struct {
		name, dump string
		svcs       []realSvc
		want       []string
	}{
		{"ClusterIP with both endpoints is in sync", "kep265-ipvsadm-ln-clusterip.txt",
			[]realSvc{web("10.244.0.235", "10.244.1.237@n2")}, nil},
		{"header typo dump is in sync", "kep265-ipvsadm-ln-port-remapping-typo-header.txt",
			[]realSvc{web("10.244.0.235", "10.244.1.237@n2")}, nil},
		{"a new endpoint not yet programmed is missing", "kep265-ipvsadm-ln-clusterip.txt",
			[]realSvc{web("10.244.0.235", "10.244.1.237@n2", "10.244.2.9@n3")}, []string{"MISSING n1 default/web:p/tcp 10.244.2.9:8080"}},
		{"a removed endpoint still programmed is stale", "kep265-ipvsadm-ln-clusterip.txt",
			[]realSvc{web("10.244.0.235")}, []string{"STALE n1 default/web:p/tcp 10.244.1.237:8080"}},
		{"LoadBalancer ingress IPs each have a virtual service", "kep265-ipvsadm-ln-loadbalancer-ingress-ips.txt",
			[]realSvc{{ns: "default", name: "web", ip: "10.102.128.4", proto: "TCP", port: 3080, targetPort: 8080, eps: []string{"10.244.0.235"},
				extra:  "    type: LoadBalancer\n    allocateLoadBalancerNodePorts: false\n",
				status: "  status:\n    loadBalancer:\n      ingress: [{ip: 10.96.1.2}, {ip: 10.96.1.3}]\n"}}, nil},
		{"a LoadBalancer ingress IP without a virtual service is missing", "kep265-ipvsadm-ln-loadbalancer-ingress-ips.txt",
			[]realSvc{{ns: "default", name: "web", ip: "10.102.128.4", proto: "TCP", port: 3080, targetPort: 8080, eps: []string{"10.244.0.235"},
				extra:  "    type: LoadBalancer\n    allocateLoadBalancerNodePorts: false\n",
				status: "  status:\n    loadBalancer:\n      ingress: [{ip: 10.96.1.2}, {ip: 10.96.1.3}, {ip: 10.96.1.4}]\n"}},
			[]string{"MISSING n1 default/web:p/tcp "}},
		{"only the local endpoint: right for internalTrafficPolicy Local", "kep265-ipvsadm-ln-onlylocal-endpoints.txt",
			[]realSvc{{ns: "default", name: "web", ip: "10.102.128.4", proto: "TCP", port: 3080, targetPort: 8080,
				eps: []string{"10.244.0.235", "10.244.1.235@n2"}, extra: "    internalTrafficPolicy: Local\n"}}, nil},
		{"only the local endpoint: wrong for a ClusterIP with traffic policy Cluster", "kep265-ipvsadm-ln-onlylocal-endpoints.txt",
			[]realSvc{web("10.244.0.235", "10.244.1.235@n2")}, []string{"MISSING n1 default/web:p/tcp 10.244.1.235:8080"}},
		{"affinity service without real servers while endpoints exist", "kep265-ipvsadm-ln-session-affinity-no-dests.txt",
			[]realSvc{{ns: "default", name: "web", ip: "10.102.128.4", proto: "TCP", port: 3080, targetPort: 8080, eps: []string{"10.244.0.235"},
				extra: "    sessionAffinity: ClientIP\n"}}, []string{"MISSING n1 default/web:p/tcp 10.244.0.235:8080"}},
		{"affinity service without endpoints is in sync", "kep265-ipvsadm-ln-session-affinity-no-dests.txt",
			[]realSvc{{ns: "default", name: "web", ip: "10.102.128.4", proto: "TCP", port: 3080, targetPort: 8080,
				extra: "    sessionAffinity: ClientIP\n"}}, nil},
		{"kube-router node with kubernetes, kube-dns and etcd is in sync", "kube-router-pod-toolbox-ipvsadm-ln.txt",
			[]realSvc{
				{ns: "default", name: "kubernetes", ip: "10.3.0.1", proto: "TCP", port: 443, targetPort: 443, eps: []string{"10.10.3.2"}, extra: "    sessionAffinity: ClientIP\n"},
				{ns: "kube-system", name: "kube-dns", ip: "10.3.0.10", proto: "TCP", port: 53, targetPort: 53, eps: []string{"10.2.0.2"}},
				{ns: "kube-system", name: "kube-dns-udp", ip: "10.3.0.10", proto: "UDP", port: 53, targetPort: 53, eps: []string{"10.2.0.2"}},
				{ns: "kube-system", name: "etcd", ip: "10.3.0.15", proto: "TCP", port: 2379, targetPort: 2379, eps: []string{"10.10.3.3"}},
				{ns: "kube-system", name: "etcd2", ip: "10.3.0.155", proto: "TCP", port: 2379, targetPort: 2379, eps: []string{"10.10.3.3"}},
			}, nil},
		{"kube-router node: a deleted Service leaves a stale virtual service", "kube-router-pod-toolbox-ipvsadm-ln.txt",
			[]realSvc{
				{ns: "default", name: "kubernetes", ip: "10.3.0.1", proto: "TCP", port: 443, targetPort: 443, eps: []string{"10.10.3.2"}, extra: "    sessionAffinity: ClientIP\n"},
				{ns: "kube-system", name: "kube-dns", ip: "10.3.0.10", proto: "TCP", port: 53, targetPort: 53, eps: []string{"10.2.0.2"}},
				{ns: "kube-system", name: "kube-dns-udp", ip: "10.3.0.10", proto: "UDP", port: 53, targetPort: 53, eps: []string{"10.2.0.2"}},
				{ns: "kube-system", name: "etcd", ip: "10.3.0.15", proto: "TCP", port: 2379, targetPort: 2379, eps: []string{"10.10.3.3"}},
			}, []string{"STALE n1 virtual service TCP 10.3.0.155:2379 10.10.3.3:2379"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := realDumpBundle(t, c.dump, c.svcs)
			res := runChecks(t, loadBundle(t, dir))
			got := kubeProxyFindings(res)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got %q want %q", got, c.want)
			}
			for _, p := range res.Inconclusive {
				// ip-addr.json is not part of these dumps: whether the VIPs
				// are bound to kube-ipvs0 is rightly left open
				if p.Node == "n1" && strings.Contains(p.Why, "kube-proxy") && p.Need != "ip-addr.json" {
					t.Errorf("inconclusive: %+v", p)
				}
			}
		})
	}
}
