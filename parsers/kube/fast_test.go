package kube

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// slowJSON is the reference: yaml.v3's tree through the bounded converter.
func slowJSON(data []byte) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	c := &converter{lim: DefaultLimits()}
	return c.json(&root)
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
	files, _ := filepath.Glob("/work/shared/data/real/kube/*.yaml")
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
