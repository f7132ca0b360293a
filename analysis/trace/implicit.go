package trace

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"tkesnap/analysis/model"
)

// maxPairNodes bounds the all-pairs pod CIDR check; past it each node is
// paired with the next one (a ring, both directions), which still
// exercises every node's SGs, routes and forwarding.
const maxPairNodes = 6

// Implicit returns the flows the guide checks without being asked: pod to
// pod between every pair of nodes (pod CIDRs), every LoadBalancer Service
// and Ingress from its CLB's clients, and the cluster DNS from every node.
func Implicit(c *model.Cluster) []model.Flow {
	var out []model.Flow
	nodes := implicitNodes(c)
	pairs := [][2]string{}
	if len(nodes) <= maxPairNodes {
		for _, a := range nodes {
			for _, b := range nodes {
				if a != b {
					pairs = append(pairs, [2]string{a, b})
				}
			}
		}
	} else {
		for i, a := range nodes {
			b := nodes[(i+1)%len(nodes)]
			pairs = append(pairs, [2]string{a, b}, [2]string{b, a})
		}
	}
	for _, pr := range pairs {
		from, _, okA := podOn(c, pr[0])
		to, port, okB := podOn(c, pr[1])
		if !okA || !okB {
			continue
		}
		// no declared port: TCP to a representative port, never ICMP — an
		// SG that accepts ICMP before dropping everything else would make
		// ping work while every application connection times out
		f := model.Flow{From: from, To: withPort(to, implicitPort), Proto: "tcp"}
		if port != "" {
			f.To, f.Proto = to+":"+port[1:], port[:1]
			f.Proto = map[string]string{"t": "tcp", "u": "udp"}[f.Proto]
		}
		out = append(out, f)
	}
	if len(nodes) == 0 {
		out = append(out, cloudPairs(c)...)
	}
	claimed := map[string]bool{}
	for _, sv := range c.Kube.Services {
		for _, in := range sv.Status.LoadBalancer.Ingress {
			claimed[in.IP] = true
		}
	}
	for _, in := range c.Kube.Ingresses {
		for _, i := range in.Status.LoadBalancer.Ingress {
			claimed[i.IP] = true
		}
	}
	// CLBs no Service or Ingress of the bundle claims (cloud-only
	// bundles, or cluster/ not collected): each listener from its clients
	for _, lb := range c.Cloud.LoadBalancers {
		if len(lb.VIPs) == 0 || claimed[lb.VIPs[0].String()] {
			continue
		}
		for _, l := range lb.Listeners {
			out = append(out, model.Flow{From: clientFor(c, lb.VIPs[0].String()), To: fmt.Sprintf("ip:%s:%d", lb.VIPs[0], int(l.Port)), Proto: l.Transport()})
		}
	}
	for _, sv := range c.Kube.Services {
		if sv.Spec.Type != corev1.ServiceTypeLoadBalancer || len(sv.Status.LoadBalancer.Ingress) == 0 {
			continue
		}
		for _, sp := range sv.Spec.Ports {
			proto := "tcp"
			if sp.Protocol == corev1.ProtocolUDP {
				proto = "udp"
			}
			out = append(out, model.Flow{From: clientFor(c, sv.Status.LoadBalancer.Ingress[0].IP), To: fmt.Sprintf("svc:%s:%d", sv.Key(), sp.Port), Proto: proto})
		}
	}
	for _, in := range c.Kube.Ingresses {
		if len(in.Status.LoadBalancer.Ingress) == 0 {
			continue
		}
		f := model.Flow{From: clientFor(c, in.Status.LoadBalancer.Ingress[0].IP), To: "ingress:" + in.Key(), Proto: "tcp"}
		for _, r := range in.Spec.Rules {
			if r.HTTP != nil && len(r.HTTP.Paths) > 0 {
				f.Host, f.Path = r.Host, r.HTTP.Paths[0].Path
				break
			}
		}
		out = append(out, f)
	}
	if sv := c.Kube.Service("kube-system", "kube-dns"); sv != nil {
		for _, n := range nodes {
			if from, _, ok := podOn(c, n); ok {
				out = append(out, model.Flow{From: from, To: "dns:kubernetes.default", Proto: "udp"})
			}
		}
	}
	return out
}

