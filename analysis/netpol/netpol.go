// Package netpol evaluates Kubernetes NetworkPolicy (networking.k8s.io/v1)
// for one connection, with the semantics of the API reference and the
// "Network Policies" concept page:
//
//   - a pod is isolated for ingress (egress) when at least one policy in
//     its namespace selects it (spec.podSelector) and lists Ingress
//     (Egress) in policyTypes; policyTypes defaults to [Ingress], plus
//     Egress when the policy has egress rules;
//   - an isolated pod accepts a connection only if some rule of some
//     policy that selects it allows it (policies are additive, order does
//     not matter); a connection needs both the source's egress and the
//     destination's ingress to allow it;
//   - a rule with no from/to allows every peer, with no ports every port;
//   - a peer is podSelector (pods of the policy's namespace),
//     namespaceSelector (all pods of the selected namespaces), both (the
//     selected pods of the selected namespaces), or ipBlock (cidr minus
//     except);
//   - a port is a number or a named container port of the destination
//     pod, with protocol (default TCP) and optional endPort (a range);
//   - traffic from and to the pod's own node is always allowed, and a pod
//     cannot block traffic to itself;
//   - host-network pods are not subject to policies.
//
// What the bundle cannot decide (namespace labels other than
// kubernetes.io/metadata.name when namespaces were not collected, protocols
// other than TCP/UDP/SCTP) makes the decision Undecided, naming what to
// collect.
package netpol

import (
	"fmt"
	"net/netip"
	"strings"
	"tkesnap/analysis/finding"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"tkesnap/analysis/model"
)

// Peer is one end of a connection: a pod, or an address outside the pod
// network (node, external client). IP is the address the other end sees.
type Peer struct {
	Pod *model.Pod
	IP  netip.Addr
	// Node is the node name when the peer is a node (its host network).
	Node string
}

// PodPeer is a pod with its first IP.
func PodPeer(p *model.Pod) Peer {
	pe := Peer{Pod: p}
	if len(p.IPs) > 0 {
		pe.IP = p.IPs[0]
	}
	return pe
}

func (p Peer) String() string {
	switch {
	case p.Pod != nil:
		return "pod/" + p.Pod.Key()
	case p.Node != "":
		return "node/" + p.Node
	}
	return p.IP.String()
}

// RuleRef names one rule of one policy (Rule is 1-based in spec.ingress or
// spec.egress).
type RuleRef struct {
	Policy *model.NetworkPolicy
	Rule   int
}

// Decision is the outcome of one direction.
type Decision struct {
	Direction string // "ingress" or "egress"
	// Isolated: some policy selects the pod for this direction.
	Isolated bool
	// Isolating lists those policies, in file order.
	Isolating []*model.NetworkPolicy
	Allowed   bool
	// AllowedBy is the first rule that allows the connection.
	AllowedBy *RuleRef
	// Misses says, per rule of the isolating policies, why it does not
	// allow the connection (peer, port, or both): what to change.
	Misses []string
	// Undecided: the bundle cannot tell (Need says what to collect).
	Undecided bool
	Need      string
	Reason    string
	// why is Reason as a phrase, worded in the report's language.
	why finding.Phrase
}

// say sets the reason from the phrase catalog (English in Reason).
func (d *Decision) say(key string, args ...any) {
	d.why = finding.Say(key, args...)
	d.Reason = d.why.In(finding.EN)
}

// Why is the reason as a phrase, for a report in another language.
func (d Decision) Why() finding.Phrase { return d.why }

