package model

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Endpoint is what a flow endpoint (flows.json, --from/--to) names,
// resolved against the cluster objects.
type Endpoint struct {
	Spec string // as written: "pod:ns/name:80"
	// Kind is pod, node, ip, svc, ingress or dns. A dns endpoint that names
	// a Service resolves like svc and keeps Kind "dns" with DNSName set.
	Kind string

	Pod     *Pod
	Node    *KNode
	Service *Service
	Ingress *Ingress

	// IPs are the addresses packets are sent to: pod IPs, node InternalIPs,
	// the literal IP, a Service's ClusterIPs (headless: its ready
	// endpoints), an Ingress's load-balancer IPs.
	IPs []netip.Addr
	// Port is the destination port (0 when not given). For a Service it is
	// the Service port; ServicePort is the matched spec.ports entry.
	Port        int
	PortName    string
	Protocol    string // "TCP"/"UDP"/"SCTP" when known from the Service port
	ServicePort *corev1.ServicePort
	// TargetPort is the Service port's targetPort as written (number or
	// name; empty means the same number as Port).
	TargetPort intstr.IntOrString
	// Backends are the Service's endpoint addresses for ServicePort.
	Backends []Backend
	// NodeName is the node a pod runs on, or the node itself.
	NodeName string
	// Host and Path narrow an ingress endpoint.
	Host, Path string
	// DNSName is the name given; FQDN what the cluster DNS answers for,
	// after search-domain expansion; ExternalName the CNAME target of an
	// ExternalName Service.
	DNSName, FQDN, ExternalName string
}

// Resolve parses an endpoint spec and finds its objects:
//
//	pod:NS/NAME[:PORT]     node:NAME      ip:A[:PORT] (also [v6]:PORT)
//	svc:NS/NAME:PORT       PORT is a port number or a port name
//	ingress:NS/NAME        dns:NAME[:PORT]
//
// A bare IP (or IP:PORT) is accepted as ip:. DNS names are expanded like a
// pod in namespace "default" would (see ResolveFrom).
func (c *Cluster) Resolve(s string) (Endpoint, error) { return c.ResolveFrom(s, "default") }

// ResolveFrom resolves s for a client in namespace ns (what dns: search
// domains depend on).
func (c *Cluster) ResolveFrom(s, ns string) (Endpoint, error) {
	e := Endpoint{Spec: s}
	kind, rest, ok := strings.Cut(s, ":")
	if !ok || strings.Contains(kind, ".") || strings.Contains(kind, "[") || isIPText(s) {
		kind, rest = "ip", s
	}
	e.Kind = kind
	k := &c.Kube
	switch kind {
	case "pod":
		nsName, port, err := splitPort(rest)
		if err != nil {
			return e, fmt.Errorf("%s: %v", s, err)
		}
		pns, name, err := splitNS(nsName)
		if err != nil {
			return e, fmt.Errorf("%s: %v", s, err)
		}
		p := k.Pod(pns, name)
		if p == nil {
			return e, fmt.Errorf("%s: no pod %s/%s in cluster/pods", s, pns, name)
		}
		e.Pod, e.IPs, e.NodeName = p, p.IPs, p.Spec.NodeName
		if port != "" {
			n, pname, err := podPort(p, port)
			if err != nil {
				return e, fmt.Errorf("%s: %v", s, err)
			}
			e.Port, e.PortName = n, pname
		}
		return e, nil
	case "node":
		n := k.Node(rest)
		if n == nil {
			// nodes/<name>/ folders are often named by IP on TKE
			if ip, err := netip.ParseAddr(rest); err == nil {
				n = k.NodeByIP(ip)
			}
		}
		if n == nil {
			if c.Node(rest) != nil {
				e.NodeName = rest
				if ip, err := netip.ParseAddr(rest); err == nil {
					e.IPs = []netip.Addr{ip}
				}
				return e, nil
			}
			return e, fmt.Errorf("%s: no node %s in cluster/nodes or nodes/", s, rest)
		}
		e.Node, e.NodeName, e.IPs = n, n.Name, n.InternalIPs
		return e, nil
	case "ip":
		host, port, err := splitHostPort(rest)
		if err != nil {
			return e, fmt.Errorf("%s: %v", s, err)
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return e, fmt.Errorf("%s: %q is not an IP address", s, host)
		}
		e.IPs = []netip.Addr{ip}
		if port != "" {
			n, err := strconv.Atoi(port)
			if err != nil || n < 1 || n > 65535 {
				return e, fmt.Errorf("%s: port %q is not 1-65535", s, port)
			}
			e.Port = n
		}
		// say what the address is, when the cluster knows
		if ps := k.PodsByIP(ip); len(ps) > 0 && !ps[0].Spec.HostNetwork {
			e.Pod, e.NodeName = ps[0], ps[0].Spec.NodeName
		} else if n := k.NodeByIP(ip); n != nil {
			e.Node, e.NodeName = n, n.Name
		} else if sv := k.ServiceByIP(ip); sv != nil && e.Port != 0 {
			e.Service = sv
			_ = c.bindServicePort(&e, sv, strconv.Itoa(e.Port), false)
		}
		return e, nil
	case "svc", "service":
		e.Kind = "svc"
		nsName, port, err := splitPort(rest)
		if err != nil {
			return e, fmt.Errorf("%s: %v", s, err)
		}
		sns, name, err := splitNS(nsName)
		if err != nil {
			return e, fmt.Errorf("%s: %v", s, err)
		}
		sv := k.Service(sns, name)
		if sv == nil {
			return e, fmt.Errorf("%s: no Service %s/%s in cluster/services", s, sns, name)
		}
		return e, c.bindService(&e, sv, port)
	case "ingress", "ing":
		e.Kind = "ingress"
		nsName := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			if j := strings.IndexAny(rest[i+1:], "/"); j >= 0 {
				// ingress:ns/name/path is accepted as a path
				nsName, e.Path = rest[:i+1+j], rest[i+1+j:]
			}
		}
		ins, name, err := splitNS(nsName)
		if err != nil {
			return e, fmt.Errorf("%s: %v", s, err)
		}
		in := k.Ingress(ins, name)
		if in == nil {
			return e, fmt.Errorf("%s: no Ingress %s/%s in cluster/ingresses", s, ins, name)
		}
		e.Ingress = in
		for _, lb := range in.Status.LoadBalancer.Ingress {
			if ip, err := netip.ParseAddr(lb.IP); err == nil {
				e.IPs = append(e.IPs, ip)
			}
		}
		return e, nil
	case "dns":
		name, port, err := splitPort(rest)
		if err != nil {
			return e, fmt.Errorf("%s: %v", s, err)
		}
		e.DNSName = name
		return e, c.resolveDNS(&e, name, port, ns)
	}
	return e, fmt.Errorf("%s: unknown endpoint kind %q (want pod:, node:, ip:, svc:, ingress: or dns:)", s, kind)
}

