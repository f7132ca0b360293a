package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"tkesnap/internal/hostile"
)

// The hostile corpus of issue 16 (testdata/hostile/README.md): each input
// a red team used, rebuilt by internal/hostile, run through the CLI with
// its expected exit code and bounds on the work and output. Nothing here
// asserts wall-clock time; a regression to quadratic work shows as a test
// that does not finish.

func cli(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runWith(args, &out, &errb)
	return out.String(), errb.String(), code
}

// tempRoot points the unpack temp at a fresh folder, so the test can check
// nothing is left there.
func tempRoot(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	t.Setenv("TMPDIR", d)
	return d
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		t.Errorf("left in temp: %s", e.Name())
	}
}

func writeDir(t *testing.T, fs hostile.Files) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "bundle")
	if err := hostile.WriteDir(d, fs); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestHostileCorpus(t *testing.T) {
	healthyManifest, err := os.ReadFile("../../testdata/bundles/healthy/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		make func(t *testing.T) []string // the command line
		// wantCode is the exit code; maxOut bounds stdout in bytes
		wantCode int
		maxOut   int
		// want appear in stdout+stderr
		want []string
	}{
		{
			name: "item 2: 8,000 billion-laughs documents in cluster/configmaps.yaml",
			make: func(t *testing.T) []string {
				return []string{"analyze", "-q", writeDir(t, hostile.Files{"manifest.json": healthyManifest, "cluster/configmaps.yaml": hostile.LaughsStream(8000)})}
			},
			wantCode: 0, maxOut: 1 << 20,
			want: []string{"alias expansion exceeds this file's budget", "7999 more YAML documents not decoded"},
		},
		{
			name: "item 2: a List whose items alias one big anchor",
			make: func(t *testing.T) []string {
				return []string{"analyze", "-q", writeDir(t, hostile.Files{"manifest.json": healthyManifest, "cluster/pods.yaml": hostile.AliasList(30_000, 120_000)})}
			},
			wantCode: 0, maxOut: 1 << 20,
			want: []string{"alias expansion exceeds this file's budget", "more List items not decoded"},
		},
		{
			name: "item 3: an entry 8,000 folders deep",
			make: func(t *testing.T) []string {
				p := filepath.Join(t.TempDir(), "deep.tar")
				if err := hostile.WriteTar(p, hostile.Deep(8000)); err != nil {
					t.Fatal(err)
				}
				return []string{"analyze", "-q", p}
			},
			wantCode: 0, maxOut: 1 << 20,
			want: []string{"deeper than 32 levels"},
		},
		{
			name: "item 4: a 3 MB token in flows.json (text report)",
			make: func(t *testing.T) []string {
				return []string{"analyze", "-q", "--no-color", writeDir(t, hostile.Files{"manifest.json": healthyManifest, "flows.json": hostile.HugeFlow(3 << 20)})}
			},
			// the token is shown in the summary, the flow and its trace:
			// output stays a small multiple of it
			wantCode: 0, maxOut: 16 * 3 << 20,
		},
		{
			name: "item 5: a 107 MB dump in a folder under --max-file-bytes 1e6",
			make: func(t *testing.T) []string {
				d := writeDir(t, hostile.Files{"manifest.json": healthyManifest, "nodes/n1/ip-addr.json": []byte("[]")})
				f, err := os.Create(filepath.Join(d, "nodes/n1/iptables-save.txt"))
				if err != nil {
					t.Fatal(err)
				}
				f.Truncate(107_000_000) // sparse: no disk is used
				f.Close()
				return []string{"analyze", "-q", "--max-file-bytes", "1000000", d}
			},
			wantCode: 0, maxOut: 1 << 20,
			want: []string{"nodes/n1/iptables-save.txt", "file larger than 1000000 bytes; truncated"},
		},
		{
			name: "item 8: a bundle of garbage with the collector's layout",
			make: func(t *testing.T) []string {
				return []string{"analyze", "-q", writeDir(t, hostile.Garbage(1))}
			},
			wantCode: 2, maxOut: 1 << 20,
			want: []string{"could be read: none of its"},
		},
		{
			name: "item 8: 200,000 failed manifest records",
			make: func(t *testing.T) []string {
				return []string{"analyze", "-q", writeDir(t, hostile.Files{"manifest.json": hostile.Manifest(200_000)})}
			},
			wantCode: 4, maxOut: 2 << 20,
			want: []string{"199000 more findings not listed", "more undecided checks not listed"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := tempRoot(t)
			args := tc.make(t)
			out, errs, code := cli(t, args...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%.2000s", code, tc.wantCode, errs)
			}
			if len(out) > tc.maxOut {
				t.Errorf("%d bytes of report, bound %d", len(out), tc.maxOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out+errs, w) {
					t.Errorf("output lacks %q:\n%.3000s\n%.1000s", w, out, errs)
				}
			}
			assertEmpty(t, tmp)
		})
	}
}

