package kube

import (
	"encoding/json"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	extv1beta1 "k8s.io/api/extensions/v1beta1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Kinds lists the kinds decoded into typed objects, with their Go type.
// Other kinds are returned with Obj == nil and their Raw JSON.
var Kinds = []string{
	"Node (*corev1.Node)", "Pod (*corev1.Pod)", "Service (*corev1.Service)",
	"Endpoints (*corev1.Endpoints)", "EndpointSlice (*discoveryv1.EndpointSlice)",
	"Ingress (*networkingv1.Ingress; extensions/v1beta1 and networking.k8s.io/v1beta1 converted)",
	"IngressClass (*networkingv1.IngressClass)", "NetworkPolicy (*networkingv1.NetworkPolicy)",
	"ConfigMap (*corev1.ConfigMap)", "DaemonSet (*appsv1.DaemonSet)", "Event (*corev1.Event)",
	"Namespace (*corev1.Namespace)",
}

// typed decodes raw into the Go type of kind. It returns nil, "", nil for
// kinds it does not know.
func typed(kind, apiVersion string, raw []byte) (any, string, error) {
	group := apiVersion
	if i := strings.IndexByte(group, '/'); i >= 0 {
		group = group[:i]
	} else {
		group = "" // core
	}
	var v any
	switch kind {
	case "Node":
		v = new(corev1.Node)
	case "Pod":
		v = new(corev1.Pod)
	case "Service":
		v = new(corev1.Service)
	case "Endpoints":
		v = new(corev1.Endpoints)
	case "ConfigMap":
		v = new(corev1.ConfigMap)
	case "Namespace":
		v = new(corev1.Namespace)
	case "Event":
		if group != "" && group != "events.k8s.io" {
			return nil, "", nil
		}
		if group == "events.k8s.io" {
			return nil, "", nil // events.k8s.io/v1 has another shape; kept raw
		}
		v = new(corev1.Event)
	case "EndpointSlice":
		// discovery.k8s.io/v1beta1 has the same fields the model reads
		// (addresses, conditions, ports, nodeName via topology is dropped).
		v = new(discoveryv1.EndpointSlice)
	case "NetworkPolicy":
		v = new(networkingv1.NetworkPolicy)
	case "DaemonSet":
		v = new(appsv1.DaemonSet)
	case "IngressClass":
		v = new(networkingv1.IngressClass)
	case "Ingress":
		if apiVersion == "extensions/v1beta1" || apiVersion == "networking.k8s.io/v1beta1" {
			// both old groups share one schema
			old := new(extv1beta1.Ingress)
			if err := json.Unmarshal(raw, old); err != nil {
				return nil, "", cleanJSONErr(err)
			}
			return convertIngress(old), apiVersion, nil
		}
		v = new(networkingv1.Ingress)
	default:
		return nil, "", nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, "", cleanJSONErr(err)
	}
	return v, "", nil
}

func cleanJSONErr(err error) error {
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		return fmt.Errorf("field %s: %s is not a %s", te.Field, te.Value, te.Type)
	}
	return err
}

// convertIngress maps the pre-1.19 Ingress schema onto networking.k8s.io/v1
// the way the API server does (pkg/apis/networking/v1beta1 conversion):
// serviceName/servicePort become service.name/port.{number,name}, a missing
// pathType is ImplementationSpecific, spec.backend is defaultBackend.
func convertIngress(o *extv1beta1.Ingress) *networkingv1.Ingress {
	n := &networkingv1.Ingress{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta}
	n.APIVersion = "networking.k8s.io/v1"
	n.Spec.IngressClassName = o.Spec.IngressClassName
	n.Spec.DefaultBackend = convertBackend(o.Spec.Backend)
	for _, t := range o.Spec.TLS {
		n.Spec.TLS = append(n.Spec.TLS, networkingv1.IngressTLS{Hosts: t.Hosts, SecretName: t.SecretName})
	}
	for _, r := range o.Spec.Rules {
		nr := networkingv1.IngressRule{Host: r.Host}
		if r.HTTP != nil {
			nr.HTTP = &networkingv1.HTTPIngressRuleValue{}
			for _, p := range r.HTTP.Paths {
				pt := networkingv1.PathTypeImplementationSpecific
				if p.PathType != nil {
					pt = networkingv1.PathType(*p.PathType)
				}
				b := convertBackend(&p.Backend)
				np := networkingv1.HTTPIngressPath{Path: p.Path, PathType: &pt}
				if b != nil {
					np.Backend = *b
				}
				nr.HTTP.Paths = append(nr.HTTP.Paths, np)
			}
		}
		n.Spec.Rules = append(n.Spec.Rules, nr)
	}
	for _, lb := range o.Status.LoadBalancer.Ingress {
		n.Status.LoadBalancer.Ingress = append(n.Status.LoadBalancer.Ingress, networkingv1.IngressLoadBalancerIngress{IP: lb.IP, Hostname: lb.Hostname})
	}
	return n
}

func convertBackend(b *extv1beta1.IngressBackend) *networkingv1.IngressBackend {
	if b == nil {
		return nil
	}
	if b.Resource != nil {
		return &networkingv1.IngressBackend{Resource: b.Resource}
	}
	if b.ServiceName == "" {
		return nil
	}
	s := &networkingv1.IngressServiceBackend{Name: b.ServiceName}
	if b.ServicePort.Type == intstr.String {
		s.Port.Name = b.ServicePort.StrVal
	} else {
		s.Port.Number = b.ServicePort.IntVal
	}
	return &networkingv1.IngressBackend{Service: s}
}
