package checks

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
)

// The guide's "集群内 DNS 解析失败": pods resolve through the kube-dns
// Service (kubelet --cluster-dns); it must expose 53/UDP and 53/TCP and
// have ready CoreDNS endpoints.

func init() {
	Register(&driver.Analyzer{
		Name: "kube-dns",
		Doc:  "Cluster DNS: kube-dns/CoreDNS Service endpoints and port 53, names flows ask for, pods' resolvers.",
		Inputs: []driver.Input{driver.Need("cluster/services.yaml"), driver.In("cluster/endpointslices.yaml"), driver.In("cluster/endpoints.yaml"),
			driver.In("cluster/pods.yaml"), driver.In("cluster/configmaps-kube-system.yaml"), driver.In("nodes/*/resolv.conf")},
		IDs: []string{"DNS_SERVICE_UNHEALTHY", "DNS_NAME_UNRESOLVABLE"},
		Run: guarded(needKube("Service"), func(p *Pass) {
			runDNS(p)
			runDNSNames(p)
			runPodResolvers(p)
		}),
	})
}

// runPodResolvers checks that a pod asking a cluster name (dns: flows)
// has a resolv.conf pointing at the DNS Service. kubelet writes it from
// dnsPolicy (Pod API "DNS for Services and Pods"): ClusterFirst uses the
// cluster DNS, except for host-network pods, which fall back to Default
// (the node's resolv.conf) unless ClusterFirstWithHostNet; None uses
// dnsConfig.nameservers only.
func runPodResolvers(p *Pass) {
	c := p.Cluster
	k := &c.Kube
	dns := DNSService(k)
	if dns == nil {
		return
	}
	for _, f := range c.Flows {
		name, ok := strings.CutPrefix(f.To, "dns:")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, ":")
		from, err := c.Resolve(f.From)
		if err != nil || from.Pod == nil || !clusterName(k, name) {
			continue
		}
		pod := from.Pod
		args := finding.Args{"service": dns.Key(), "client": pod.Key(), "name": name}
		switch pol := pod.Spec.DNSPolicy; {
		case pol == corev1.DNSNone:
			var ns []string
			if pod.Spec.DNSConfig != nil {
				ns = pod.Spec.DNSConfig.Nameservers
			}
			found := false
			for _, x := range ns {
				for _, ip := range dns.ClusterIPs {
					if x == ip.String() {
						found = true
					}
				}
			}
			if found {
				continue
			}
			args["resolver"], args["nameservers"] = "none", strings.Join(ns, " ")
		case pol == corev1.DNSDefault:
			args["resolver"], args["nameservers"] = "default", nodeNameservers(c, pod.Spec.NodeName)
		case pod.Spec.HostNetwork && (pol == "" || pol == corev1.DNSClusterFirst):
			args["resolver"], args["nameservers"] = "hostnet", nodeNameservers(c, pod.Spec.NodeName)
		default:
			continue
		}
		p.Report(finding.New("DNS_SERVICE_UNHEALTHY", args,
			[]string{dns.Ref(), pod.Ref()},
			at(c, pod.Source, "dnsPolicy: "+string(pod.Spec.DNSPolicy), "spec", "dnsPolicy"),
			finding.Evidence{File: "flows.json", Line: c.FlowLine(f), Excerpt: f.From + " → " + f.To}))
	}
}

// nodeNameservers lists the node's resolv.conf nameservers when the
// bundle has them.
func nodeNameservers(c *model.Cluster, node string) string {
	n := c.NodeDir(node)
	if n == nil || n.Resolv == nil {
		return ""
	}
	var ns []string
	for _, x := range n.Resolv.Nameservers {
		ns = append(ns, x.Addr.String())
	}
	return strings.Join(ns, ", ")
}

// clusterName tells whether a name can only be answered by the cluster
// DNS: a short name, "<x>.<namespace>" for a namespace of the cluster,
// "... .svc" / ".pod", or anything below the cluster domain. Other names
// (www.qq.com) are forwarded upstream and say nothing about the cluster.
func clusterName(k *model.Kube, name string) bool {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	dom := k.ClusterDomain()
	if name == dom || strings.HasSuffix(name, "."+dom) {
		return true
	}
	labels := strings.Split(name, ".")
	switch last := labels[len(labels)-1]; {
	case len(labels) == 1, last == "svc", last == "pod":
		return true
	case len(labels) == 2:
		return k.Namespace(last) != nil || len(k.PodsInNamespace(last)) > 0 || namespaceHasService(k, last)
	}
	return false
}

