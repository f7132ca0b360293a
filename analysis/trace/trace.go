package trace

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
)

// Tracer traces flows through one cluster model. Each hop engine is
// optional: when a node's iptables dump, its routes, the cloud's security
// groups or routes are missing, that hop is UNDETERMINED and names the
// file to collect, and the trace goes on so later hops can still decide.
type Tracer struct {
	c    *model.Cluster
	sims map[string]*nodeSim
}

// New prepares a tracer for c.
func New(c *model.Cluster) *Tracer { return &Tracer{c: c, sims: map[string]*nodeSim{}} }

// Run traces one flow (flows.json entry or --from/--to).
func Run(c *model.Cluster, f model.Flow) Trace { return New(c).Trace(f) }

// All traces every reported flow of c, then the guide's implicit checks
// (Implicit) that the reported flows do not already cover: what analyze
// puts in the report.
func All(c *model.Cluster) []Trace {
	tr := New(c)
	out := make([]Trace, 0, len(c.Flows))
	seen := map[string]bool{}
	for _, f := range c.Flows {
		seen[f.From+"|"+f.To] = true
		out = append(out, tr.Trace(f))
	}
	for _, f := range Implicit(c) {
		if seen[f.From+"|"+f.To] {
			continue
		}
		seen[f.From+"|"+f.To] = true
		out = append(out, tr.trace(f, false))
	}
	return out
}

// Trace traces one reported flow.
func (tr *Tracer) Trace(f model.Flow) Trace { return tr.trace(f, true) }

// trace traces a flow. For a flow nobody reported (an implicit check)
// the captures only say where its packets were seen: they were taken
// while the reported flows ran, so "not seen" means nothing for it.
func (tr *Tracer) trace(f model.Flow, reported bool) Trace {
	proto := strings.ToLower(f.Proto)
	if proto == "" {
		proto = "tcp"
	}
	w := &walk{tr: tr, flow: f}
	tr.walk(w, f, proto)
	t := w.result()
	t.From, t.To, t.Proto, t.reported = f.From, f.To, proto, reported
	t.Implicit = !reported
	tr.witness(&t, f, reported)
	judgeReported(&t, f)
	return t
}

// judgeReported compares the reported symptom with the trace. A
// disagreement (TRACE_SYMPTOM_MISMATCH) is claimed only where the model
// predicts another outcome with certainty; where it cannot (an undecided
// endpoint branch, the far side of the VPC edge, the exact HTTP status of
// TKE's L7 CLB, an application's answer) the trace says so instead.
func judgeReported(t *Trace, f model.Flow) {
	if f.Symptom == "" {
		return
	}
	t.Reported = f.Symptom
	// every branch's symptom counts: a Service with one refusing and one
	// dropping endpoint explains both "refused" and "timeout"
	a := explains(*t, f.Symptom)
	switch {
	case t.Verdict == Ambiguous && a:
		t.Agrees = &a
	case t.Verdict == Undetermined && t.Reason != "NEEDS_DATA" && a:
		// the certain part (the source masqueraded on the way to an IDC
		// whose side is not in the bundle) explains the symptom
		t.Agrees = &a
	case t.Verdict != Undetermined && t.Verdict != Ambiguous:
		if !a {
			if why := unpredictable(t, f.Symptom); why != "" {
				t.CannotPredict = why
				return
			}
		}
		t.Agrees = &a
		if !a {
			t.findings = append(t.findings, finding.New("TRACE_SYMPTOM_MISMATCH", finding.Args{
				"flow": f.From + " → " + f.To, "reported": f.Symptom, "simulated": t.Symptom,
				"verdict": string(t.Verdict), "reason": t.Reason}, []string{"flow/" + f.From + "→" + f.To}))
		}
	}
}

// unpredictable says why a definite trace cannot predict the reported
// symptom it does not explain ("" when the disagreement is certain).
func unpredictable(t *Trace, reported string) string {
	for _, b := range t.Branches {
		if b.Verdict == Undetermined || b.Verdict == Ambiguous {
			return "undecided-branch"
		}
	}
	if isHTTPStatus(reported) {
		if isHTTPStatus(t.Symptom) {
			return "l7-status"
		}
		for _, b := range t.Branches {
			if isHTTPStatus(b.Symptom) {
				return "l7-status"
			}
		}
		if t.Verdict == Delivered {
			return "application"
		}
	}
	if t.Verdict == Delivered {
		if why := uncertain(t); why != "" {
			return why
		}
	}
	return ""
}

func isHTTPStatus(s string) bool { return strings.HasPrefix(s, "http-") }

// origin is where a flow starts.
type origin struct {
	ep       model.Endpoint
	ip       netip.Addr
	node     string // node the packet starts on ("" for clients outside the cluster)
	pod      *model.Pod
	localOut bool // sent by a process in the node's network namespace
}

