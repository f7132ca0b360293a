package checks

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/internal/levenshtein"
)

// Service checks of the guide "Service 访问不通": a selector that selects
// nothing, endpoints that are not ready, a targetPort the pods do not
// serve.

func init() {
	Register(&driver.Analyzer{
		Name: "kube-services",
		Doc:  "Services against their pods and endpoints: no ready endpoints, selector matching no pod, targetPort not served, internalTrafficPolicy Local.",
		Inputs: []driver.Input{driver.Need("cluster/services.yaml"), driver.In("cluster/pods.yaml"),
			driver.In("cluster/endpointslices.yaml"), driver.In("cluster/endpoints.yaml"), driver.In("nodes/*/ss.txt")},
		IDs: []string{"SVC_NO_ENDPOINTS", "SVC_SELECTOR_MATCHES_NO_POD", "SVC_TARGET_PORT_MISMATCH", "SVC_INTERNAL_LOCAL_NO_ENDPOINT"},
		Run: guarded(needKube("Service"), func(p *Pass) {
			runServices(p)
			runLocalPolicy(p)
		}),
	})
}

// runLocalPolicy checks reported pod → Service flows against
// internalTrafficPolicy: Local: only endpoints on the client's node count
// (kube-proxy KUBE-SVL chains; IPVS likewise).
func runLocalPolicy(p *Pass) {
	c := p.Cluster
	if !c.Kube.HasEndpointData() {
		return
	}
	for _, f := range c.Flows {
		from, err := c.Resolve(f.From)
		if err != nil || from.Pod == nil || from.NodeName == "" {
			continue
		}
		to, err := c.ResolveFrom(f.To, from.Pod.Namespace)
		if err != nil || to.Service == nil || to.ServicePort == nil {
			continue
		}
		s := to.Service
		if s.Spec.InternalTrafficPolicy == nil || *s.Spec.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyLocal {
			continue
		}
		local, elsewhere := 0, map[string]bool{}
		for _, b := range to.Backends {
			if !b.Ready {
				continue
			}
			if b.NodeName == from.NodeName {
				local++
			} else if b.NodeName != "" {
				elsewhere[b.NodeName] = true
			}
		}
		if local > 0 {
			continue
		}
		args := finding.Args{"service": s.Key(), "node": from.NodeName, "client": from.Pod.Key()}
		if len(elsewhere) > 0 {
			nodes := make([]string, 0, len(elsewhere))
			for n := range elsewhere {
				nodes = append(nodes, n)
			}
			sort.Strings(nodes)
			args["elsewhere"] = "node " + strings.Join(nodes, ", ")
		}
		p.Report(finding.New("SVC_INTERNAL_LOCAL_NO_ENDPOINT", args, []string{s.Ref(), "node/" + from.NodeName},
			at(c, s.Source, "internalTrafficPolicy: Local", "spec", "internalTrafficPolicy"),
			finding.Evidence{File: "flows.json", Line: c.FlowLine(f), Excerpt: f.From + " → " + f.To}))
	}
}

// at cites the line of a field of an object (model.FieldLine).
func at(c *model.Cluster, src model.Source, excerpt string, path ...string) finding.Evidence {
	return c.FieldLine(src, path...).Evidence(excerpt)
}

// needKube names the cluster/ files a check cannot do without.
func needKube(kinds ...string) func(c *model.Cluster) []finding.Inconclusive {
	return func(c *model.Cluster) []finding.Inconclusive {
		var out []finding.Inconclusive
		for _, k := range kinds {
			if !c.Kube.Has(k) {
				out = append(out, finding.Because(model.KubeFiles[k], "", finding.Say("inc.nokind", k, kubectlGet(k))))
			}
		}
		return out
	}
}

// kubeResources are the kubectl resource names of the kinds the bundle
// holds (kubectl api-resources): plurals are not kind+"s" (ingresses,
// networkpolicies), and configmaps/daemonsets are collected from
// kube-system only.
var kubeResources = map[string]string{
	"Node": "nodes", "Pod": "pods", "Service": "services", "Endpoints": "endpoints",
	"EndpointSlice": "endpointslices", "Ingress": "ingresses", "NetworkPolicy": "networkpolicies",
	"ConfigMap": "configmaps", "DaemonSet": "daemonsets", "Event": "events",
	"Namespace": "namespaces", "IngressClass": "ingressclasses",
}