func init() {
	finding.RegisterPhrases(finding.EN, map[string]string{
		"np.notpod":      "not a pod: no policy applies",
		"np.hostnet":     "host-network pod: policies do not apply",
		"np.noselect":    "no policy selects %[1]s for %[2]s",
		"np.self":        "a pod cannot block traffic to itself",
		"np.ownnode":     "traffic between a pod and its own node is always allowed",
		"np.proto":       "NetworkPolicy covers TCP, UDP and SCTP; %[1]s is up to the plugin",
		"np.allowedby":   "allowed by %[1]s %[2]s rule %[3]d",
		"np.undecided":   "cannot decide: %[1]s",
		"np.isolated":    "%[1]s is isolated for %[2]s by %[3]s and no rule allows %[4]s",
		"np.dir.ingress": "ingress",
		"np.dir.egress":  "egress",
	})
	finding.RegisterPhrases(finding.ZH, map[string]string{
		"np.notpod":      "不是 Pod：不受 NetworkPolicy 约束",
		"np.hostnet":     "使用主机网络的 Pod：NetworkPolicy 不生效",
		"np.noselect":    "没有 NetworkPolicy 在%[2]s方向选中 %[1]s",
		"np.self":        "Pod 无法阻断发往自身的流量",
		"np.ownnode":     "Pod 与其所在节点之间的流量始终放行",
		"np.proto":       "NetworkPolicy 只约束 TCP、UDP 和 SCTP；%[1]s 由网络插件决定",
		"np.allowedby":   "由 %[1]s 的第 %[3]d 条%[2]s规则放行",
		"np.undecided":   "无法判定：%[1]s",
		"np.isolated":    "%[1]s 被 %[3]s 隔离了%[2]s流量，没有规则放行 %[4]s",
		"np.dir.ingress": "入站",
		"np.dir.egress":  "出站",
	})
}

// Result combines the source's egress and the destination's ingress.
type Result struct {
	Egress, Ingress Decision
	Allowed         bool
	Undecided       bool
}

// Evaluate decides whether src may open a connection to dst on proto
// ("tcp", "udp", "sctp") and port (the destination pod's port, i.e. after
// a Service's DNAT).
func Evaluate(k *model.Kube, src, dst Peer, proto string, port int) Result {
	proto = strings.ToUpper(proto)
	if proto == "" {
		proto = "TCP"
	}
	var r Result
	r.Egress = decide(k, "egress", src, dst, proto, port)
	r.Ingress = decide(k, "ingress", dst, src, proto, port)
	r.Undecided = r.Egress.Undecided || r.Ingress.Undecided
	r.Allowed = r.Egress.Allowed && r.Ingress.Allowed
	return r
}

// decide evaluates the policies of self (the pod whose policies apply)
// for a connection with other; dir is "ingress" when self is the
// destination.
func decide(k *model.Kube, dir string, self, other Peer, proto string, port int) Decision {
	d := Decision{Direction: dir, Allowed: true}
	if self.Pod == nil {
		d.say("np.notpod")
		return d
	}
	p := self.Pod
	if p.Spec.HostNetwork {
		d.say("np.hostnet")
		return d
	}
	want := networkingv1.PolicyTypeIngress
	if dir == "egress" {
		want = networkingv1.PolicyTypeEgress
	}
	for _, np := range k.NetworkPoliciesIn(p.Namespace) {
		if !hasType(np, want) {
			continue
		}
		ok, err := selects(&np.Spec.PodSelector, p.Labels)
		if err != nil || !ok {
			continue
		}
		d.Isolating = append(d.Isolating, np)
	}
	if len(d.Isolating) == 0 {
		d.say("np.noselect", p.Key(), finding.Say("np.dir."+dir))
		return d
	}
	d.Isolated = true
	// exceptions from the concept page
	if other.Pod != nil && other.Pod == p {
		d.say("np.self")
		return d
	}
	if onOwnNode(p, other) {
		d.say("np.ownnode")
		return d
	}
	if proto != "TCP" && proto != "UDP" && proto != "SCTP" {
		d.Allowed, d.Undecided = false, true
		d.Need = "the network plugin's documentation"
		d.say("np.proto", proto)
		return d
	}
	var undecided []string
	for _, np := range d.Isolating {
		rules := len(np.Spec.Ingress)
		if dir == "egress" {
			rules = len(np.Spec.Egress)
		}
		for i := 0; i < rules; i++ {
			var peers []networkingv1.NetworkPolicyPeer
			var ports []networkingv1.NetworkPolicyPort
			if dir == "egress" {
				peers, ports = np.Spec.Egress[i].To, np.Spec.Egress[i].Ports
			} else {
				peers, ports = np.Spec.Ingress[i].From, np.Spec.Ingress[i].Ports
			}
			// the named port is the destination pod's
			dstPod := p
			if dir == "egress" {
				dstPod = other.Pod
			}
			portOK := portsMatch(ports, dstPod, proto, port)
			m, why := peersMatch(k, np.Namespace, peers, other)
			switch {
			case portOK && m == yes:
				d.AllowedBy = &RuleRef{Policy: np, Rule: i + 1}
				d.say("np.allowedby", np.Key(), finding.Say("np.dir."+dir), i+1)
				return d
			case portOK && m == unknown:
				undecided = append(undecided, fmt.Sprintf("%s %s rule %d: %s", np.Key(), dir, i+1, why))
			default:
				d.Misses = append(d.Misses, missText(np, dir, i+1, portOK, m, other, proto, port))
			}
		}
	}
	d.Allowed = false
	if len(undecided) > 0 {
		d.Undecided = true
		d.Need = model.KubeFiles["Namespace"]
		d.say("np.undecided", strings.Join(undecided, "; "))
		return d
	}
	var names []string
	for _, np := range d.Isolating {
		names = append(names, np.Key())
	}
	d.say("np.isolated", p.Key(), finding.Say("np.dir."+dir), strings.Join(names, ", "), other.String())
	return d
}