// Item 7: one sanitizer for every command's text output. Escape
// sequences from a rule comment, a chain name, a capture file name or an
// endpoint given on the command line never reach the terminal raw.
func TestEveryCommandSanitizes(t *testing.T) {
	const evil = "x\x1b]0;owned\x07\x1b[2J\u202egnp\u061c\u2028\u200b\ufeff\u0085"
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	os.WriteFile(rules, []byte("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"+
		"-A INPUT -p tcp -m comment --comment \""+evil+"\" -j DROP\nCOMMIT\n"), 0o644)
	pcapName := filepath.Join(dir, "cap"+evil+"\nFAKE LINE.pcap")
	data, err := os.ReadFile("../../testdata/bundles/healthy/captures/10.0.1.11/node-eth0.pcap")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(pcapName, data, 0o644)
	for _, args := range [][]string{
		{"trace", "--iptables", rules, "--proto", "tcp", "--src", "10.0.0.1:1000", "--dst", "10.0.0.2:80", "--in-iface", "eth0", "--local-ip", "eth0=10.0.0.2"},
		{"pcap", pcapName},
		{"pcap", pcapName, "--format", "json"},
		{"trace", "../../testdata/bundles/healthy", "--from", "pod:default/" + evil, "--to", "svc:default/web:80"},
		{"analyze", "-q", "--flow", "pod:default/" + evil + "=svc:default/web:80", "../../testdata/bundles/healthy"},
		{"analyze", "-q", "--format", "html", "--flow", "pod:default/" + evil + "=svc:default/web:80", "../../testdata/bundles/healthy"},
		{"analyze", "-q", "--format", "markdown", "--flow", "pod:default/" + evil + "=svc:default/web:80", "../../testdata/bundles/healthy"},
	} {
		out, errs, code := cli(t, args...)
		if code == 1 {
			t.Errorf("%v: exit 1: %s", args[:2], errs)
		}
		for _, bad := range []string{"\x1b", "\x07", "\u202e", "\u061c", "\u2028", "\u200b", "\ufeff", "\u0085"} {
			if strings.Contains(out, bad) || strings.Contains(errs, bad) {
				t.Errorf("%v: %q reached the output", args[:2], bad)
			}
		}
		if !strings.Contains(out+errs, `\u001b`) {
			t.Errorf("%v: the escaped text is not shown:\n%.1500s\n%.500s", args[:2], out, errs)
		}
	}
}

// A panic anywhere in a command is exit 1 with a "please report" message,
// never 2 (which would blame the input).
func TestPanicExits1(t *testing.T) {
	commands = append(commands, func() *cobra.Command {
		return &cobra.Command{Use: "hostile-panic", Hidden: true, RunE: func(*cobra.Command, []string) error {
			var m map[string]int
			m["x"]++ // a nil-map write: a runtime panic, as a bug would cause
			return nil
		}}
	})
	defer func() { commands = commands[:len(commands)-1] }()
	_, errs, code := cli(t, "hostile-panic")
	if code != 1 || !strings.Contains(errs, "please report") || !strings.Contains(errs, "internal error") {
		t.Errorf("exit %d, stderr:\n%s", code, errs)
	}
}

