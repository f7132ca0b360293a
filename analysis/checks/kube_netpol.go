package checks

import (
	"fmt"
	"strconv"
	"strings"

	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/netpol"
)

// "Pod 访问不通: NetworkPolicy": for each reported flow between pods (a
// Service destination is evaluated per backend pod, after DNAT, as the
// plugins do), does a policy isolate either end without a rule that
// allows the flow?

func init() {
	Register(&driver.Analyzer{
		Name:   "kube-netpol",
		Doc:    "NetworkPolicies that isolate a flow's destination pod with no rule allowing the flow.",
		Inputs: []driver.Input{driver.Need("cluster/pods.yaml"), driver.In("cluster/networkpolicies.yaml"), driver.In("cluster/namespaces.yaml"), driver.In("cluster/services.yaml")},
		IDs:    []string{"NETPOL_DENIES_FLOW"},
		Run:    guarded(needKube("Pod"), runNetpol),
	})
}

// flowEnd is a resolved flow endpoint as NetworkPolicy sees it.
type flowEnd struct {
	peer netpol.Peer
	port int
}

func sourcePeer(c *model.Cluster, e model.Endpoint) (netpol.Peer, bool) {
	switch {
	case e.Pod != nil:
		return netpol.PodPeer(e.Pod), true
	case e.Kind == "node" && len(e.IPs) > 0:
		return netpol.Peer{Node: e.NodeName, IP: e.IPs[0]}, true
	case e.Kind == "ip" && len(e.IPs) > 0:
		return netpol.Peer{IP: e.IPs[0]}, true
	}
	return netpol.Peer{}, false
}

// destinations lists the pods (or addresses) a destination endpoint
// reaches, with the port on that pod.
func destinations(c *model.Cluster, e model.Endpoint) []flowEnd {
	k := &c.Kube
	switch {
	case e.Service != nil && e.ServicePort != nil:
		var out []flowEnd
		for _, b := range e.Backends {
			if b.Pod == "" {
				continue
			}
			ns, name, _ := strings.Cut(b.Pod, "/")
			if p := k.Pod(ns, name); p != nil {
				out = append(out, flowEnd{netpol.PodPeer(p), int(b.Port)})
			}
		}
		return out
	case e.Pod != nil:
		port := e.Port
		if port == 0 {
			// a pod with one declared port: that one
			var ports []int
			for _, ct := range e.Pod.Spec.Containers {
				for _, cp := range ct.Ports {
					ports = append(ports, int(cp.ContainerPort))
				}
			}
			if len(ports) == 1 {
				port = ports[0]
			}
		}
		return []flowEnd{{netpol.PodPeer(e.Pod), port}}
	case e.Kind == "ip" && len(e.IPs) > 0:
		return []flowEnd{{netpol.Peer{IP: e.IPs[0]}, e.Port}}
	}
	return nil
}

func runNetpol(p *Pass) {
	c := p.Cluster
	k := &c.Kube
	if !k.Has("NetworkPolicy") {
		if len(c.Flows) > 0 {
			p.Inconclusive(model.KubeFiles["NetworkPolicy"], "", finding.Say("inc.np.none"))
		}
		return
	}
	if len(k.NetworkPolicies) == 0 {
		return
	}
	for _, f := range c.Flows {
		from, err := c.Resolve(f.From)
		if err != nil {
			continue
		}
		ns := "default"
		if from.Pod != nil {
			ns = from.Pod.Namespace
		}
		toSpec := f.To
		if name, ok := strings.CutPrefix(f.To, "dns:"); ok && !strings.Contains(name, ":") {
			// a name lookup: the packets that matter go to the cluster
			// DNS (egress default-deny without a DNS rule is the classic)
			dns := DNSService(&c.Kube)
			if dns == nil {
				continue
			}
			toSpec = ""
			for _, sp := range dns.Spec.Ports {
				if sp.Port == 53 && (sp.Protocol == "UDP") == (f.Proto != "tcp") && sp.Name != "" {
					toSpec = "svc:" + dns.Key() + ":" + sp.Name
				}
			}
			if toSpec == "" {
				continue
			}
		}
		to, err := c.ResolveFrom(toSpec, ns)
		if err != nil {
			continue
		}
		src, ok := sourcePeer(c, from)
		if !ok {
			continue
		}
		proto := f.Proto
		if proto == "" {
			proto = strings.ToLower(to.Protocol)
		}
		if proto == "" {
			proto = "tcp"
		}
		dsts := destinations(c, to)
		var denied []netpol.Result
		var deniedTo []flowEnd
		for _, d := range dsts {
			if d.port == 0 {
				p.Inconclusive("flows.json", "", finding.Say("inc.np.noport", f.From, f.To))
				break
			}
			r := netpol.Evaluate(k, src, d.peer, proto, d.port)
			if r.Allowed {
				continue
			}
			if r.Undecided {
				for _, dd := range []netpol.Decision{r.Egress, r.Ingress} {
					if dd.Undecided {
						p.Inconclusive(dd.Need, "", finding.Say("inc.flow", f.From, f.To, dd.Why()))
					}
				}
				continue
			}
			denied = append(denied, r)
			deniedTo = append(deniedTo, d)
		}
		if len(denied) == 0 {
			continue
		}
		// one finding per flow: the first denied backend explains it
		r, d := denied[0], deniedTo[0]
		dec := r.Ingress
		isolated := d.peer
		if !r.Egress.Allowed {
			dec, isolated = r.Egress, src
		}
		var names, objs []string
		var ev []finding.Evidence
		for _, np := range dec.Isolating {
			names = append(names, np.Key())
			objs = append(objs, np.Ref())
			ev = append(ev, at(c, np.Source, fmt.Sprintf("%s policy selecting %s", dec.Direction, isolated), "spec", "podSelector"))
		}
		flowText := fmt.Sprintf("%s → %s", src, d.peer)
		if to.Service != nil {
			flowText = fmt.Sprintf("%s → %s (backend %s)", src, to.Service.Ref(), d.peer)
		}
		flowText += fmt.Sprintf(" %d/%s", d.port, strings.ToUpper(proto))
		args := finding.Args{
			"direction": strings.ToUpper(dec.Direction[:1]) + dec.Direction[1:],
			"flow":      flowText,
			"pod":       strings.TrimPrefix(isolated.String(), "pod/"),
			"policies":  strings.Join(names, ", "),
			"denied":    fmt.Sprintf("%d of %d", len(denied), len(dsts)),
		}
		// the remedy's policy: the other end, the port and protocol
		other := d.peer
		if isolated == d.peer {
			other = src
		}
		if other.Pod != nil {
			args["peer_pod"] = other.Pod.Key()
		}
		args["port"], args["proto"] = strconv.Itoa(d.port), strings.ToUpper(proto)
		if len(dec.Misses) > 0 {
			args["why"] = strings.Join(dec.Misses, "; ")
		} else {
			args["why"] = "the isolating policies have no " + dec.Direction + " rule at all"
		}
		ev = append(ev, finding.Evidence{File: "flows.json", Line: c.FlowLine(f), Excerpt: f.From + " → " + f.To})
		p.Report(finding.New("NETPOL_DENIES_FLOW", args, append([]string{isolated.String()}, objs...), ev...))
	}
}
