package ingress

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
)

func ingressWith(host string, paths ...string) *networkingv1.Ingress {
	in := &networkingv1.Ingress{}
	r := networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{}}}
	for _, p := range paths {
		// "Exact:/foo" or "/foo" (Prefix)
		pt := networkingv1.PathTypePrefix
		if t, rest, ok := strings.Cut(p, ":"); ok {
			pt, p = networkingv1.PathType(t), rest
		}
		ptc := pt
		r.HTTP.Paths = append(r.HTTP.Paths, networkingv1.HTTPIngressPath{Path: p, PathType: &ptc})
	}
	in.Spec.Rules = []networkingv1.IngressRule{r}
	return in
}

// The "Examples" table of the Ingress concept page (path types) and its
// hostname wildcard table.
func TestRouteConceptPageExamples(t *testing.T) {
	for _, tc := range []struct {
		paths   []string
		request string
		want    string // matched path ("Type:path") or "" for no match
	}{
		{[]string{"/"}, "/anything/at/all", "Prefix:/"},
		{[]string{"Exact:/foo"}, "/foo", "Exact:/foo"},
		{[]string{"Exact:/foo"}, "/bar", ""},
		{[]string{"Exact:/foo"}, "/foo/", ""},
		{[]string{"Exact:/foo/"}, "/foo", ""},
		{[]string{"/foo"}, "/foo", "Prefix:/foo"},
		{[]string{"/foo"}, "/foo/", "Prefix:/foo"},
		{[]string{"/foo/"}, "/foo", "Prefix:/foo/"},
		{[]string{"/foo/"}, "/foo/", "Prefix:/foo/"},
		{[]string{"/aaa/bb"}, "/aaa/bbb", ""},
		{[]string{"/aaa/bbb"}, "/aaa/bbb", "Prefix:/aaa/bbb"},
		{[]string{"/aaa/bbb/"}, "/aaa/bbb", "Prefix:/aaa/bbb/"},
		{[]string{"/aaa/bbb"}, "/aaa/bbb/", "Prefix:/aaa/bbb"},
		{[]string{"/aaa/bbb"}, "/aaa/bbb/ccc", "Prefix:/aaa/bbb"},
		{[]string{"/aaa/bbb"}, "/aaa/bbbxyz", ""},
		{[]string{"/", "/aaa"}, "/aaa/ccc", "Prefix:/aaa"},
		{[]string{"/", "/aaa", "/aaa/bbb"}, "/aaa/bbb", "Prefix:/aaa/bbb"},
		{[]string{"/", "/aaa", "/aaa/bbb"}, "/ccc", "Prefix:/"},
		{[]string{"/aaa"}, "/ccc", ""},
		{[]string{"/foo", "Exact:/foo"}, "/foo", "Exact:/foo"},
		{[]string{"ImplementationSpecific:/api"}, "/apiv2", "ImplementationSpecific:/api"},
	} {
		m := Route(ingressWith("", tc.paths...), "any.example.com", tc.request)
		got := ""
		if m.Path != nil {
			got = string(*m.Path.PathType) + ":" + m.Path.Path
		}
		if got != tc.want {
			t.Errorf("paths %v, request %s: matched %q, want %q", tc.paths, tc.request, got, tc.want)
		}
	}
	for _, tc := range []struct {
		rule, host string
		want       bool
	}{
		{"*.foo.com", "bar.foo.com", true},
		{"*.foo.com", "baz.bar.foo.com", false},
		{"*.foo.com", "foo.com", false},
		{"foo.bar.com", "foo.bar.com", true},
		{"foo.bar.com", "FOO.bar.com:443", true},
		{"foo.bar.com", "bar.foo.com", false},
		{"", "anything.example", true},
	} {
		m := Route(ingressWith(tc.rule, "/"), tc.host, "/")
		if (m.Rule != nil) != tc.want {
			t.Errorf("rule host %q, Host %q: matched %v, want %v", tc.rule, tc.host, m.Rule != nil, tc.want)
		}
	}
	// defaultBackend takes what no rule matches
	in := ingressWith("a.example.com", "/")
	in.Spec.DefaultBackend = &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "default-http"}}
	if m := Route(in, "b.example.com", "/"); m.Rule != nil || m.Default == nil {
		t.Errorf("defaultBackend not used: %+v", m)
	}
}
