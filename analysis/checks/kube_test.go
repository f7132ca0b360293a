package checks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/internal/golden"
	"tkesnap/internal/realdata"
	"tkesnap/internal/testbundle"
	"tkesnap/parsers/bundle"
)

// update is the repository-wide -update switch (internal/golden).
var update = golden.Update

const kubeBase = "../../testdata/kube/base"

// edit changes the base cluster's files (bundle path → content).
type edit func(t *testing.T, files map[string]string)

// replace edits one file; the old text must be there, so a test cannot
// silently stop testing its fault when the base changes.
func replace(file, old, new string) edit {
	return func(t *testing.T, files map[string]string) {
		t.Helper()
		if !strings.Contains(files[file], old) {
			t.Fatalf("%s does not contain %q", file, old)
		}
		files[file] = strings.Replace(files[file], old, new, 1)
	}
}

func put(file, content string) edit {
	return func(t *testing.T, files map[string]string) { files[file] = content }
}

func drop(file string) edit {
	return func(t *testing.T, files map[string]string) { delete(files, file) }
}

// kubeCluster loads the base cluster with edits applied, as a directory
// bundle, through the real bundle reader and model loader.
func kubeCluster(t *testing.T, edits ...edit) *model.Cluster {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(kubeBase, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "README.md") {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(kubeBase, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		e(t, files)
	}
	dir := testbundle.Write(t, files)
	b, err := bundle.Open(dir, bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return model.Load(b)
}

var kubeIDs = map[string]bool{
	"SVC_NO_ENDPOINTS": true, "SVC_SELECTOR_MATCHES_NO_POD": true, "SVC_TARGET_PORT_MISMATCH": true,
	"DNS_SERVICE_UNHEALTHY": true, "INGRESS_NO_MATCHING_RULE": true, "INGRESS_BACKEND_MISSING": true,
	"NETPOL_DENIES_FLOW": true, "MASQ_HIDES_SOURCE": true, "MASQ_RULES_DIFFER": true, "DNS_NAME_UNRESOLVABLE": true, "LB_NOT_PROVISIONED": true, "SVC_INTERNAL_LOCAL_NO_ENDPOINT": true,
}

// kubeFindings runs every check and keeps the kube group's findings
// (other groups' checks may have their own opinion of the same bundle).
func kubeFindings(t *testing.T, c *model.Cluster) []finding.Finding {
	t.Helper()
	var out []finding.Finding
	for _, f := range runChecks(t, c).Findings {
		if kubeIDs[f.ID] {
			if err := finding.Render(&f, finding.EN); err != nil {
				t.Errorf("render %s: %v", f.ID, err)
			}
			out = append(out, f)
		}
	}
	for _, p := range c.Problems {
		if strings.Contains(p.Message, "internal error") || strings.Contains(p.Message, "undeclared ID") {
			t.Errorf("problem: %+v", p)
		}
	}
	return out
}

func ids(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	sort.Strings(out)
	return out
}

const flowsFile = "flows.json"

func flows(js string) edit { return put(flowsFile, js) }

func TestKubeChecks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits []edit
		want  []string          // IDs, sorted
		args  map[string]string // args of the first finding that must match
	}{
		{name: "healthy cluster: no kube finding (selectorless, ExternalName and manual-endpoint Services included)"},
		{name: "Service selector typo matches no pod: no endpoints either",
			edits: []edit{replace("cluster/services.yaml", "selector:\n      app: web\n", "selector:\n      app: web-v2\n"),
				replace("cluster/endpointslices.yaml", "kubernetes.io/service-name: web\n", "kubernetes.io/service-name: web-old\n")},
			want: []string{"SVC_NO_ENDPOINTS", "SVC_SELECTOR_MATCHES_NO_POD"},
			args: map[string]string{"service": "prod/web"}},
		{name: "selector typo: the near-miss pod is named",
			edits: []edit{replace("cluster/services.yaml", "selector:\n      app: web\n", "selector:\n      app: web-v2\n"), drop("cluster/endpointslices.yaml"), drop("cluster/endpoints.yaml")},
			want:  []string{"SVC_SELECTOR_MATCHES_NO_POD"},
			args:  map[string]string{"service": "prod/web", "selector": "app=web-v2", "near": "prod/web-7d4b9c-abcde"}},
		{name: "selector on an unrelated value names no near-miss pod",
			edits: []edit{replace("cluster/services.yaml", "selector:\n      app: web\n", "selector:\n      app: shop\n"), drop("cluster/endpointslices.yaml"), drop("cluster/endpoints.yaml")},
			want:  []string{"SVC_SELECTOR_MATCHES_NO_POD"},
			args:  map[string]string{"service": "prod/web", "near": ""}},
		{name: "a dns: flow to a selectorless Service does not make its endpoints suspect",
			edits: []edit{replace("cluster/endpoints.yaml", "  subsets:\n  - addresses:\n    - ip: 10.0.3.20\n    ports:\n    - port: 3306\n      protocol: TCP\n", "  subsets: []\n"),
				flows(`[{"from":"pod:default/client","to":"dns:legacy-db.prod.svc.cluster.local","proto":"udp","symptom":"timeout"}]`)}},
		{name: "pod not ready (CrashLoopBackOff) leaves the Service without ready endpoints",
			edits: []edit{
				replace("cluster/endpointslices.yaml", "    - 172.16.0.71\n    conditions:\n      ready: true", "    - 172.16.0.71\n    conditions:\n      ready: false"),
				replace("cluster/pods.yaml", "    hostIP: 10.0.1.6\n    phase: Running\n    podIP: 172.16.0.71", "    hostIP: 10.0.1.6\n    phase: Running\n    containerStatuses:\n    - name: api\n      ready: false\n      state:\n        waiting:\n          reason: CrashLoopBackOff\n    podIP: 172.16.0.71"),
				replace("cluster/pods.yaml", "    - status: \"True\"\n      type: Ready\n    hostIP: 10.0.1.6\n    phase: Running\n    containerStatuses", "    - status: \"False\"\n      type: Ready\n    hostIP: 10.0.1.6\n    phase: Running\n    containerStatuses"),
			},
			want: []string{"SVC_NO_ENDPOINTS"},
			args: map[string]string{"service": "prod/api", "notready": "1", "pods": "api-0 container api CrashLoopBackOff"}},
		{name: "Endpoints object without slices: no ready address is no endpoints",
			edits: []edit{drop("cluster/endpointslices.yaml"), put("cluster/endpoints.yaml", `apiVersion: v1
kind: EndpointsList
items:
- metadata: {name: web, namespace: prod}
  subsets:
  - notReadyAddresses:
    - ip: 172.16.0.10
    ports:
    - {name: http, port: 8080, protocol: TCP}
`)},
			// api and kube-dns have no Endpoints object at all now
			want: []string{"DNS_SERVICE_UNHEALTHY", "SVC_NO_ENDPOINTS", "SVC_NO_ENDPOINTS", "SVC_NO_ENDPOINTS"}},
		{name: "named targetPort that no container declares",
			edits: []edit{replace("cluster/services.yaml", "targetPort: http", "targetPort: web")},
			want:  []string{"SVC_TARGET_PORT_MISMATCH"},
			args:  map[string]string{"service": "prod/web", "targetPort": "web", "suggest": "http", "pods": "2"}},
		{name: "numeric targetPort 9091 while the container declares 9090",
			edits: []edit{replace("cluster/services.yaml", "targetPort: 9090", "targetPort: 9091")},
			want:  []string{"SVC_TARGET_PORT_MISMATCH"},
			args:  map[string]string{"service": "prod/api", "targetPort": "9091", "suggest": "9090"}},
		{name: "numeric targetPort on a pod that declares no ports is not judged",
			edits: []edit{replace("cluster/pods.yaml", "      ports:\n      - containerPort: 9090\n        name: grpc\n        protocol: TCP\n", ""),
				replace("cluster/services.yaml", "targetPort: 9090", "targetPort: 9091")}},
		{name: "selectorless Service with empty manual endpoints is reported only when a flow targets it",
			edits: []edit{replace("cluster/endpoints.yaml", "  subsets:\n  - addresses:\n    - ip: 10.0.3.20\n    ports:\n    - port: 3306\n      protocol: TCP\n", "  subsets: []\n")}},
		{name: "selectorless Service with empty manual endpoints and a reported flow",
			edits: []edit{replace("cluster/endpoints.yaml", "  subsets:\n  - addresses:\n    - ip: 10.0.3.20\n    ports:\n    - port: 3306\n      protocol: TCP\n", "  subsets: []\n"),
				flows(`[{"from":"pod:default/client","to":"svc:prod/legacy-db:3306","proto":"tcp","symptom":"refused"}]`)},
			want: []string{"SVC_NO_ENDPOINTS"}, args: map[string]string{"service": "prod/legacy-db"}},
		{name: "DNS Service without port 53/TCP",
			edits: []edit{replace("cluster/services.yaml", "    - name: dns-tcp\n      port: 53\n      protocol: TCP\n      targetPort: 53\n", "")},
			want:  []string{"DNS_SERVICE_UNHEALTHY"},
			args:  map[string]string{"service": "kube-system/kube-dns", "noports": "53/TCP", "notcp": "1"}},
		{name: "CoreDNS pod not ready: one DNS finding lists both 53/UDP and 53/TCP without ready endpoints",
			edits: []edit{replace("cluster/endpointslices.yaml", "    - 172.16.0.20\n    conditions:\n      ready: true", "    - 172.16.0.20\n    conditions:\n      ready: false")},
			want:  []string{"DNS_SERVICE_UNHEALTHY", "SVC_NO_ENDPOINTS"},
			args:  map[string]string{"service": "kube-system/kube-dns", "unready": "dns(53/UDP), dns-tcp(53/TCP)", "notready": "1"}},
		{name: "CoreDNS pod in CrashLoopBackOff: the DNS finding names the container and its state as data",
			edits: []edit{replace("cluster/endpointslices.yaml", "    - 172.16.0.20\n    conditions:\n      ready: true", "    - 172.16.0.20\n    conditions:\n      ready: false"),
				crashLoop("coredns-5c6f8d7b-x1", "coredns")},
			want: []string{"DNS_SERVICE_UNHEALTHY", "SVC_NO_ENDPOINTS"},
			args: map[string]string{"pod": "coredns-5c6f8d7b-x1", "pod_container": "coredns", "pod_state": "CrashLoopBackOff"}},
		{name: "DNS Service with several faults at once: one finding naming each",
			edits: []edit{replace("cluster/endpointslices.yaml", "    - 172.16.0.20\n    conditions:\n      ready: true", "    - 172.16.0.20\n    conditions:\n      ready: false"),
				replace("cluster/configmaps-kube-system.yaml", "kubernetes cluster.local", "file /etc/db cluster.local"),
				put("nodes/10.0.1.5/resolv.conf", "search localdomain\nnameserver 172.17.252.10\n")},
			want: []string{"DNS_SERVICE_UNHEALTHY", "SVC_NO_ENDPOINTS"},
			args: map[string]string{"unready": "dns(53/UDP), dns-tcp(53/TCP)", "corefile": "kube-system/coredns", "loopnode": "10.0.1.5", "loopip": "172.17.252.10"}},
		{name: "Corefile without the kubernetes plugin",
			edits: []edit{replace("cluster/configmaps-kube-system.yaml", "kubernetes cluster.local", "file /etc/db cluster.local")},
			want:  []string{"DNS_SERVICE_UNHEALTHY"}},
		{name: "Ingress backend Service does not exist",
			edits: []edit{replace("cluster/ingresses.yaml", "              name: web\n              port:\n                number: 80", "              name: web-svc\n              port:\n                number: 80")},
			want:  []string{"INGRESS_BACKEND_MISSING"},
			args:  map[string]string{"ingress": "prod/shop", "backend": "svc/prod/web-svc:80", "problem": "noservice", "namespace": "prod", "rule": "shop.example.com/"}},
		{name: "Ingress backend port is not a Service port",
			edits: []edit{replace("cluster/ingresses.yaml", "number: 80", "number: 8080")},
			want:  []string{"INGRESS_BACKEND_MISSING"},
			args:  map[string]string{"backend": "svc/prod/web:8080", "problem": "noport", "port": "8080", "ports": "http(80/TCP)"}},
		{name: "qcloud Ingress to a ClusterIP Service without direct access",
			edits: []edit{replace("cluster/ingresses.yaml", "              name: web\n              port:\n                name: http", "              name: api\n              port:\n                number: 9090")},
			want:  []string{"INGRESS_BACKEND_MISSING"},
			args:  map[string]string{"backend": "svc/prod/api:9090"}},
		{name: "qcloud Ingress to a ClusterIP Service with direct access is fine",
			edits: []edit{replace("cluster/ingresses.yaml", "              name: web\n              port:\n                name: http", "              name: api\n              port:\n                number: 9090"),
				replace("cluster/ingresses.yaml", "      kubernetes.io/ingress.class: qcloud\n", "      kubernetes.io/ingress.class: qcloud\n      ingress.cloud.tencent.com/direct-access: \"true\"\n")}},
		{name: "HTTP 404: the reported host matches no Ingress rule",
			edits: []edit{flows(`[{"from":"ip:203.0.113.9","to":"ingress:prod/shop","proto":"tcp","symptom":"http-404","host":"www.example.com","path":"/"}]`)},
			want:  []string{"INGRESS_NO_MATCHING_RULE"},
			args:  map[string]string{"host": "www.example.com", "path": "/", "ingress": "prod/shop"}},
		{name: "HTTP 404 reported for a host and path the Ingress does route",
			edits: []edit{flows(`[{"from":"ip:203.0.113.9","to":"ingress:prod/shop","symptom":"http-404","host":"shop.example.com","path":"/cart/1"}]`)}},
		{name: "NetworkPolicy admits only web into api: a client pod's flow to the api Service is denied",
			edits: []edit{flows(`[{"from":"pod:default/client","to":"svc:prod/api:9090","proto":"tcp","symptom":"timeout"}]`)},
			want:  []string{"NETPOL_DENIES_FLOW"},
			args: map[string]string{"direction": "Ingress", "pod": "prod/api-0", "policies": "prod/api-from-web",
				"flow": "pod/default/client → svc/prod/api (backend pod/prod/api-0) 9090/TCP", "denied": "1 of 1",
				"why": "prod/api-from-web ingress rule 1 admits port 9090/TCP but no peer matches pod/default/client"}},
		{name: "web pods reach api by DNS name and port name: allowed",
			edits: []edit{flows(`[{"from":"pod:prod/web-7d4b9c-abcde","to":"dns:api:grpc","symptom":"timeout"}]`)}},
		{name: "default-deny egress in the client's namespace",
			edits: []edit{put("cluster/networkpolicies.yaml", `kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: deny-egress, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]
    ports: [{port: 53, protocol: UDP}]
`), flows(`[{"from":"pod:default/client","to":"svc:prod/web:80","symptom":"timeout"},{"from":"pod:default/client","to":"svc:kube-system/kube-dns:dns","proto":"udp"}]`)},
			want: []string{"NETPOL_DENIES_FLOW"},
			args: map[string]string{"direction": "Egress", "pod": "default/client", "policies": "default/deny-egress", "denied": "2 of 2"}},
		{name: "host-network exporter: targetPort 9100 but nothing listens on it on the node (ss.txt)",
			edits: nodeExporter("9101"),
			want:  []string{"SVC_TARGET_PORT_MISMATCH"},
			args:  map[string]string{"service": "kube-system/node-exporter", "problem": "hostnet", "node": "10.0.1.5", "targetPort": "9100", "proto": "TCP"}},
		{name: "host-network exporter listening on its targetPort",
			edits: nodeExporter("9100")},
		{name: "IDC sees the node IP: the IDC address is outside NonMasqueradeCIDRs",
			edits: []edit{flows(`[{"from":"pod:default/client","to":"ip:192.168.10.5:3306","symptom":"wrong-source-ip"}]`)},
			want:  []string{"MASQ_HIDES_SOURCE"},
			args:  map[string]string{"cidr": "192.168.10.5/32", "node": "10.0.1.5", "nonmasq": "172.16.0.0/16, 10.0.0.0/16"}},
		{name: "IDC CIDR added to NonMasqueradeCIDRs (camelCase config keys)",
			edits: []edit{flows(`[{"from":"pod:default/client","to":"ip:192.168.10.5:3306","symptom":"wrong-source-ip"}]`),
				replace("cluster/configmaps-kube-system.yaml", "      NonMasqueradeCIDRs:\n        - 172.16.0.0/16\n", "      nonMasqueradeCIDRs:\n        - 172.16.0.0/16\n        - 192.168.0.0/16\n")}},
		{name: "node chain already has the IDC CIDR the configmap lacks: rules decide, and the drift is reported",
			edits: []edit{flows(`[{"from":"pod:default/client","to":"ip:192.168.10.5:3306","symptom":"wrong-source-ip"}]`),
				put("nodes/10.0.1.5/iptables-save.txt", masqDump("172.16.0.0/16", "10.0.0.0/16", "192.168.0.0/16"))},
			want: []string{"MASQ_RULES_DIFFER"},
			args: map[string]string{"node": "10.0.1.5", "extra": "192.168.0.0/16", "missing": ""}},
		{name: "node chain matches the configmap but both miss the IDC",
			edits: []edit{flows(`[{"from":"pod:default/client","to":"ip:192.168.10.5:3306","symptom":"wrong-source-ip"}]`),
				replace("cluster/configmaps-kube-system.yaml", "MasqLinkLocal: true", "MasqLinkLocal: false"),
				put("nodes/10.0.1.5/iptables-save.txt", masqDump("169.254.0.0/16", "172.16.0.0/16", "10.0.0.0/16"))},
			want: []string{"MASQ_HIDES_SOURCE"},
			args: map[string]string{"node": "10.0.1.5", "nonmasq": "169.254.0.0/16, 172.16.0.0/16, 10.0.0.0/16"}},
		{name: "CCN route to an IDC (Direct Connect) CIDR that pods' traffic would be SNATed for",
			edits: []edit{put("cloud/ccn-routes.json", `{"Response":{"TotalCount":2,"RouteSet":[
{"DestinationCidrBlock":"10.0.0.0/16","InstanceId":"vpc-own","InstanceType":"VPC","Enabled":true,"RouteId":"ccnr-1"},
{"DestinationCidrBlock":"10.33.0.0/16","InstanceId":"dcg-idc1","InstanceType":"DIRECTCONNECT","Enabled":true,"RouteId":"ccnr-2"}]}}`)},
			want: []string{"MASQ_HIDES_SOURCE"},
			args: map[string]string{"cidr": "10.33.0.0/16", "node": "every node running ip-masq-agent"}},
		{name: "no ip-masq-agent at all: nothing of its doing to report",
			edits: []edit{flows(`[{"from":"pod:default/client","to":"ip:192.168.10.5:3306","symptom":"wrong-source-ip"}]`),
				replace("cluster/configmaps-kube-system.yaml", "    name: ip-masq-agent-config\n", "    name: unrelated\n")}},
		{name: "node resolv.conf names the kube-dns ClusterIP while CoreDNS forwards to /etc/resolv.conf: loop",
			edits: []edit{put("nodes/10.0.1.5/resolv.conf", "search localdomain\nnameserver 172.17.252.10\n")},
			want:  []string{"DNS_SERVICE_UNHEALTHY"},
			args:  map[string]string{"loopnode": "10.0.1.5", "loopip": "172.17.252.10"}},
		{name: "node resolv.conf with the VPC DNS servers is fine",
			edits: []edit{put("nodes/10.0.1.5/resolv.conf", "nameserver 183.60.83.19\nnameserver 183.60.82.98\n")}},
		{name: "readiness probe failure from events explains the missing endpoint",
			edits: []edit{
				replace("cluster/endpointslices.yaml", "    - 172.16.0.71\n    conditions:\n      ready: true", "    - 172.16.0.71\n    conditions:\n      ready: false"),
				replace("cluster/pods.yaml", "    - status: \"True\"\n      type: Ready\n    hostIP: 10.0.1.6\n    phase: Running\n    podIP: 172.16.0.71", "    - status: \"False\"\n      type: Ready\n    hostIP: 10.0.1.6\n    phase: Running\n    podIP: 172.16.0.71"),
				put("cluster/events.yaml", `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Event
  metadata: {name: api-0.17a, namespace: prod}
  involvedObject: {kind: Pod, name: api-0, namespace: prod}
  reason: Unhealthy
  type: Warning
  message: 'Readiness probe failed: Get "http://172.16.0.71:9090/ready": dial tcp 172.16.0.71:9090: connect: connection refused'
`)},
			want: []string{"SVC_NO_ENDPOINTS"},
			args: map[string]string{"pods": `api-0 not Ready (Readiness probe failed: Get "http://172.16.0.71:9090/ready": dial tcp 172.16.0.71:9090: connect: connection refused)`}},
		{name: "HTTP 404 captured from the Ingress address for a Host no rule has",
			edits: []edit{replace("cluster/ingresses.yaml", "ip: 119.28.1.10", "ip: 172.24.0.3"), realCapture("zeek-http-404-responses.pcap")},
			want:  []string{"INGRESS_NO_MATCHING_RULE"},
			args:  map[string]string{"host": "172.24.0.3", "path": "/regular_file.html", "seen": "captures/10.0.1.5/http.pcap"}},
		{name: "HTTP 404 captured for a request a host-less rule routes: the backend answered 404",
			edits: []edit{replace("cluster/ingresses.yaml", "ip: 119.28.1.10", "ip: 172.24.0.3"), realCapture("zeek-http-404-responses.pcap"),
				replace("cluster/ingresses.yaml", "    rules:\n", "    rules:\n    - http:\n        paths:\n        - backend:\n            service:\n              name: web\n              port:\n                number: 80\n          path: /\n          pathType: Prefix\n")}},
		{name: "NXDOMAIN: a short Service name asked from another namespace",
			edits: []edit{flows(`[{"from":"pod:default/client","to":"dns:api","proto":"udp","symptom":"nxdomain"}]`)},
			want:  []string{"DNS_NAME_UNRESOLVABLE"},
			args: map[string]string{"name": "api", "namespace": "default", "near": "prod/api", "suggest": "api.prod",
				"searched": "api.default.svc.cluster.local, api.svc.cluster.local, api.cluster.local, api"}},
		{name: "the same short name from the Service's own namespace resolves",
			edits: []edit{flows(`[{"from":"pod:prod/web-7d4b9c-abcde","to":"dns:api","proto":"udp","symptom":"nxdomain"}]`)}},
		{name: "a name with its namespace resolves from anywhere",
			edits: []edit{flows(`[{"from":"pod:default/client","to":"dns:api.prod","proto":"udp"}]`)}},
		{name: "egress default-deny without a DNS rule: name lookups are denied",
			edits: []edit{put("cluster/networkpolicies.yaml", `kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: deny-egress, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: prod}}}]
`), flows(`[{"from":"pod:default/client","to":"dns:api.prod","proto":"udp","symptom":"timeout"}]`)},
			want: []string{"NETPOL_DENIES_FLOW"},
			args: map[string]string{"direction": "Egress", "flow": "pod/default/client → svc/kube-system/kube-dns (backend pod/kube-system/coredns-5c6f8d7b-x1) 53/UDP"}},
		{name: "LoadBalancer Service without an address: the controller's event says why",
			edits: []edit{replace("cluster/services.yaml", "    type: NodePort\n", "    type: LoadBalancer\n  status:\n    loadBalancer: {}\n"),
				put("cluster/events.yaml", `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Event
  metadata: {name: web.1, namespace: prod}
  involvedObject: {kind: Service, name: web, namespace: prod}
  reason: EnsureLoadBalancerFailed
  type: Warning
  message: 'Error syncing load balancer: failed to ensure load balancer: [TencentCloudSDKError] Code=InvalidParameter.SubnetNotExist'
`)},
			want: []string{"LB_NOT_PROVISIONED"},
			args: map[string]string{"object": "svc/prod/web", "event": "EnsureLoadBalancerFailed: Error syncing load balancer: failed to ensure load balancer: [TencentCloudSDKError] Code=InvalidParameter.SubnetNotExist"}},
		{name: "qcloud Ingress without an address",
			edits: []edit{replace("cluster/ingresses.yaml", "      ingress:\n      - ip: 119.28.1.10\n", "      {}\n")},
			want:  []string{"LB_NOT_PROVISIONED"},
			args:  map[string]string{"object": "ingress/prod/shop", "event": ""}},
		{name: "internalTrafficPolicy Local: the client's node has no api endpoint",
			edits: []edit{replace("cluster/services.yaml", "    selector:\n      app: api\n", "    internalTrafficPolicy: Local\n    selector:\n      app: api\n"),
				flows(`[{"from":"pod:prod/web-7d4b9c-abcde","to":"svc:prod/api:9090","symptom":"timeout"}]`)},
			want: []string{"SVC_INTERNAL_LOCAL_NO_ENDPOINT"},
			args: map[string]string{"service": "prod/api", "node": "10.0.1.5", "client": "prod/web-7d4b9c-abcde", "elsewhere": "node 10.0.1.6"}},
		{name: "internalTrafficPolicy Local: a client on the endpoint's node is served",
			edits: []edit{replace("cluster/services.yaml", "    selector:\n      app: api\n", "    internalTrafficPolicy: Local\n    selector:\n      app: api\n"),
				flows(`[{"from":"pod:prod/web-7d4b9c-fghij","to":"svc:prod/api:9090","symptom":"timeout"}]`)}},
		{name: "an outside name is CoreDNS's upstream's business, not a cluster finding",
			edits: []edit{flows(`[{"from":"pod:default/client","to":"dns:www.qq.com","proto":"udp","symptom":"nxdomain"}]`)}},
		{name: "a Service name in a namespace that does not have it",
			edits: []edit{flows(`[{"from":"pod:default/client","to":"dns:api.kube-system","proto":"udp","symptom":"nxdomain"}]`)},
			want:  []string{"DNS_NAME_UNRESOLVABLE"},
			args:  map[string]string{"name": "api.kube-system", "near": "prod/api"}},
		{name: "host-network pod with dnsPolicy ClusterFirst resolves through the node",
			edits: append(nodeExporter("9100"),
				replace("cluster/pods.yaml", "    hostNetwork: true\n", "    hostNetwork: true\n    dnsPolicy: ClusterFirst\n"),
				put("nodes/10.0.1.5/resolv.conf", "nameserver 183.60.83.19\n"),
				flows(`[{"from":"pod:kube-system/node-exporter-abcde","to":"dns:api.prod","proto":"udp","symptom":"nxdomain"}]`)),
			want: []string{"DNS_SERVICE_UNHEALTHY"},
			args: map[string]string{"client": "kube-system/node-exporter-abcde", "resolver": "hostnet", "nameservers": "183.60.83.19", "name": "api.prod"}},
		{name: "host-network pod with ClusterFirstWithHostNet is fine",
			edits: append(nodeExporter("9100"),
				replace("cluster/pods.yaml", "    hostNetwork: true\n", "    hostNetwork: true\n    dnsPolicy: ClusterFirstWithHostNet\n"),
				flows(`[{"from":"pod:kube-system/node-exporter-abcde","to":"dns:api.prod","proto":"udp","symptom":"nxdomain"}]`))},
		{name: "dnsPolicy None with a nameserver that is not kube-dns",
			edits: []edit{replace("cluster/pods.yaml", "  spec:\n    containers:\n    - image: busybox\n", "  spec:\n    dnsPolicy: None\n    dnsConfig:\n      nameservers: [8.8.8.8]\n    containers:\n    - image: busybox\n"),
				flows(`[{"from":"pod:default/client","to":"dns:api.prod","proto":"udp","symptom":"nxdomain"}]`)},
			want: []string{"DNS_SERVICE_UNHEALTHY"},
			args: map[string]string{"client": "default/client", "resolver": "none", "nameservers": "8.8.8.8", "name": "api.prod"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := kubeCluster(t, tc.edits...)
			fs := kubeFindings(t, c)
			got := ids(fs)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				for _, f := range fs {
					t.Logf("%s %v: %s", f.ID, f.Objects, f.Message)
				}
				t.Fatalf("IDs = %v, want %v", got, tc.want)
			}
			if tc.args != nil {
				f := fs[0]
				for k, v := range tc.args {
					if f.Args[k] != v {
						t.Errorf("%s arg %s = %q, want %q (message: %s)", f.ID, k, f.Args[k], v, f.Message)
					}
				}
			}
			for _, f := range fs {
				if len(f.Evidence) == 0 || f.Evidence[0].File == "" || f.Evidence[0].Line == 0 {
					t.Errorf("%s without file+line evidence: %+v", f.ID, f.Evidence)
				}
				if f.Remedy == "" || strings.Contains(f.Message, "<no value>") {
					t.Errorf("%s renders badly: %q / %q", f.ID, f.Message, f.Remedy)
				}
			}
		})
	}
}

