package checks

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
)

// "CLB/Ingress 访问不通": a LoadBalancer Service or a qcloud Ingress whose
// status has no address never got its CLB; the TKE service/ingress
// controller says why in a Warning event (EnsureLoadBalancerFailed,
// SyncLoadBalancerFailed, ...).

func init() {
	Register(&driver.Analyzer{
		Name:   "kube-lb",
		Doc:    "LoadBalancer Services without a load balancer address, and the events that say why.",
		Inputs: []driver.Input{driver.Need("cluster/services.yaml"), driver.In("cluster/events.yaml")},
		IDs:    []string{"LB_NOT_PROVISIONED"},
		Run:    guarded(needKube("Service"), runLB),
	})
}

func runLB(p *Pass) {
	c := p.Cluster
	k := &c.Kube
	for _, s := range k.Services {
		if s.Spec.Type != corev1.ServiceTypeLoadBalancer || len(s.Status.LoadBalancer.Ingress) > 0 {
			continue
		}
		reportLB(p, s.Ref(), "Service", s.Namespace, s.Name, at(c, s.Source, "status.loadBalancer: {}", "status"))
	}
	for _, in := range k.Ingresses {
		if !isQcloud(in) || len(in.Status.LoadBalancer.Ingress) > 0 {
			continue
		}
		reportLB(p, in.Ref(), "Ingress", in.Namespace, in.Name, at(c, in.Source, "status.loadBalancer: {}", "status"))
	}
}

func reportLB(p *Pass, ref, kind, ns, name string, ev finding.Evidence) {
	k := &p.Cluster.Kube
	args := finding.Args{"object": ref}
	evs := []finding.Evidence{ev}
	if e := lastWarning(k, kind, ns, name); e != nil {
		m := e.Message
		if len(m) > 300 {
			m = m[:300] + "…"
		}
		args["event"] = e.Reason + ": " + m
		evs = append(evs, e.Evidence(e.Reason))
	}
	p.Report(finding.New("LB_NOT_PROVISIONED", args, []string{ref}, evs...))
}

// lastWarning is the object's last Warning event about its load balancer
// (or any Warning when none names it).
func lastWarning(k *model.Kube, kind, ns, name string) *model.Event {
	evs := k.EventsFor(kind, ns, name)
	var any *model.Event
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		if e.Type != corev1.EventTypeWarning {
			continue
		}
		if strings.Contains(strings.ToLower(e.Reason+e.Message), "loadbalancer") {
			return e
		}
		if any == nil {
			any = e
		}
	}
	return any
}
