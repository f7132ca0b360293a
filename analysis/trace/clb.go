package trace

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/ingress"
	"tkesnap/analysis/model"
	"tkesnap/analysis/sg"
	"tkesnap/parsers/tencent"
)

// target is one CLB real server.
type target struct {
	ip     netip.Addr
	port   int
	health string
	at     model.At
	master bool // an independent cluster's master serving the API (no targets file)
}

// viaCLB traces a client through a CLB (listener, the CLB's SGs) to each
// real server — node IP:NodePort for TKE's default mode, a pod's ENI IP
// for direct-to-pod — one branch each. lb may be nil when the bundle has
// no CLB data: then the listener and SG hops are UNDETERMINED and the
// Service's NodePort on every node stands in for the real servers.
func (tr *Tracer) viaCLB(w *walk, o origin, lb *model.LoadBalancer, dst model.Endpoint, proto string) {
	cl := &tr.c.Cloud
	port := dst.Port
	if dst.Kind == "ingress" || dst.Ingress != nil {
		port = 80
		if ingressTLS(dst.Ingress, dst.Host) {
			port = 443
		}
	}
	vip := netip.Addr{}
	if lb != nil && len(lb.VIPs) > 0 {
		vip = lb.VIPs[0]
	} else if len(dst.IPs) > 0 {
		vip = dst.IPs[0]
	}
	p := pkt{proto: proto, src: netip.AddrPortFrom(o.ip, srcPort(proto)), dst: netip.AddrPortFrom(vip, uint16(port))}
	at := "clb"
	var l *model.Listener
	if lb == nil {
		w.needSaid(at, "clb", "cloud/load-balancers.json (clb DescribeLoadBalancers)", "", "need.clb", dst.Spec)
	} else {
		at = "clb/" + lb.LoadBalancerId
		kind := "internal"
		if lb.Public() {
			kind = "public"
		}
		s := said(Step{At: at, Component: "clb", Before: p.String(), Evidence: ev("file", lb.At.File, "line", lb.At.Line)},
			"clb.vip."+kind, lb.LoadBalancerId, lb.LoadBalancerName, vip)
		// An internal CLB is reached from its VPC or networks joined to it
		// (CCN, Direct Connect), whose clients may use any address — so
		// the client's address alone does not rule it out.
		w.add(s)
		if lb.ListenersFile == "" {
			w.needSaid(at, "clb", "cloud/listeners/"+lb.LoadBalancerId+".json", "", "need.listeners")
		} else {
			for _, x := range lb.Listeners {
				lo, hi := int(x.Port), int(x.EndPort)
				if hi < lo {
					hi = lo
				}
				if port >= lo && port <= hi && x.Transport() == proto {
					l = x
					break
				}
			}
			if l == nil {
				w.stop(said(Step{At: at, Component: "clb", Before: p.String(), Decision: ActDrop,
					Evidence: ev("file", lb.ListenersFile)}, "clb.nolistener", strings.ToUpper(proto), port),
					outcome{verdict: Dropped, reason: "CLB_NO_LISTENER", finding: newFinding("CLB_NO_LISTENER",
						finding.Args{"clb": lb.LoadBalancerId, "proto": strings.ToUpper(proto), "port": itoa(port), "service": dst.Spec},
						[]string{"clb/" + lb.LoadBalancerId}, finding.Evidence{File: lb.ListenersFile})})
				return
			}
			switch strings.ToUpper(l.Protocol) {
			case "HTTP", "HTTPS":
				w.l7 = true
			}
			w.add(said(Step{At: at, Component: "clb", Before: p.String(), Decision: ActListener,
				Evidence: ev("file", l.At.File, "line", l.At.Line)}, "clb.listener", l.ListenerId, l.Protocol, int(l.Port)))
		}
		if sgs := lb.SGs(); len(sgs) > 0 {
			d := sg.Evaluate(cl, sgs, sg.Flow{Dir: model.DirIngress, Proto: proto, Src: p.src.Addr(), Dst: vip, Port: port})
			s := said(Step{At: at, Component: "security-group", Before: p.String(), Decision: Action(d.Action), Evidence: sgEv(d)},
				"clb.sgs", sgPhrase(d))
			switch d.Action {
			case sg.Drop:
				// The client's SYN never reaches the CLB: a timeout, even
				// for an HTTP listener.
				fix := sg.FixFor(d, proto, itoa(port), p.src.Addr().String())
				args := finding.Args{"lb": lb.LoadBalancerId, "owner": dst.Spec, "sg": fix.SG, "proto": strings.ToUpper(proto),
					"port": itoa(port), "source": p.src.Addr().String()}
				if fix.Before >= 0 {
					args["before"] = itoa(fix.Before)
				}
				w.stop(s, outcome{verdict: Dropped, reason: "CLB_SG_BLOCKS_LISTENER", symptom: "timeout",
					fallback: newFinding("CLB_SG_BLOCKS_LISTENER", args, []string{"clb/" + lb.LoadBalancerId, fix.SG}, d.Evidence...).SayArg("decision", finding.Say("as.is", d))})
				return
			case sg.Undecided:
				file := ""
				if len(d.Needs) > 0 {
					file = d.Needs[0].File
				}
				w.need(at, "security-group", s.Detail, file, "")
			default:
				w.add(s)
			}
		} else if cl.Have.LoadBalancers {
			w.add(said(Step{At: at, Component: "security-group", Decision: ActAccept}, "clb.nosg"))
		}
	}
	targets, known := tr.clbTargets(w, lb, l, dst)
	if !known {
		return
	}
	if len(targets) == 0 {
		o := outcome{verdict: Dropped, reason: "CLB_NO_BACKENDS"}
		if lb != nil && l != nil {
			o.finding = newFinding("CLB_NO_BACKENDS", finding.Args{"clb": lb.LoadBalancerId, "listener": l.ListenerId, "service": dst.Spec},
				[]string{"clb/" + lb.LoadBalancerId}, finding.Evidence{File: lb.TargetsFile})
		}
		w.stop(said(Step{At: at, Component: "clb", Before: p.String(), Decision: ActDrop}, "clb.nors"), o)
		return
	}
	pass := lb != nil && bool(lb.LoadBalancerPassToTarget)
	for _, t := range targets {
		b := w.fork("to.rs", t.ip, t.port)
		np := pkt{proto: proto, src: p.src, dst: netip.AddrPortFrom(t.ip, uint16(t.port))}
		s := said(Step{At: at, Component: "clb", Before: p.String(), After: np.String(), Decision: ActForward,
			Evidence: ev("file", t.at.File, "line", t.at.Line)}, "clb.rs", t.ip, t.port)
		if t.health != "" {
			s.sayMore("clb.health", healthWord(t.health))
		}
		b.add(s)
		if t.master && !tr.probeAdmitted(b, at, lb, l, t) {
			continue
		}
		tr.toRealServer(b, np, pass)
		if b.fail != nil && b.fail.reason == "SVC_NO_LOCAL_ENDPOINTS" {
			if on, why := healthChecked(l, t); on {
				// the normal externalTrafficPolicy: Local setup: the node
				// fails the health check (kube-proxy's healthCheckNodePort
				// answers 503), so the CLB sends it nothing
				b.outOfService, b.benched, b.fail.finding = true, b.fail.finding, nil
				b.fail.reason = "NOT_IN_SERVICE"
				b.add(said(Step{At: at, Component: "clb", Decision: ActOutOfService}, "clb.benched", why, t.ip))
			}
		}
	}
}

