package model

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"tkesnap/analysis/finding"
	"tkesnap/parsers/kube"
)

// Source is where an object came from: the bundle file and the line its
// YAML/JSON starts on (1-based; for List items the item's line).
type Source struct {
	File string
	Line int
}

// Evidence cites the source, with an optional excerpt.
func (s Source) Evidence(excerpt string) finding.Evidence {
	return finding.Evidence{File: s.File, Line: s.Line, Excerpt: excerpt}
}

// Kubernetes objects, each the k8s.io/api type plus where it came from and
// a few values parsed once (addresses as netip types).
type (
	KNode struct {
		*corev1.Node
		Source
		// InternalIPs are status.addresses of type InternalIP (the VPC IP
		// on TKE); PodCIDRs spec.podCIDR(s) that parse (redacted values
		// like "***HIDDEN***/25" are skipped).
		InternalIPs []netip.Addr
		ExternalIPs []netip.Addr
		PodCIDRs    []netip.Prefix
	}
	Pod struct {
		*corev1.Pod
		Source
		IPs    []netip.Addr // status.podIPs (or podIP)
		HostIP netip.Addr
		Ready  bool // condition Ready=True
	}
	Service struct {
		*corev1.Service
		Source
		ClusterIPs []netip.Addr // spec.clusterIPs that parse ("None" excluded)
	}
	Endpoints struct {
		*corev1.Endpoints
		Source
	}
	EndpointSlice struct {
		*discoveryv1.EndpointSlice
		Source
		// Service is "ns/name" from label kubernetes.io/service-name.
		Service string
	}
	Ingress struct {
		*networkingv1.Ingress
		Source
		// Converted is the original apiVersion when the object was an
		// extensions/v1beta1 or networking.k8s.io/v1beta1 Ingress.
		Converted string
	}
	IngressClass struct {
		*networkingv1.IngressClass
		Source
	}
	NetworkPolicy struct {
		*networkingv1.NetworkPolicy
		Source
	}
	ConfigMap struct {
		*corev1.ConfigMap
		Source
	}
	DaemonSet struct {
		*appsv1.DaemonSet
		Source
	}
	Event struct {
		*corev1.Event
		Source
	}
	Namespace struct {
		*corev1.Namespace
		Source
	}
	// Unknown is an object of a kind the model does not use (CRDs such as
	// Traefik IngressRoute); kept so reports can list it.
	Unknown struct {
		Kind, APIVersion, Namespace, Name string
		Source
		Raw json.RawMessage
	}
)

// MasqConfig is ip-masq-agent's configuration (configmap
// kube-system/ip-masq-agent-config, key "config"). The agent's own
// defaults apply to omitted keys (see Defaults).
type MasqConfig struct {
	Source
	ConfigMap          string // "kube-system/ip-masq-agent-config"
	NonMasqueradeCIDRs []netip.Prefix
	// NonMasqSet says the key was present (an empty list is meaningful:
	// masquerade everything).
	NonMasqSet        bool
	MasqLinkLocal     bool
	MasqLinkLocalIPv6 bool
	ResyncInterval    string
	// Bad lists entries of NonMasqueradeCIDRs that do not parse.
	Bad []string
}

// Corefile is CoreDNS's configuration (configmap kube-system/coredns key
// Corefile).
type Corefile struct {
	Source
	ConfigMap string
	Text      string
}

// KubeProxyConfig is what the kube-proxy configmap says
// (KubeProxyConfiguration in key config.conf, or any key on TKE).
type KubeProxyConfig struct {
	Source
	ConfigMap   string
	Mode        string // "iptables", "ipvs", "nftables" or "" (default iptables)
	ClusterCIDR string
}

