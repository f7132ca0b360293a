package checks

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/parsers/ipvs"
)

// kube-proxy reconciliation (guide: "iptables 或 ipvs 转发规则是否完整"):
// from Services, EndpointSlices/Endpoints and Nodes compute what kube-proxy
// must have programmed on each node for its mode, compare with the node's
// IPVS table or iptables rules, and report what is missing or stale.
//
// Endpoint selection follows kube-proxy's CategorizeEndpoints
// (pkg/proxy/topology.go): cluster traffic uses the ready endpoints, or —
// when none is ready — the serving terminating ones; traffic policy Local
// (externalTrafficPolicy for NodePort/LoadBalancer/external IPs,
// internalTrafficPolicy for the ClusterIP) uses the same rule restricted to
// endpoints on the node. Topology hints are not modelled.

func init() {
	Register(&driver.Analyzer{
		Name: "kube-proxy-rules",
		Doc:  "kube-proxy's iptables or IPVS rules on each node against the Services and endpoints in the API.",
		Inputs: []driver.Input{driver.In("cluster/services.yaml"), driver.In("cluster/endpointslices.yaml"), driver.In("cluster/endpoints.yaml"),
			driver.In("cluster/nodes.yaml"), driver.In("nodes/*/kube-proxy.txt"), driver.In("nodes/*/iptables-save.txt"),
			driver.In("nodes/*/iptables-legacy-save.txt"), driver.In("nodes/*/iptables-nft-save.txt"),
			driver.In("nodes/*/ipvsadm.txt"), driver.In("nodes/*/ipset.txt"), driver.In("nodes/*/ip-addr.json")},
		IDs: []string{"KUBE_PROXY_RULES_MISSING", "KUBE_PROXY_RULES_STALE"},
		Run: guarded(needKubeProxyInputs, runKubeProxy),
	})
}

func needKubeProxyInputs(c *model.Cluster) []finding.Inconclusive {
	var out []finding.Inconclusive
	if len(c.Nodes) == 0 {
		return needNodes(c)
	}
	if !c.Kube.Has("Service") {
		out = append(out, finding.Because("cluster/services.yaml", "", finding.Say("inc.kp.nosvc")))
	}
	if !c.Kube.HasEndpointData() {
		out = append(out, finding.Because("cluster/endpointslices.yaml", "", finding.Say("inc.kp.noeps")))
	}
	return out
}

// ServicePortChainName is kube-proxy's chain name for a service port
// (pkg/proxy/iptables/proxier.go servicePortChainNameBase): prefix
// KUBE-SVC-, KUBE-SVL-, KUBE-EXT-, KUBE-FW- or KUBE-XLB- plus the first 16
// characters of base32(sha256("ns/name:port" + protocol)), where ":port"
// is the port's name (absent for an unnamed port) and protocol is
// lower-case.
func ServicePortChainName(prefix, ns, name, portName, proto string) string {
	return prefix + chainHash(spName(ns, name, portName)+strings.ToLower(proto))
}

// ServiceEndpointChainName is the KUBE-SEP- chain of one endpoint
// ("ip:port") of a service port (servicePortEndpointChainName).
func ServiceEndpointChainName(ns, name, portName, proto, endpoint string) string {
	return "KUBE-SEP-" + chainHash(spName(ns, name, portName)+strings.ToLower(proto)+endpoint)
}

func spName(ns, name, port string) string {
	s := ns + "/" + name
	if port != "" {
		s += ":" + port
	}
	return s
}

func chainHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return base32.StdEncoding.EncodeToString(h[:])[:16]
}

// svcPort is one port of a Service and the endpoints kube-proxy uses for
// it on one node.
type svcPort struct {
	svc  *model.Service
	port corev1.ServicePort
	ref  string // "ns/name:port" as kube-proxy names it
	// cluster is what ClusterIP traffic is balanced over, external what
	// NodePort / LoadBalancer / external IP traffic is (each honouring its
	// traffic policy).
	cluster, external []model.Backend
	// known holds every endpoint address:port of the port (any condition),
	// so a drained terminating endpoint is not called stale.
	known map[netip.AddrPort]model.Backend
	// localUnknown: a Local policy applies but endpoints lack nodeName.
	localUnknown bool
	// intLocal: internalTrafficPolicy Local (the ClusterIP uses local
	// endpoints only); extLocal: externalTrafficPolicy Local on a port
	// reachable from outside (NodePort, LoadBalancer, external IPs).
	intLocal, extLocal bool
	// eps are the port's endpoints (any condition), for portsOnNode.
	eps []model.Backend
}