// kubectlGet is the command that collects kind.
func kubectlGet(kind string) string {
	res, ok := kubeResources[kind]
	if !ok {
		res = strings.ToLower(kind)
	}
	switch kind {
	case "ConfigMap", "DaemonSet":
		return "kubectl get " + res + " -n kube-system -o yaml"
	case "Node", "Namespace", "IngressClass":
		return "kubectl get " + res + " -o yaml"
	}
	return "kubectl get " + res + " -A -o yaml"
}

// flowTargets lists the Services named by reported flows, so selectorless
// Services are checked only when a customer reported traffic to them.
func flowTargets(c *model.Cluster) map[*model.Service]bool {
	out := map[*model.Service]bool{}
	for _, f := range c.Flows {
		// a dns: flow exercises the cluster DNS, not the Service it names
		if strings.HasPrefix(f.To, "dns:") {
			continue
		}
		if e, err := c.Resolve(f.To); err == nil && e.Service != nil {
			out[e.Service] = true
		}
	}
	return out
}

func runServices(p *Pass) {
	c := p.Cluster
	k := &c.Kube
	haveEP := k.HasEndpointData()
	havePods := k.Has("Pod")
	if !haveEP {
		p.Inconclusive(model.KubeFiles["EndpointSlice"], "", finding.Say("inc.svc.noeps"))
	}
	if !havePods {
		p.Inconclusive(model.KubeFiles["Pod"], "", finding.Say("inc.svc.nopods"))
	}
	flowed := flowTargets(c)
	for _, s := range k.Services {
		if s.Spec.Type == corev1.ServiceTypeExternalName {
			continue // a DNS CNAME: no endpoints by design
		}
		selector := len(s.Spec.Selector) > 0
		var pods []*model.Pod
		if selector && havePods {
			pods = k.SelectPods(s.Namespace, s.Spec.Selector)
			if len(pods) == 0 {
				reportSelector(p, s)
				// SVC_NO_ENDPOINTS follows, and is reported too: it is
				// what kube-proxy acts on (REJECT)
				if haveEP {
					checkEndpoints(p, s, nil)
				}
				continue
			}
		}
		if haveEP && (selector || flowed[s]) {
			checkEndpoints(p, s, pods)
		}
		if selector && havePods {
			checkTargetPorts(p, s, pods)
		}
	}
}

func selectorString(sel map[string]string) string {
	keys := make([]string, 0, len(sel))
	for k := range sel {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + sel[k])
	}
	return b.String()
}

func reportSelector(p *Pass, s *model.Service) {
	k := &p.Cluster.Kube
	args := finding.Args{"service": s.Key(), "selector": selectorString(s.Spec.Selector), "namespace": s.Namespace}
	objs := []string{s.Ref()}
	ev := []finding.Evidence{at(p.Cluster, s.Source, "selector: "+args["selector"], "spec", "selector")}
	// Hint: a pod of the namespace that carries the selector's keys with
	// other values is usually the one meant (app=web vs app=web-v2).
	if ps := k.PodsInNamespace(s.Namespace); len(ps) <= 20000 {
		for _, pod := range ps {
			diff, ok := labelDiff(pod.Labels, s.Spec.Selector)
			if ok {
				args["near"] = pod.Key()
				args["differs"] = diff
				objs = append(objs, pod.Ref())
				ev = append(ev, at(p.Cluster, pod.Source, "labels: "+selectorString(pod.Labels), "metadata", "labels"))
				break
			}
		}
	}
	p.Report(finding.New("SVC_SELECTOR_MATCHES_NO_POD", args, objs, ev...))
}

// labelDiff says how labels miss sel when every selector key is present
// and exactly one value differs by a likely typo or version suffix
// (web vs web-v2, api vs apl): an unrelated app=client is no hint.
func labelDiff(labels, sel map[string]string) (string, bool) {
	var diff []string
	for k, v := range sel {
		lv, ok := labels[k]
		if !ok {
			return "", false
		}
		if lv != v {
			if !similar(lv, v) {
				return "", false
			}
			diff = append(diff, fmt.Sprintf("%s=%s (selector wants %s)", k, lv, v))
		}
	}
	if len(diff) != 1 {
		return "", false
	}
	return diff[0], true
}