// The golden report of one bundle with several faults at once.
func TestKubeGolden(t *testing.T) {
	c := kubeCluster(t,
		replace("cluster/services.yaml", "selector:\n      app: web\n", "selector:\n      app: web-v2\n"),
		replace("cluster/services.yaml", "targetPort: 9090", "targetPort: 9091"),
		replace("cluster/ingresses.yaml", "number: 80", "number: 8080"),
		flows(`[{"from":"ip:203.0.113.9","to":"ingress:prod/shop","symptom":"http-404","host":"shop.example.org","path":"/"}]`),
	)
	fs := kubeFindings(t, c)
	got, _ := json.MarshalIndent(fs, "", "  ")
	golden := "../../testdata/kube/golden/faults.json"
	if *update {
		os.MkdirAll(filepath.Dir(golden), 0o755)
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if strings.TrimSpace(string(want)) != strings.TrimSpace(string(got)) {
		t.Errorf("findings differ from %s (go test -run TestKubeGolden -update):\n%s", golden, got)
	}
}

// nodeExporter adds a host-network pod serving a Service on targetPort
// 9100 (declaring no container ports) and the node's ss.txt with a
// listener on port.
func nodeExporter(port string) []edit {
	return []edit{
		replace("cluster/pods.yaml", "kind: List\n", `- apiVersion: v1
  kind: Pod
  metadata:
    labels: {app: node-exporter}
    name: node-exporter-abcde
    namespace: kube-system
  spec:
    hostNetwork: true
    nodeName: 10.0.1.5
    containers: [{name: exporter, image: node-exporter}]
  status:
    conditions: [{type: Ready, status: "True"}]
    hostIP: 10.0.1.5
    podIP: 10.0.1.5
kind: List
`),
		replace("cluster/services.yaml", "kind: List\n", `- apiVersion: v1
  kind: Service
  metadata: {name: node-exporter, namespace: kube-system}
  spec:
    clusterIP: None
    ports: [{name: metrics, port: 9100, targetPort: 9100}]
    selector: {app: node-exporter}
kind: List
`),
		replace("cluster/endpointslices.yaml", "kind: List\n", `- addressType: IPv4
  apiVersion: discovery.k8s.io/v1
  endpoints:
  - addresses: [10.0.1.5]
    conditions: {ready: true}
    targetRef: {kind: Pod, name: node-exporter-abcde, namespace: kube-system}
  kind: EndpointSlice
  metadata:
    labels: {kubernetes.io/service-name: node-exporter}
    name: node-exporter-1
    namespace: kube-system
  ports: [{name: metrics, port: 9100, protocol: TCP}]
kind: List
`),
		put("nodes/10.0.1.5/ss.txt", `tcp   LISTEN 0      4096   127.0.0.1:10248        0.0.0.0:*     users:(("kubelet",pid=1201,fd=20))
tcp   LISTEN 0      4096           *:`+port+`           *:*     users:(("node_exporter",pid=3301,fd=3))
tcp   ESTAB  0      0      10.0.1.5:9100    10.0.1.6:51234 users:(("node_exporter",pid=3301,fd=7))
`),
	}
}

// masqDump is a node's nat table as ip-masq-agent programs it.
func masqDump(nonMasq ...string) string {
	var b strings.Builder
	b.WriteString("# Generated by iptables-save v1.8.4 on Wed Nov 25 10:00:00 2026\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:IP-MASQ-AGENT - [0:0]\n")
	b.WriteString(`-A POSTROUTING -m comment --comment "ip-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom IP-MASQ-AGENT chain" -m addrtype ! --dst-type LOCAL -j IP-MASQ-AGENT` + "\n")
	for _, c := range nonMasq {
		b.WriteString(`-A IP-MASQ-AGENT -d ` + c + ` -m comment --comment "ip-masq-agent: local traffic is not subject to MASQUERADE" -j RETURN` + "\n")
	}
	b.WriteString(`-A IP-MASQ-AGENT -m comment --comment "ip-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE` + "\nCOMMIT\n")
	return b.String()
}

// realCapture puts a capture of the shared corpus on node 10.0.1.5.
func realCapture(name string) edit {
	return func(t *testing.T, files map[string]string) {
		b := realdata.Read(t, "pcap/"+name)
		files["captures/10.0.1.5/http.pcap"] = string(b)
	}
}

// The inconclusive item for a kind the bundle lacks names the command a
// support engineer can paste: kubectl's real resource names.
func TestMissingKindNamesRealKubectlResource(t *testing.T) {
	c := kubeCluster(t, drop("cluster/ingresses.yaml"), drop("cluster/networkpolicies.yaml"))
	for _, in := range runChecks(t, c).Inconclusive {
		if strings.Contains(in.Why, "ingresss") || strings.Contains(in.Why, "networkpolicys") {
			t.Errorf("%q", in.Why)
		}
	}
	for kind, want := range map[string]string{
		"Ingress":       "kubectl get ingresses -A -o yaml",
		"NetworkPolicy": "kubectl get networkpolicies -A -o yaml",
		"EndpointSlice": "kubectl get endpointslices -A -o yaml",
		"Endpoints":     "kubectl get endpoints -A -o yaml",
		"ConfigMap":     "kubectl get configmaps -n kube-system -o yaml",
		"Node":          "kubectl get nodes -o yaml",
	} {
		if got := kubectlGet(kind); got != want {
			t.Errorf("kubectlGet(%s) = %q, want %q", kind, got, want)
		}
	}
	// A check that needs Ingresses says so with the real name.
	found := false
	for _, in := range needKube("Ingress")(c) {
		found = found || strings.Contains(in.Why, "kubectl get ingresses -A -o yaml")
	}
	if !found {
		t.Errorf("needKube(Ingress) does not name `kubectl get ingresses`: %+v", needKube("Ingress")(c))
	}
}

// crashLoop makes a pod of the base cluster unready (condition Ready
// False) with its container waiting in CrashLoopBackOff.
func crashLoop(pod, container string) edit {
	return func(t *testing.T, files map[string]string) {
		t.Helper()
		y := files["cluster/pods.yaml"]
		i := strings.Index(y, "name: "+pod+"\n")
		if i < 0 {
			t.Fatalf("no pod %s", pod)
		}
		j := strings.Index(y[i:], "  status:\n")
		if j < 0 {
			t.Fatalf("pod %s has no status", pod)
		}
		at := i + j + len("  status:\n")
		rest := strings.Replace(y[at:], "    - status: \"True\"\n      type: Ready\n", "    - status: \"False\"\n      type: Ready\n", 1)
		files["cluster/pods.yaml"] = y[:at] + "    containerStatuses:\n    - name: " + container + "\n      ready: false\n      state:\n        waiting: {reason: CrashLoopBackOff}\n" + rest
	}
}