// healthChecked says whether the CLB health-checks a real server, so a
// node that cannot serve (externalTrafficPolicy Local, no local endpoint)
// gets no client traffic, and why it is believed: the target's recorded
// health, the listener's HealthSwitch, or TKE's default (the service
// controller creates Service listeners with the health check on).
func healthChecked(l *model.Listener, t target) (bool, part) {
	switch strings.ToLower(t.health) {
	case "alive", "healthy":
		return false, part{key: "clb.hc.target", args: []any{healthWord(t.health)}}
	case "":
	default:
		return true, part{key: "clb.hc.target", args: []any{healthWord(t.health)}}
	}
	if l != nil && l.HealthCheck != nil {
		if l.HealthCheck.HealthSwitch == 0 {
			return false, part{key: "clb.hc.switch", args: []any{0}}
		}
		return true, part{key: "clb.hc.switch", args: []any{1}}
	}
	return true, part{key: "clb.hc.default"}
}

// toRealServer follows the CLB's packet into the VPC. With
// LoadBalancerPassToTarget the real server's SGs do not see CLB traffic
// (CLB doc 214/14733); otherwise they must allow the client and the
// NodePort.
func (tr *Tracer) toRealServer(w *walk, p pkt, pass bool) {
	owner := tr.nodeOwning(p.dst.Addr())
	if owner == "" {
		// a node's address is known from the CVMs (instances.json) and
		// the cluster's membership (cluster-instances.json): name the
		// ones the bundle lacks
		need := "cloud/instances.json"
		if !tr.haveCloudFile("cloud/cluster-instances.json") {
			need = "cloud/cluster-instances.json"
			if !tr.haveCloudFile("cloud/instances.json") {
				need += ", cloud/instances.json"
			}
		}
		w.needSaid("clb", "clb", need, "", "clb.rsunknown", p.dst.Addr())
		return
	}
	if pass {
		w.add(said(Step{At: "clb", Component: "security-group", Decision: ActAccept, Before: p.String()}, "clb.pass"))
	} else if !tr.sgHop(w, model.DirIngress, p, tr.isNodePort(owner, p)) {
		return
	}
	tr.atNode(w, owner, p, arrival{})
}

