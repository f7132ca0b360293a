package checks

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"tkesnap/analysis/capture"
	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/ingress"
	"tkesnap/analysis/model"
)

// Ingress checks: "Ingress 返回 404" (no rule for the request) and
// "返回 503/504" (a backend Service or port that does not exist, or that
// the TKE CLB ingress cannot reach).

func init() {
	Register(&driver.Analyzer{
		Name:     "kube-ingress",
		Requires: []*driver.Analyzer{capture.Analyzer},
		Doc:      "Ingress rules against the host/path flows ask for, and their backend Services and ports.",
		Inputs:   []driver.Input{driver.Need("cluster/ingresses.yaml"), driver.In("cluster/services.yaml")},
		IDs:      []string{"INGRESS_NO_MATCHING_RULE", "INGRESS_BACKEND_MISSING"},
		Run:      guarded(needKube("Ingress"), runIngress),
	})
}

func runIngress(p *Pass) {
	c := p.Cluster
	k := &c.Kube
	if !k.Has("Service") {
		p.Inconclusive(model.KubeFiles["Service"], "", finding.Say("inc.ing.nosvc"))
	} else {
		for _, in := range k.Ingresses {
			checkBackends(p, in)
		}
	}
	capture404s(p)
	for _, f := range c.Flows {
		e, err := c.Resolve(f.To)
		if err != nil || e.Ingress == nil {
			continue
		}
		host, path := f.Host, f.Path
		if path == "" {
			path = e.Path
		}
		if path == "" && host == "" {
			if f.Symptom == "http-404" {
				p.Inconclusive("flows.json", "", finding.Say("inc.ing.nohost", f.To))
			}
			continue
		}
		if path == "" {
			path = "/"
		}
		if m := ingress.Route(e.Ingress.Ingress, host, path); m.Rule == nil && m.Default == nil {
			p.Report(finding.New("INGRESS_NO_MATCHING_RULE", finding.Args{
				"host": orDash(host), "path": path, "ingress": e.Ingress.Key(), "rules": ingressRules(e.Ingress.Ingress),
			}, []string{e.Ingress.Ref()}, at(c, e.Ingress.Source, "rules: "+ingressRules(e.Ingress.Ingress), "spec", "rules"),
				finding.Evidence{File: "flows.json", Line: c.FlowLine(f), Excerpt: fmt.Sprintf("%s → %s host %s path %s", f.From, f.To, host, path)}))
		}
	}
}