func (sp *svcPort) proto() string { return strings.ToLower(string(protocolOf(sp.port))) }

func protocolOf(p corev1.ServicePort) corev1.Protocol {
	if p.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return p.Protocol
}

// servicePorts computes, for the node named node (its Kubernetes name),
// the endpoints of every non-headless Service port. A check that needs it
// for every node computes clusterPorts once and calls portsOnNode.
func servicePorts(c *model.Cluster, node string) []*svcPort {
	return portsOnNode(clusterPorts(c), node)
}

// clusterPorts computes what does not depend on the node, once per
// bundle: every non-headless Service port with its endpoints (matched by
// port name and protocol) and the usable ones for cluster-wide traffic.
// Recomputing it for every node made the check O(nodes × endpoints) in
// allocations alone.
func clusterPorts(c *model.Cluster) []*svcPort {
	var out []*svcPort
	for _, s := range c.Kube.Services {
		if len(s.ClusterIPs) == 0 && s.Spec.Type != corev1.ServiceTypeNodePort && s.Spec.Type != corev1.ServiceTypeLoadBalancer {
			continue // headless or ExternalName: kube-proxy programs nothing
		}
		if s.Spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		backends := c.Kube.Backends(s)
		for _, p := range s.Spec.Ports {
			sp := &svcPort{svc: s, port: p, ref: spName(s.Namespace, s.Name, p.Name), known: map[netip.AddrPort]model.Backend{}}
			for _, b := range backends {
				// EndpointSlice ports are matched to service ports by name
				// (kube-proxy's endpointsChangeTracker)
				if b.PortName != p.Name || !strings.EqualFold(string(b.Protocol), string(protocolOf(p))) || b.Port == 0 {
					continue
				}
				sp.eps = append(sp.eps, b)
				sp.known[netip.AddrPortFrom(b.IP, uint16(b.Port))] = b
			}
			sp.extLocal = s.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal &&
				(s.Spec.Type == corev1.ServiceTypeNodePort || s.Spec.Type == corev1.ServiceTypeLoadBalancer || len(s.Spec.ExternalIPs) > 0)
			sp.intLocal = s.Spec.InternalTrafficPolicy != nil && *s.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal
			if (sp.extLocal || sp.intLocal) && len(sp.eps) > 0 {
				for _, b := range sp.eps {
					if b.NodeName == "" {
						sp.localUnknown = true
					}
				}
			}
			all := usable(sp.eps, "")
			sp.cluster, sp.external = all, all
			out = append(out, sp)
		}
	}
	return out
}

// portsOnNode applies the traffic policies for one node: only ports with
// a Local policy differ from the cluster-wide view, and only those are
// copied.
func portsOnNode(ports []*svcPort, node string) []*svcPort {
	out := make([]*svcPort, len(ports))
	for i, sp := range ports {
		if !sp.intLocal && !sp.extLocal {
			out[i] = sp
			continue
		}
		cp := *sp
		local := usable(sp.eps, node)
		if sp.intLocal {
			cp.cluster = local
		}
		if sp.extLocal {
			cp.external = local
		}
		out[i] = &cp
	}
	return out
}

// usable: the ready endpoints (on node, when node is set), or, when there
// is none, the serving terminating ones.
func usable(eps []model.Backend, node string) []model.Backend {
	var ready, term []model.Backend
	for _, b := range eps {
		if node != "" && b.NodeName != node {
			continue
		}
		if b.Ready {
			ready = append(ready, b)
		} else if b.Serving && b.Terminating {
			term = append(term, b)
		}
	}
	if len(ready) > 0 {
		return ready
	}
	return term
}

