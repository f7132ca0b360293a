// Package gen writes a synthetic cluster/ folder of any size in
// `kubectl get -o yaml` List form, for the kube scale benchmark: N nodes,
// S Services each selecting P/S pods through an EndpointSlice, a
// NetworkPolicy per namespace, Ingresses, the kube-system configmaps and
// flows. A few Services carry faults so every check has work to report.
package gen

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
)

// Size of the generated cluster.
type Size struct {
	Nodes, Services, Pods, Namespaces, Ingresses, Flows int
}

// Scale is the target: 50 nodes, 5,000 Services, 50,000 pods.
var Scale = Size{Nodes: 50, Services: 5000, Pods: 50000, Namespaces: 20, Ingresses: 200, Flows: 200}

// Write creates dir/cluster/*.yaml and dir/flows.json. It returns the
// bytes written.
func Write(dir string, s Size) (int64, error) {
	if err := os.MkdirAll(filepath.Join(dir, "cluster"), 0o755); err != nil {
		return 0, err
	}
	var total int64
	for _, f := range []struct {
		name string
		fn   func(w *bufio.Writer, s Size)
	}{
		{"cluster/nodes.yaml", nodes}, {"cluster/pods.yaml", pods}, {"cluster/services.yaml", services},
		{"cluster/endpointslices.yaml", slices}, {"cluster/networkpolicies.yaml", netpols},
		{"cluster/ingresses.yaml", ingresses}, {"cluster/configmaps-kube-system.yaml", configmaps},
		{"flows.json", flows},
	} {
		fh, err := os.Create(filepath.Join(dir, f.name))
		if err != nil {
			return total, err
		}
		w := bufio.NewWriterSize(fh, 1<<20)
		f.fn(w, s)
		if err := w.Flush(); err != nil {
			fh.Close()
			return total, err
		}
		st, _ := fh.Stat()
		total += st.Size()
		if err := fh.Close(); err != nil {
			return total, err
		}
	}
	return total, nil
}

func nodeIP(i int) string   { return fmt.Sprintf("10.0.%d.%d", 1+i/200, 10+i%200) }
func podCIDR(i int) string  { return fmt.Sprintf("172.%d.%d.0/20", 16+i/16, (i%16)*16) }
func podIP(n, j int) string { return fmt.Sprintf("172.%d.%d.%d", 16+n/16, (n%16)*16+j/250, 1+j%250) }
func svcIP(i int) string    { return fmt.Sprintf("10.200.%d.%d", i/250, 1+i%250) }
func ns(i int, s Size) string {
	return fmt.Sprintf("team-%d", i%s.Namespaces)
}

const listEnd = "kind: List\nmetadata:\n  resourceVersion: \"\"\n"

func nodes(w *bufio.Writer, s Size) {
	w.WriteString("apiVersion: v1\nitems:\n")
	for i := 0; i < s.Nodes; i++ {
		fmt.Fprintf(w, `- apiVersion: v1
  kind: Node
  metadata:
    labels:
      kubernetes.io/hostname: %[1]s
      node.kubernetes.io/instance-type: S5.2XLARGE16
    name: %[1]s
  spec:
    podCIDR: %[2]s
    podCIDRs:
    - %[2]s
    providerID: qcloud:///800002/ins-%08[3]x
  status:
    addresses:
    - address: %[1]s
      type: InternalIP
    - address: %[1]s
      type: Hostname
    conditions:
    - status: "True"
      type: Ready
`, nodeIP(i), podCIDR(i), i)
	}
	w.WriteString(listEnd)
}

