package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

type svcDef struct {
	NS, Name, Type, ClusterIP string
	Selector                  map[string]string
	Ports                     []corev1.ServicePort
	Annotations               map[string]string
}

func services(s Scenario) []svcDef {
	webTarget := intstr.FromInt32(8080)
	if s.has(fTargetPort) {
		webTarget = intstr.FromInt32(8081)
	}
	out := []svcDef{
		{NS: "default", Name: "web", Type: "NodePort", ClusterIP: WebIP, Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: "TCP", TargetPort: webTarget, NodePort: 30080}}},
		{NS: "default", Name: "web-lb", Type: "LoadBalancer", ClusterIP: WebLBIP, Selector: map[string]string{"app": "web"},
			Ports:       []corev1.ServicePort{{Name: "https", Port: 443, Protocol: "TCP", TargetPort: intstr.FromInt32(8080), NodePort: 30443}},
			Annotations: map[string]string{"service.kubernetes.io/loadbalance-id": CLBID, "service.kubernetes.io/qcloud-loadbalancer-internal-subnetid": SubnetID}},
		{NS: "kube-system", Name: "kube-dns", Type: "ClusterIP", ClusterIP: DNSIP, Selector: map[string]string{"k8s-app": "kube-dns"},
			Ports: []corev1.ServicePort{{Name: "dns", Port: 53, Protocol: "UDP", TargetPort: intstr.FromInt32(53)},
				{Name: "dns-tcp", Port: 53, Protocol: "TCP", TargetPort: intstr.FromInt32(53)}}},
	}
	if s.has(fNoEndpoints) {
		out = append(out, svcDef{NS: "default", Name: "api", Type: "ClusterIP", ClusterIP: APIIP, Selector: map[string]string{"app": "api"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: "TCP", TargetPort: intstr.FromInt32(8080)}}})
	}
	return out
}

func matches(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// targetPort resolves a Service port against a pod the way the endpoints
// controller does: a number is used as is, a name is looked up in the
// pod's container ports.
func targetPort(p corev1.ServicePort, po pod) (int32, bool) {
	if p.TargetPort.Type == intstr.Int {
		return p.TargetPort.IntVal, true
	}
	for _, c := range po.Ports {
		if c.Name == p.TargetPort.StrVal && c.Proto == string(p.Protocol) {
			return int32(c.Port), true
		}
	}
	return 0, false
}

func emit(w io.Writer, obj any) error {
	b, err := yaml.Marshal(obj)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "---\n%s", b)
	return err
}