func namespaceHasService(k *model.Kube, ns string) bool {
	for _, s := range k.Services {
		if s.Namespace == ns {
			return true
		}
	}
	return false
}

// runDNSNames explains reported dns: flows whose name the cluster DNS
// cannot answer, naming a Service of that name in another namespace.
func runDNSNames(p *Pass) {
	c := p.Cluster
	k := &c.Kube
	for i, f := range c.Flows {
		if !strings.HasPrefix(f.To, "dns:") {
			continue
		}
		ns := "default"
		if from, err := c.Resolve(f.From); err == nil && from.Pod != nil {
			ns = from.Pod.Namespace
		}
		_, err := c.ResolveFrom(f.To, ns)
		var ne *model.NameError
		if !errors.As(err, &ne) {
			continue
		}
		if !clusterName(k, ne.Name) {
			continue // an outside name: CoreDNS forwards it upstream
		}
		first, _, _ := strings.Cut(ne.Name, ".")
		args := finding.Args{"name": ne.Name, "namespace": ns, "searched": strings.Join(ne.Searched, ", ")}
		objs := []string{fmt.Sprintf("flow/%s→%s", f.From, f.To)}
		var ev []finding.Evidence
		var near []*model.Service
		for _, s := range k.Services {
			if s.Name == first {
				near = append(near, s)
			}
		}
		if len(near) > 0 {
			s := near[0]
			args["near"] = s.Key()
			args["suggest"] = s.Name + "." + s.Namespace
			objs = append(objs, s.Ref())
			ev = append(ev, s.Evidence("Service "+s.Key()))
		}
		ev = append([]finding.Evidence{{File: "flows.json", Line: c.FlowLine(f), Excerpt: fmt.Sprintf("flow %d: %s → %s", i+1, f.From, f.To)}}, ev...)
		p.Report(finding.New("DNS_NAME_UNRESOLVABLE", args, objs, ev...))
	}
}

// DNSService finds the cluster DNS Service: kube-system/kube-dns (TKE and
// upstream keep that name for CoreDNS), else kube-system/coredns, else a
// kube-system Service labelled k8s-app=kube-dns.
func DNSService(k *model.Kube) *model.Service {
	for _, n := range []string{"kube-dns", "coredns"} {
		if s := k.Service("kube-system", n); s != nil {
			return s
		}
	}
	for _, s := range k.Services {
		if s.Namespace == "kube-system" && s.Labels["k8s-app"] == "kube-dns" {
			return s
		}
	}
	return nil
}

