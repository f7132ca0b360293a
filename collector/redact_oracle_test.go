package collector

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// sameStructure is the redaction's oracle, independent of how it reads
// text: in and out are parsed as YAML (JSON included) and walked side by
// side. Every key and list element must survive; a scalar under a key
// that names a credential (at any depth), the value of an env entry whose
// name names one (Kubernetes "name", CRI "key"), a scalar under "auth"
// (docker config), and the list element after a bare secret flag must be
// redacted unless empty, null or boolean (an Authorization header's value
// too: its scheme may stay); any other scalar must be
// unchanged — unless it is a string holding a credential by shape (URL
// userinfo, header, JWT, AKID, PEM, flag or KEY=value in a command line),
// which must be redacted. A string holding a JSON object or list (the
// last-applied annotation) is walked the same way. It returns what is
// wrong, one line each.
func sameStructure(in, out string) []string { return checkStructure(in, out, true) }

// checkStructure is sameStructure; with strict false a string outside a
// secret may change (then it must hold a redaction marker) or stay
// whatever its shape: the fuzz target checks structure, not the patterns.
func checkStructure(in, out string, strict bool) []string {
	var a, b any
	if err := yaml.Unmarshal([]byte(in), &a); err != nil {
		return []string{"input does not parse: " + err.Error()}
	}
	if err := yaml.Unmarshal([]byte(out), &b); err != nil {
		return []string{"output does not parse: " + err.Error()}
	}
	w := walker{strict: strict}
	w.walk("", a, b, false)
	return w.bad
}

type walker struct {
	strict bool
	bad    []string
}

func (w *walker) errf(format string, args ...any) {
	w.bad = append(w.bad, fmt.Sprintf(format, args...))
}

// credential by shape inside a string that is not under a secret key
var reShape = regexp.MustCompile(`(?i)[a-z][a-z0-9+.-]*://[^/@\s:]*:[^/@\s]*@|authorization|x-auth-token|bearer\s|eyJ[A-Za-z0-9_-]+\.|AKID[A-Za-z0-9]{10}|-----BEGIN [A-Z ]*PRIVATE KEY-----|--[a-z0-9_./-]*(token|passw|secret|api[_-]?key|access[_-]?key|private[_-]?key)[a-z0-9_.-]*[= ]|[a-z0-9_]*(pass|pwd|token|secret)[a-z0-9_]*=`)

func (w *walker) walk(path string, a, b any, sec bool) {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok {
			w.errf("%s: a mapping became %T", path, b)
			return
		}
		env := false
		for _, nk := range []string{"name", "key"} { // Kubernetes env, CRI envs
			if n, ok := a[nk].(string); ok && reSensKey.MatchString(n) {
				env = true
			}
		}
		for k, av := range a {
			bv, ok := bm[k]
			if !ok {
				w.errf("%s: key %q lost", path, k)
				continue
			}
			header := strings.EqualFold(k, "authorization") // its value: scheme and credential
			// docker config's "auth" scalar is base64 user:password
			auth := false
			if k == "auth" {
				switch av.(type) {
				case map[string]any, []any:
				default:
					auth = true
				}
			}
			w.walk(path+"/"+k, av, bv, sec || header || auth || reSensKey.MatchString(k) || (env && k == "value"))
		}
		if len(bm) != len(a) {
			w.errf("%s: %d keys became %d", path, len(a), len(bm))
		}
	case []any:
		bl, ok := b.([]any)
		if !ok || len(bl) != len(a) {
			w.errf("%s: a list of %d became %v", path, len(a), b)
			return
		}
		flag := false
		for i := range a {
			w.walk(fmt.Sprintf("%s[%d]", path, i), a[i], bl[i], sec || flag)
			s, _ := a[i].(string)
			flag = !sec && !flag && reSensFlag.MatchString(s)
		}
	default:
		w.leaf(path, a, b, sec)
	}
}

func (w *walker) leaf(path string, a, b any, sec bool) {
	if a == nil || a == "" {
		return
	}
	if _, isBool := a.(bool); isBool {
		return
	}
	bs, _ := b.(string)
	if sec {
		if !strings.Contains(bs, "<redacted") {
			w.errf("%s: secret %v kept as %v", path, a, b)
		}
		return
	}
	as, isString := a.(string)
	if isString && (strings.HasPrefix(as, "{") || strings.HasPrefix(as, "[")) {
		var ea, eb any
		if yaml.Unmarshal([]byte(as), &ea) == nil {
			if err := yaml.Unmarshal([]byte(bs), &eb); err != nil {
				w.errf("%s: embedded document no longer parses: %v", path, err)
				return
			}
			w.walk(path+"{embedded}", ea, eb, false)
			return
		}
	}
	if !w.strict {
		if !reflect.DeepEqual(a, b) && !strings.Contains(bs, "<redacted") {
			w.errf("%s: %v (not secret) changed to %v", path, a, b)
		}
		return
	}
	if reflect.DeepEqual(a, b) {
		if isString && reShape.MatchString(as) {
			w.errf("%s: %q holds a credential by its shape and was kept", path, as)
		}
		return
	}
	if !isString || !reShape.MatchString(as) {
		w.errf("%s: %v (not secret) changed to %v", path, a, b)
	} else if !strings.Contains(bs, "<redacted") {
		w.errf("%s: %q changed without a redaction marker: %q", path, as, bs)
	}
}