// similar: one is a prefix of the other, or they are at most two edits
// apart (and long enough for that to mean something).
func similar(a, b string) bool {
	if strings.HasPrefix(a, b) || strings.HasPrefix(b, a) {
		return true
	}
	if len(a) < 4 || len(b) < 4 {
		return false
	}
	return levenshtein.Distance(a, b) <= 2
}

func checkEndpoints(p *Pass, s *model.Service, pods []*model.Pod) {
	k := &p.Cluster.Kube
	bs := k.Backends(s)
	notReady := map[string]bool{}
	for _, b := range bs {
		if b.Ready {
			return
		}
		notReady[b.IP.String()] = true
	}
	args := finding.Args{"service": s.Key()}
	objs := []string{s.Ref()}
	ev := []finding.Evidence{s.Evidence("")}
	if sl := k.SlicesOf(s); len(sl) > 0 {
		for _, es := range sl {
			ev = append(ev, at(p.Cluster, es.Source, "endpointslice "+es.Name, "endpoints"))
		}
	} else if e := k.EndpointsOf(s); e != nil {
		ev = append(ev, at(p.Cluster, e.Source, "endpoints "+e.Name, "subsets"))
	}
	// why the selected pods are not endpoints: not ready, and the reason
	var why []string
	nr := 0
	for _, pod := range pods {
		if pod.Ready {
			continue
		}
		nr++
		if len(why) < 3 {
			why = append(why, pod.Name+" "+podNotReadyReason(k, pod))
			objs = append(objs, pod.Ref())
			ev = append(ev, at(p.Cluster, pod.Source, "pod "+pod.Name+": "+podNotReadyReason(k, pod), "status", "conditions"))
		}
	}
	if nr == 0 {
		nr = len(notReady)
	}
	if nr > 0 {
		args["notready"] = strconv.Itoa(nr)
	}
	if len(why) > 0 {
		args["pods"] = strings.Join(why, "; ")
	}
	p.Report(finding.New("SVC_NO_ENDPOINTS", args, objs, ev...))
}

// notReady is why a pod is not ready, as data: the first container
// that is waiting, terminated or not ready (with its state reason:
// CrashLoopBackOff, OOMKilled, ...), else the pod phase; and the last
// readiness-probe event.
type notReady struct {
	container, state, phase, probe string
}

func podNotReady(k *model.Kube, p *model.Pod) notReady {
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return notReady{container: cs.Name, state: w.Reason}
		}
		if t := cs.State.Terminated; t != nil && t.Reason != "" {
			return notReady{container: cs.Name, state: t.Reason}
		}
		if !cs.Ready {
			return notReady{container: cs.Name, probe: probeEvent(k, p)}
		}
	}
	if p.Status.Phase != "" && p.Status.Phase != corev1.PodRunning {
		return notReady{phase: string(p.Status.Phase)}
	}
	return notReady{probe: probeEvent(k, p)}
}

// args adds the reason as pod_container, pod_state, pod_phase, pod_probe.
func (n notReady) args(a finding.Args) {
	for k, v := range map[string]string{"pod_container": n.container, "pod_state": n.state, "pod_phase": n.phase, "pod_probe": n.probe} {
		if v != "" {
			a[k] = v
		}
	}
}

// podNotReadyReason is the status detail a support engineer looks at
// first, for evidence excerpts: phase, then a waiting/terminated
// container reason.
func podNotReadyReason(k *model.Kube, p *model.Pod) string {
	n := podNotReady(k, p)
	probe := ""
	if n.probe != "" {
		probe = " (" + n.probe + ")"
	}
	switch {
	case n.container != "" && n.state != "":
		return "container " + n.container + " " + n.state
	case n.container != "":
		return "container " + n.container + " not ready" + probe
	case n.phase != "":
		return "phase " + n.phase
	}
	return "not Ready" + probe
}

// probeEvent quotes the last "Unhealthy" warning event of the pod (the
// kubelet's "Readiness probe failed: ..."), when events were collected.
func probeEvent(k *model.Kube, p *model.Pod) string {
	evs := k.EventsFor("Pod", p.Namespace, p.Name)
	for i := len(evs) - 1; i >= 0; i-- {
		if e := evs[i]; e.Reason == "Unhealthy" || strings.Contains(e.Message, "probe failed") {
			m := e.Message
			if len(m) > 160 {
				m = m[:160] + "…"
			}
			return m
		}
	}
	// No event collected: a running container is unready only while its
	// readinessProbe fails; name the field (an API term, not prose).
	return "readinessProbe"
}

