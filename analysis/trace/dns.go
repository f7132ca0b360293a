package trace

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"

	"tkesnap/analysis/model"
)

// dns traces a lookup: the client's resolver (a pod with dnsPolicy
// ClusterFirst asks the cluster DNS Service that kubelet writes into its
// resolv.conf; a node or host-network pod uses the node's resolv.conf),
// then UDP 53 to that nameserver through the node, kube-proxy and on to
// a DNS endpoint. When the path delivers, the name decides: a name the
// cluster does not hold is NXDOMAIN.
func (tr *Tracer) dns(w *walk, o origin, name string, dst model.Endpoint, resolveErr error) {
	ns, ev0, hp := tr.nameserver(o)
	if !ns.IsValid() {
		w.needSaid("dns", "kube", "cluster/services.yaml (kube-system/kube-dns), nodes/<node>/resolv.conf", o.node, "dns.noserver", hp)
		return
	}
	w.add(said(Step{At: "dns", Component: "kube", Decision: ActNameserver, Via: ns.String(), Evidence: ev0}, hp.key, hp.args...))
	p := pkt{proto: "udp", src: netip.AddrPortFrom(o.ip, clientPort), dst: netip.AddrPortFrom(ns, 53)}
	tr.send(w, o, p)
	if w.fail != nil && w.fail.reason == "SVC_NO_ENDPOINTS" {
		// kube-proxy rejects the query with ICMP port unreachable; the
		// resolver retries the next nameserver and attempt, then gives
		// up: "connection timed out; no servers could be reached".
		w.fail.reason, w.fail.symptom = "DNS_SERVICE_UNHEALTHY", "timeout"
	}
	if !w.done() && len(w.branches) == 0 {
		return
	}
	// the name only matters once the query can reach a server
	if resolveErr != nil && w.fail == nil && allDelivered(w) {
		w.delivered = false
		w.stop(Step{At: "dns", Component: "kube", Detail: resolveErr.Error(), Decision: ActNXDOMAIN},
			// the kube DNS check reports the name (DNS_NAME_UNRESOLVABLE)
			outcome{verdict: Rejected, reason: "DNS_NAME_UNRESOLVABLE", symptom: "nxdomain"})
		return
	}
	if resolveErr == nil && w.fail == nil && dst.FQDN != "" {
		w.add(said(Step{At: "dns", Component: "kube", Decision: ActAnswer}, "dns.resolves", dst.FQDN, addrs(dst.IPs)))
	}
}

func allDelivered(w *walk) bool {
	if len(w.branches) == 0 {
		return w.delivered
	}
	for _, b := range w.branches {
		if !allDelivered(b.w) || b.w.fail != nil {
			return false
		}
	}
	return true
}

func addrs(ips []netip.Addr) string {
	if len(ips) == 0 {
		return "no address"
	}
	s := ""
	for i, ip := range ips {
		if i > 0 {
			s += ", "
		}
		s += ip.String()
	}
	return s
}

// nameserver picks the resolver the client asks first.
func (tr *Tracer) nameserver(o origin) (netip.Addr, map[string]any, part) {
	k := &tr.c.Kube
	clusterFirst := o.pod != nil && !o.pod.Spec.HostNetwork && (o.pod.Spec.DNSPolicy == "" || o.pod.Spec.DNSPolicy == corev1.DNSClusterFirst) ||
		o.pod != nil && o.pod.Spec.HostNetwork && o.pod.Spec.DNSPolicy == corev1.DNSClusterFirstWithHostNet ||
		o.pod == nil && o.node != "" && !o.localOut // an address of a pod CIDR
	if clusterFirst {
		for _, key := range [][2]string{{"kube-system", "kube-dns"}, {"kube-system", "coredns"}} {
			if sv := k.Service(key[0], key[1]); sv != nil && len(sv.ClusterIPs) > 0 {
				return sv.ClusterIPs[0], srcEv(sv.Source), part{key: "dns.clusterfirst", args: []any{sv.Key(), sv.ClusterIPs[0]}}
			}
		}
		return netip.Addr{}, nil, part{key: "dns.nosvc"}
	}
	if o.node != "" {
		if n := tr.bundleNode(o.node); n != nil && n.Resolv != nil && len(n.Resolv.Nameservers) > 0 {
			first := n.Resolv.Nameservers[0]
			return first.Addr, ev("file", n.Path(model.FileResolvConf), "line", first.Line), part{key: "dns.node", args: []any{o.node, first.Addr}}
		}
		return netip.Addr{}, nil, part{key: "dns.noresolv", args: []any{o.node}}
	}
	return netip.Addr{}, nil, part{key: "dns.outside"}
}