// capture404s checks HTTP 404 answers seen in captures from an Ingress's
// load-balancer address: the request's Host and path are routed through
// that Ingress.
func capture404s(p *Pass) {
	c := p.Cluster
	byIP := map[netip.Addr][]*model.Ingress{}
	for _, in := range c.Kube.Ingresses {
		for _, lb := range in.Status.LoadBalancer.Ingress {
			if ip, err := netip.ParseAddr(lb.IP); err == nil {
				byIP[ip] = append(byIP[ip], in)
			}
		}
	}
	if len(byIP) == 0 {
		return
	}
	seen := map[string]bool{}
	for _, cp := range c.Captures {
		if cp.Result == nil {
			continue
		}
		for _, h := range cp.Result.HTTPErrors {
			if h.Status != 404 {
				continue
			}
			path, _, _ := strings.Cut(h.URI, "?")
			if path == "" || path[0] != '/' {
				continue // absolute-form or garbage: not an Ingress request
			}
			for _, in := range byIP[h.Server.Addr()] {
				key := in.Key() + "|" + h.Host // one finding per Ingress and Host
				if seen[key] {
					continue
				}
				if m := ingress.Route(in.Ingress, h.Host, path); m.Rule != nil || m.Default != nil {
					continue // routed: the 404 comes from the backend
				}
				seen[key] = true
				ev := []finding.Evidence{at(c, in.Source, "rules: "+ingressRules(in.Ingress), "spec", "rules")}
				pkt := 0
				if len(h.Packets) > 0 {
					pkt = h.Packets[0]
				}
				ev = append(ev, finding.Evidence{File: cp.File, Packet: pkt, Excerpt: fmt.Sprintf("%s %s Host: %s -> %d", h.Method, h.URI, h.Host, h.Status)})
				p.Report(finding.New("INGRESS_NO_MATCHING_RULE", finding.Args{
					"host": orDash(h.Host), "path": path, "ingress": in.Key(), "rules": ingressRules(in.Ingress), "seen": cp.File,
				}, []string{in.Ref()}, ev...))
			}
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func ingressRules(in *networkingv1.Ingress) string {
	var out []string
	for _, r := range in.Spec.Rules {
		h := r.Host
		if h == "" {
			h = "*"
		}
		if r.HTTP == nil {
			out = append(out, h)
			continue
		}
		for _, p := range r.HTTP.Paths {
			pt := "ImplementationSpecific"
			if p.PathType != nil {
				pt = string(*p.PathType)
			}
			out = append(out, fmt.Sprintf("%s%s (%s)", h, p.Path, pt))
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// isQcloud tells whether TKE's CLB ingress controller serves the Ingress.
func isQcloud(in *model.Ingress) bool {
	if in.Annotations["kubernetes.io/ingress.class"] == "qcloud" {
		return true
	}
	return in.Spec.IngressClassName != nil && *in.Spec.IngressClassName == "qcloud"
}

func checkBackends(p *Pass, in *model.Ingress) {
	k := &p.Cluster.Kube
	type be struct {
		rule string
		b    *networkingv1.IngressBackend
		path []string // of the backend in the object
	}
	var all []be
	if in.Spec.DefaultBackend != nil {
		all = append(all, be{"defaultBackend", in.Spec.DefaultBackend, []string{"spec", "defaultBackend"}})
	}
	for ri, r := range in.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for i := range r.HTTP.Paths {
			h := r.Host
			if h == "" {
				h = "*"
			}
			all = append(all, be{h + r.HTTP.Paths[i].Path, &r.HTTP.Paths[i].Backend,
				[]string{"spec", "rules", strconv.Itoa(ri), "http", "paths", strconv.Itoa(i), "backend"}})
		}
	}
	direct := in.DirectAccess()
	seen := map[string]bool{}
	for _, x := range all {
		sb := x.b.Service
		if sb == nil {
			continue // a Resource backend: not a Service
		}
		port := sb.Port.Name
		if port == "" {
			port = fmt.Sprint(sb.Port.Number)
		}
		backend := "svc/" + model.Key(in.Namespace, sb.Name) + ":" + port
		if seen[backend] {
			continue
		}
		seen[backend] = true
		args := finding.Args{"ingress": in.Key(), "rule": x.rule, "backend": backend}
		s := k.Service(in.Namespace, sb.Name)
		if s == nil {
			args["problem"], args["namespace"] = "noservice", in.Namespace
			p.Report(finding.New("INGRESS_BACKEND_MISSING", args, []string{in.Ref(), "svc/" + model.Key(in.Namespace, sb.Name)},
				at(p.Cluster, in.Source, x.rule+" -> "+backend, x.path...)))
			continue
		}
		var sp *corev1.ServicePort
		for i, q := range s.Spec.Ports {
			if (sb.Port.Name != "" && q.Name == sb.Port.Name) || (sb.Port.Name == "" && q.Port == sb.Port.Number) {
				sp = &s.Spec.Ports[i]
			}
		}
		if sp == nil {
			var have []string
			for _, q := range s.Spec.Ports {
				have = append(have, portString(q))
			}
			args["problem"], args["port"], args["ports"] = "noport", port, strings.Join(have, ", ")
			p.Report(finding.New("INGRESS_BACKEND_MISSING", args, []string{in.Ref(), s.Ref()},
				at(p.Cluster, in.Source, x.rule+" -> "+backend, x.path...), at(p.Cluster, s.Source, "ports", "spec", "ports")))
			continue
		}
		// TKE's CLB ingress forwards to NodePorts unless direct access
		// to pods (VPC-CNI) is enabled; a ClusterIP Service has none.
		if isQcloud(in) && !direct && s.Spec.Type == corev1.ServiceTypeClusterIP {
			args["problem"] = "clusterip"
			p.Report(finding.New("INGRESS_BACKEND_MISSING", args, []string{in.Ref(), s.Ref()},
				at(p.Cluster, in.Source, x.rule+" -> "+backend, x.path...), at(p.Cluster, s.Source, "type: ClusterIP", "spec", "type")))
		}
	}
}