// Kube is the cluster/ part of the bundle: kubectl objects, indexed.
type Kube struct {
	// Files lists the cluster/ files that were read (bundle paths).
	Files []string
	// Version is cluster/version.json's serverVersion.gitVersion.
	Version string

	Nodes           []*KNode
	Pods            []*Pod
	Services        []*Service
	Endpoints       []*Endpoints
	EndpointSlices  []*EndpointSlice
	Ingresses       []*Ingress
	IngressClasses  []*IngressClass
	NetworkPolicies []*NetworkPolicy
	ConfigMaps      []*ConfigMap
	DaemonSets      []*DaemonSet
	Events          []*Event
	Namespaces      []*Namespace
	Other           []*Unknown

	Masq      *MasqConfig      // nil: no ip-masq-agent configmap in the bundle
	Corefile  *Corefile        // nil: no coredns configmap
	KubeProxy *KubeProxyConfig // nil: no kube-proxy configmap

	idx        kubeIndex
	masqChains map[string]*MasqChain // by nodes/<dir> name, filled lazily
	lines      map[string][][]byte   // cited cluster/ files, for FieldLine
	flowLines  []flowAt              // flows.json elements and their lines
}

type kubeIndex struct {
	pods       map[string]*Pod // ns/name
	podsByIP   map[netip.Addr][]*Pod
	podsByNS   map[string][]*Pod
	podsByNode map[string][]*Pod
	// podsByLabel: namespace → "key=value" → pods, for selector matching
	// without scanning every pod.
	podsByLabel map[string]map[string][]*Pod
	svcs        map[string]*Service
	svcsByIP    map[netip.Addr]*Service
	nodes       map[string]*KNode
	nodesByIP   map[netip.Addr]*KNode
	endpoints   map[string]*Endpoints
	slices      map[string][]*EndpointSlice
	ingresses   map[string]*Ingress
	namespaces  map[string]*Namespace
	netpolsByNS map[string][]*NetworkPolicy
	events      map[string][]*Event // "Kind/ns/name" of involvedObject
	present     map[string]bool     // kind → a file for it was read
}

// KubeFiles names the cluster/ files by kind (each also accepted as .json
// or .yml).
var KubeFiles = map[string]string{
	"Node": "cluster/nodes.yaml", "Pod": "cluster/pods.yaml", "Service": "cluster/services.yaml",
	"Endpoints": "cluster/endpoints.yaml", "EndpointSlice": "cluster/endpointslices.yaml",
	"Ingress": "cluster/ingresses.yaml", "NetworkPolicy": "cluster/networkpolicies.yaml",
	"ConfigMap": "cluster/configmaps-kube-system.yaml", "DaemonSet": "cluster/daemonsets-kube-system.yaml",
	"Event": "cluster/events.yaml", "Namespace": "cluster/namespaces.yaml",
	"IngressClass": "cluster/ingressclasses.yaml",
}