// proxyMode decides the node's kube-proxy mode and says from where.
func proxyMode(c *model.Cluster, n *model.Node) (mode string, ev finding.Evidence, ok bool) {
	if kp := n.KubeProxy; kp != nil {
		if kp.Found != nil && !*kp.Found {
			return "none", finding.Evidence{File: n.Path(model.FileKubeProxy), Line: kp.FoundLine, Excerpt: "found: false"}, true
		}
		if m, known := kp.EffectiveMode(); known && kp.Mode.Source != "default" {
			return m, finding.Evidence{File: n.Path(model.FileKubeProxy), Line: kp.Mode.Line, Excerpt: "mode " + m + " (" + kp.Mode.Source + ")"}, true
		}
	}
	if kc := c.Kube.KubeProxy; kc != nil {
		m := kc.Mode
		if m == "" {
			m = "iptables"
		}
		return m, kc.Source.Evidence("kube-proxy configmap mode " + m), true
	}
	// inferred: IPVS mode binds the VIPs to kube-ipvs0
	if _, has := n.KubeIPVS0(); has {
		return "ipvs", finding.Evidence{File: n.Path(model.FileIPAddr), Excerpt: "kube-ipvs0 present"}, true
	}
	if n.IPVS != nil && len(n.IPVS.Services) > 0 {
		return "ipvs", finding.Evidence{File: n.Path(model.FileIPVS), Excerpt: "IPVS virtual services present"}, true
	}
	if n.KubeProxy != nil {
		if m, known := n.KubeProxy.EffectiveMode(); known {
			return m, finding.Evidence{File: n.Path(model.FileKubeProxy), Line: n.KubeProxy.Mode.Line, Excerpt: "mode " + m + " (collector default)"}, true
		}
	}
	return "", finding.Evidence{}, false
}

func runKubeProxy(p *Pass) {
	c := p.Cluster
	var base []*svcPort // computed on the first node that needs it
	baseDone := false
	for _, n := range c.Nodes {
		kn := kubeNodeOf(c, n)
		if kn == nil {
			p.Inconclusive("cluster/nodes.yaml", n.Name, finding.Say("inc.kp.nonode", n.Name))
			continue
		}
		mode, modeEv, ok := proxyMode(c, n)
		if !ok {
			p.Inconclusive(model.FileKubeProxy, n.Name, finding.Say("inc.kp.nomode"))
			continue
		}
		if !baseDone {
			base, baseDone = clusterPorts(c), true
		}
		ports := portsOnNode(base, kn.Name)
		switch mode {
		case "ipvs":
			if n.IPVS == nil {
				p.Inconclusive(model.FileIPVS, n.Name, finding.Say("inc.kp.ipvs", modeEv.Excerpt))
				continue
			}
			reconcileIPVS(p, n, kn, ports)
		case "iptables":
			reconcileIptablesNode(p, n, kn, ports)
		case "none":
			// no kube-proxy in the node's namespace (e.g. Cilium kube-proxy
			// replacement): nothing kube-proxy should have programmed.
		default:
			p.Inconclusive(model.FileKubeProxy, n.Name, finding.Say("inc.kp.mode", mode))
		}
	}
}

// vsWant is one IPVS virtual service kube-proxy must have.
type vsWant struct {
	key  ipvs.Key
	kind string // ClusterIP, NodePort, LoadBalancer, externalIP
	sp   *svcPort
	eps  []model.Backend
}

func ipvsProto(p corev1.Protocol) ipvs.Proto { return ipvs.Proto(strings.ToUpper(string(p))) }

// ipvsWants lists the virtual services kube-proxy's IPVS proxier creates
// (pkg/proxy/ipvs/proxier.go syncProxyRules): one per ClusterIP, external
// IP and LoadBalancer ingress IP, and one per node address for a NodePort.
func ipvsWants(n *model.Node, kn *model.KNode, ports []*svcPort) []vsWant {
	var out []vsWant
	for _, sp := range ports {
		proto := ipvsProto(protocolOf(sp.port))
		port := uint16(sp.port.Port)
		for _, ip := range sp.svc.ClusterIPs {
			out = append(out, vsWant{ipvs.Key{Proto: proto, Addr: netip.AddrPortFrom(ip, port)}, "ClusterIP", sp, sp.cluster})
		}
		for _, s := range sp.svc.Spec.ExternalIPs {
			if ip, err := netip.ParseAddr(s); err == nil {
				out = append(out, vsWant{ipvs.Key{Proto: proto, Addr: netip.AddrPortFrom(ip, port)}, "externalIP", sp, sp.external})
			}
		}
		if sp.svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
			for _, ing := range sp.svc.Status.LoadBalancer.Ingress {
				ip, err := netip.ParseAddr(ing.IP)
				if err != nil {
					continue
				}
				if ing.IPMode != nil && *ing.IPMode == corev1.LoadBalancerIPModeProxy {
					continue // KEP-1860: kube-proxy does not bind Proxy-mode LB IPs
				}
				out = append(out, vsWant{ipvs.Key{Proto: proto, Addr: netip.AddrPortFrom(ip, port)}, "LoadBalancer", sp, sp.external})
			}
		}
		if sp.port.NodePort != 0 {
			for _, ip := range kn.InternalIPs {
				if n.IsLocal(ip) || len(n.Links) == 0 {
					out = append(out, vsWant{ipvs.Key{Proto: proto, Addr: netip.AddrPortFrom(ip, uint16(sp.port.NodePort))}, "NodePort", sp, sp.external})
				}
			}
		}
	}
	return out
}

