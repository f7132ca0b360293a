package node

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/collector"
)

// fakeCrictl answers `crictl pods -o json` and `crictl inspectp -o json ID`
// from testdata/crictl (real crictl output layout).
func fakeCrictl(t *testing.T) string {
	t.Helper()
	data, err := filepath.Abs("testdata/crictl")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	sh := "#!/bin/sh\ncase \"$1 $2 $3\" in\n" +
		"'pods -o json') cat " + data + "/pods.json ;;\n" +
		"'inspectp -o json') cat " + data + "/inspectp-\"$4\".json ;;\n" +
		"*) echo \"unexpected: $*\" >&2; exit 1 ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(bin, "crictl"), []byte(sh), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// The pod's netns is the sandbox named exactly ns/name in state
// SANDBOX_READY: web-1 is not web-10 (the old unanchored --name regex took
// the newest match), nor its newer NOTREADY sandbox, nor another
// namespace's web-1, nor a pod whose label "name" is web-1.
func TestPodLookupIsExactAndReady(t *testing.T) {
	bin := fakeCrictl(t)
	script := filepath.Join(t.TempDir(), "c.sh")
	os.WriteFile(script, collector.Script, 0o755)
	// docker absent: only crictl answers
	t.Setenv("PATH", bin+":/usr/sbin:/usr/bin:/sbin:/bin")
	if _, err := exec.LookPath("docker"); err == nil {
		t.Fatal("a docker binary is installed; the test needs crictl to be the only runtime")
	}
	for pod, want := range map[string]string{
		"default/web-1":  "4101",
		"default/web-10": "4110",
		"staging/web-1":  "4201",
		"default/web":    "",
		"default/web-2":  "",
		"default/web-1x": "",
		"web/1":          "",
	} {
		got, ok := podPID(context.Background(), pod)
		if got != want || ok != (want != "") {
			t.Errorf("Go: %s → %q %v, want %q", pod, got, ok, want)
		}
		cmd := exec.Command("bash", "-c", `. "$0"; pod_pid "$1"`, script, pod)
		cmd.Env = append(os.Environ(), "TKESNAP_COLLECT_SOURCE_ONLY=1")
		out, err := cmd.Output()
		if s := strings.TrimSpace(string(out)); s != want || (err == nil) != (want != "") {
			t.Errorf("script: %s → %q (%v), want %q", pod, s, err, want)
		}
	}
}