// Key is "ns/name" (or "name" for cluster-scoped objects).
func Key(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// Ref names an object the way findings list it: "pod/ns/name",
// "svc/ns/name", "node/name", "ingress/ns/name", "netpol/ns/name".
func (p *Pod) Ref() string            { return "pod/" + Key(p.Namespace, p.Name) }
func (s *Service) Ref() string        { return "svc/" + Key(s.Namespace, s.Name) }
func (n *KNode) Ref() string          { return "node/" + n.Name }
func (i *Ingress) Ref() string        { return "ingress/" + Key(i.Namespace, i.Name) }
func (np *NetworkPolicy) Ref() string { return "netpol/" + Key(np.Namespace, np.Name) }
func (c *ConfigMap) Ref() string      { return "configmap/" + Key(c.Namespace, c.Name) }

// Key returns "ns/name".
func (p *Pod) Key() string            { return Key(p.Namespace, p.Name) }
func (s *Service) Key() string        { return Key(s.Namespace, s.Name) }
func (i *Ingress) Key() string        { return Key(i.Namespace, i.Name) }
func (np *NetworkPolicy) Key() string { return Key(np.Namespace, np.Name) }

// Has reports whether the bundle had a file for kind ("Pod", "Service",
// "Endpoints", ...). Checks use it to tell "no objects" from "not collected".
func (k *Kube) Has(kind string) bool { return k.idx.present[kind] }

// Pod returns a pod by namespace and name, or nil.
func (k *Kube) Pod(ns, name string) *Pod { return k.idx.pods[Key(ns, name)] }

// PodsByIP returns the pods with that IP; host-network pods share their
// node's IP, so pod-network pods come first.
func (k *Kube) PodsByIP(ip netip.Addr) []*Pod { return k.idx.podsByIP[ip] }

// PodsInNamespace returns the pods of a namespace in file order.
func (k *Kube) PodsInNamespace(ns string) []*Pod { return k.idx.podsByNS[ns] }

// PodsOnNode returns the pods scheduled to a node (spec.nodeName).
func (k *Kube) PodsOnNode(node string) []*Pod { return k.idx.podsByNode[node] }

// Service returns a Service by namespace and name, or nil.
func (k *Kube) Service(ns, name string) *Service { return k.idx.svcs[Key(ns, name)] }

// ServiceByIP returns the Service owning a ClusterIP, or nil.
func (k *Kube) ServiceByIP(ip netip.Addr) *Service { return k.idx.svcsByIP[ip] }

// Node returns a node by name, or nil.
func (k *Kube) Node(name string) *KNode { return k.idx.nodes[name] }

// NodeByIP returns the node with that InternalIP (or ExternalIP), or nil.
func (k *Kube) NodeByIP(ip netip.Addr) *KNode { return k.idx.nodesByIP[ip] }

// Ingress returns an Ingress by namespace and name, or nil.
func (k *Kube) Ingress(ns, name string) *Ingress { return k.idx.ingresses[Key(ns, name)] }

// Namespace returns a namespace object (only when namespaces.yaml was
// collected), or nil.
func (k *Kube) Namespace(name string) *Namespace { return k.idx.namespaces[name] }

// NetworkPoliciesIn returns the policies of a namespace.
func (k *Kube) NetworkPoliciesIn(ns string) []*NetworkPolicy { return k.idx.netpolsByNS[ns] }

// EndpointsOf returns the Endpoints object of a Service, or nil.
func (k *Kube) EndpointsOf(s *Service) *Endpoints { return k.idx.endpoints[s.Key()] }

// SlicesOf returns the EndpointSlices of a Service.
func (k *Kube) SlicesOf(s *Service) []*EndpointSlice { return k.idx.slices[s.Key()] }

// SelectPods returns the pods of namespace ns whose labels include every
// pair of sel (a Service selector). An empty selector selects nothing, as
// for Services (a Service without selector has manual endpoints).
func (k *Kube) SelectPods(ns string, sel map[string]string) []*Pod {
	if len(sel) == 0 {
		return nil
	}
	byLabel := k.idx.podsByLabel[ns]
	// start from the shortest posting list, then filter
	var best []*Pod
	first := true
	for kk, v := range sel {
		l := byLabel[kk+"="+v]
		if len(l) == 0 {
			return nil
		}
		if first || len(l) < len(best) {
			best, first = l, false
		}
	}
	var out []*Pod
	for _, p := range best {
		if labelsMatch(p.Labels, sel) {
			out = append(out, p)
		}
	}
	return out
}

func labelsMatch(have, sel map[string]string) bool {
	for k, v := range sel {
		if lv, ok := have[k]; !ok || lv != v {
			return false
		}
	}
	return true
}

// SelectPodsBy returns the pods of namespace ns matched by a
// metav1.LabelSelector (NetworkPolicy podSelector: empty selects all).
func (k *Kube) SelectPodsBy(ns string, sel *metav1.LabelSelector) ([]*Pod, error) {
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		return k.idx.podsByNS[ns], nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, err
	}
	cand := k.idx.podsByNS[ns]
	if len(sel.MatchLabels) > 0 {
		cand = k.SelectPods(ns, sel.MatchLabels)
	}
	var out []*Pod
	for _, p := range cand {
		if s.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out, nil
}

// Backend is one endpoint address of a Service port, from EndpointSlices
// when the bundle has them, else from Endpoints.
type Backend struct {
	IP          netip.Addr
	Port        int32
	PortName    string
	Protocol    corev1.Protocol
	Ready       bool
	Serving     bool
	Terminating bool
	Pod         string // "ns/name" of targetRef when it is a Pod
	NodeName    string
	Source
}

// Backends lists a Service's endpoint addresses × ports. Slices win over
// Endpoints (kube-proxy reads slices since 1.21); each address appears
// once per port.
func (k *Kube) Backends(s *Service) []Backend {
	var out []Backend
	if sl := k.SlicesOf(s); len(sl) > 0 {
		type backendKey struct {
			ip             netip.Addr
			port           int32
			name, protocol string
		}
		seen := map[backendKey]bool{}
		for _, es := range sl {
			for _, ep := range es.Endpoints {
				ready := ep.Conditions.Ready == nil || *ep.Conditions.Ready
				serving := ep.Conditions.Serving == nil && ready || ep.Conditions.Serving != nil && *ep.Conditions.Serving
				term := ep.Conditions.Terminating != nil && *ep.Conditions.Terminating
				var pod, node string
				if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" {
					pod = Key(ep.TargetRef.Namespace, ep.TargetRef.Name)
				}
				if ep.NodeName != nil {
					node = *ep.NodeName
				}
				for _, a := range ep.Addresses {
					ip, err := netip.ParseAddr(a)
					if err != nil {
						continue
					}
					ports := es.Ports
					if len(ports) == 0 {
						ports = []discoveryv1.EndpointPort{{}}
					}
					for _, p := range ports {
						b := Backend{IP: ip, Ready: ready, Serving: serving, Terminating: term, Pod: pod, NodeName: node, Source: es.Source}
						if p.Port != nil {
							b.Port = *p.Port
						}
						if p.Name != nil {
							b.PortName = *p.Name
						}
						if p.Protocol != nil {
							b.Protocol = *p.Protocol
						} else {
							b.Protocol = corev1.ProtocolTCP
						}
						key := backendKey{b.IP, b.Port, b.PortName, string(b.Protocol)}
						if seen[key] {
							continue
						}
						seen[key] = true
						out = append(out, b)
					}
				}
			}
		}
		return out
	}
	ep := k.EndpointsOf(s)
	if ep == nil {
		return nil
	}
	for _, ss := range ep.Subsets {
		add := func(addrs []corev1.EndpointAddress, ready bool) {
			for _, a := range addrs {
				ip, err := netip.ParseAddr(a.IP)
				if err != nil {
					continue
				}
				var pod, node string
				if a.TargetRef != nil && a.TargetRef.Kind == "Pod" {
					pod = Key(a.TargetRef.Namespace, a.TargetRef.Name)
				}
				if a.NodeName != nil {
					node = *a.NodeName
				}
				ports := ss.Ports
				if len(ports) == 0 {
					ports = []corev1.EndpointPort{{}}
				}
				for _, p := range ports {
					proto := p.Protocol
					if proto == "" {
						proto = corev1.ProtocolTCP
					}
					out = append(out, Backend{IP: ip, Port: p.Port, PortName: p.Name, Protocol: proto, Ready: ready, Serving: ready, Pod: pod, NodeName: node, Source: ep.Source})
				}
			}
		}
		add(ss.Addresses, true)
		add(ss.NotReadyAddresses, false)
	}
	return out
}

