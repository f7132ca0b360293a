// Package ingress routes an HTTP request (host, path) through an Ingress
// object the way networking.k8s.io/v1 defines it. Both the Ingress check
// (INGRESS_NO_MATCHING_RULE) and the tracer (ingress: flows) use it, so
// the two cannot disagree on which rule serves a request.
package ingress

import (
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
)

// Match is the outcome of routing one request through an Ingress.
type Match struct {
	Rule    *networkingv1.IngressRule
	Path    *networkingv1.HTTPIngressPath
	Default *networkingv1.IngressBackend // when no rule matched
	// Approximate is set when an ImplementationSpecific path decided the
	// match: its meaning is the controller's; treated as a string prefix.
	Approximate bool
}

// Route routes host+path through in, with the networking.k8s.io/v1
// semantics (Ingress API reference, "HTTPIngressPath"):
//   - host: exact, or "*.example.com" matching exactly one extra label; a
//     rule without host matches every host;
//   - Exact: path equal, case-sensitive; Prefix: path split on "/" and
//     matched element by element ("/foo" matches "/foo/bar", not
//     "/foobar"), trailing slash ignored; ImplementationSpecific: left to
//     the controller, taken here as a string prefix;
//   - the longest matching path wins, Exact beats Prefix at equal length;
//   - defaultBackend handles what no rule matches.
func Route(in *networkingv1.Ingress, host, path string) Match {
	var best Match
	bestLen, bestExact := -1, false
	host = strings.ToLower(strings.TrimSuffix(hostOnly(host), "."))
	for ri := range in.Spec.Rules {
		r := &in.Spec.Rules[ri]
		if !hostMatches(r.Host, host) {
			continue
		}
		if r.HTTP == nil {
			continue
		}
		for pi := range r.HTTP.Paths {
			pp := &r.HTTP.Paths[pi]
			pt := networkingv1.PathTypeImplementationSpecific
			if pp.PathType != nil {
				pt = *pp.PathType
			}
			rp := pp.Path
			if rp == "" {
				rp = "/"
			}
			ok := false
			switch pt {
			case networkingv1.PathTypeExact:
				ok = path == rp
			case networkingv1.PathTypePrefix:
				ok = prefixMatch(rp, path)
			default:
				ok = strings.HasPrefix(path, rp)
			}
			if !ok {
				continue
			}
			l := len(strings.TrimSuffix(rp, "/"))
			exact := pt == networkingv1.PathTypeExact
			if l > bestLen || (l == bestLen && exact && !bestExact) {
				best = Match{Rule: r, Path: pp, Approximate: pt != networkingv1.PathTypeExact && pt != networkingv1.PathTypePrefix}
				bestLen, bestExact = l, exact
			}
		}
	}
	if best.Rule == nil && in.Spec.DefaultBackend != nil {
		best.Default = in.Spec.DefaultBackend
	}
	return best
}

func hostOnly(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		return h[:i]
	}
	return h
}

func hostMatches(rule, host string) bool {
	rule = strings.ToLower(rule)
	if rule == "" {
		return true
	}
	if w, ok := strings.CutPrefix(rule, "*."); ok {
		// the wildcard covers exactly one DNS label
		i := strings.IndexByte(host, '.')
		return i > 0 && host[i+1:] == w
	}
	return rule == host
}

// prefixMatch is the Prefix path type: element-wise on "/"-separated
// paths, ignoring a trailing slash; "/" matches everything.
func prefixMatch(rule, path string) bool {
	rule = strings.TrimSuffix(rule, "/")
	if rule == "" {
		return true
	}
	p := strings.TrimSuffix(path, "/")
	if p == rule {
		return true
	}
	return strings.HasPrefix(p, rule+"/")
}