func missText(np *model.NetworkPolicy, dir string, rule int, portOK bool, peer tri, other Peer, proto string, port int) string {
	what := fmt.Sprintf("%s %s rule %d", np.Key(), dir, rule)
	switch {
	case peer == unknown:
		return fmt.Sprintf("%s does not admit port %d/%s (whether it admits %s is undecided)", what, port, proto, other)
	case peer == yes:
		return fmt.Sprintf("%s admits %s but not port %d/%s", what, other, port, proto)
	case portOK:
		return fmt.Sprintf("%s admits port %d/%s but no peer matches %s", what, port, proto, other)
	}
	return fmt.Sprintf("%s matches neither %s nor port %d/%s", what, other, port, proto)
}

func hasType(np *model.NetworkPolicy, t networkingv1.PolicyType) bool {
	if len(np.Spec.PolicyTypes) == 0 {
		// API defaulting (networking/v1 SetDefaults_NetworkPolicy)
		if t == networkingv1.PolicyTypeIngress {
			return true
		}
		return len(np.Spec.Egress) > 0
	}
	for _, x := range np.Spec.PolicyTypes {
		if x == t {
			return true
		}
	}
	return false
}

func selects(sel *metav1.LabelSelector, l map[string]string) (bool, error) {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false, err
	}
	return s.Matches(labels.Set(l)), nil
}

func onOwnNode(p *model.Pod, other Peer) bool {
	if other.Pod != nil {
		// a host-network pod of the same node speaks with the node's IP
		return other.Pod.Spec.HostNetwork && other.Pod.Spec.NodeName == p.Spec.NodeName && p.Spec.NodeName != ""
	}
	if other.Node != "" && other.Node == p.Spec.NodeName {
		return true
	}
	return other.IP.IsValid() && p.HostIP.IsValid() && other.IP == p.HostIP
}

// portsMatch: no ports means all; otherwise any entry matching protocol
// and number (or named port of the destination pod, or the range
// port..endPort).
func portsMatch(ports []networkingv1.NetworkPolicyPort, dst *model.Pod, proto string, port int) bool {
	if len(ports) == 0 {
		return true
	}
	for _, pp := range ports {
		pr := corev1.ProtocolTCP
		if pp.Protocol != nil {
			pr = *pp.Protocol
		}
		if string(pr) != proto {
			continue
		}
		if pp.Port == nil {
			return true // all ports of the protocol
		}
		if pp.Port.Type == intstr.String {
			if dst != nil && namedPort(dst, pp.Port.StrVal, pr) == port {
				return true
			}
			continue
		}
		lo, hi := int(pp.Port.IntVal), int(pp.Port.IntVal)
		if pp.EndPort != nil && int(*pp.EndPort) >= lo {
			hi = int(*pp.EndPort)
		}
		if port >= lo && port <= hi {
			return true
		}
	}
	return false
}