// implicitPort is the TCP port of implicit pod-to-pod traces when the
// destination pod declares none: the guide's requirement is that node SGs
// allow the pod CIDR for all traffic, and applications talk TCP; 80 is
// the port an HTTP workload most likely serves. (SG_POD_CIDR_BLOCKED of
// the cloud checks evaluates the SGs for every port on its own.)
const implicitPort = 80

// withPort adds a port to a pod: or ip: endpoint.
func withPort(spec string, port int) string { return fmt.Sprintf("%s:%d", spec, port) }

// cloudPairs are pod-to-pod flows between the cluster's nodes known only
// from the cloud side (GlobalRouter container routes: pod CIDR → node),
// for bundles without Node objects.
func cloudPairs(c *model.Cluster) []model.Flow {
	var cidrs []netip.Prefix
	seen := map[netip.Addr]bool{}
	for _, r := range c.Cloud.ClusterRoutes {
		if r.Dst.IsValid() && r.Dst.Addr().Is4() && !seen[r.Gateway] {
			seen[r.Gateway] = true
			cidrs = append(cidrs, r.Dst)
		}
	}
	if len(cidrs) > maxPairNodes {
		cidrs = cidrs[:maxPairNodes]
	}
	var out []model.Flow
	for _, a := range cidrs {
		for _, b := range cidrs {
			if a != b {
				out = append(out, model.Flow{From: "ip:" + a.Masked().Addr().Next().Next().String(),
					To: fmt.Sprintf("ip:%s:%d", b.Masked().Addr().Next().Next(), implicitPort), Proto: "tcp"})
			}
		}
	}
	return out
}

// guessedClients: the implicit flows take some CLB's intranet clients
// as its VIP's /24 because the VIP's VPC is unknown (clientFor).
func guessedClients(c *model.Cluster) bool {
	for _, f := range Implicit(c) {
		if p, ok := strings.CutPrefix(f.From, "cidr:"); ok {
			if pf, err := netip.ParsePrefix(p); err == nil && c.Cloud.VpcOf(pf.Addr()) == nil {
				return true
			}
		}
	}
	return false
}

// clientFor picks the client of a CLB: the internet for a public VIP, a
// VPC address otherwise.
func clientFor(c *model.Cluster, vip string) string {
	if ip, err := netip.ParseAddr(vip); err == nil && ip.IsPrivate() {
		if v := c.Cloud.VpcOf(ip); v != nil && len(v.CIDRs) > 0 {
			return "cidr:" + v.CIDRs[0].String()
		}
		return "cidr:" + netip.PrefixFrom(ip, 24).Masked().String()
	}
	return "internet"
}

// implicitNodes are the nodes the bundle holds a folder for (their
// datapath is known), else the Kubernetes nodes.
func implicitNodes(c *model.Cluster) []string {
	var out []string
	seen := map[string]bool{}
	tr := New(c)
	for _, kn := range c.Kube.Nodes {
		if tr.bundleNode(kn.Name) != nil && !seen[kn.Name] {
			seen[kn.Name] = true
			out = append(out, kn.Name)
		}
	}
	if len(out) == 0 {
		for _, kn := range c.Kube.Nodes {
			out = append(out, kn.Name)
		}
	}
	sort.Strings(out)
	return out
}

// podOn names a pod of a node to trace from or to: a running,
// non-host-network pod (preferring one that declares a port), else an
// address of the node's pod CIDR. port is "t8080"/"u53" when declared.
func podOn(c *model.Cluster, node string) (spec, port string, ok bool) {
	var best *model.Pod
	for _, p := range c.Kube.PodsOnNode(node) {
		if p.Spec.HostNetwork || len(p.IPs) == 0 || p.Status.Phase != corev1.PodRunning {
			continue
		}
		if best == nil || (!declaresPorts(best) && declaresPorts(p)) {
			best = p
		}
	}
	if best != nil {
		for _, ct := range best.Spec.Containers {
			for _, cp := range ct.Ports {
				pr := "t"
				if cp.Protocol == corev1.ProtocolUDP {
					pr = "u"
				}
				return "pod:" + best.Key(), fmt.Sprintf("%s%d", pr, cp.ContainerPort), true
			}
		}
		return "pod:" + best.Key(), "", true
	}
	if kn := c.Kube.Node(node); kn != nil && len(kn.PodCIDRs) > 0 {
		// .1 is the node's bridge (cbr0); .2 is the first pod address.
		a := kn.PodCIDRs[0].Masked().Addr().Next().Next()
		return "ip:" + a.String(), "", true
	}
	return "", "", false
}