func (tr *Tracer) walk(w *walk, f model.Flow, proto string) {
	c := tr.c
	src, err := c.Resolve(f.From)
	if err != nil && !isExternal(f.From) {
		if w.badEndpoint(f.From, "default") {
			return
		}
		w.needSaid("flow", "kube", objectFile(f.From), "", "src.noresolve", err.Error())
		return
	}
	o := tr.origin(src, f.From)
	ns := "default"
	if o.pod != nil {
		ns = o.pod.Namespace
	}
	dst, err := c.ResolveFrom(f.To, ns)
	if err != nil && isExternal(f.To) && CheckEndpoint(c, f.To, ns) == nil {
		// a destination outside the cluster: the internet (a
		// documentation address) or an address of an IDC/peer CIDR
		dst, err = model.Endpoint{Spec: f.To, Kind: "ip", IPs: []netip.Addr{externalClient(f.To)}}, nil
	}
	if strings.HasPrefix(f.To, "dns:") {
		tr.describeSource(w, o)
		tr.dns(w, o, strings.TrimPrefix(f.To, "dns:"), dst, err)
		return
	}
	if err != nil {
		if w.badEndpoint(f.To, ns) {
			return
		}
		w.stopUnresolved(f.To, err)
		return
	}
	if f.Host != "" {
		dst.Host = f.Host
	}
	if f.Path != "" {
		dst.Path = f.Path
	}
	tr.describeSource(w, o)
	switch {
	case dst.Kind == "ingress":
		tr.ingress(w, o, dst, proto)
	case dst.Service != nil && o.node == "" && tr.lbFor(dst) != nil:
		tr.viaCLB(w, o, tr.lbFor(dst), dst, proto)
	case dst.Service != nil && o.node == "" && dst.Service.Spec.Type == corev1.ServiceTypeLoadBalancer:
		sv := dst.Service
		if len(sv.Status.LoadBalancer.Ingress) == 0 {
			w.stop(Step{At: sv.Ref(), Component: "kube", Decision: ActNoAddress, Evidence: srcEv(sv.Source),
				parts: []part{{key: "lb.noaddr"}}},
				outcome{verdict: NoRoute, reason: "LB_NOT_PROVISIONED"})
			return
		}
		if ip, err := netip.ParseAddr(sv.Status.LoadBalancer.Ingress[0].IP); err == nil {
			dst.IPs = []netip.Addr{ip}
		}
		tr.viaCLB(w, o, nil, dst, proto)
	case dst.Service != nil && o.node == "" && dst.Service.Spec.ClusterIP != corev1.ClusterIPNone:
		// kube-proxy's rules live on the nodes; the VPC does not route the
		// service CIDR, so a ClusterIP is unreachable from outside
		w.stop(Step{At: dst.Service.Ref(), Component: "kube", Decision: ActNoRoute, Evidence: srcEv(dst.Service.Source),
			parts: []part{{key: "svc.internal", args: []any{string(dst.Service.Spec.Type)}}}},
			outcome{verdict: NoRoute, reason: "CLUSTERIP_FROM_OUTSIDE"})
	default:
		if len(dst.IPs) == 0 {
			if dst.Service != nil && dst.Service.Spec.ClusterIP == corev1.ClusterIPNone {
				w.stop(said(Step{At: dst.Service.Ref(), Component: "kube", Evidence: srcEv(dst.Service.Source)}, "svc.headless"),
					outcome{verdict: Dropped, reason: "SVC_NO_ENDPOINTS"})
				return
			}
			w.needSaid(f.To, "kube", "cluster/", "", "dst.noaddr")
			return
		}
		p := pkt{proto: proto, src: netip.AddrPortFrom(o.ip, srcPort(proto)), dst: netip.AddrPortFrom(dst.IPs[0], uint16(dst.Port))}
		lb := c.Cloud.LoadBalancerByVIP(dst.IPs[0])
		if lb != nil && o.node == "" && dst.Service == nil {
			// a CLB VIP: the LoadBalancer Service it fronts says the
			// listener's targets (an independent cluster's API endpoint
			// is such a CLB, default/kubernetes-intranet or kubelb-internet)
			if se, ok := tr.lbService(lb, dst.IPs[0], p.dst.Port()); ok {
				tr.viaCLB(w, o, lb, se, proto)
				return
			}
		}
		if which := tr.apiEndpoint(dst.IPs[0]); which != "" && dst.Service == nil {
			tr.apiserver(w, o, p, which)
			return
		}
		if lb != nil && o.node == "" {
			tr.viaCLB(w, o, lb, dst, proto)
			return
		}
		tr.send(w, o, p)
	}
}