func runDNS(p *Pass) {
	k := &p.Cluster.Kube
	s := DNSService(k)
	if s == nil {
		sawKubeSystem := false
		for _, x := range k.Services {
			if x.Namespace == "kube-system" {
				sawKubeSystem = true
				break
			}
		}
		if !sawKubeSystem {
			p.Inconclusive(model.KubeFiles["Service"], "", finding.Say("inc.dns.nosvc"))
			return
		}
		p.Report(finding.New("DNS_SERVICE_UNHEALTHY", finding.Args{"service": "kube-system/kube-dns", "missing": "1"},
			[]string{"svc/kube-system/kube-dns"}))
		return
	}
	// Every problem of the Service goes into one finding: each is a
	// structured arg the catalog templates turn into a sentence (no prose
	// here, so every language reads it), and all evidence is kept.
	args := finding.Args{"service": s.Key()}
	var ev []finding.Evidence
	defer func() {
		if len(args) == 1 {
			return // healthy
		}
		if len(ev) == 0 {
			ev = []finding.Evidence{s.Evidence("")}
		}
		p.Report(finding.New("DNS_SERVICE_UNHEALTHY", args, []string{s.Ref()}, uniqueEvidence(ev)...))
	}()
	if s.Spec.ClusterIP == "" || s.Spec.ClusterIP == corev1.ClusterIPNone {
		args["noclusterip"] = "1"
		ev = append(ev, at(p.Cluster, s.Source, "clusterIP: "+s.Spec.ClusterIP, "spec", "clusterIP"))
	}
	var dnsPorts []corev1.ServicePort
	var noPorts []string
	for _, proto := range []corev1.Protocol{corev1.ProtocolUDP, corev1.ProtocolTCP} {
		var found *corev1.ServicePort
		for i, sp := range s.Spec.Ports {
			pp := sp.Protocol
			if pp == "" {
				pp = corev1.ProtocolTCP
			}
			if sp.Port == 53 && pp == proto {
				found = &s.Spec.Ports[i]
			}
		}
		if found == nil {
			noPorts = append(noPorts, "53/"+string(proto))
			if proto == corev1.ProtocolTCP {
				// truncated answers over 512 bytes are retried over TCP
				args["notcp"] = "1"
			}
			continue
		}
		dnsPorts = append(dnsPorts, *found)
	}
	if len(noPorts) > 0 {
		args["noports"] = strings.Join(noPorts, ", ")
		ev = append(ev, at(p.Cluster, s.Source, "ports", "spec", "ports"))
	}
	if len(s.Spec.Selector) > 0 && k.Has("Pod") && len(k.SelectPods(s.Namespace, s.Spec.Selector)) == 0 {
		args["selector"] = selectorString(s.Spec.Selector)
		ev = append(ev, at(p.Cluster, s.Source, "selector", "spec", "selector"))
		return
	}
	if !k.HasEndpointData() {
		p.Inconclusive(model.KubeFiles["EndpointSlice"], "", finding.Say("inc.dns.noeps"))
	} else {
		bs := k.Backends(s)
		var unready []string
		notReady := 0
		for _, sp := range dnsPorts {
			ready, total := 0, 0
			var pev []finding.Evidence
			for _, b := range bs {
				if b.PortName != sp.Name || (b.Protocol != "" && b.Protocol != sp.Protocol && sp.Protocol != "") {
					continue
				}
				total++
				if b.Ready {
					ready++
				}
				if len(pev) == 0 {
					pev = append(pev, at(p.Cluster, b.Source, "endpoints of "+portString(sp), "endpoints"))
				}
			}
			if ready > 0 {
				continue
			}
			unready = append(unready, portString(sp))
			notReady = max(notReady, total)
			if len(unready) == 1 {
				ev = append(ev, s.Evidence(""))
			}
			ev = append(ev, pev...)
		}
		if len(unready) > 0 {
			args["unready"] = strings.Join(unready, ", ")
			if notReady > 0 {
				args["notready"] = fmt.Sprint(notReady)
			}
			for _, pod := range k.SelectPods(s.Namespace, s.Spec.Selector) {
				if !pod.Ready {
					args["pod"] = pod.Name
					podNotReady(k, pod).args(args)
					ev = append(ev, at(p.Cluster, pod.Source, "pod "+pod.Name, "status", "conditions"))
					break
				}
			}
		}
	}
	if cf := k.Corefile; cf != nil && !strings.Contains(cf.Text, "kubernetes") {
		args["corefile"] = cf.ConfigMap
		ev = append(ev, at(p.Cluster, cf.Source, "Corefile", "data", "Corefile"))
	}
	// CoreDNS runs with dnsPolicy Default: its /etc/resolv.conf is the
	// node's. A node whose resolv.conf names the cluster DNS itself makes
	// "forward . /etc/resolv.conf" send queries back to CoreDNS (the loop
	// plugin then stops it: CrashLoopBackOff "Loop ... detected").
	if cf := k.Corefile; cf != nil && reForwardResolv.MatchString(cf.Text) {
		var loopNodes, loopIPs []string
		for _, n := range p.Cluster.Nodes {
			if n.Resolv == nil {
				continue
			}
			for _, ns := range n.Resolv.Nameservers {
				if ns.Ignored || !slices.Contains(s.ClusterIPs, ns.Addr) {
					continue
				}
				loopNodes = append(loopNodes, n.Name)
				if !slices.Contains(loopIPs, ns.Addr.String()) {
					loopIPs = append(loopIPs, ns.Addr.String())
				}
				ev = append(ev, finding.Evidence{File: n.File(model.FileResolvConf), Line: ns.Line, Excerpt: "nameserver " + ns.Addr.String()})
				break
			}
		}
		if len(loopNodes) > 0 {
			args["loopnode"], args["loopip"] = strings.Join(loopNodes, ", "), strings.Join(loopIPs, ", ")
			ev = append(ev, at(p.Cluster, cf.Source, "forward . /etc/resolv.conf", "data", "Corefile"))
		}
	}
}

// uniqueEvidence drops repeated citations of one file line (both DNS
// ports' endpoints live on the same EndpointSlice line).
func uniqueEvidence(ev []finding.Evidence) []finding.Evidence {
	seen := map[string]bool{}
	var out []finding.Evidence
	for _, e := range ev {
		k := fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Packet)
		if e.Line == 0 && e.Packet == 0 {
			k += ":" + e.Excerpt
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

var reForwardResolv = regexp.MustCompile(`(?m)^\s*(forward|proxy)\s+\.\s+/etc/resolv\.conf`)