// HasEndpointData reports whether the bundle says anything about a
// Service's endpoints (a slices or endpoints file was collected).
func (k *Kube) HasEndpointData() bool { return k.Has("EndpointSlice") || k.Has("Endpoints") }

func (c *Cluster) loadKube() {
	k := &c.Kube
	k.idx = newKubeIndex()
	files := c.kubeFiles()
	for _, f := range files {
		c.loadKubeFile(f)
	}
	if c.Bundle.Has("cluster/version.json") {
		c.loadKubeVersion("cluster/version.json")
	}
	k.Files = files
	k.buildIndex(c)
	c.loadKubeConfigMaps()
}

// kubeFiles lists cluster/ files to decode: the known names first (in
// KubeFiles order by kind), then any other .yaml/.yml/.json below cluster/.
func (c *Cluster) kubeFiles() []string {
	var out []string
	for _, f := range c.Bundle.Files() {
		if !strings.HasPrefix(f, "cluster/") || f == "cluster/version.json" {
			continue
		}
		l := strings.ToLower(f)
		if strings.HasSuffix(l, ".yaml") || strings.HasSuffix(l, ".yml") || strings.HasSuffix(l, ".json") {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

func newKubeIndex() kubeIndex {
	return kubeIndex{
		pods: map[string]*Pod{}, podsByIP: map[netip.Addr][]*Pod{}, podsByNS: map[string][]*Pod{},
		podsByNode: map[string][]*Pod{}, podsByLabel: map[string]map[string][]*Pod{},
		svcs: map[string]*Service{}, svcsByIP: map[netip.Addr]*Service{},
		nodes: map[string]*KNode{}, nodesByIP: map[netip.Addr]*KNode{},
		endpoints: map[string]*Endpoints{}, slices: map[string][]*EndpointSlice{},
		ingresses: map[string]*Ingress{}, namespaces: map[string]*Namespace{},
		netpolsByNS: map[string][]*NetworkPolicy{}, present: map[string]bool{}, events: map[string][]*Event{},
	}
}

// kindOfFile guesses which kind a cluster/ file was meant to hold, so an
// empty list still counts as "collected, none".
func kindOfFile(f string) string {
	base := strings.ToLower(f[strings.LastIndexByte(f, '/')+1:])
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	for kind, name := range KubeFiles {
		n := name[strings.LastIndexByte(name, '/')+1:]
		n = n[:strings.IndexByte(n, '.')]
		if base == n || strings.HasPrefix(base, n+"-") {
			return kind
		}
	}
	return ""
}

func (c *Cluster) loadKubeFile(f string) {
	k := &c.Kube
	data, err := c.Bundle.ReadFile(f)
	if err != nil {
		c.Problem(f, 0, "%v", err)
		if len(data) == 0 {
			return
		}
	}
	if kind := kindOfFile(f); kind != "" {
		k.idx.present[kind] = true
	}
	type unknownKind struct {
		n, first int
		name     string
	}
	unknown := map[string]*unknownKind{}
	var order []string
	probs := kube.Decode(data, kube.DefaultLimits(), func(o kube.Object) {
		src := Source{File: f, Line: o.Line}
		k.idx.present[o.Kind] = true
		switch v := o.Obj.(type) {
		case *corev1.Node:
			n, bad := newNode(v, src)
			k.Nodes = append(k.Nodes, n)
			if len(bad) > 0 {
				c.Problem(f, o.Line, "node %s: %s not an address (redacted?); ignored", v.Name, strings.Join(bad, ", "))
			}
		case *corev1.Pod:
			k.Pods = append(k.Pods, newPod(v, src))
		case *corev1.Service:
			k.Services = append(k.Services, newService(v, src))
		case *corev1.Endpoints:
			k.Endpoints = append(k.Endpoints, &Endpoints{v, src})
		case *discoveryv1.EndpointSlice:
			svc := ""
			if n := v.Labels[discoveryv1.LabelServiceName]; n != "" {
				svc = Key(v.Namespace, n)
			}
			k.EndpointSlices = append(k.EndpointSlices, &EndpointSlice{v, src, svc})
		case *networkingv1.Ingress:
			k.Ingresses = append(k.Ingresses, &Ingress{v, src, o.Converted})
		case *networkingv1.IngressClass:
			k.IngressClasses = append(k.IngressClasses, &IngressClass{v, src})
		case *networkingv1.NetworkPolicy:
			k.NetworkPolicies = append(k.NetworkPolicies, &NetworkPolicy{v, src})
		case *corev1.ConfigMap:
			k.ConfigMaps = append(k.ConfigMaps, &ConfigMap{v, src})
		case *appsv1.DaemonSet:
			k.DaemonSets = append(k.DaemonSets, &DaemonSet{v, src})
		case *corev1.Event:
			k.Events = append(k.Events, &Event{v, src})
		case *corev1.Namespace:
			k.Namespaces = append(k.Namespaces, &Namespace{v, src})
		default:
			k.Other = append(k.Other, &Unknown{Kind: o.Kind, APIVersion: o.APIVersion, Namespace: o.Namespace, Name: o.Name, Source: src, Raw: o.Raw})
			kk := o.Kind + " (" + o.APIVersion + ")"
			if _, ok := unknown[kk]; !ok {
				order = append(order, kk)
				unknown[kk] = &unknownKind{first: o.Line, name: Key(o.Namespace, o.Name)}
			}
			unknown[kk].n++
		}
	})
	// one problem per kind and file: a dump of 500 CRs is one line
	for _, kk := range order {
		u := unknown[kk]
		if u.n == 1 {
			c.Problem(f, u.first, "kind %s %s is not analysed; kept as is", kk, u.name)
		} else {
			c.Problem(f, u.first, "%d objects of kind %s (first %s) are not analysed; kept as is", u.n, kk, u.name)
		}
	}
	for _, p := range probs {
		c.Problem(f, p.Line, "%s", p.Message)
	}
}

func (c *Cluster) loadKubeVersion(f string) {
	data, err := c.Bundle.ReadFile(f)
	if err != nil {
		c.Problem(f, 0, "%v", err)
		return
	}
	var v struct {
		ServerVersion struct {
			GitVersion string `json:"gitVersion"`
		} `json:"serverVersion"`
		GitVersion string `json:"gitVersion"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		c.Problem(f, 0, "not kubectl version -o json: %v", err)
		return
	}
	c.Kube.Version = v.ServerVersion.GitVersion
	if c.Kube.Version == "" {
		c.Kube.Version = v.GitVersion
	}
}

// newNode parses a node's addresses and pod CIDRs; values that are not
// addresses (support-bundle redaction writes "***HIDDEN***") are returned
// in bad so the loader can report them.
func newNode(v *corev1.Node, src Source) (n *KNode, bad []string) {
	n = &KNode{Node: v, Source: src}
	for _, a := range v.Status.Addresses {
		if a.Type != corev1.NodeInternalIP && a.Type != corev1.NodeExternalIP {
			continue
		}
		ip, err := netip.ParseAddr(a.Address)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s %q", a.Type, a.Address))
			continue
		}
		switch a.Type {
		case corev1.NodeInternalIP:
			n.InternalIPs = append(n.InternalIPs, ip)
		case corev1.NodeExternalIP:
			n.ExternalIPs = append(n.ExternalIPs, ip)
		}
	}
	cidrs := v.Spec.PodCIDRs
	if len(cidrs) == 0 && v.Spec.PodCIDR != "" {
		cidrs = []string{v.Spec.PodCIDR}
	}
	for _, s := range cidrs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			bad = append(bad, fmt.Sprintf("podCIDR %q", s))
			continue
		}
		n.PodCIDRs = append(n.PodCIDRs, p.Masked())
	}
	return n, bad
}

func newPod(v *corev1.Pod, src Source) *Pod {
	p := &Pod{Pod: v, Source: src}
	ips := v.Status.PodIPs
	if len(ips) == 0 && v.Status.PodIP != "" {
		ips = []corev1.PodIP{{IP: v.Status.PodIP}}
	}
	for _, s := range ips {
		if ip, err := netip.ParseAddr(s.IP); err == nil {
			p.IPs = append(p.IPs, ip)
		}
	}
	if ip, err := netip.ParseAddr(v.Status.HostIP); err == nil {
		p.HostIP = ip
	}
	for _, cnd := range v.Status.Conditions {
		if cnd.Type == corev1.PodReady && cnd.Status == corev1.ConditionTrue {
			p.Ready = true
		}
	}
	return p
}

func newService(v *corev1.Service, src Source) *Service {
	s := &Service{Service: v, Source: src}
	ips := v.Spec.ClusterIPs
	if len(ips) == 0 && v.Spec.ClusterIP != "" {
		ips = []string{v.Spec.ClusterIP}
	}
	for _, x := range ips {
		if ip, err := netip.ParseAddr(x); err == nil {
			s.ClusterIPs = append(s.ClusterIPs, ip)
		}
	}
	return s
}

func (k *Kube) buildIndex(c *Cluster) {
	x := &k.idx
	for _, n := range k.Nodes {
		if _, dup := x.nodes[n.Name]; dup {
			c.Problem(n.File, n.Line, "node %s appears twice; the later one is used", n.Name)
		}
		x.nodes[n.Name] = n
		for _, ip := range n.InternalIPs {
			x.nodesByIP[ip] = n
		}
		for _, ip := range n.ExternalIPs {
			if _, ok := x.nodesByIP[ip]; !ok {
				x.nodesByIP[ip] = n
			}
		}
	}
	for _, p := range k.Pods {
		key := p.Key()
		x.pods[key] = p
		x.podsByNS[p.Namespace] = append(x.podsByNS[p.Namespace], p)
		if p.Spec.NodeName != "" {
			x.podsByNode[p.Spec.NodeName] = append(x.podsByNode[p.Spec.NodeName], p)
		}
		for _, ip := range p.IPs {
			if p.Spec.HostNetwork {
				x.podsByIP[ip] = append(x.podsByIP[ip], p)
			} else {
				x.podsByIP[ip] = append([]*Pod{p}, x.podsByIP[ip]...)
			}
		}
		m := x.podsByLabel[p.Namespace]
		if m == nil {
			m = map[string][]*Pod{}
			x.podsByLabel[p.Namespace] = m
		}
		for lk, lv := range p.Labels {
			m[lk+"="+lv] = append(m[lk+"="+lv], p)
		}
	}
	for _, s := range k.Services {
		x.svcs[s.Key()] = s
		for _, ip := range s.ClusterIPs {
			x.svcsByIP[ip] = s
		}
	}
	for _, e := range k.Endpoints {
		x.endpoints[Key(e.Namespace, e.Name)] = e
	}
	for _, es := range k.EndpointSlices {
		if es.Service != "" {
			x.slices[es.Service] = append(x.slices[es.Service], es)
		}
	}
	for _, i := range k.Ingresses {
		x.ingresses[Key(i.Namespace, i.Name)] = i
	}
	for _, n := range k.Namespaces {
		x.namespaces[n.Name] = n
	}
	for _, np := range k.NetworkPolicies {
		x.netpolsByNS[np.Namespace] = append(x.netpolsByNS[np.Namespace], np)
	}
	for _, e := range k.Events {
		o := e.InvolvedObject
		key := o.Kind + "/" + Key(o.Namespace, o.Name)
		x.events[key] = append(x.events[key], e)
	}
}

// EventsFor returns the events about one object (kind "Pod", "Service",
// ...), in file order.
func (k *Kube) EventsFor(kind, ns, name string) []*Event {
	return k.idx.events[kind+"/"+Key(ns, name)]
}

// APIServerPort is the port the masters serve the API on: the port of the
// default/kubernetes Service's endpoints. When the files that say it were
// not collected the port is 0 and need names the one to collect (absent
// is unknown: no default port is assumed); when they were and name no
// port, 443.
func (c *Cluster) APIServerPort() (port int, need string) {
	k := &c.Kube
	s := k.Service("default", "kubernetes")
	if s == nil {
		if !k.Has("Service") {
			return 0, "cluster/services.yaml"
		}
		return 443, ""
	}
	for _, b := range k.Backends(s) {
		if b.Port > 0 {
			return int(b.Port), ""
		}
	}
	if !k.HasEndpointData() {
		return 0, "cluster/endpointslices.yaml"
	}
	return 443, ""
}