func isIPText(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	if _, err := netip.ParseAddrPort(s); err == nil {
		return true
	}
	return false
}

// splitPort splits "x:port" at the last colon; port may be empty.
func splitPort(s string) (string, string, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, "", nil
	}
	if i == len(s)-1 {
		return "", "", fmt.Errorf("empty port")
	}
	return s[:i], s[i+1:], nil
}

func splitHostPort(s string) (string, string, error) {
	if strings.HasPrefix(s, "[") {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return "", "", err
		}
		return ap.Addr().String(), strconv.Itoa(int(ap.Port())), nil
	}
	if strings.Count(s, ":") > 1 { // bare IPv6
		return s, "", nil
	}
	h, p, _ := strings.Cut(s, ":")
	return h, p, nil
}

func splitNS(s string) (string, string, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok {
		return "default", s, nil
	}
	if ns == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("want NAMESPACE/NAME, got %q", s)
	}
	return ns, name, nil
}

// podPort finds a pod port by number or by containerPort name.
func podPort(p *Pod, port string) (int, string, error) {
	if n, err := strconv.Atoi(port); err == nil {
		if n < 1 || n > 65535 {
			return 0, "", fmt.Errorf("port %d is not 1-65535", n)
		}
		for _, ct := range p.Spec.Containers {
			for _, cp := range ct.Ports {
				if int(cp.ContainerPort) == n {
					return n, cp.Name, nil
				}
			}
		}
		return n, "", nil
	}
	for _, ct := range p.Spec.Containers {
		for _, cp := range ct.Ports {
			if cp.Name == port {
				return int(cp.ContainerPort), cp.Name, nil
			}
		}
	}
	return 0, "", fmt.Errorf("pod %s declares no container port named %q", p.Key(), port)
}

func (c *Cluster) bindService(e *Endpoint, sv *Service, port string) error {
	e.Service = sv
	if sv.Spec.Type == corev1.ServiceTypeExternalName {
		e.ExternalName = sv.Spec.ExternalName
	}
	headless := sv.Spec.ClusterIP == corev1.ClusterIPNone
	if !headless {
		e.IPs = sv.ClusterIPs
	}
	if port == "" {
		if len(sv.Spec.Ports) == 1 {
			port = strconv.Itoa(int(sv.Spec.Ports[0].Port))
		} else if len(sv.Spec.Ports) > 1 {
			return fmt.Errorf("%s: Service %s has %d ports; name one (svc:%s:PORT)", e.Spec, sv.Key(), len(sv.Spec.Ports), sv.Key())
		}
	}
	if port != "" {
		if err := c.bindServicePort(e, sv, port, true); err != nil {
			return err
		}
	}
	if headless {
		// a headless Service's name resolves to its ready endpoints
		seen := map[netip.Addr]bool{}
		for _, b := range c.Kube.Backends(sv) {
			if b.Ready && !seen[b.IP] {
				seen[b.IP] = true
				e.IPs = append(e.IPs, b.IP)
			}
		}
	}
	return nil
}

