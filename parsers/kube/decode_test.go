package kube

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"tkesnap/internal/realdata"
	"tkesnap/lab/kube/gen"
)

type got struct {
	objs  []Object
	probs []Problem
}

func decode(t testing.TB, s string) got {
	t.Helper()
	var g got
	g.probs = Decode([]byte(s), DefaultLimits(), func(o Object) { g.objs = append(g.objs, o) })
	return g
}

func (g got) summary() string {
	var b strings.Builder
	for _, o := range g.objs {
		typed := "typed"
		if o.Obj == nil {
			typed = "raw"
		}
		b.WriteString(o.Kind + " " + objName(o.Namespace, o.Name) + " line " + itoa(o.Line) + " doc " + itoa(o.Doc) + " " + typed + "\n")
	}
	for _, p := range g.probs {
		b.WriteString("problem line " + itoa(p.Line) + ": " + p.Message + "\n")
	}
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestShapes(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"kubectl -o yaml List keeps each item's line", `apiVersion: v1
items:
- apiVersion: v1
  kind: Pod
  metadata:
    name: a
    namespace: default
- apiVersion: v1
  kind: Service
  metadata:
    name: b
    namespace: default
kind: List
metadata:
  resourceVersion: ""
`, "Pod default/a line 3 doc 1 typed\nService default/b line 8 doc 1 typed\n"},
		{"typed list items without kind take the list's kind", `{"apiVersion":"v1","kind":"PodList","items":[
{"metadata":{"name":"a","namespace":"x"}},
  {"metadata":{"name":"b","namespace":"x"}}]}`, "Pod x/a line 2 doc 1 typed\nPod x/b line 3 doc 1 typed\n"},
		{"kubectl -o json puts kind after items", "{\n \"apiVersion\": \"v1\",\n \"items\": [\n  {\n   \"kind\": \"Node\", \"metadata\": {\"name\": \"n1\"}\n  }\n ],\n \"kind\": \"List\"\n}\n",
			"Node n1 line 4 doc 1 typed\n"},
		{"single JSON object", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"kube-system"},"data":{"k":"v"}}`,
			"ConfigMap kube-system/c line 1 doc 1 typed\n"},
		{"multi-document YAML: every document, with its line", "# header comment\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n...\n",
			"Namespace a line 3 doc 1 typed\nNamespace b line 9 doc 2 typed\n"},
		{"bad document is reported with its line and skipped", "kind: Namespace\nmetadata:\n  name: a\n---\nkind: Pod\nmetadata: [unclosed\n---\nkind: Namespace\nmetadata:\n  name: c\n",
			"Namespace a line 1 doc 1 typed\nNamespace c line 8 doc 3 typed\nproblem line 5: YAML document 2: line 2: did not find expected ',' or ']'\n"},
		{"wrong field type names the field", "kind: Service\nmetadata:\n  name: s\nspec:\n  ports: 80\n",
			"problem line 1: Service s: field spec.ports: number is not a []v1.ServicePort\n"},
		{"unknown kinds are kept raw", "apiVersion: traefik.io/v1alpha1\nkind: IngressRoute\nmetadata:\n  name: r\n",
			"IngressRoute r line 1 doc 1 raw\n"},
		{"object without kind", "metadata:\n  name: r\n", "problem line 1: object without kind skipped\n"},
		{"empty and comment-only files", "\n# nothing\n", ""},
		{"bare JSON array", "[{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"a\"}},\n{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"b\"}}]", "Namespace a line 1 doc 1 typed\nNamespace b line 2 doc 1 typed\n"},
		{"truncated JSON", "{\"kind\":\"List\",\"items\":[{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"a\"}},\n{\"kind\":\"Nam", "problem line 2: JSON: unexpected EOF\n"},
		{"a List cut by the collector's line cap keeps the whole items", "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Event\n  metadata:\n    name: a\n  message: \"ok\"\n- apiVersion: v1\n  kind: Event\n  metadata:\n    name: b\n  message: \"cut in the mid",
			"Event a line 3 doc 1 typed\nproblem line 12: YAML document 1: line 5: found unexpected end of stream\n"},
		{"merge keys are refused, not guessed", "kind: ConfigMap\nmetadata: &m\n  name: a\ndata:\n  <<: {x: y}\n", "problem line 1: YAML document 1: line 5: YAML merge keys (<<) are not supported\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s := decode(t, tc.in).summary(); s != tc.want {
				t.Errorf("got\n%s\nwant\n%s", s, tc.want)
			}
		})
	}
}

func TestOldIngressIsConverted(t *testing.T) {
	g := decode(t, `apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: web
  namespace: shop
  annotations:
    kubernetes.io/ingress.class: qcloud
spec:
  backend:
    serviceName: default-http
    servicePort: 80
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: /api
        backend:
          serviceName: api
          servicePort: http