// clbTargets lists the real servers of a listener (targets/<lb>.json,
// with target-health/<lb>.json), or — when not collected — the Service's
// NodePort on every node, which is what TKE's service controller binds.
func (tr *Tracer) clbTargets(w *walk, lb *model.LoadBalancer, l *model.Listener, dst model.Endpoint) ([]target, bool) {
	if lb != nil && l != nil && lb.TargetsFile != "" {
		var out []target
		for _, lt := range lb.Targets {
			if lt.ListenerId != l.ListenerId {
				continue
			}
			bs := lt.Targets
			for _, r := range lt.Rules {
				if dst.Host == "" || strings.EqualFold(r.Domain, dst.Host) {
					bs = append(bs, r.Targets...)
				}
			}
			for _, b := range bs {
				for _, s := range b.PrivateIpAddresses {
					ip, err := netip.ParseAddr(s)
					if err != nil {
						continue
					}
					t := target{ip: ip, port: int(b.Port), at: model.At{File: lb.TargetsFile, Line: lt.Line}}
					t.health = health(lb.Health, ip, t.port)
					out = append(out, t)
				}
			}
		}
		return out, true
	}
	ts, need := tr.masterTargets(dst)
	if need != "" {
		at := "clb"
		if lb != nil {
			at = "clb/" + lb.LoadBalancerId
		}
		w.needSaid(at, "clb", need, "", "clb.mastersunknown", dst.Service.Key())
		return nil, false
	}
	if len(ts) > 0 {
		// Independent cluster: TKE's kubelb-internet (and the intranet
		// access CLB) forwards the API port to the masters themselves,
		// not to NodePorts: the Service's endpoints on master nodes are
		// its real servers, without the targets file.
		at := "clb"
		if lb != nil {
			at = "clb/" + lb.LoadBalancerId
		}
		var addrs []string
		for _, t := range ts {
			addrs = append(addrs, netip.AddrPortFrom(t.ip, uint16(t.port)).String())
		}
		w.add(said(Step{At: at, Component: "clb", Evidence: ev("file", ts[0].at.File, "line", ts[0].at.Line)},
			"clb.masters", dst.Service.Key(), strings.Join(addrs, ", ")))
		return ts, true
	}
	if lb != nil {
		w.needSaid("clb/"+lb.LoadBalancerId, "clb", "cloud/targets/"+lb.LoadBalancerId+".json", "", "need.targets")
	}
	svc, sp := dst.Service, dst.ServicePort
	if svc == nil || sp == nil {
		w.needSaid("clb", "kube", "cluster/services.yaml", "", "clb.nosvc")
		return nil, false
	}
	if sp.NodePort == 0 {
		w.needSaid("clb", "kube", "cluster/services.yaml", "", "clb.nonodeport", svc.Key(), sp.Port)
		return nil, false
	}
	var out []target
	for _, kn := range tr.c.Kube.Nodes {
		if len(kn.InternalIPs) > 0 {
			out = append(out, target{ip: kn.InternalIPs[0], port: int(sp.NodePort), at: model.At{File: svc.File, Line: svc.Line}})
		}
	}
	if len(out) == 0 {
		for _, n := range tr.c.Nodes {
			if ips := tr.nodeIPs(n.Name); len(ips) > 0 {
				out = append(out, target{ip: ips[0], port: int(sp.NodePort)})
			}
		}
	}
	return out, true
}

// masterTargets: in an independent cluster, the ready endpoints of a
// Service that all sit on master nodes (node role label, or the TKE
// instance role MASTER/MASTER_ETCD) — kubelb-internet's and
// kubernetes-intranet's API server endpoints. Nil otherwise (the NodePort
// rule applies). need names the file without which the choice cannot be
// made: the cluster type, or an independent cluster's endpoints.
func (tr *Tracer) masterTargets(dst model.Endpoint) (out []target, need string) {
	cl := tr.c.Cloud.Cluster
	if dst.Service == nil || (cl != nil && !cl.Independent()) {
		return nil, ""
	}
	if len(dst.Backends) == 0 && !tr.c.Kube.HasEndpointData() {
		if cl == nil {
			return nil, "" // nothing says masters: the NodePort rule
		}
		return nil, "cluster/endpointslices.yaml"
	}
	for _, b := range dst.Backends {
		if !b.Ready {
			continue
		}
		if !tr.isMaster(b.IP) {
			return nil, ""
		}
		out = append(out, target{ip: b.IP, port: int(b.Port), at: model.At{File: b.File, Line: b.Line}, master: true})
	}
	if len(out) > 0 && cl == nil {
		// endpoints on masters: an independent cluster's API CLB binds
		// them, a managed one's NodePorts — the type decides
		return nil, "cloud/clusters.json"
	}
	return out, ""
}

