package kube

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	yaml "go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

	"tkesnap/internal/realdata"
	"tkesnap/lab/kube/gen"
)

// slowJSON is the reference: yaml.v3's tree through the bounded converter.
func slowJSON(data []byte) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	return newConverter(DefaultLimits(), nil, len(data)).json(&root)
}

func sameJSON(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	da := json.NewDecoder(bytes.NewReader(a))
	da.UseNumber()
	db := json.NewDecoder(bytes.NewReader(b))
	db.UseNumber()
	if err := da.Decode(&x); err != nil {
		t.Fatalf("fast path wrote invalid JSON %q: %v", a, err)
	}
	if err := db.Decode(&y); err != nil {
		t.Fatalf("slow path wrote invalid JSON %q: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

// checkFast: whenever the fast path answers, yaml.v3 agrees.
func checkFast(t testing.TB, data []byte) bool {
	var buf bytes.Buffer
	if !fastJSON(data, DefaultLimits(), &buf) {
		return false
	}
	want, err := slowJSON(data)
	if err != nil {
		t.Fatalf("fast path accepted what yaml.v3 rejects (%v):\n%s", err, data)
	}
	if !sameJSON(t, buf.Bytes(), want) {
		t.Fatalf("fast and yaml.v3 differ on\n%s\nfast: %s\nyaml: %s", data, buf.Bytes(), want)
	}
	return true
}

var fastCases = []struct {
	in   string
	fast bool // the fast path is expected to handle it
}{
	{"a: 1\nb: true\nc: null\nd: ~\ne: 1.5\nf: 0x1F\ng: \"x\\u00e9\\n\"\nh: 'it''s'\ni: 2026-11-25T08:00:00Z\nj: .inf\nk: -1\nl: '007'\n", true},
	{"metadata:\n  labels:\n    app: web\n  name: x\nspec:\n  ports:\n  - name: http\n    port: 80\n    targetPort: http\n  - port: 53\n    protocol: UDP\n", true},
	{"a:\n- 1\n- x\nb: {}\nc: []\n", true},
	{"data:\n  config: |\n    NonMasqueradeCIDRs:\n      - 10.0.0.0/8\n\n    x: 1\n  b: |-\n    trimmed\n  k: |+\n    kept\n\nz: 1\n", true},
	{"a:\n  -\n    x: 1\n  - - 2\n", false},
	{"a: &x 1\nb: *x\n", false},
	{"a: [1, 2]\n", false},
	{"a: b: c\n", false},
	{"a: 1\na: 2\n", false},
	{"<<: {a: 1}\n", false},
	{"a: long plain\n  continued\n", false},
	{"a: 'multi\n  line'\n", false},
	{"# comment\na: 1\n", false},
	{"a: x # comment\n", false},
	{"a:\tb\n", false},
	{"a: >\n  folded\nb: 1\n", false},
	{"a: |\n  at end\n", false},
	{"key with spaces: v\n\"quoted\": 1\n", false},
	{"a: yes\nb: on\nc: 0o17\nd: +12\ne: 1_000\n", true},
}

func TestFastPathAgreesWithYAMLv3(t *testing.T) {
	for _, tc := range fastCases {
		if got := checkFast(t, []byte(tc.in)); got != tc.fast {
			t.Errorf("fast path handled=%v, want %v for\n%s", got, tc.fast, tc.in)
		}
	}
}

func FuzzFastJSON(f *testing.F) {
	for _, tc := range fastCases {
		f.Add([]byte(tc.in))
	}
	files := realdata.Glob(f, "kube/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 16<<10 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		checkFast(t, data)
	})
}

// decodeWith runs the decoder with or without the per-item List path and
// returns every object as JSON with its line, and the problems.
func decodeWith(t *testing.T, data []byte, whole bool) (objs []string, probs []Problem) {
	t.Helper()
	d := &decoder{lim: DefaultLimits(), data: data, whole: whole, budget: newBudget(DefaultLimits(), len(data))}
	d.fn = func(o Object) {
		b, err := json.Marshal(o.Obj)
		if o.Obj == nil {
			// raw JSON of unknown kinds: compare by value, not escapes
			var v any
			if err = json.Unmarshal(o.Raw, &v); err == nil {
				b, err = json.Marshal(v)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o.Kind+" "+o.Namespace+"/"+o.Name+" line "+strconv.Itoa(o.Line)+" "+string(b))
	}
	d.yamlStream(0)
	return objs, d.problems
}

// Cutting a List into items (and the fast path) gives exactly the
// objects and lines of parsing the document as one tree.
func TestListSplitAgreesWithWholeDocument(t *testing.T) {
	files := realdata.Glob(t, "kube/*.yaml")
	more, _ := filepath.Glob("../../testdata/kube/base/cluster/*.yaml")
	files = append(files, more...)
	dir := t.TempDir()
	s := gen.Scale
	s.Pods, s.Services, s.Nodes, s.Ingresses, s.Flows = 300, 30, 3, 5, 5
	if _, err := gen.Write(dir, s); err != nil {
		t.Fatal(err)
	}
	gens, _ := filepath.Glob(filepath.Join(dir, "cluster", "*.yaml"))
	files = append(files, gens...)
	if len(files) < 10 {
		t.Fatalf("only %d files", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		a, pa := decodeWith(t, data, false)
		b, pb := decodeWith(t, data, true)
		if len(a) == 0 || !reflect.DeepEqual(a, b) || !reflect.DeepEqual(pa, pb) {
			t.Errorf("%s: split and whole decoding differ (%d vs %d objects, problems %v vs %v)", f, len(a), len(b), pa, pb)
			for i := range min(len(a), len(b)) {
				if a[i] != b[i] {
					t.Errorf("first difference:\n%s\n%s", a[i], b[i])
					break
				}
			}
		}
	}
}

// What apimachinery itself would read: sigs.k8s.io/yaml (go-yaml v2,
// YAML 1.1 scalars) turns every real and lab kubectl file into the same
// JSON as our bounded yaml.v3 converter. kubectl quotes whatever YAML 1.1
// and 1.2 would read differently ("yes", "on", "0755"), so they agree.
func TestAgreesWithSigsYAML(t *testing.T) {
	files := realdata.Glob(t, "kube/*.yaml")
	more, _ := filepath.Glob("../../testdata/kube/base/cluster/*.yaml")
	lab, _ := filepath.Glob("../../testdata/bundles/*/cluster/*.yaml")
	files = append(append(files, more...), lab...)
	if len(files) < 10 {
		t.Fatalf("only %d files to compare", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := sigsyaml.YAMLToJSON(data)
		if err != nil {
			t.Errorf("%s: sigs.k8s.io/yaml: %v", f, err)
			continue
		}
		got, err := slowJSON(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if !sameJSON(t, got, want) {
			t.Errorf("%s: our JSON differs from sigs.k8s.io/yaml's", f)
		}
		var fast bytes.Buffer
		if fastJSON(data, DefaultLimits(), &fast) && !sameJSON(t, fast.Bytes(), want) {
			t.Errorf("%s: fast path differs from sigs.k8s.io/yaml's", f)
		}
	}
}

// Whenever the whole document decodes cleanly, cutting it into List items
// gives the same objects, lines and no problem.
func FuzzListSplit(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nitems:\n- kind: Pod\n  metadata: {name: a}\n- kind: Service\n  metadata:\n    name: b\nkind: List\n"))
	f.Add([]byte("items:\n- kind: ConfigMap\n  data:\n    k: |\n      x\n\n      y\n  metadata:\n    name: c\nkind: ConfigMapList\n"))
	f.Add([]byte("kind: List\nitems:\n-\n  kind: Namespace\n  metadata: {name: n}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<15 {
			return
		}
		whole, pw := decodeWith(t, data, true)
		if len(pw) > 0 {
			return
		}
		split, ps := decodeWith(t, data, false)
		if len(ps) > 0 || !reflect.DeepEqual(whole, split) {
			t.Fatalf("split decoding differs:\n%s\nwhole: %q\nsplit: %q %v", data, whole, split, ps)
		}
	})
}