func svcArg(sp *svcPort) string {
	port := sp.port.Name
	if port == "" {
		port = strconv.Itoa(int(sp.port.Port))
	}
	return sp.svc.Namespace + "/" + sp.svc.Name + ":" + port + "/" + sp.proto()
}

func reconcileIPVS(p *Pass, n *model.Node, kn *model.KNode, ports []*svcPort) {
	t := n.IPVS
	file := n.Path(model.FileIPVS)
	claimed := map[*ipvs.Service]bool{}
	nodePorts := map[string]*svcPort{} // "TCP/30080"
	for _, sp := range ports {
		if sp.port.NodePort != 0 {
			nodePorts[string(ipvsProto(protocolOf(sp.port)))+"/"+strconv.Itoa(int(sp.port.NodePort))] = sp
		}
	}
	missing := func(sp *svcPort, what finding.Phrase, endpoint string, ev ...finding.Evidence) {
		args := finding.Args{"node": n.Name, "mode": "IPVS", "service": svcArg(sp)}
		if endpoint != "" {
			args["endpoint"] = endpoint
		}
		f := finding.New("KUBE_PROXY_RULES_MISSING", args, []string{nodeRef(n), sp.svc.Ref()}, ev...)
		p.Report(*f.SayArg("what", what))
	}
	check := func(w vsWant, s *ipvs.Service) {
		sp := w.sp
		vsEv := finding.Evidence{File: file, Line: s.Line, Excerpt: s.Key.String() + " " + s.Scheduler}
		if sp.svc.Spec.SessionAffinity == corev1.ServiceAffinityClientIP && !s.Persistent {
			missing(sp, finding.Say("kpm.affinity.ipvs", s.Key.String()), "", vsEv, sp.svc.Source.Evidence("sessionAffinity: ClientIP"))
		}
		if sp.localUnknown && (w.kind != "ClusterIP" || sp.intLocal) {
			p.Inconclusive("cluster/endpointslices.yaml", n.Name, finding.Say("inc.kp.local", svcArg(sp)))
			return
		}
		want := map[netip.AddrPort]model.Backend{}
		for _, b := range w.eps {
			want[netip.AddrPortFrom(b.IP, uint16(b.Port))] = b
		}
		have := map[netip.AddrPort]*ipvs.Dest{}
		for _, d := range s.Dests {
			have[d.Addr] = d
		}
		for _, a := range sortedAddrPorts(want) {
			b := want[a]
			d := have[a]
			if d != nil && d.Weight > 0 {
				continue
			}
			what := finding.Say("kpm.vs.nors", w.kind, s.Key.String())
			if d != nil {
				what = finding.Say("kpm.vs.drained", w.kind, s.Key.String())
			}
			missing(sp, what, a.String(), finding.Evidence{File: file, Line: s.Line, Excerpt: s.Key.String()}, b.Source.Evidence("endpoint "+a.String()))
		}
		for _, d := range s.Dests {
			if _, ok := want[d.Addr]; ok || d.Weight == 0 {
				continue // expected, or drained by graceful termination
			}
			why := "not an endpoint"
			if _, isEp := sp.known[d.Addr]; isEp {
				why = "an endpoint kube-proxy must not use here (not ready, or not on this node with traffic policy Local)"
			}
			p.Report(finding.New("KUBE_PROXY_RULES_STALE",
				finding.Args{"node": n.Name, "mode": "IPVS", "service": svcArg(sp), "endpoint": d.Addr.String(), "what": w.kind + " " + s.Key.String() + ": " + why},
				[]string{nodeRef(n), sp.svc.Ref()},
				finding.Evidence{File: file, Line: d.Line, Excerpt: "-> " + d.Addr.String() + " weight " + strconv.Itoa(d.Weight)}))
		}
	}
	for _, w := range ipvsWants(n, kn, ports) {
		checkIPVSSet(p, n, w)
		s := t.Service(w.key)
		if s == nil {
			missing(w.sp, finding.Say("kpm.novs", w.key.String(), w.kind), "",
				finding.Evidence{File: file, Excerpt: "no " + w.key.String()}, w.sp.svc.Source.Evidence("service "+w.sp.svc.Name))
			continue
		}
		claimed[s] = true
		check(w, s)
	}
	kubeIPVS0 := map[netip.Addr]bool{}
	if vips, ok := n.KubeIPVS0(); ok {
		for _, a := range vips {
			kubeIPVS0[a] = true
		}
	}
	for _, s := range t.Services {
		if claimed[s] || s.Proto == ipvs.FWMark {
			continue
		}
		a := s.Addr.Addr()
		if n.IsLocal(a) && !kubeIPVS0[a] {
			// a NodePort on another node address (cbr0, docker0, lo):
			// kube-proxy binds NodePorts on every local address
			if sp := nodePorts[string(s.Proto)+"/"+strconv.Itoa(int(s.Addr.Port()))]; sp != nil {
				check(vsWant{s.Key, "NodePort", sp, sp.external}, s)
				continue
			}
		}
		f := finding.New("KUBE_PROXY_RULES_STALE",
			finding.Args{"node": n.Name, "mode": "IPVS", "what": "no Service has this address and port"},
			[]string{nodeRef(n)}, finding.Evidence{File: file, Line: s.Line, Excerpt: s.Key.String() + " " + s.Scheduler})
		f.SayArg("service", finding.Say("kps.vs", s.Key.String()))
		if len(s.Dests) > 0 {
			f.Args["endpoint"] = s.Dests[0].Addr.String()
		} else {
			f.SayArg("endpoint", finding.Say("kps.nors"))
		}
		p.Report(f)
	}
}

