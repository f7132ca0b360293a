package netpol

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/analysis/model"
	"tkesnap/internal/realdata"
	"tkesnap/parsers/bundle"
)

// Pods and namespaces of the examples on the "Network Policies" concept
// page (kubernetes.io/docs/concepts/services-networking/network-policies).
const pods = `apiVersion: v1
kind: List
items:
- kind: Pod
  metadata: {name: db, namespace: default, labels: {role: db}}
  spec:
    nodeName: n1
    containers:
    - name: redis
      ports: [{name: redis, containerPort: 6379}]
  status: {podIP: 172.16.0.10, hostIP: 10.0.0.1}
- kind: Pod
  metadata: {name: frontend, namespace: default, labels: {role: frontend}}
  spec: {nodeName: n2, containers: [{name: c}]}
  status: {podIP: 172.16.1.10, hostIP: 10.0.0.2}
- kind: Pod
  metadata: {name: other, namespace: default, labels: {role: other}}
  spec: {nodeName: n2, containers: [{name: c}]}
  status: {podIP: 172.16.1.11, hostIP: 10.0.0.2}
- kind: Pod
  metadata: {name: client, namespace: alice-ns, labels: {role: client}}
  spec: {nodeName: n2, containers: [{name: c}]}
  status: {podIP: 172.16.1.20, hostIP: 10.0.0.2}
- kind: Pod
  metadata: {name: server, namespace: alice-ns, labels: {role: server}}
  spec: {nodeName: n2, containers: [{name: c}]}
  status: {podIP: 172.16.1.21, hostIP: 10.0.0.2}
- kind: Pod
  metadata: {name: client, namespace: myproject, labels: {role: client}}
  spec: {nodeName: n2, containers: [{name: c}]}
  status: {podIP: 172.16.1.30, hostIP: 10.0.0.2}
- kind: Pod
  metadata: {name: hostnet, namespace: default, labels: {role: db}}
  spec: {nodeName: n2, hostNetwork: true, containers: [{name: c}]}
  status: {podIP: 10.0.0.2, hostIP: 10.0.0.2}
`

const namespaces = `apiVersion: v1
kind: List
items:
- kind: Namespace
  metadata: {name: default, labels: {kubernetes.io/metadata.name: default}}
- kind: Namespace
  metadata: {name: alice-ns, labels: {user: alice}}
- kind: Namespace
  metadata: {name: myproject, labels: {project: myproject}}
`

// The concept page's first example, verbatim apart from the List wrapper.
const testNetworkPolicy = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: test-network-policy
  namespace: default
spec:
  podSelector:
    matchLabels:
      role: db
  policyTypes:
  - Ingress
  - Egress
  ingress:
  - from:
    - ipBlock:
        cidr: 172.17.0.0/16
        except:
        - 172.17.1.0/24
    - namespaceSelector:
        matchLabels:
          project: myproject
    - podSelector:
        matchLabels:
          role: frontend
    ports:
    - protocol: TCP
      port: 6379
  egress:
  - to:
    - ipBlock:
        cidr: 10.0.0.0/24
    ports:
    - protocol: TCP
      port: 5978