// bindServicePort picks spec.ports by number or name and lists the
// backends of that port: EndpointSlice/Endpoints ports carry the Service
// port's name (EndpointSlice API: "name must match the Service port
// name"), so backends are matched by name.
func (c *Cluster) bindServicePort(e *Endpoint, sv *Service, port string, strict bool) error {
	var sp *corev1.ServicePort
	n, numErr := strconv.Atoi(port)
	for i := range sv.Spec.Ports {
		p := &sv.Spec.Ports[i]
		if (numErr == nil && int(p.Port) == n) || (numErr != nil && p.Name == port) {
			proto := string(p.Protocol)
			if proto == "" {
				proto = "TCP"
			}
			if e.Protocol != "" && proto != e.Protocol {
				continue
			}
			sp = p
			break
		}
	}
	if sp == nil {
		if !strict {
			return nil
		}
		var have []string
		for _, p := range sv.Spec.Ports {
			proto := p.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			have = append(have, fmt.Sprintf("%s %d/%s", p.Name, p.Port, proto))
		}
		return fmt.Errorf("%s: Service %s has no port %s (ports: %s)", e.Spec, sv.Key(), port, strings.Join(have, ", "))
	}
	e.ServicePort, e.Port, e.PortName = sp, int(sp.Port), sp.Name
	e.Protocol = string(sp.Protocol)
	if e.Protocol == "" {
		e.Protocol = "TCP"
	}
	e.TargetPort = sp.TargetPort
	for _, b := range c.Kube.Backends(sv) {
		if b.PortName == sp.Name && (b.Protocol == "" || string(b.Protocol) == e.Protocol) {
			e.Backends = append(e.Backends, b)
		}
	}
	return nil
}

// ClusterDomain is the DNS domain of the cluster: the zone of CoreDNS's
// kubernetes plugin when the Corefile is in the bundle, else cluster.local.
func (k *Kube) ClusterDomain() string {
	if k.Corefile != nil {
		if m := reKubernetesPlugin.FindStringSubmatch(k.Corefile.Text); m != nil {
			return strings.TrimSuffix(m[1], ".")
		}
	}
	return "cluster.local"
}

var reKubernetesPlugin = regexp.MustCompile(`(?m)^\s*kubernetes\s+([A-Za-z0-9.-]+)`)

// resolveDNS expands name like a pod's resolver would: kubelet writes
// "search <ns>.svc.<domain> svc.<domain> <domain>" and "options ndots:5",
// so a name with fewer than 5 dots is tried with each search domain first
// (resolv.conf(5)); the first that names a Service or pod wins.
func (c *Cluster) resolveDNS(e *Endpoint, name, port, ns string) error {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	dom := c.Kube.ClusterDomain()
	var cands []string
	if strings.HasSuffix(name, "."+dom) {
		cands = []string{name}
	} else {
		for _, sd := range []string{ns + ".svc." + dom, "svc." + dom, dom} {
			cands = append(cands, name+"."+sd)
		}
		cands = append(cands, name)
	}
	for _, fq := range cands {
		rel, ok := strings.CutSuffix(fq, "."+dom)
		if !ok {
			continue
		}
		parts := strings.Split(rel, ".")
		// <svc>.<ns>.svc   or   <hostname>.<svc>.<ns>.svc (headless)
		if len(parts) == 3 && parts[2] == "svc" {
			if sv := c.Kube.Service(parts[1], parts[0]); sv != nil {
				e.FQDN = fq
				return c.bindService(e, sv, port)
			}
		}
		if len(parts) == 4 && parts[3] == "svc" {
			if sv := c.Kube.Service(parts[2], parts[1]); sv != nil {
				for _, p := range c.Kube.PodsInNamespace(parts[2]) {
					if p.Spec.Hostname == parts[0] && p.Spec.Subdomain == parts[1] {
						e.FQDN, e.Pod, e.IPs, e.NodeName = fq, p, p.IPs, p.Spec.NodeName
						if port != "" {
							n, pn, err := podPort(p, port)
							if err != nil {
								return fmt.Errorf("%s: %v", e.Spec, err)
							}
							e.Port, e.PortName = n, pn
						}
						return nil
					}
				}
			}
		}
		// <a-b-c-d>.<ns>.pod
		if len(parts) == 3 && parts[2] == "pod" {
			if ip, err := netip.ParseAddr(strings.ReplaceAll(parts[0], "-", ".")); err == nil {
				e.FQDN, e.IPs = fq, []netip.Addr{ip}
				if ps := c.Kube.PodsByIP(ip); len(ps) > 0 {
					e.Pod, e.NodeName = ps[0], ps[0].Spec.NodeName
				}
				return nil
			}
		}
	}
	return &NameError{Spec: e.Spec, Name: name, Namespace: ns, Searched: cands}
}

// NameError is a dns: name that no Service or pod answers, with the names
// the resolver tried in order.
type NameError struct {
	Spec, Name, Namespace string
	Searched              []string
}

func (e *NameError) Error() string {
	return fmt.Sprintf("%s: %q names no Service or pod of the cluster (searched %s)", e.Spec, e.Name, strings.Join(e.Searched, ", "))
}