func writeObjects(w io.Writer, s Scenario) error {
	tm := func(kind, api string) metav1.TypeMeta { return metav1.TypeMeta{Kind: kind, APIVersion: api} }
	// No controller creates the default ServiceAccounts; pods need them.
	for _, ns := range []string{"default", "kube-system"} {
		if err := emit(w, corev1.ServiceAccount{TypeMeta: tm("ServiceAccount", "v1"), ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}}); err != nil {
			return err
		}
	}
	for _, n := range nodes {
		no := corev1.Node{TypeMeta: tm("Node", "v1"), ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: map[string]string{
			"kubernetes.io/hostname": n.Name, "kubernetes.io/os": "linux", "node.kubernetes.io/instance-type": "SA2.MEDIUM4",
			"topology.kubernetes.io/region": "gz", "topology.kubernetes.io/zone": "100003", "cloud.tencent.com/node-instance-id": n.InstanceID}},
			Spec: corev1.NodeSpec{PodCIDR: n.PodCIDR, PodCIDRs: []string{n.PodCIDR}, ProviderID: "qcloud:///100003/" + n.InstanceID}}
		if err := emit(w, no); err != nil {
			return err
		}
	}
	for _, p := range pods(s) {
		c := corev1.Container{Name: strings.Split(p.Name, "-")[0], Image: "lab/" + strings.Split(p.Name, "-")[0] + ":1"}
		if p.Name == "coredns-0" {
			c.Image = "ccr.ccs.tencentyun.com/tkeimages/coredns:1.8.4"
		}
		for _, cp := range p.Ports {
			c.Ports = append(c.Ports, corev1.ContainerPort{Name: cp.Name, ContainerPort: int32(cp.Port), Protocol: corev1.Protocol(cp.Proto)})
		}
		po := corev1.Pod{TypeMeta: tm("Pod", "v1"), ObjectMeta: metav1.ObjectMeta{Namespace: p.NS, Name: p.Name, Labels: p.Labels},
			Spec: corev1.PodSpec{NodeName: p.Node, Containers: []corev1.Container{c}}}
		if err := emit(w, po); err != nil {
			return err
		}
	}
	ps := pods(s)
	for _, sv := range services(s) {
		so := corev1.Service{TypeMeta: tm("Service", "v1"), ObjectMeta: metav1.ObjectMeta{Namespace: sv.NS, Name: sv.Name, Annotations: sv.Annotations},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceType(sv.Type), ClusterIP: sv.ClusterIP, Selector: sv.Selector, Ports: sv.Ports}}
		if sv.Type != "ClusterIP" {
			so.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
		}
		if err := emit(w, so); err != nil {
			return err
		}
		// No controllers run in the lab: Endpoints and EndpointSlices are
		// written here from the selector, as the controllers would.
		ep := corev1.Endpoints{TypeMeta: tm("Endpoints", "v1"), ObjectMeta: metav1.ObjectMeta{Namespace: sv.NS, Name: sv.Name}}
		sl := discoveryv1.EndpointSlice{TypeMeta: tm("EndpointSlice", "discovery.k8s.io/v1"),
			ObjectMeta: metav1.ObjectMeta{Namespace: sv.NS, Name: sv.Name + "-lab01", Labels: map[string]string{
				"kubernetes.io/service-name": sv.Name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
			AddressType: discoveryv1.AddressTypeIPv4}
		var sub corev1.EndpointSubset
		for _, sp := range sv.Ports {
			var tp int32
			for _, p := range ps {
				if matches(sv.Selector, p.Labels) {
					if t, ok := targetPort(sp, p); ok {
						tp = t
					}
				}
			}
			if tp == 0 {
				continue
			}
			name, proto, port := sp.Name, sp.Protocol, tp
			sub.Ports = append(sub.Ports, corev1.EndpointPort{Name: name, Port: port, Protocol: proto})
			sl.Ports = append(sl.Ports, discoveryv1.EndpointPort{Name: &name, Port: &port, Protocol: &proto})
		}
		for _, p := range ps {
			if !matches(sv.Selector, p.Labels) {
				continue
			}
			nodeName, ready := p.Node, p.Ready
			addr := corev1.EndpointAddress{IP: p.IP, NodeName: &nodeName, TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: p.NS, Name: p.Name}}
			if p.Ready {
				sub.Addresses = append(sub.Addresses, addr)
			} else {
				sub.NotReadyAddresses = append(sub.NotReadyAddresses, addr)
			}
			serving, term := ready, false
			sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{Addresses: []string{p.IP}, NodeName: &nodeName,
				Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &term},
				TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: p.NS, Name: p.Name}})
		}
		if len(sub.Addresses)+len(sub.NotReadyAddresses) > 0 && len(sub.Ports) > 0 {
			ep.Subsets = []corev1.EndpointSubset{sub}
		}
		if err := emit(w, ep); err != nil {
			return err
		}
		if err := emit(w, sl); err != nil {
			return err
		}
	}
	if s.has(fNetpol) {
		tcp := corev1.ProtocolTCP
		port := intstr.FromInt32(8080)
		np := networkingv1.NetworkPolicy{TypeMeta: tm("NetworkPolicy", "networking.k8s.io/v1"),
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-allow-frontend"},
			Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "frontend"}}}},
					Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &port}}}}}}
		if err := emit(w, np); err != nil {
			return err
		}
	}
	nonMasq := []string{ClusterCIDR, VpcCIDR, IDCCIDR}
	if s.has(fMasqIDC) {
		nonMasq = []string{ClusterCIDR, VpcCIDR}
	}
	masq, _ := yaml.Marshal(map[string]any{"NonMasqueradeCIDRs": nonMasq, "MasqLinkLocal": true, "ResyncInterval": "1m0s"})
	cms := []corev1.ConfigMap{
		{TypeMeta: tm("ConfigMap", "v1"), ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "ip-masq-agent-config"},
			Data: map[string]string{"config": string(masq)}},
		{TypeMeta: tm("ConfigMap", "v1"), ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "coredns"},
			Data: map[string]string{"Corefile": ".:53 {\n    errors\n    health\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n        pods insecure\n        fallthrough in-addr.arpa ip6.arpa\n    }\n    prometheus :9153\n    forward . /etc/resolv.conf\n    cache 30\n    reload\n    loadbalance\n}\n"}},
		{TypeMeta: tm("ConfigMap", "v1"), ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-proxy"},
			Data: map[string]string{"config.conf": "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\nclusterCIDR: " + ClusterCIDR + "\n",
				"kubeconfig.conf": "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://169.254.128.7:60002\n  name: default\nusers:\n- name: default\n  user:\n    token: lab-kube-proxy-token-should-be-redacted\n"}},
	}
	for _, cm := range cms {
		if err := emit(w, cm); err != nil {
			return err
		}
	}
	for _, ds := range []struct {
		name, image string
		args        []string
	}{
		{"kube-proxy", "ccr.ccs.tencentyun.com/tkeimages/hyperkube:v1.30.0-tke.1", []string{"kube-proxy", "--proxy-mode=iptables", "--cluster-cidr=" + ClusterCIDR, "--kubeconfig=/var/lib/kube-proxy/config", "--hostname-override=$(NODE_NAME)", "--v=2"}},
		{"ip-masq-agent", "ccr.ccs.tencentyun.com/tkeimages/ip-masq-agent:v2.5.0", []string{"--masq-chain=IP-MASQ-AGENT", "--nomasq-all-reserved-ranges=false"}},
	} {
		lbl := map[string]string{"k8s-app": ds.name}
		d := appsv1.DaemonSet{TypeMeta: tm("DaemonSet", "apps/v1"), ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: ds.name, Labels: lbl},
			Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: lbl}, Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec: corev1.PodSpec{HostNetwork: true, Containers: []corev1.Container{{Name: ds.name, Image: ds.image, Args: ds.args,
					SecurityContext: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}}}}}}}}}
		if err := emit(w, d); err != nil {
			return err
		}
	}
	return nil
}