// Item 6: -o replaces the old report only once the new one is complete;
// a failure or an interruption while rendering leaves it intact and no
// temporary file behind.
func TestOutputIsAtomic(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "report.md")
	os.WriteFile(target, []byte("OLD REPORT"), 0o644)
	for name, write := range map[string]func(io.Writer) error{
		"render error": func(w io.Writer) error { io.WriteString(w, "half"); return errors.New("boom") },
		"interrupted":  func(w io.Writer) error { io.WriteString(w, "half"); runAtAbort(); return errors.New("interrupted") },
	} {
		if err := writeAtomic(target, write); err == nil {
			t.Errorf("%s: no error", name)
		}
		if b, _ := os.ReadFile(target); string(b) != "OLD REPORT" {
			t.Errorf("%s: old report became %q", name, b)
		}
		if es, _ := os.ReadDir(dir); len(es) != 1 {
			t.Errorf("%s: %d files in the folder, want only the report", name, len(es))
		}
	}
	func() {
		defer func() { recover() }()
		writeAtomic(target, func(w io.Writer) error { io.WriteString(w, "half"); panic("bug") })
	}()
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("panic: %d files in the folder, want only the report", len(es))
	}
	if err := writeAtomic(target, func(w io.Writer) error { _, err := io.WriteString(w, "NEW \x1b[2J"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != `NEW \u001b[2J` {
		t.Errorf("new report %q", b)
	}
}

// runAtAbort runs the -o cleanups as the signal handler does, without
// aborting the bundles of the test process.
func runAtAbort() {
	cleanups.Lock()
	fns := cleanups.fns
	cleanups.fns = nil
	cleanups.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// Item 6: SIGINT and SIGTERM while a bundle is open remove the unpacked
// temp. The child is this test binary running main; its stdout is a pipe
// nobody reads, so it blocks writing the report with the bundle still
// open until the signal comes (no timing involved).
func TestSignalRemovesTemp(t *testing.T) {
	if os.Getenv("TKESNAP_HOSTILE_CHILD") == "1" {
		os.Args = append([]string{"tkesnap"}, strings.Split(os.Getenv("TKESNAP_HOSTILE_ARGS"), "\t")...)
		main()
		return
	}
	src := t.TempDir()
	p := filepath.Join(src, "b.tar")
	if err := hostile.WriteTar(p, []hostile.TarEntry{{Name: "manifest.json", Data: hostile.Manifest(5000)}}); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		tmp := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestSignalRemovesTemp$")
		cmd.Env = append(os.Environ(), "TKESNAP_HOSTILE_CHILD=1", "TMPDIR="+tmp, "TKESNAP_HOSTILE_ARGS=analyze\t-q\t"+p)
		pr, pw, _ := os.Pipe()
		cmd.Stdout = pw
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		// readiness: the unpacked manifest is in the temp root
		deadline := time.Now().Add(2 * time.Minute)
		for {
			m, _ := filepath.Glob(filepath.Join(tmp, "tkesnap-bundle-*", "manifest.json"))
			if len(m) > 0 {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("the child never unpacked: %s", errb.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		pr.Close()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 128+int(sig) {
			t.Errorf("%v: child ended with %v, want exit %d; stderr: %s", sig, err, 128+int(sig), errb.String())
		}
		if !strings.Contains(errb.String(), "temporary files removed") {
			t.Errorf("%v: stderr %q", sig, errb.String())
		}
		assertEmpty(t, tmp)
	}
}

// Go's out-of-memory is a fatal error that exits 2 ("bad input"): past its
// memory budget tkesnap stops itself with a clear message and exit 1
// instead, and removes its temp. 200,000 failed manifest records need
// ~500 MB; the child gets GOMEMLIMIT=100MiB.
func TestMemoryBudgetStopsCleanly(t *testing.T) {
	src := t.TempDir()
	p := filepath.Join(src, "b.tar")
	if err := hostile.WriteTar(p, []hostile.TarEntry{{Name: "manifest.json", Data: hostile.Manifest(200_000)}}); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSignalRemovesTemp$")
	cmd.Env = append(os.Environ(), "TKESNAP_HOSTILE_CHILD=1", "TMPDIR="+tmp, "GOMEMLIMIT=100MiB", "TKESNAP_HOSTILE_ARGS=analyze\t-q\t"+p)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(errb.String(), "above this run's budget of 100 MiB") {
		t.Errorf("child ended with %v; stderr: %.2000s", err, errb.String())
	}
	assertEmpty(t, tmp)
}