// kubeIPVSSet is the ipset kube-proxy's IPVS proxier puts a virtual
// service in (pkg/proxy/ipvs/ipset.go): the iptables rules match these
// sets to masquerade and, since v1.27, KUBE-IPVS-FILTER rejects new
// connections to a VIP (KUBE-IPVS-IPS) that is in none of them.
func kubeIPVSSet(w vsWant) (set string, flags []string) {
	switch w.kind {
	case "ClusterIP":
		return "KUBE-CLUSTER-IP", []string{"dst", "dst"}
	case "LoadBalancer":
		return "KUBE-LOAD-BALANCER", []string{"dst", "dst"}
	case "externalIP":
		return "KUBE-EXTERNAL-IP", []string{"dst", "dst"}
	case "NodePort":
		switch w.key.Proto {
		case ipvs.TCP:
			return "KUBE-NODE-PORT-TCP", []string{"dst"}
		case ipvs.UDP:
			return "KUBE-NODE-PORT-UDP", []string{"dst"}
		case ipvs.SCTP:
			return "KUBE-NODE-PORT-SCTP-HASH", []string{"dst", "dst"}
		}
	}
	return "", nil
}

// checkIPVSSet reports a virtual service missing from its ipset, when the
// node's ipset.txt has that set.
func checkIPVSSet(p *Pass, n *model.Node, w vsWant) {
	if n.IPSets == nil {
		return
	}
	name, flags := kubeIPVSSet(w)
	set := n.IPSets.Set(name)
	if set == nil {
		return
	}
	proto := map[ipvs.Proto]uint8{ipvs.TCP: 6, ipvs.UDP: 17, ipvs.SCTP: 132}[w.key.Proto]
	hit, known := n.IPSets.Match(name, flags, proto, netip.AddrPort{}, w.key.Addr)
	if !known || hit {
		return
	}
	entry := strings.ToLower(string(w.key.Proto)) + ":" + strconv.Itoa(int(w.key.Addr.Port()))
	if len(flags) == 2 {
		entry = w.key.Addr.Addr().String() + "," + entry
	} else {
		entry = strconv.Itoa(int(w.key.Addr.Port()))
	}
	f := finding.New("KUBE_PROXY_RULES_MISSING",
		finding.Args{"node": n.Name, "mode": "IPVS", "service": svcArg(w.sp)},
		[]string{nodeRef(n), w.sp.svc.Ref()},
		finding.Evidence{File: n.IPSetsFile, Line: set.Line, Excerpt: "create " + name + " " + set.Type}, w.sp.svc.Source.Evidence("service "+w.sp.svc.Name))
	p.Report(*f.SayArg("what", finding.Say("kpm.ipset", name, entry, w.kind)))
}

func sortedAddrPorts[V any](m map[netip.AddrPort]V) []netip.AddrPort {
	out := make([]netip.AddrPort, 0, len(m))
	for a := range m {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Compare(out[j]) < 0 })
	return out
}

var _ = fmt.Sprint