// writeStatus prints status patches: no kubelet runs, so pods, nodes and
// the LoadBalancer Service get their status through the status subresource.
func writeStatus(w io.Writer, s Scenario) error {
	line := func(kind, ns, name string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if ns == "" {
			ns = "-"
		}
		_, err = fmt.Fprintf(w, "%s %s %s %s\n", kind, ns, name, b)
		return err
	}
	now := metav1.Now()
	for _, n := range nodes {
		st := map[string]any{"status": corev1.NodeStatus{
			Addresses:  []corev1.NodeAddress{{Type: "InternalIP", Address: n.IP}, {Type: "Hostname", Address: n.Name}},
			Conditions: []corev1.NodeCondition{{Type: "Ready", Status: "True", Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now}},
			NodeInfo:   corev1.NodeSystemInfo{KubeletVersion: "v1.30.0-tke.1", KubeProxyVersion: "v1.30.0-tke.1", OSImage: "TencentOS Server 3.1", KernelVersion: "5.4.119-19.0009.44", ContainerRuntimeVersion: "containerd://1.6.9"},
		}}
		if err := line("node", "", n.Name, st); err != nil {
			return err
		}
	}
	for _, p := range pods(s) {
		ready := corev1.ConditionTrue
		if !p.Ready {
			ready = corev1.ConditionFalse
		}
		hostIP := ""
		for _, n := range nodes {
			if n.Name == p.Node {
				hostIP = n.IP
			}
		}
		st := map[string]any{"status": corev1.PodStatus{Phase: "Running", PodIP: p.IP, PodIPs: []corev1.PodIP{{IP: p.IP}}, HostIP: hostIP,
			StartTime:  &now,
			Conditions: []corev1.PodCondition{{Type: "Ready", Status: ready, LastTransitionTime: now}, {Type: "ContainersReady", Status: ready, LastTransitionTime: now}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: strings.Split(p.Name, "-")[0], Ready: p.Ready, Image: "lab", ImageID: "lab",
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}}}
		if err := line("pod", p.NS, p.Name, st); err != nil {
			return err
		}
	}
	return line("service", "default", "web-lb", map[string]any{"status": map[string]any{"loadBalancer": map[string]any{"ingress": []map[string]string{{"ip": CLBVIP}}}}})
}

func writeFlows(w io.Writer, s Scenario) error {
	fl := s.Flows
	if fl == nil {
		fl = []Flow{}
	}
	b, err := json.MarshalIndent(fl, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