`

func load(t *testing.T, files map[string]string) *model.Kube {
	t.Helper()
	dir := t.TempDir()
	for n, s := range files {
		p := filepath.Join(dir, n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := bundle.Open(dir, bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	c := model.Load(b)
	for _, p := range c.Problems {
		if strings.HasPrefix(p.File, "cluster/") {
			t.Fatalf("problem: %+v", p)
		}
	}
	return &c.Kube
}

func pod(t *testing.T, k *model.Kube, key string) Peer {
	ns, name, _ := strings.Cut(key, "/")
	p := k.Pod(ns, name)
	if p == nil {
		t.Fatalf("no pod %s", key)
	}
	return PodPeer(p)
}

func ip(s string) Peer { return Peer{IP: netip.MustParseAddr(s)} }

type want int

const (
	allow want = iota
	deny
	undecided
)

func TestConceptPageExamples(t *testing.T) {
	type flow struct {
		name     string
		src, dst string // pod "ns/name" or an IP
		proto    string
		port     int
		want     want
	}
	for _, tc := range []struct {
		name     string
		policies string
		noNS     bool // namespaces.yaml not collected
		flows    []flow
	}{
		{name: "test-network-policy", policies: testNetworkPolicy, flows: []flow{
			{"frontend pod in the same namespace may reach redis", "default/frontend", "default/db", "tcp", 6379, allow},
			{"frontend on another port is denied", "default/frontend", "default/db", "tcp", 6380, deny},
			{"UDP to 6379 is denied (protocol is part of the port)", "default/frontend", "default/db", "udp", 6379, deny},
			{"a pod without role=frontend is denied", "default/other", "default/db", "tcp", 6379, deny},
			{"any pod of namespace project=myproject is allowed", "myproject/client", "default/db", "tcp", 6379, allow},
			{"a pod of another namespace is denied", "alice-ns/client", "default/db", "tcp", 6379, deny},
			{"ipBlock 172.17.0.0/16 allows an outside client", "172.17.5.5", "default/db", "tcp", 6379, allow},
			{"ipBlock except 172.17.1.0/24 carves it out", "172.17.1.5", "default/db", "tcp", 6379, deny},
			{"the pod's own node always reaches it", "10.0.0.1", "default/db", "tcp", 22, allow},
			{"db may send to 10.0.0.0/24 on 5978", "default/db", "10.0.0.7", "tcp", 5978, allow},
			{"db may not send elsewhere (egress isolated)", "default/db", "default/frontend", "tcp", 80, deny},
			{"frontend is not selected: its egress is open, db's ingress decides", "default/frontend", "default/other", "tcp", 80, allow},
			{"host-network pods are not subject to policies", "default/other", "default/hostnet", "tcp", 1, allow},
		}},
		{name: "default-deny-ingress", policies: `kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: default-deny-ingress, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Ingress]
`, flows: []flow{
			{"every pod of the namespace is isolated", "alice-ns/client", "default/frontend", "tcp", 80, deny},
			{"egress stays open", "default/frontend", "alice-ns/server", "tcp", 80, allow},
			{"other namespaces are unaffected", "default/frontend", "alice-ns/client", "tcp", 80, allow},
		}},
		{name: "allow-all-ingress", policies: `kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: allow-all-ingress, namespace: default}
spec:
  podSelector: {}
  ingress:
  - {}
  policyTypes: [Ingress]
`, flows: []flow{{"an empty rule allows everything", "203.0.113.1", "default/db", "udp", 53, allow}}},
		{name: "default-deny-egress", policies: `kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: default-deny-egress, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Egress]
`, flows: []flow{
			{"egress from the namespace is denied", "default/frontend", "alice-ns/server", "tcp", 80, deny},
			{"ingress stays open", "alice-ns/server", "default/frontend", "tcp", 80, allow},
		}},
		{name: "policyTypes omitted: egress rules make it an egress policy too", policies: `kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: implicit, namespace: default}
spec:
  podSelector: {matchLabels: {role: frontend}}
  egress:
  - to: [{podSelector: {matchLabels: {role: db}}}]