// stopUnresolved ends a flow whose destination names no object: the
// customer's connection would fail the way the name's kind fails.
func (w *walk) stopUnresolved(to string, err error) {
	s := Step{At: to, Component: "kube", Detail: err.Error()}
	switch {
	case strings.HasPrefix(to, "dns:"):
		w.stop(s, outcome{verdict: Rejected, reason: "DNS_NAME_UNRESOLVABLE", symptom: "nxdomain"})
	case strings.HasPrefix(to, "svc:") && strings.Contains(err.Error(), "has no port"):
		w.stop(s, outcome{verdict: Dropped, reason: "SVC_PORT_NOT_FOUND"})
	default:
		w.needSaid(to, "kube", objectFile(to), "", "dst.noresolve", err.Error())
	}
}

// badEndpoint ends a flow whose endpoint is bad input (not an endpoint,
// or a name the bundle's object list does not hold): nothing to collect,
// the flow must be named right (the close names say how).
func (w *walk) badEndpoint(spec, ns string) bool {
	err := CheckEndpoint(w.tr.c, spec, ns)
	if err == nil {
		return false
	}
	w.stop(Step{At: "flow", Component: "kube", Decision: ActUnknown, Detail: err.Error()},
		outcome{verdict: Undetermined, reason: "UNKNOWN_ENDPOINT"})
	return true
}

// objectFile is the cluster/ file that would name an endpoint's object.
func objectFile(spec string) string {
	kind, _, _ := strings.Cut(spec, ":")
	switch kind {
	case "pod":
		return "cluster/pods.yaml"
	case "svc", "service":
		return "cluster/services.yaml"
	case "ingress", "ing":
		return "cluster/ingresses.yaml"
	case "node":
		return "cluster/nodes.yaml"
	}
	return "cluster/"
}

func srcPort(proto string) uint16 {
	if proto == "icmp" {
		return 0
	}
	return clientPort
}

// isExternal: a client outside the cluster ("internet", an IDC CIDR).
func isExternal(s string) bool {
	s = strings.ToLower(s)
	return s == "internet" || strings.HasPrefix(s, "cidr:") || strings.HasPrefix(s, "idc:")
}

// origin works out where the packet starts: a pod's netns on its node, a
// node (or host-network pod) sending locally, or a client outside.
func (tr *Tracer) origin(e model.Endpoint, spec string) origin {
	o := origin{ep: e}
	if len(e.IPs) > 0 {
		o.ip = e.IPs[0]
	}
	switch {
	case isExternal(spec):
		o.ip = externalClient(spec)
		return o
	case e.Pod != nil:
		o.pod, o.node = e.Pod, e.Pod.Spec.NodeName
		o.localOut = e.Pod.Spec.HostNetwork
		if len(e.Pod.IPs) > 0 {
			o.ip = e.Pod.IPs[0]
		}
	case e.Node != nil || e.Kind == "node":
		o.node, o.localOut = e.NodeName, true
	case o.ip.IsValid():
		// an address the cluster objects do not name: a pod of a node's
		// pod CIDR, a node folder named by IP, or a client outside
		if n := tr.nodeOwning(o.ip); n != "" {
			o.node = n
			o.localOut = tr.isNodeIP(n, o.ip)
		}
	}
	return o
}

// externalClient is the address used for a client outside the VPC:
// "internet" is a documentation address (RFC 5737), "cidr:A/B" the
// first address of the block.
func externalClient(spec string) netip.Addr {
	_, rest, _ := strings.Cut(spec, ":")
	if p, err := netip.ParsePrefix(rest); err == nil {
		return p.Addr().Next()
	}
	if a, err := netip.ParseAddr(rest); err == nil {
		return a
	}
	return netip.MustParseAddr("203.0.113.10")
}

func (tr *Tracer) describeSource(w *walk, o origin) {
	switch {
	case o.pod != nil:
		s := said(Step{At: o.pod.Ref(), Component: "kube", Evidence: srcEv(o.pod.Source)}, "src.pod", o.pod.Key(), o.ip, o.node)
		if o.pod.Spec.HostNetwork {
			s.sayMore("src.hostnet")
		}
		w.add(s)
	case o.node != "" && o.localOut:
		w.add(said(Step{At: "node/" + o.node, Component: "kube"}, "src.node", o.node, o.ip))
	case o.node != "":
		w.add(said(Step{At: "node/" + o.node, Component: "kube"}, "src.podcidr", o.ip, o.node))
	default:
		w.add(said(Step{At: "client", Component: "kube"}, "src.client", o.ip))
	}
}

// send walks a packet from its origin.
func (tr *Tracer) send(w *walk, o origin, p pkt) {
	if o.node == "" {
		tr.vpc(w, "", p)
		return
	}
	in := arrival{localOut: o.localOut, fromPod: !o.localOut}
	tr.atNode(w, o.node, p, in)
}