// checkTargetPorts compares each Service port's targetPort with the
// selected pods. A named targetPort must name a containerPort of the
// same protocol, or the endpoint controller leaves the pod out
// (podutil.FindPort). A numeric one need not be declared, so it is only
// flagged when the pod declares ports of that protocol and none is it, or
// when the pod is host-network and the node's sockets (ss.txt) show
// nothing listening.
func checkTargetPorts(p *Pass, s *model.Service, pods []*model.Pod) {
	for pi, sp := range s.Spec.Ports {
		proto := sp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		tp := sp.TargetPort
		if tp.Type == intstr.Int && tp.IntVal == 0 {
			tp = intstr.FromInt32(sp.Port) // defaulted to port
		}
		var bad *model.Pod
		var why, suggest string
		count := 0
		for _, pod := range pods {
			w, sug := portProblem(p.Cluster, pod, tp, proto)
			if w == "" {
				continue
			}
			count++
			if bad == nil {
				bad, why, suggest = pod, w, sug
			}
		}
		if bad == nil {
			continue
		}
		args := finding.Args{"service": s.Key(), "port": portString(sp), "targetPort": tp.String(),
			"pod": bad.Key(), "problem": why, "proto": string(proto), "declared": declaredPorts(bad), "node": bad.Spec.NodeName,
			"suggest": suggest, "pods": strconv.Itoa(count), "selected": strconv.Itoa(len(pods))}
		p.Report(finding.New("SVC_TARGET_PORT_MISMATCH", args, []string{s.Ref(), bad.Ref()},
			at(p.Cluster, s.Source, fmt.Sprintf("port %s targetPort %s", portString(sp), tp.String()), "spec", "ports", strconv.Itoa(pi), "targetPort"),
			at(p.Cluster, bad.Source, "containers' ports: "+declaredPorts(bad), "spec", "containers")))
	}
}

func portString(sp corev1.ServicePort) string {
	proto := sp.Protocol
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	if sp.Name != "" {
		return fmt.Sprintf("%s(%d/%s)", sp.Name, sp.Port, proto)
	}
	return fmt.Sprintf("%d/%s", sp.Port, proto)
}

func declaredPorts(pod *model.Pod) string {
	var out []string
	for _, ct := range pod.Spec.Containers {
		for _, cp := range ct.Ports {
			proto := cp.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			s := fmt.Sprintf("%d/%s", cp.ContainerPort, proto)
			if cp.Name != "" {
				s = cp.Name + "=" + s
			}
			out = append(out, ct.Name+" "+s)
		}
	}
	if len(out) == 0 {
		return "none declared"
	}
	return strings.Join(out, ", ")
}

// portProblem says why pod does not serve target, as a code the
// templates word (empty when it does or when the bundle cannot tell):
// "noname" (no container port of that name), "hostnet" (host-network pod,
// nothing listens on the node), "undeclared" (the pod declares other
// ports of that protocol); and suggests the port it probably meant.
func portProblem(c *model.Cluster, pod *model.Pod, target intstr.IntOrString, proto corev1.Protocol) (problem, suggest string) {
	var same []corev1.ContainerPort
	for _, ct := range pod.Spec.Containers {
		for _, cp := range ct.Ports {
			pp := cp.Protocol
			if pp == "" {
				pp = corev1.ProtocolTCP
			}
			if pp != proto {
				continue
			}
			if target.Type == intstr.String && cp.Name == target.StrVal {
				return "", ""
			}
			if target.Type == intstr.Int && cp.ContainerPort == target.IntVal {
				return "", ""
			}
			same = append(same, cp)
		}
	}
	if len(same) == 1 {
		if target.Type == intstr.String && same[0].Name != "" {
			suggest = same[0].Name
		} else {
			suggest = strconv.Itoa(int(same[0].ContainerPort))
		}
	}
	if target.Type == intstr.String {
		return "noname", suggest
	}
	if pod.Spec.HostNetwork {
		if l, ok := c.ListeningOn(pod.Spec.NodeName, pod.HostIP, int(target.IntVal), string(proto)); ok {
			if l {
				return "", ""
			}
			return "hostnet", suggest
		}
	}
	if len(same) > 0 {
		return "undeclared", suggest
	}
	return "", ""
}