`, flows: []flow{
			{"defaulted Ingress type isolates ingress", "default/other", "default/frontend", "tcp", 80, deny},
			{"the egress rule allows frontend → db", "default/frontend", "default/db", "tcp", 6379, allow},
			{"egress elsewhere is denied", "default/frontend", "default/other", "tcp", 80, deny},
		}},
		{name: "multi-port-egress with endPort", policies: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: multi-port-egress
  namespace: default
spec:
  podSelector:
    matchLabels:
      role: db
  policyTypes:
    - Egress
  egress:
    - to:
        - ipBlock:
            cidr: 10.0.0.0/24
      ports:
        - protocol: TCP
          port: 32000
          endPort: 32768
`, flows: []flow{
			{"32000 is in the range", "default/db", "10.0.0.9", "tcp", 32000, allow},
			{"32768 is in the range", "default/db", "10.0.0.9", "tcp", 32768, allow},
			{"32769 is not", "default/db", "10.0.0.9", "tcp", 32769, deny},
			{"31999 is not", "default/db", "10.0.0.9", "tcp", 31999, deny},
		}},
		{name: "namespaceSelector AND podSelector in one peer", policies: `kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: and, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          user: alice
      podSelector:
        matchLabels:
          role: client
`, flows: []flow{
			{"client pod in alice's namespace", "alice-ns/client", "default/db", "tcp", 6379, allow},
			{"another pod in alice's namespace", "alice-ns/server", "default/db", "tcp", 6379, deny},
			{"a client pod in another namespace", "myproject/client", "default/db", "tcp", 6379, deny},
		}},
		{name: "namespaceSelector OR podSelector as two peers", policies: `kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: or, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          user: alice
    - podSelector:
        matchLabels:
          role: client
`, flows: []flow{
			{"any pod in alice's namespace", "alice-ns/server", "default/db", "tcp", 6379, allow},
			{"podSelector alone means the policy's namespace: client of myproject denied", "myproject/client", "default/db", "tcp", 6379, deny},
		}},
		{name: "named port resolves on the destination pod", policies: `kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: named, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  ingress:
  - ports: [{port: redis}]
`, flows: []flow{
			{"port named redis is 6379 on db", "default/frontend", "default/db", "tcp", 6379, allow},
			{"other ports are denied", "default/frontend", "default/db", "tcp", 6380, deny},
		}},
		{name: "namespace labels not collected", noNS: true, policies: `kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: by-label, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {user: alice}}
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: myproject}}
`, flows: []flow{
			{"a selector on other labels cannot be decided", "alice-ns/client", "default/db", "tcp", 6379, undecided},
			{"kubernetes.io/metadata.name is always known", "myproject/client", "default/db", "tcp", 6379, allow},
		}},
		{name: "ICMP is up to the plugin", policies: "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: d, namespace: default}\nspec: {podSelector: {}}\n",
			flows: []flow{{"ping to an isolated pod", "default/frontend", "default/db", "icmp", 0, undecided}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"cluster/pods.yaml": pods, "cluster/networkpolicies.yaml": tc.policies}
			if !tc.noNS {
				files["cluster/namespaces.yaml"] = namespaces
			}
			k := load(t, files)
			peer := func(s string) Peer {
				if strings.Contains(s, "/") {
					return pod(t, k, s)
				}
				return ip(s)
			}
			for _, f := range tc.flows {
				r := Evaluate(k, peer(f.src), peer(f.dst), f.proto, f.port)
				got := allow
				switch {
				case r.Undecided && !r.Allowed:
					got = undecided
				case !r.Allowed:
					got = deny
				}
				if got != f.want {
					t.Errorf("%s: %s → %s %s/%d: got %v want %v (egress: %s; ingress: %s)", f.name, f.src, f.dst, f.proto, f.port, got, f.want, r.Egress.Reason, r.Ingress.Reason)
				}
			}
		})
	}
}

// The real NetworkPolicy dumps of the shared corpus load and evaluate.
func TestRealPolicies(t *testing.T) {
	for _, f := range []string{"aks-azure-npm-testdata-netpol.yaml", "kube-router-testdata-ipset_test_1-networkpolicy.yaml"} {
		data := realdata.Read(t, "kube/"+f)
		k := load(t, map[string]string{"cluster/networkpolicies.yaml": string(data)})
		if len(k.NetworkPolicies) == 0 {
			t.Errorf("%s: no policies", f)
		}
	}
}
