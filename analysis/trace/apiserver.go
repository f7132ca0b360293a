package trace

import (
	"net/netip"
	"strings"

	"tkesnap/analysis/model"
	"tkesnap/analysis/sg"
	"tkesnap/parsers/tencent"
)

// apiEndpoint says whether ip is one of the cluster's API server
// endpoints (cluster-endpoints.json), "public" or "intranet".
func (tr *Tracer) apiEndpoint(ip netip.Addr) string {
	ep := tr.c.Cloud.Endpoints
	if ep == nil {
		return ""
	}
	switch ip.String() {
	case endpointHost(ep.ClusterExternalEndpoint):
		return "public"
	case endpointHost(ep.ClusterIntranetEndpoint):
		return "intranet"
	}
	return ""
}

// endpointHost strips a scheme and port: the API returns "1.2.3.4" or
// "https://1.2.3.4:443".
func endpointHost(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	s = strings.TrimSuffix(s, "/")
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().String()
	}
	return s
}

// apiserver traces kubectl to an API server endpoint. The guide's two
// sections differ by cluster type: in a managed cluster Tencent runs the
// masters and the endpoint's access sources (ClusterExternalACL for the
// public endpoint) and the SG bound to the endpoint decide; in an
// independent cluster the endpoint forwards to the customer's masters,
// whose SGs must accept the traffic — from the intranet access subnet
// (the endpoint's CLB sits there) or the client itself for public access.
func (tr *Tracer) apiserver(w *walk, o origin, p pkt, which string) {
	c := tr.c
	cl := &c.Cloud
	ep := cl.Endpoints
	at := "apiserver/" + which
	if p.dst.Port() == 0 {
		p.dst = netip.AddrPortFrom(p.dst.Addr(), 443)
	}
	if cl.Cluster == nil {
		w.needSaid(at, "kube", "cloud/clusters.json (tke DescribeClusters)", "", "api.needtype")
		return
	}
	client := p.src.Addr()
	if cl.Cluster.Managed() {
		w.add(said(Step{At: at, Component: "kube", Before: p.String(), Evidence: ev("file", ep.At.File, "line", ep.At.Line)},
			"api.managed", part{key: "ep." + which}, p.dst.Addr(), cl.Cluster.ClusterId))
		acl := append(append([]string(nil), ep.ClusterExternalACL...), ep.SecurityPolicy...)
		if which == "public" && len(ep.ExternalACL)+len(ep.SecurityPol) > 0 && !inAny(ep.ExternalACL, client) && !inAny(ep.SecurityPol, client) {
			w.stop(said(Step{At: at, Component: "security-group", Before: p.String(), Decision: ActDrop,
				Evidence: ev("file", ep.At.File, "line", ep.ACLLine)}, "api.acl", strings.Join(acl, ", "), client),
				outcome{verdict: Dropped, reason: "SG_APISERVER_SOURCE_BLOCKED"})
			return
		}
		if ep.SecurityGroup == "" {
			w.add(said(Step{At: at, Component: "security-group", Decision: ActAccept}, "api.nosg"))
			w.delivered = true
			return
		}
		d := sg.Evaluate(cl, []string{ep.SecurityGroup}, sg.Flow{Dir: model.DirIngress, Proto: p.proto, Src: client, Dst: p.dst.Addr(), Port: int(p.dst.Port())})
		s := said(Step{At: ep.SecurityGroup, Component: "security-group", Before: p.String(), Decision: Action(d.Action),
			Evidence: sgEv(d)}, "api.sg", d)
		switch d.Action {
		case sg.Drop:
			w.stop(s, outcome{verdict: Dropped, reason: "SG_APISERVER_SOURCE_BLOCKED"})
		case sg.Undecided:
			w.needPart(at, "security-group", part{key: "api.sg", args: []any{d}}, firstNeedFile(d), "")
		default:
			w.add(s)
			w.delivered = true
		}
		return
	}
	// independent: to every master
	var masters []*model.Instance
	for _, ci := range cl.ClusterInstances {
		if strings.Contains(strings.ToUpper(ci.InstanceRole), "MASTER") && ci.Instance != nil && len(ci.Instance.IPs) > 0 {
			masters = append(masters, ci.Instance)
		}
	}
	if len(masters) == 0 {
		w.needSaid(at, "kube", "cloud/cluster-instances.json, cloud/instances.json", "", "api.nomasters")
		return
	}
	src := client
	how := part{key: "api.how.client"}
	if which == "intranet" {
		// the intranet endpoint is a CLB in the access subnet: the
		// masters see traffic from that subnet
		src, how = p.dst.Addr(), part{key: "api.how.subnet"}
	}
	w.add(said(Step{At: at, Component: "kube", Before: p.String(), Evidence: ev("file", ep.At.File, "line", ep.At.Line)},
		"api.indep", part{key: "ep." + which}, p.dst.Addr(), cl.Cluster.ClusterId, len(masters), how))
	port, portNeed := c.APIServerPort()
	for _, m := range masters {
		b := w.fork("to.master", m.InstanceId, m.IPs[0])
		mp := pkt{proto: p.proto, src: netip.AddrPortFrom(src, p.src.Port()), dst: netip.AddrPortFrom(m.IPs[0], uint16(port))}
		var d sg.Decision
		if portNeed == "" {
			d = sg.Evaluate(cl, m.SGs(), sg.Flow{Dir: model.DirIngress, Proto: p.proto, Src: src, Dst: m.IPs[0], Port: port})
		} else {
			// the API port is not in the bundle: only an SG that
			// admits the source on no TCP port decides the hop
			rs := sg.EvaluateRange(cl, m.SGs(), sg.Query{Dir: model.DirIngress, Proto: p.proto,
				Peer: tencent.AddrRange{From: src, To: src}, Ports: tencent.PortRange{From: 1, To: 65535}})
			acc, und, drop := sg.First(rs, sg.Accept), sg.First(rs, sg.Undecided), sg.First(rs, sg.Drop)
			switch {
			case acc != nil && und == nil && drop == nil:
				d = acc.Decision // every port admitted
			case drop != nil && acc == nil && und == nil:
				d = drop.Decision // no port admitted
			default:
				b.needSaid(m.InstanceId, "security-group", portNeed, "", "api.portunknown", m.InstanceId, src)
				continue
			}
		}
		sAt := m.InstanceId
		if d.SG != "" {
			sAt = d.SG // an SG hop is named by the SG that decides it
		}
		s := said(Step{At: sAt, Component: "security-group", Before: mp.String(), Decision: Action(d.Action),
			Evidence: sgEv(d)}, "api.master", m.InstanceId, d)
		switch d.Action {
		case sg.Drop:
			b.stop(s, outcome{verdict: Dropped, reason: "SG_MASTER_SUBNET_BLOCKED"})
		case sg.Undecided:
			b.need(sAt, "security-group", s.Detail, firstNeedFile(d), "")
		default:
			b.add(s)
			b.delivered = true
		}
	}
}

func inAny(rs []tencent.AddrRange, ip netip.Addr) bool {
	for _, r := range rs {
		if r.Contains(ip) {
			return true
		}
	}
	return false
}

func firstNeedFile(d sg.Decision) string {
	if len(d.Needs) > 0 {
		return d.Needs[0].File
	}
	return ""
}
