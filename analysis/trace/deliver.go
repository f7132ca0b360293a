package trace

import (
	"fmt"
	"net/netip"
	"strings"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/netpol"
)

// deliverNode ends a packet at the node itself (INPUT accepted): a
// host-network server or a NodePort that was not DNATed.
func (tr *Tracer) deliverNode(w *walk, name string, p pkt) {
	s := said(Step{At: "node/" + name, Component: "kube", Before: p.String(), Decision: ActDelivered}, "node.socket", name)
	if p.proto != "icmp" && p.dst.Port() != 0 {
		listening, known := tr.c.ListeningOn(name, p.dst.Addr(), int(p.dst.Port()), p.proto)
		switch {
		case known && !listening:
			s.say("node.noListen", p.proto, int(p.dst.Port()), name)
			s.Decision = ActReject
			if n := tr.bundleNode(name); n != nil {
				s.Evidence = ev("file", n.Path(model.FileSS))
			}
			var evs []finding.Evidence
			if f, ok := s.Evidence["file"].(string); ok {
				evs = append(evs, finding.Evidence{File: f})
			}
			w.stop(s, outcome{verdict: Rejected, reason: "PORT_NOT_LISTENING", finding: newFinding("PORT_NOT_LISTENING",
				finding.Args{"node": name, "proto": p.proto, "port": itoa(int(p.dst.Port())), "flow": p.String()}, []string{"node/" + name}, evs...)})
			return
		case known:
			s.say("node.listen", p.proto, int(p.dst.Port()), name)
			if n := tr.bundleNode(name); n != nil {
				s.Evidence = ev("file", n.Path(model.FileSS))
			}
		default:
			w.needSaid("node/"+name, "kube", "nodes/"+name+"/"+model.FileSS+" (ss -tunapH)", name, "node.whether", name, p.proto, int(p.dst.Port()))
		}
	}
	w.add(s)
	w.delivered = true
}

// deliverPod ends a packet at a pod of node `name`: NetworkPolicy first
// (enforced on the destination's node), then the pod's port.
func (tr *Tracer) deliverPod(w *walk, name string, p pkt) {
	k := &tr.c.Kube
	dst := p.dst.Addr()
	ps := k.PodsByIP(dst)
	if len(ps) == 0 {
		w.add(said(Step{At: "node/" + name, Component: "kube", Before: p.String(), Decision: ActDelivered}, "node.anon", dst, name))
		tr.replyPath(w, name, p)
		return
	}
	pod := ps[0]
	srcPeer := tr.peer(p.src.Addr())
	port := int(p.dst.Port())
	if k.Has("NetworkPolicy") && p.proto != "icmp" {
		r := netpol.Evaluate(k, srcPeer, netpol.PodPeer(pod), p.proto, port)
		switch {
		case r.Undecided:
			need := r.Ingress.Need
			if need == "" {
				need = r.Egress.Need
			}
			w.needSaid(pod.Ref(), "kube", need, "", "np.cannot", r.Ingress.Why(), r.Egress.Why())
		case !r.Allowed:
			d := r.Ingress
			if !r.Egress.Allowed {
				d = r.Egress
			}
			s := said(Step{At: pod.Ref(), Component: "kube", Before: p.String(), Decision: ActDrop},
				"np.deny."+string(d.Direction), podOf(d, pod, srcPeer), p.String(), d.Why())
			if len(d.Isolating) > 0 {
				np := d.Isolating[0]
				s.At = np.Ref()
				s.Evidence = srcEv(np.Source)
			}
			w.stop(s, outcome{verdict: Dropped, reason: "NETPOL_DENIES_FLOW"})
			return
		case r.Ingress.Isolated || r.Egress.Isolated:
			w.add(said(Step{At: pod.Ref(), Component: "kube", Before: p.String(), Decision: ActAllowed}, "np.allow", allowedBy(r)))
		}
	}
	s := said(Step{At: pod.Ref(), Component: "kube", Before: p.String(), Decision: ActDelivered, Evidence: srcEv(pod.Source)},
		"pod.on", pod.Key(), pod.Spec.NodeName)
	if !pod.Ready {
		s.sayMore("pod.notready")
	}
	if p.proto != "icmp" && port != 0 && declaresPorts(pod) && !declaresPort(pod, port, p.proto) {
		s.sayMore("pod.noport", port, p.proto)
		reason := "PORT_NOT_LISTENING"
		if !strings.HasPrefix(w.flow.To, "pod:") && !strings.HasPrefix(w.flow.To, "ip:") {
			reason = "SVC_TARGET_PORT_MISMATCH"
		}
		// nothing listening: the kernel answers a SYN with a RST (and a
		// UDP datagram with ICMP port unreachable), so the failing way
		// is "connection refused"
		w.ambiguousWay(s, part{key: "pod.whether", args: []any{pod.Key(), port, p.proto}}, reason, Rejected)
		tr.replyPath(w, name, p)
		return
	}
	w.add(s)
	tr.replyPath(w, name, p)
}