`)
	if len(g.objs) != 1 || len(g.probs) != 0 {
		t.Fatalf("%s", g.summary())
	}
	in := g.objs[0].Obj.(*networkingv1.Ingress)
	if g.objs[0].Converted != "extensions/v1beta1" {
		t.Errorf("Converted = %q", g.objs[0].Converted)
	}
	if b := in.Spec.DefaultBackend; b == nil || b.Service.Name != "default-http" || b.Service.Port.Number != 80 {
		t.Errorf("defaultBackend = %+v", b)
	}
	p := in.Spec.Rules[0].HTTP.Paths[0]
	if p.Backend.Service.Name != "api" || p.Backend.Service.Port.Name != "http" || *p.PathType != networkingv1.PathTypeImplementationSpecific {
		t.Errorf("path = %+v", p)
	}
}

// The defences must answer in well under a second; the bounds are work
// counts, so the test asserts on the outcome, not on time.
func TestHostileDocumentsFailFast(t *testing.T) {
	lol := "kind: ConfigMap\nmetadata: {name: x}\ndata:\n  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		lol += "  " + n + ": &" + n + " [" + strings.TrimSuffix(strings.Repeat("*"+prev+",", 9), ",") + "]\n"
		prev = n
	}
	deep := "kind: ConfigMap\nmetadata: {name: x}\ndata: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n"
	deepJSON := `{"kind":"ConfigMap","metadata":{"name":"x"},"data":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "}"
	for _, tc := range []struct{ name, in, want string }{
		{"billion laughs", lol, "alias bomb"},
		{"deeply nested YAML", deep, "nesting deeper than 100"},
		{"deeply nested JSON", deepJSON, "exceeded max depth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lim := DefaultLimits()
			var objs int
			start := time.Now()
			probs := Decode([]byte(tc.in), lim, func(Object) { objs++ })
			if objs != 0 || len(probs) != 1 || !strings.Contains(probs[0].Message, tc.want) {
				t.Fatalf("objs=%d problems=%v, want one problem with %q", objs, probs, tc.want)
			}
			t.Logf("%s: %v (%s)", tc.name, time.Since(start), probs[0].Message)
		})
	}
}

// Every real kubectl file in the shared corpus decodes without a problem,
// typed, with the kinds its name says.
func TestRealFiles(t *testing.T) {
	files := realdata.Glob(t, "kube/*")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		g := got{}
		g.probs = Decode(data, DefaultLimits(), func(o Object) { g.objs = append(g.objs, o) })
		base := filepath.Base(f)
		if len(g.probs) > 0 || len(g.objs) == 0 {
			t.Errorf("%s: %s", base, g.summary())
			continue
		}
		for _, o := range g.objs {
			if o.Line < 1 || o.Name == "" {
				t.Errorf("%s: %s without line or name", base, o.Kind)
			}
			if o.Obj == nil && o.Kind != "IngressRoute" {
				t.Errorf("%s: %s not typed", base, o.Kind)
			}
		}
	}
	// spot checks on content
	data := realdata.Read(t, "kube/troubleshoot-k3s-services-kube-system.json")
	var svcs []*corev1.Service
	Decode(data, DefaultLimits(), func(o Object) { svcs = append(svcs, o.Obj.(*corev1.Service)) })
	found := false
	for _, s := range svcs {
		if s.Name == "kube-dns" && s.Spec.ClusterIP == "10.43.0.10" {
			found = true
		}
	}
	if !found {
		t.Errorf("k3s kube-dns 10.43.0.10 not found")
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"apiVersion: v1\nitems:\n- kind: Pod\n  metadata: {name: a}\nkind: List\n",
		`{"kind":"List","items":[{"kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"port":80,"targetPort":"http"}]}}]}`,
		"---\nkind: Ingress\napiVersion: extensions/v1beta1\nspec: {backend: {serviceName: a, servicePort: 80}}\n---\n",
		"a: &a [1,2]\nb: [*a,*a]\nkind: ConfigMap\n",
	} {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob("testdata/*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{DocBytes: 1 << 20, Depth: 50, Nodes: 100_000}
		Decode(data, lim, func(o Object) {
			if o.Kind == "" || o.Line < 1 {
				t.Fatalf("object without kind or line: %+v", o)
			}
		})
		_, _ = YAMLToJSON(data, lim)
	})
}

// BenchmarkKubeDecodePodsYAML decodes 10,000 pods in kubectl List YAML.
func BenchmarkKubeDecodePodsYAML(b *testing.B) {
	benchDecode(b, "cluster/pods.yaml")
}

// BenchmarkKubeDecodeSlicesYAML decodes 1,000 EndpointSlices of 10
// endpoints each.
func BenchmarkKubeDecodeSlicesYAML(b *testing.B) {
	benchDecode(b, "cluster/endpointslices.yaml")
}

func benchDecode(b *testing.B, file string) {
	dir := b.TempDir()
	s := gen.Scale
	s.Pods, s.Services, s.Nodes = 10000, 1000, 10
	if _, err := gen.Write(dir, s); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		if p := Decode(data, DefaultLimits(), func(Object) { n++ }); len(p) > 0 || n == 0 {
			b.Fatal(p, n)
		}
	}
}
