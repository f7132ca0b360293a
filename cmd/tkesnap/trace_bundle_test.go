package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// execute runs the CLI with args, returning stdout and the exit code run
// would give.
func execute(t *testing.T, args ...string) (string, int) {
	t.Helper()
	root := newRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return out.String(), 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return out.String(), ee.code
	}
	return out.String(), 2
}

func TestTraceBundleCommand(t *testing.T) {
	const b = "../../testdata/bundles/sg-pod-cidr"
	if _, err := os.Stat(b); err != nil {
		t.Fatal(err)
	}
	out, code := execute(t, "trace", b, "--from", "pod:default/client-0", "--to", "pod:default/web-1:8080", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var tr struct {
		Verdict, Reason string
		Steps           []struct{ At, Component string }
	}
	if err := json.Unmarshal([]byte(out), &tr); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if tr.Verdict != "DROPPED" || tr.Reason != "SG_POD_CIDR_BLOCKED" || len(tr.Steps) < 4 {
		t.Errorf("trace = %+v", tr)
	}
	out, code = execute(t, "trace", b, "--from", "pod:default/client-0", "--to", "pod:default/web-1:8080")
	if code != 0 || !strings.Contains(out, "DROPPED — SG_POD_CIDR_BLOCKED") || !strings.Contains(out, "✗") {
		t.Errorf("text trace (exit %d):\n%s", code, out)
	}
	// a pod the bundle's pod list does not hold is a typo: bad input
	_, code = execute(t, "trace", b, "--from", "pod:default/nobody", "--to", "pod:default/web-1:8080", "--format", "json")
	if code != 2 {
		t.Errorf("unknown pod: exit %d, want 2", code)
	}
	for name, args := range map[string][]string{
		"bad proto":    {"trace", b, "--from", "pod:default/client-0", "--to", "pod:default/web-1:8080", "--proto", "sctp"},
		"bad format":   {"trace", b, "--from", "pod:default/client-0", "--to", "pod:default/web-1:8080", "--format", "pdf"},
		"no bundle":    {"trace", "/nonexistent.tgz", "--from", "pod:a/b", "--to", "pod:c/d"},
		"missing --to": {"trace", b, "--from", "pod:default/client-0"},
	} {
		if _, code := execute(t, args...); code != 2 {
			t.Errorf("%s: exit %d, want 2", name, code)
		}
	}
}

// executeErr runs the CLI and returns the exit code and the error text.
func executeErr(t *testing.T, args ...string) (string, int, string) {
	t.Helper()
	root := newRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return out.String(), 0, ""
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return out.String(), ee.code, err.Error()
	}
	return out.String(), 2, err.Error()
}

// docs/design.md §3: trace exits 2 on bad input. An endpoint that is not an
// endpoint, or a typo'd name the bundle's object list disproves, is bad
// input named with the close names; a pod the bundle cannot check (no
// cluster/pods.yaml) is a trace that says what to collect.
func TestTraceBadEndpointsExitTwoWithCloseNames(t *testing.T) {
	const b = "../../testdata/bundles/sample"
	if _, err := os.Stat(b); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, from, to string
		want           []string
	}{
		{"not an endpoint", "foo", "bar", []string{"--from", `"foo" is not an endpoint`, "pod:NS/NAME"}},
		{"typo'd source pod", "pod:default/clent-0", "svc:default/web:80", []string{"no pod default/clent-0", "did you mean default/client-0"}},
		{"typo'd destination pod", "pod:default/client-0", "pod:default/web-9:8080", []string{"--to", "default/web-0", "default/web-1"}},
		{"typo'd Service", "pod:default/client-0", "svc:default/wbe:80", []string{"no Service default/wbe", "did you mean default/web"}},
		{"bad CIDR", "cidr:10.0/8", "svc:default/web:80", []string{"not a CIDR block"}},
		{"unknown kind", "pdo:default/client-0", "svc:default/web:80", []string{"unknown endpoint kind"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, code, msg := executeErr(t, "trace", b, "--from", tc.from, "--to", tc.to)
			if code != 2 {
				t.Fatalf("exit %d, want 2; out:\n%s", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg+out, "collect cluster/pods.yaml") {
				t.Errorf("asks to collect cluster/pods.yaml, which the bundle has: %s", msg)
			}
		})
	}
	// without cluster/pods.yaml the name cannot be checked: a trace that
	// names the file to collect (exit 0)
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(b)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(dir + "/cluster/pods.yaml"); err != nil {
		t.Fatal(err)
	}
	out, code, msg := executeErr(t, "trace", dir, "--from", "pod:default/clent-0", "--to", "svc:default/web:80")
	if code != 0 || !strings.Contains(out, "collect cluster/pods.yaml") {
		t.Errorf("bundle without pods.yaml: exit %d %s\n%s", code, msg, out)
	}
}