// arrival is how a packet enters a node's network stack.
type arrival struct {
	localOut bool   // sent by a local process
	fromPod  bool   // from a pod on this node (pod bridge/veth)
	iface    string // arriving interface when known
}

// lbFor returns the CLB of a LoadBalancer Service (status ingress IP).
func (tr *Tracer) lbFor(e model.Endpoint) *model.LoadBalancer {
	if e.Service == nil || e.Service.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return nil
	}
	for _, in := range e.Service.Status.LoadBalancer.Ingress {
		if ip, err := netip.ParseAddr(in.IP); err == nil {
			if lb := tr.c.Cloud.LoadBalancerByVIP(ip); lb != nil {
				return lb
			}
		}
	}
	return nil
}

// lbService is the LoadBalancer Service whose status names vip, resolved
// at its port (443 when the flow names none), as the flow "svc:" would be.
func (tr *Tracer) lbService(lb *model.LoadBalancer, vip netip.Addr, port uint16) (model.Endpoint, bool) {
	if port == 0 {
		port = 443
	}
	for _, sv := range tr.c.Kube.Services {
		if sv.Spec.Type != corev1.ServiceTypeLoadBalancer {
			continue
		}
		for _, in := range sv.Status.LoadBalancer.Ingress {
			if in.IP != vip.String() {
				continue
			}
			se, err := tr.c.Resolve(fmt.Sprintf("svc:%s/%s:%d", sv.Namespace, sv.Name, port))
			if err != nil || se.Service == nil {
				return model.Endpoint{}, false
			}
			se.IPs = []netip.Addr{vip}
			return se, true
		}
	}
	return model.Endpoint{}, false
}

// bundleNode returns the nodes/<name>/ folder of a Kubernetes node: by
// name, or by one of its InternalIPs (TKE node folders are often IPs).
func (tr *Tracer) bundleNode(name string) *model.Node {
	c := tr.c
	if n := c.Node(name); n != nil {
		return n
	}
	if kn := c.Kube.Node(name); kn != nil {
		for _, ip := range kn.InternalIPs {
			if n := c.Node(ip.String()); n != nil {
				return n
			}
		}
	}
	if ip, err := netip.ParseAddr(name); err == nil {
		if kn := c.Kube.NodeByIP(ip); kn != nil {
			return c.Node(kn.Name)
		}
	}
	return nil
}

// nodeIPs are a node's addresses: Kubernetes InternalIPs, else the folder
// name when it is an IP.
func (tr *Tracer) nodeIPs(name string) []netip.Addr {
	if kn := tr.c.Kube.Node(name); kn != nil && len(kn.InternalIPs) > 0 {
		return kn.InternalIPs
	}
	if ip, err := netip.ParseAddr(name); err == nil {
		return []netip.Addr{ip}
	}
	if n := tr.bundleNode(name); n != nil {
		for _, ifc := range []string{"eth0", "eth1"} {
			if a, ok := n.IfaceAddrs()[ifc]; ok {
				return []netip.Addr{a}
			}
		}
	}
	return nil
}

func (tr *Tracer) isNodeIP(node string, ip netip.Addr) bool {
	for _, a := range tr.nodeIPs(node) {
		if a == ip {
			return true
		}
	}
	if n := tr.bundleNode(node); n != nil {
		for _, a := range n.IfaceAddrs() {
			if a == ip {
				return true
			}
		}
	}
	return false
}

// nodeOwning says which node an address lives on: a pod IP (pods.yaml),
// a node IP, an address of a node's pod CIDR, a GlobalRouter cluster
// route's gateway, or an address a node folder holds.
func (tr *Tracer) nodeOwning(ip netip.Addr) string {
	c := tr.c
	if ps := c.Kube.PodsByIP(ip); len(ps) > 0 {
		return ps[0].Spec.NodeName
	}
	if kn := c.Kube.NodeByIP(ip); kn != nil {
		return kn.Name
	}
	for _, kn := range c.Kube.Nodes {
		for _, p := range kn.PodCIDRs {
			if p.Contains(ip) {
				return kn.Name
			}
		}
	}
	for _, r := range c.Cloud.ClusterRoutes {
		if r.Dst.IsValid() && r.Dst.Contains(ip) {
			if kn := c.Kube.NodeByIP(r.Gateway); kn != nil {
				return kn.Name
			}
			return r.Gateway.String()
		}
	}
	for _, n := range c.Nodes {
		for _, a := range n.IfaceAddrs() {
			if a == ip {
				return n.Name
			}
		}
	}
	// a CVM of the cluster (cluster-instances.json) without Node objects:
	// TKE names nodes by their LAN IP by default
	if in := c.Cloud.InstanceByIP(ip); in != nil && c.Cloud.Role(in.InstanceId) != "" {
		if len(in.IPs) > 0 {
			return in.IPs[0].String()
		}
	}
	return ""
}