// probeAdmitted checks the CLB's health check of a master real server.
// An internal CLB probes from its VIP (listener HealthCheck.SourceIpType
// 0, the default; TKE's internal CLBs do so, CLB doc 214/65860), so the
// master's SG must admit the VIP's subnet on the API port — the subnet
// chosen when intranet access was enabled (tke DescribeClusterEndpoints
// ClusterIntranetSubnetId), which the guide ("独立集群开启内网访问后不通")
// asks the master SG to admit. A master that drops the probe fails its
// health check and the CLB sends it no client: the branch is out of
// service, and when every master is, the flow fails with that finding.
// It reports whether the branch goes on.
func (tr *Tracer) probeAdmitted(w *walk, at string, lb *model.LoadBalancer, l *model.Listener, t target) bool {
	if lb == nil || lb.Public() || len(lb.VIPs) == 0 {
		return true // a public CLB's probes do not come from a VIP in the VPC
	}
	if l != nil && l.HealthCheck != nil && (l.HealthCheck.HealthSwitch == 0 || l.HealthCheck.SourceIpType != 0) {
		return true // no probe, or probes from 100.64.0.0/10 (admitted by default)
	}
	cl := &tr.c.Cloud
	in := cl.InstanceByIP(t.ip)
	if in == nil {
		return true // the real server's SG hop names what is missing
	}
	vip := lb.VIPs[0]
	d := sg.Evaluate(cl, in.SGs(), sg.Flow{Dir: model.DirIngress, Proto: "tcp", Src: vip, Dst: t.ip, Port: t.port})
	probe := pkt{proto: "tcp", src: netip.AddrPortFrom(vip, 0), dst: netip.AddrPortFrom(t.ip, uint16(t.port))}
	sAt := in.InstanceId
	if d.SG != "" {
		sAt = d.SG
	}
	s := said(Step{At: sAt, Component: "security-group", Before: probe.String(), Decision: Action(d.Action), Evidence: sgEv(d)},
		"clb.probe", vip, t.ip, sgPhrase(d))
	switch d.Action {
	case sg.Accept:
		w.add(s)
		return true
	case sg.Undecided:
		// unknown: the walk goes on as if the probe passed
		w.need(sAt, "security-group", s.Detail, firstNeedFile(d), "")
		return true
	}
	// the guide's range: the subnet the CLB sits in, not the VIP alone
	cidr := netip.PrefixFrom(vip, 32).String()
	var evs []finding.Evidence
	sub := cl.Subnets[lb.SubnetId]
	if ep := cl.Endpoints; (sub == nil || !sub.CIDR.IsValid()) && ep != nil && hostOfEndpoint(ep.ClusterIntranetEndpoint) == vip.String() {
		sub = cl.Subnets[ep.ClusterIntranetSubnetId]
	}
	if sub != nil && sub.CIDR.IsValid() {
		cidr = sub.CIDR.String()
		evs = append(evs, finding.Evidence{File: sub.File, Line: sub.At.Line, Excerpt: sub.SubnetId + " CidrBlock " + sub.CidrBlock})
	}
	fix := sg.FixFor(d, "tcp", itoa(t.port), cidr)
	args := finding.Args{"sg": fix.SG, "node": t.ip.String(), "dir": string(model.DirIngress), "cidr": cidr, "port": itoa(t.port),
		"proto": "TCP", "source": vip.String()}
	if fix.Before >= 0 {
		args["before"] = itoa(fix.Before)
	}
	f := newFinding("SG_MASTER_SUBNET_BLOCKED", args, []string{fix.SG, "node/" + t.ip.String()}, append(append([]finding.Evidence(nil), d.Evidence...), evs...)...)
	f.SayArg("decision", finding.Say("as.is", d))
	w.stop(s, outcome{verdict: Dropped, reason: "SG_MASTER_SUBNET_BLOCKED", symptom: "timeout"})
	w.add(said(Step{At: at, Component: "clb", Decision: ActOutOfService}, "clb.probefail", t.ip, t.port))
	w.outOfService, w.benched = true, f
	return false
}

