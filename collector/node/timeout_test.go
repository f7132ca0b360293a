package node

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tkesnap/collector"
	"tkesnap/internal/readiness"
	"tkesnap/parsers/bundle"
)

// escaper writes a tool that starts a descendant in a new session (setsid:
// out of the process group) holding stdout, notes its pid, and hangs.
func escaper(t *testing.T, pidfile string) string {
	t.Helper()
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Fatal("setsid (util-linux) is needed")
	}
	p := filepath.Join(t.TempDir(), "hang-tool")
	sh := "#!/bin/sh\nsetsid sh -c 'echo $$ >" + pidfile + "; exec sleep 600' &\necho partial\nexec sleep 600\n"
	if err := os.WriteFile(p, []byte(sh), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// gone: the process no longer runs (absent, or a zombie waiting for init).
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}

func escapedPID(t *testing.T, pidfile string) int {
	t.Helper()
	var pid int
	if !readiness.Until(30*time.Second, func() bool {
		b, _ := os.ReadFile(pidfile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return pid > 0
	}) {
		t.Fatal("the escaping descendant never started")
	}
	return pid
}

// A command whose descendant calls setsid and keeps the output pipe open
// is stopped at the timeout by both collectors: the run ends (recorded
// as timed out, exit 124) and the escaped descendant is killed — it used
// to keep the script's pipeline open for its whole life, and Go left it
// running as an orphan.
func TestTimeoutKillsDescendantsThatLeftTheProcessGroup(t *testing.T) {
	t.Run("script", func(t *testing.T) {
		dir := t.TempDir()
		pidfile := filepath.Join(dir, "escaped.pid")
		tool := escaper(t, pidfile)
		script := filepath.Join(dir, "c.sh")
		os.WriteFile(script, collector.Script, 0o755)
		sh := `. "$0"; WORK=$1; ROOT=$1/root; NODE_NAME=n1; : >"$WORK/records"; run x.txt --timeout 2 -- "$2"; cat "$WORK/records"`
		cmd := exec.Command("bash", "-c", sh, script, dir, tool)
		cmd.Env = append(os.Environ(), "TKESNAP_COLLECT_SOURCE_ONLY=1")
		out := readiness.NewOutput()
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := escapedPID(t, pidfile)
		t.Cleanup(func() { exec.Command("kill", "-9", strconv.Itoa(pid)).Run() })
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		// the escaped sleep lives 600 s: the run must end long before
		select {
		case <-exited:
		case <-time.After(5 * time.Minute):
			cmd.Process.Kill()
			t.Fatalf("run did not end while the escaped descendant held the pipe:\n%s", out.String())
		}
		var rec bundle.ManifestRecord
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 1 {
			t.Errorf("the run printed more than its record (noise on the customer's terminal):\n%s", out.String())
		}
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rec); err != nil {
			t.Fatalf("record: %v\n%s", err, out.String())
		}
		if rec.ExitCode != 124 || !strings.Contains(rec.Stderr, "timed out") {
			t.Errorf("record: %+v", rec)
		}
		if !readiness.Until(30*time.Second, func() bool { return gone(pid) }) {
			t.Errorf("escaped descendant %d still runs", pid)
		}
	})
	t.Run("go", func(t *testing.T) {
		dir := t.TempDir()
		pidfile := filepath.Join(dir, "escaped.pid")
		tool := escaper(t, pidfile)
		r := &run{o: Options{NodeName: "n1", Timeout: 2 * time.Second}, root: dir}
		r.o.defaults()
		done := make(chan struct{})
		go func() { r.cmd(context.Background(), "x.txt", false, 0, tool); close(done) }()
		pid := escapedPID(t, pidfile)
		t.Cleanup(func() { exec.Command("kill", "-9", strconv.Itoa(pid)).Run() })
		select {
		case <-done:
		case <-time.After(5 * time.Minute):
			t.Fatal("cmd did not end while the escaped descendant held the pipe")
		}
		if len(r.recs) != 1 || r.recs[0].ExitCode != 124 {
			t.Fatalf("records: %+v", r.recs)
		}
		if !readiness.Until(30*time.Second, func() bool { return gone(pid) }) {
			t.Errorf("escaped descendant %d still runs", pid)
		}
	})
}