// pod j belongs to Service j % Services; pods of every 97th Service are
// not ready (CrashLoopBackOff).
func pods(w *bufio.Writer, s Size) {
	w.WriteString("apiVersion: v1\nitems:\n")
	for j := 0; j < s.Pods; j++ {
		svc := j % s.Services
		node := j % s.Nodes
		ready, state := "True", "running:\n          startedAt: \"2026-11-25T08:00:00Z\""
		if svc%97 == 5 {
			ready, state = "False", "waiting:\n          reason: CrashLoopBackOff"
		}
		fmt.Fprintf(w, `- apiVersion: v1
  kind: Pod
  metadata:
    labels:
      app: svc-%[1]d
      pod-template-hash: 5d8f7b9c4
    name: svc-%[1]d-5d8f7b9c4-%[2]d
    namespace: %[3]s
    ownerReferences:
    - apiVersion: apps/v1
      kind: ReplicaSet
      name: svc-%[1]d-5d8f7b9c4
  spec:
    containers:
    - image: ccr.ccs.tencentyun.com/app/svc:1.0
      name: app
      ports:
      - containerPort: 8080
        name: http
        protocol: TCP
      readinessProbe:
        httpGet:
          path: /healthz
          port: http
    nodeName: %[4]s
    restartPolicy: Always
  status:
    conditions:
    - status: "%[5]s"
      type: Ready
    containerStatuses:
    - name: app
      ready: %[6]s
      restartCount: 0
      state:
        %[7]s
    hostIP: %[4]s
    phase: Running
    podIP: %[8]s
    podIPs:
    - ip: %[8]s
`, svc, j, ns(svc, s), nodeIP(node), ready, map[string]string{"True": "true", "False": "false"}[ready], state, podIP(node, j/s.Nodes))
	}
	// CoreDNS
	fmt.Fprintf(w, `- apiVersion: v1
  kind: Pod
  metadata:
    labels:
      k8s-app: kube-dns
    name: coredns-0
    namespace: kube-system
  spec:
    containers:
    - name: coredns
      ports:
      - {containerPort: 53, name: dns, protocol: UDP}
      - {containerPort: 53, name: dns-tcp, protocol: TCP}
    nodeName: %s
  status:
    conditions: [{status: "True", type: Ready}]
    podIP: 172.16.0.250
`, nodeIP(0))
	w.WriteString(listEnd)
}

// every 101st Service's selector has a typo; every 89th targets a port
// name the pods do not declare.
func services(w *bufio.Writer, s Size) {
	w.WriteString("apiVersion: v1\nitems:\n")
	for i := 0; i < s.Services; i++ {
		sel := fmt.Sprintf("svc-%d", i)
		if i%101 == 7 {
			sel += "-v2"
		}
		tp := "http"
		if i%89 == 3 {
			tp = "web"
		}
		fmt.Fprintf(w, `- apiVersion: v1
  kind: Service
  metadata:
    name: svc-%[1]d
    namespace: %[2]s
  spec:
    clusterIP: %[3]s
    clusterIPs:
    - %[3]s
    ports:
    - name: http
      port: 80
      protocol: TCP
      targetPort: %[5]s
    selector:
      app: %[4]s
    sessionAffinity: None
    type: ClusterIP
  status:
    loadBalancer: {}
`, i, ns(i, s), svcIP(i), sel, tp)
	}
	w.WriteString(`- apiVersion: v1
  kind: Service
  metadata:
    name: kube-dns
    namespace: kube-system
  spec:
    clusterIP: 10.200.255.10
    ports:
    - {name: dns, port: 53, protocol: UDP, targetPort: 53}
    - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
    selector:
      k8s-app: kube-dns
`)
	w.WriteString(listEnd)
}

func slices(w *bufio.Writer, s Size) {
	w.WriteString("apiVersion: v1\nitems:\n")
	per := s.Pods / s.Services
	for i := 0; i < s.Services; i++ {
		fmt.Fprintf(w, `- addressType: IPv4
  apiVersion: discovery.k8s.io/v1
  endpoints:
`)
		if i%101 != 7 {
			for k := 0; k < per; k++ {
				j := i + k*s.Services
				node := j % s.Nodes
				ready := i%97 != 5 && i%89 != 3
				fmt.Fprintf(w, `  - addresses:
    - %s
    conditions:
      ready: %t
      serving: %t
      terminating: false
    nodeName: %s
    targetRef:
      kind: Pod
      name: svc-%d-5d8f7b9c4-%d
      namespace: %s
`, podIP(node, j/s.Nodes), ready, ready, nodeIP(node), i, j, ns(i, s))
			}
		}
		fmt.Fprintf(w, `  kind: EndpointSlice
  metadata:
    labels:
      endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
      kubernetes.io/service-name: svc-%[1]d
    name: svc-%[1]d-abcde
    namespace: %[2]s
  ports:
  - name: http
    port: 8080
    protocol: TCP
`, i, ns(i, s))
	}
	w.WriteString(`- addressType: IPv4
  apiVersion: discovery.k8s.io/v1
  endpoints:
  - addresses: [172.16.0.250]
    conditions: {ready: true}
  kind: EndpointSlice
  metadata:
    labels: {kubernetes.io/service-name: kube-dns}
    name: kube-dns-1
    namespace: kube-system
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
`)
	w.WriteString(listEnd)
}