// replyPath checks the way back of a connection that reached a pod: the
// reply enters the pod's node from the pod's interface and is forwarded
// (forwarding must be on for that interface), then enters the client's
// node from the VPC, where reverse-path filtering and forwarding apply
// again. SGs are stateful and kube-proxy's NAT is undone by conntrack, so
// nothing else on the way back is decided by rules.
func (tr *Tracer) replyPath(w *walk, dstNode string, p pkt) {
	w.delivered = true
	r := pkt{proto: p.proto, src: p.dst, dst: p.src}
	if n := tr.bundleNode(dstNode); n != nil && !n.IsLocal(r.dst.Addr()) && n.HasFile(model.FileIPRoute) {
		if rt, ok := n.Route(p.dst.Addr()); ok && rt.Dev != "" {
			if off, s := tr.forwardingOff(n, dstNode, rt.Dev); off {
				s.Before = r.String()
				s.sayBefore("reply")
				w.delivered = false
				w.stop(s, outcome{verdict: Dropped, reason: "IP_FORWARD_DISABLED"})
				return
			}
		}
	}
	srcNode := tr.nodeOwning(r.dst.Addr())
	if srcNode == "" || srcNode == dstNode {
		return
	}
	n := tr.bundleNode(srcNode)
	if n == nil {
		return
	}
	in := tr.inIface(n, r, arrival{})
	if drop, s := tr.rpFilter(n, srcNode, r, in); drop {
		s.sayBefore("reply")
		w.delivered = false
		w.stop(s, outcome{verdict: Dropped, reason: "RP_FILTER_DROPS"})
		return
	}
	if !n.IsLocal(r.dst.Addr()) {
		if off, s := tr.forwardingOff(n, srcNode, in); off {
			s.Before = r.String()
			s.sayBefore("reply")
			w.delivered = false
			w.stop(s, outcome{verdict: Dropped, reason: "IP_FORWARD_DISABLED"})
		}
	}
}

func podOf(d netpol.Decision, dst *model.Pod, src netpol.Peer) string {
	if d.Direction == "egress" && src.Pod != nil {
		return "pod " + src.Pod.Key()
	}
	return "pod " + dst.Key()
}

func allowedBy(r netpol.Result) string {
	for _, d := range []netpol.Decision{r.Ingress, r.Egress} {
		if d.AllowedBy != nil && d.AllowedBy.Policy != nil {
			return fmt.Sprintf(" (%s rule %d)", d.AllowedBy.Policy.Ref(), d.AllowedBy.Rule)
		}
	}
	return ""
}

// peer describes a packet source for NetworkPolicy.
func (tr *Tracer) peer(ip netip.Addr) netpol.Peer {
	if ps := tr.c.Kube.PodsByIP(ip); len(ps) > 0 && !ps[0].Spec.HostNetwork {
		return netpol.PodPeer(ps[0])
	}
	pe := netpol.Peer{IP: ip}
	if kn := tr.c.Kube.NodeByIP(ip); kn != nil {
		pe.Node = kn.Name
	}
	return pe
}

func declaresPorts(p *model.Pod) bool {
	for _, c := range p.Spec.Containers {
		if len(c.Ports) > 0 {
			return true
		}
	}
	return false
}

func declaresPort(p *model.Pod, port int, proto string) bool {
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			pr := string(cp.Protocol)
			if pr == "" {
				pr = "TCP"
			}
			if int(cp.ContainerPort) == port && (pr == "TCP" && proto == "tcp" || pr == "UDP" && proto == "udp" || pr == "SCTP" && proto == "sctp") {
				return true
			}
		}
	}
	return false
}