// hostOfEndpoint strips a scheme and port from an endpoint address.
func hostOfEndpoint(s string) string { return endpointHost(s) }

// isMaster: ip is a master node's address, by its Node's role label or
// its CVM's role in the cluster (tke DescribeClusterInstances).
func (tr *Tracer) isMaster(ip netip.Addr) bool {
	if kn := tr.c.Kube.NodeByIP(ip); kn != nil {
		for _, l := range []string{"node-role.kubernetes.io/master", "node-role.kubernetes.io/control-plane"} {
			if _, ok := kn.Labels[l]; ok {
				return true
			}
		}
	}
	if in := tr.c.Cloud.InstanceByIP(ip); in != nil {
		r := tr.c.Cloud.Role(in.InstanceId)
		return r == "MASTER" || r == "MASTER_ETCD"
	}
	return false
}

func health(hs []tencent.TargetHealth, ip netip.Addr, port int) string {
	for _, h := range hs {
		if h.IP == ip.String() && int(h.Port) == port {
			if h.HealthStatusDetail != "" {
				return h.HealthStatusDetail
			}
			if h.HealthStatus {
				return "Alive"
			}
			return "Dead"
		}
	}
	return ""
}

// healthWord words a target's health status: CLB's own words (Alive,
// Dead) are catalogued, a status detail CLB gave stays as it is.
func healthWord(h string) any {
	switch h {
	case "Alive":
		return part{key: "clb.alive"}
	case "Dead":
		return part{key: "clb.dead"}
	}
	return h
}

func ingressTLS(in *model.Ingress, host string) bool {
	if in == nil {
		return false
	}
	for _, t := range in.Spec.TLS {
		if host == "" {
			return true
		}
		for _, h := range t.Hosts {
			if strings.EqualFold(h, host) {
				return true
			}
		}
	}
	return false
}

// ingress routes the request through the Ingress rules (404 when none
// matches), then through the Ingress's CLB to the backend Service's
// NodePorts.
func (tr *Tracer) ingress(w *walk, o origin, dst model.Endpoint, proto string) {
	in := dst.Ingress
	w.l7 = true
	host, path := dst.Host, dst.Path
	if host == "" {
		for _, r := range in.Spec.Rules {
			if r.Host != "" {
				host = r.Host
				break
			}
		}
	}
	if path == "" {
		path = "/"
	}
	m := ingress.Route(in.Ingress, host, path)
	var be *networkingv1.IngressBackend
	switch {
	case m.Path != nil:
		be = &m.Path.Backend
	case m.Default != nil:
		be = m.Default
	}
	s := Step{At: in.Ref(), Component: "kube", Before: "http://" + host + path, Evidence: srcEv(in.Source)}
	if be == nil || be.Service == nil {
		s.Decision = "404"
		s.say("ing.norule", in.Key(), host, path)
		w.stop(s, outcome{verdict: Rejected, reason: "INGRESS_NO_MATCHING_RULE", symptom: "http-404"})
		return
	}
	port := ""
	if be.Service.Port.Name != "" {
		port = be.Service.Port.Name
	} else {
		port = strconv.Itoa(int(be.Service.Port.Number))
	}
	s.Decision = ActRule
	s.say("ing.rule", host, path, be.Service.Name, port)
	if m.Approximate {
		s.sayMore("ing.prefix")
	}
	w.add(s)
	svcEp, err := tr.c.ResolveFrom(fmt.Sprintf("svc:%s/%s:%s", in.Namespace, be.Service.Name, port), in.Namespace)
	if err != nil {
		w.stop(Step{At: in.Ref(), Component: "kube", Decision: ActHTTP503, Detail: err.Error(), Evidence: srcEv(in.Source)},
			outcome{verdict: Rejected, reason: "INGRESS_BACKEND_MISSING", symptom: "http-503"})
		return
	}
	svcEp.Kind, svcEp.Ingress, svcEp.Host, svcEp.Path, svcEp.IPs = "ingress", in, host, path, dst.IPs
	if svcEp.Service.Spec.Type == corev1.ServiceTypeClusterIP && svcEp.ServicePort != nil && svcEp.ServicePort.NodePort == 0 {
		w.add(said(Step{At: svcEp.Service.Ref(), Component: "kube"}, "ing.clusterip"))
	}
	var lb *model.LoadBalancer
	for _, ip := range dst.IPs {
		if lb = tr.c.Cloud.LoadBalancerByVIP(ip); lb != nil {
			break
		}
	}
	tr.viaCLB(w, o, lb, svcEp, proto)
}