func netpols(w *bufio.Writer, s Size) {
	w.WriteString("apiVersion: v1\nitems:\n")
	for i := 0; i < s.Namespaces; i++ {
		fmt.Fprintf(w, `- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata:
    name: same-namespace
    namespace: team-%d
  spec:
    podSelector: {}
    policyTypes: [Ingress]
    ingress:
    - from:
      - podSelector: {}
      ports:
      - port: http
        protocol: TCP
`, i)
	}
	w.WriteString(listEnd)
}

func ingresses(w *bufio.Writer, s Size) {
	w.WriteString("apiVersion: v1\nitems:\n")
	for i := 0; i < s.Ingresses; i++ {
		fmt.Fprintf(w, `- apiVersion: networking.k8s.io/v1
  kind: Ingress
  metadata:
    annotations:
      kubernetes.io/ingress.class: qcloud
      ingress.cloud.tencent.com/direct-access: "true"
    name: ing-%[1]d
    namespace: %[2]s
  spec:
    rules:
    - host: app%[1]d.example.com
      http:
        paths:
`, i, ns(i, s))
		for k := 0; k < 5; k++ {
			svc := i + k*s.Namespaces
			if svc >= s.Services {
				svc = i
			}
			fmt.Fprintf(w, `        - backend:
            service:
              name: svc-%d
              port:
                number: 80
          path: /p%d
          pathType: Prefix
`, svc, k)
		}
		fmt.Fprintf(w, "  status:\n    loadBalancer:\n      ingress:\n      - ip: 119.28.%d.%d\n", i/250, 1+i%250)
	}
	w.WriteString(listEnd)
}

func configmaps(w *bufio.Writer, s Size) {
	w.WriteString(`apiVersion: v1
items:
- apiVersion: v1
  data:
    config: |
      NonMasqueradeCIDRs:
        - 172.16.0.0/12
        - 10.0.0.0/16
      MasqLinkLocal: true
      ResyncInterval: 1m0s
  kind: ConfigMap
  metadata:
    name: ip-masq-agent-config
    namespace: kube-system
- apiVersion: v1
  data:
    Corefile: |
      .:53 {
          kubernetes cluster.local in-addr.arpa ip6.arpa
          forward . /etc/resolv.conf
      }
  kind: ConfigMap
  metadata:
    name: coredns
    namespace: kube-system
`)
	w.WriteString(listEnd)
}

// flows: pods calling the next Service (netpol: cross-namespace → denied),
// an IDC address, and Ingress requests.
func flows(w *bufio.Writer, s Size) {
	w.WriteString("[\n")
	for i := 0; i < s.Flows; i++ {
		if i > 0 {
			w.WriteString(",\n")
		}
		src := fmt.Sprintf("pod:%s/svc-%d-5d8f7b9c4-%d", ns(i, s), i, i)
		switch i % 3 {
		case 0:
			fmt.Fprintf(w, `{"from":%q,"to":"svc:%s/svc-%d:80","proto":"tcp","symptom":"timeout"}`, src, ns(i+1, s), i+1)
		case 1:
			fmt.Fprintf(w, `{"from":%q,"to":"ip:192.168.%d.5:3306","symptom":"wrong-source-ip"}`, src, i%250)
		default:
			fmt.Fprintf(w, `{"from":"ip:203.0.113.9","to":"ingress:%s/ing-%d","symptom":"http-404","host":"app%d.example.com","path":"/q"}`, ns(i%s.Ingresses, s), i%s.Ingresses, i%s.Ingresses)
		}
	}
	w.WriteString("\n]\n")
}
