package trace

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"tkesnap/analysis/model"
	"tkesnap/internal/levenshtein"
)

// EndpointError says why a --from/--to endpoint is bad input: it is not
// an endpoint at all (Syntax), or it names an object the bundle's object
// list shows does not exist (a typo) — then Close are the nearest names.
// `tkesnap trace` exits 2 on it (docs/design.md §3); analyze turns it into an
// UNDETERMINED trace that says the same.
type EndpointError struct {
	Spec   string
	Syntax bool
	Msg    string
	Close  []string
}

func (e *EndpointError) Error() string {
	s := e.Msg
	if len(e.Close) > 0 {
		s += "; did you mean " + strings.Join(e.Close, ", ") + "?"
	}
	return s
}

// endpointForms is the endpoint grammar, for error messages.
const endpointForms = "pod:NS/NAME[:PORT], node:NAME, ip:A[:PORT], svc:NS/NAME:PORT, ingress:NS/NAME, dns:NAME, cidr:A/B, idc:A/B or internet"

// EndpointForms is the endpoint grammar for `trace --help`; a test in
// cmd/tkesnap checks that the README lists the same forms.
const EndpointForms = endpointForms

// CheckEndpoint says whether spec is bad input for a trace from namespace
// ns: nil when it resolves, or when resolving it depends on data the
// bundle lacks (the trace then says what to collect), or when the failure
// is itself the answer (a DNS name that does not resolve, a Service port
// that does not exist).
func CheckEndpoint(c *model.Cluster, spec, ns string) error {
	s := strings.TrimSpace(spec)
	if s == "" {
		return &EndpointError{Spec: spec, Syntax: true, Msg: "empty endpoint (want " + endpointForms + ")"}
	}
	if isExternal(s) {
		_, rest, _ := strings.Cut(s, ":")
		if strings.EqualFold(s, "internet") {
			return nil
		}
		if _, err := netip.ParsePrefix(rest); err == nil {
			return nil
		}
		if _, err := netip.ParseAddr(rest); err == nil {
			return nil
		}
		return &EndpointError{Spec: spec, Syntax: true, Msg: fmt.Sprintf("%q: %q is not a CIDR block", spec, rest)}
	}
	kind, _, hasKind := strings.Cut(s, ":")
	if !hasKind && !isIP(s) {
		return &EndpointError{Spec: spec, Syntax: true, Msg: fmt.Sprintf("%q is not an endpoint (want %s)", spec, endpointForms)}
	}
	_, err := c.ResolveFrom(s, ns)
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch {
	case kind == "dns", strings.Contains(msg, "has no port"):
		return nil // the trace answers: NXDOMAIN, SVC_PORT_NOT_FOUND
	case strings.Contains(msg, ": no pod "):
		return unknownObject(c, spec, msg, "Pod", podNames(c))
	case strings.Contains(msg, ": no Service "):
		return unknownObject(c, spec, msg, "Service", svcNames(c))
	case strings.Contains(msg, ": no Ingress "):
		return unknownObject(c, spec, msg, "Ingress", ingressNames(c))
	case strings.Contains(msg, ": no node "):
		if !c.Kube.Has("Node") && len(c.Nodes) == 0 {
			return nil
		}
		return &EndpointError{Spec: spec, Msg: msg, Close: closeNames(afterKind(s), nodeNames(c))}
	}
	return &EndpointError{Spec: spec, Syntax: true, Msg: msg + " (want " + endpointForms + ")"}
}

// unknownObject is a typo'd name when the bundle holds the object list
// (then the list proves the object does not exist); without the list the
// trace goes on and names the file to collect.
func unknownObject(c *model.Cluster, spec, msg, kind string, names []string) error {
	if !c.Kube.Has(kind) {
		return nil
	}
	name := afterKind(spec)
	if i := strings.LastIndexByte(name, ':'); i >= 0 && (kind != "Ingress") {
		name = name[:i]
	}
	if !strings.Contains(name, "/") {
		name = "default/" + name
	}
	return &EndpointError{Spec: spec, Msg: msg, Close: closeNames(name, names)}
}

func afterKind(s string) string { _, r, _ := strings.Cut(s, ":"); return r }

func isIP(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	_, err := netip.ParseAddrPort(s)
	return err == nil
}

func podNames(c *model.Cluster) []string {
	var out []string
	for _, p := range c.Kube.Pods {
		out = append(out, model.Key(p.Namespace, p.Name))
	}
	return out
}

func svcNames(c *model.Cluster) []string {
	var out []string
	for _, s := range c.Kube.Services {
		out = append(out, model.Key(s.Namespace, s.Name))
	}
	return out
}

func ingressNames(c *model.Cluster) []string {
	var out []string
	for _, in := range c.Kube.Ingresses {
		out = append(out, model.Key(in.Namespace, in.Name))
	}
	return out
}

func nodeNames(c *model.Cluster) []string {
	var out []string
	for _, n := range c.Kube.Nodes {
		out = append(out, n.Name)
	}
	for _, n := range c.Nodes {
		if !slices.Contains(out, n.Name) {
			out = append(out, n.Name)
		}
	}
	return out
}

// closeNames are up to three names nearest to name by edit distance
// (a typo is a few edits away), nearest first; the same name in another
// namespace counts as near.
func closeNames(name string, names []string) []string {
	type cand struct {
		s string
		d int
	}
	var cs []cand
	ns, base, namespaced := strings.Cut(name, "/")
	if !namespaced {
		base = name
	}
	limit := max(2, len(base)/3)
	for _, n := range names {
		d := levenshtein.Distance(name, n)
		if nns, nb, ok := strings.Cut(n, "/"); ok && namespaced {
			switch {
			case nb == base:
				d = 1 // the same name in another namespace
			case nns == ns:
				d = levenshtein.Distance(base, nb)
			}
		}
		if d <= limit {
			cs = append(cs, cand{n, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		return cs[i].s < cs[j].s
	})
	var out []string
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].s)
	}
	return out
}
