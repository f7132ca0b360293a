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
		t.Skip(err)
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
	// a trace that cannot resolve its endpoints is still a result (exit 0)
	_, code = execute(t, "trace", b, "--from", "pod:default/nobody", "--to", "pod:default/web-1:8080", "--format", "json")
	if code != 0 {
		t.Errorf("unresolvable endpoint: exit %d, want 0 (UNDETERMINED trace)", code)
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
