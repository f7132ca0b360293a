package netfilter

import (
	"net/netip"
	"strconv"
	"strings"

	"tkesnap/parsers/ipvs"
)

// IPVS is kube-proxy's IPVS mode (or any IPVS director) as a Balancer,
// built from `ipvsadm -Sn` / `-Ln` output (parsers/ipvs).
//
// Every real server of a virtual service is a possible destination of a
// new connection, with the share of its weight (rr/wrr/lc/... all spread
// new connections in proportion to weights over time; which one a given
// packet gets depends on scheduler state the dump does not hold). Weight 0
// means drained: no new connections (kube-proxy sets it for terminating
// endpoints while their connections finish).
//
// Persistent services (-p, kube-proxy sessionAffinity ClientIP): a client
// with a persistence template keeps its real server for the timeout; the
// templates (ipvsadm -Lnc, "NONE" state) are not in the bundle, so for a
// client that already connected the choice is undecidable — Note says so.
type IPVS struct {
	t    *ipvs.Table
	vips []netip.Addr
}

// IPVSFromTable returns t as a Balancer whose virtual addresses are all
// local (kube-proxy binds every ClusterIP, external IP and LoadBalancer
// ingress IP to the dummy interface kube-ipvs0; NodePort services use the
// node's own addresses). nil when t is nil, so Options.Balancer stays a
// true nil interface.
func IPVSFromTable(t *ipvs.Table) Balancer {
	if t == nil {
		return nil
	}
	return NewIPVS(t, nil)
}

// NewIPVS returns t as a Balancer with the given local virtual addresses
// (the addresses of kube-ipvs0 from ip-addr.json). With vips nil every
// virtual service address counts as local, as in IPVSFromTable.
func NewIPVS(t *ipvs.Table, vips []netip.Addr) *IPVS {
	x := &IPVS{t: t, vips: vips}
	if vips == nil {
		seen := map[netip.Addr]bool{}
		for _, s := range t.Services {
			if a := s.Addr.Addr(); s.Proto != ipvs.FWMark && !seen[a] {
				seen[a] = true
				x.vips = append(x.vips, a)
			}
		}
	}
	return x
}

// Table returns the dump the balancer was built from.
func (x *IPVS) Table() *ipvs.Table { return x.t }

// Service finds the virtual service a new connection to dst hits, the way
// ip_vs_service_find does: the exact protocol/address/port, else the
// catch-all port-0 service of that address (persistent "all ports"
// services). Firewall-mark services need the packet's mark and are not
// looked up here.
func (x *IPVS) Service(proto string, dst netip.AddrPort) *ipvs.Service {
	p := ipvs.Proto(strings.ToUpper(proto))
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	if s := x.t.Service(ipvs.Key{Proto: p, Addr: dst}); s != nil {
		return s
	}
	return x.t.Service(ipvs.Key{Proto: p, Addr: netip.AddrPortFrom(dst.Addr(), 0)})
}

// Pick implements Balancer.
func (x *IPVS) Pick(proto string, dst netip.AddrPort) ([]Backend, bool) {
	s := x.Service(proto, dst)
	if s == nil {
		return nil, false
	}
	out := make([]Backend, 0, len(s.Dests))
	for _, d := range s.Dests {
		addr := d.Addr
		if addr.Port() == 0 {
			// a real server without a port keeps the packet's port
			addr = netip.AddrPortFrom(addr.Addr(), dst.Port())
		}
		out = append(out, Backend{Addr: addr, Weight: d.Weight, Forward: forward(d.Forward)})
	}
	return out, true
}

func forward(f ipvs.Forward) string {
	switch f {
	case ipvs.Masq, "":
		return "masq"
	case ipvs.Tunnel:
		return "tunnel"
	default:
		// Route (DR) and Local leave the destination address as it is.
		return "route"
	}
}

// VIPs implements VIPLister.
func (x *IPVS) VIPs() []netip.Addr { return x.vips }

// Note describes what the dump cannot decide about dst's service: the
// persistence of ClientIP session affinity, and drained real servers.
// Empty when there is nothing to add.
func (x *IPVS) Note(proto string, dst netip.AddrPort) string {
	s := x.Service(proto, dst)
	if s == nil {
		return ""
	}
	var notes []string
	if s.Persistent {
		notes = append(notes, "persistent "+strconv.FormatUint(uint64(s.Timeout), 10)+
			"s (sessionAffinity ClientIP): a client that connected within that time keeps its real server; which one is undecidable without the persistence templates (ipvsadm -Lnc)")
	}
	drained := 0
	for _, d := range s.Dests {
		if d.Weight == 0 {
			drained++
		}
	}
	if drained > 0 {
		notes = append(notes, strconv.Itoa(drained)+" real server(s) with weight 0 take no new connections (drained)")
	}
	return strings.Join(notes, "; ")
}