func namedPort(p *model.Pod, name string, proto corev1.Protocol) int {
	for _, ct := range p.Spec.Containers {
		for _, cp := range ct.Ports {
			pr := cp.Protocol
			if pr == "" {
				pr = corev1.ProtocolTCP
			}
			if cp.Name == name && pr == proto {
				return int(cp.ContainerPort)
			}
		}
	}
	return -1
}

type tri int

const (
	no tri = iota
	yes
	unknown
)

// peersMatch: an empty list matches every peer; otherwise any peer.
func peersMatch(k *model.Kube, policyNS string, peers []networkingv1.NetworkPolicyPeer, other Peer) (tri, string) {
	if len(peers) == 0 {
		return yes, ""
	}
	res, why := no, ""
	for _, pe := range peers {
		m, w := peerMatch(k, policyNS, pe, other)
		if m == yes {
			return yes, ""
		}
		if m == unknown {
			res, why = unknown, w
		}
	}
	return res, why
}

func peerMatch(k *model.Kube, policyNS string, pe networkingv1.NetworkPolicyPeer, other Peer) (tri, string) {
	if pe.IPBlock != nil {
		if !other.IP.IsValid() {
			return no, ""
		}
		cidr, err := netip.ParsePrefix(pe.IPBlock.CIDR)
		if err != nil || !cidr.Contains(other.IP) {
			return no, ""
		}
		for _, ex := range pe.IPBlock.Except {
			if e, err := netip.ParsePrefix(ex); err == nil && e.Contains(other.IP) {
				return no, ""
			}
		}
		return yes, ""
	}
	// pod and namespace selectors match pods only (a host-network pod
	// is seen with its node's IP; plugins differ, so it is not matched)
	if other.Pod == nil || other.Pod.Spec.HostNetwork {
		return no, ""
	}
	op := other.Pod
	if pe.NamespaceSelector == nil {
		if op.Namespace != policyNS {
			return no, ""
		}
	} else {
		m, why := nsMatch(k, pe.NamespaceSelector, op.Namespace)
		if m != yes {
			return m, why
		}
	}
	if pe.PodSelector != nil {
		ok, err := selects(pe.PodSelector, op.Labels)
		if err != nil || !ok {
			return no, ""
		}
	}
	return yes, ""
}

const nameLabel = "kubernetes.io/metadata.name"

// nsMatch matches a namespace selector. Without the Namespace object only
// the immutable kubernetes.io/metadata.name label (set by the API server
// since 1.21) is known.
func nsMatch(k *model.Kube, sel *metav1.LabelSelector, ns string) (tri, string) {
	if n := k.Namespace(ns); n != nil {
		l := map[string]string{nameLabel: ns}
		for kk, v := range n.Labels {
			l[kk] = v
		}
		ok, err := selects(sel, l)
		if err != nil || !ok {
			return no, ""
		}
		return yes, ""
	}
	for kk := range sel.MatchLabels {
		if kk != nameLabel {
			return unknown, fmt.Sprintf("namespace %s's labels are not in the bundle (selector needs %s)", ns, kk)
		}
	}
	for _, e := range sel.MatchExpressions {
		if e.Key != nameLabel {
			return unknown, fmt.Sprintf("namespace %s's labels are not in the bundle (selector needs %s)", ns, e.Key)
		}
	}
	ok, err := selects(sel, map[string]string{nameLabel: ns})
	if err != nil || !ok {
		return no, ""
	}
	return yes, ""
}
