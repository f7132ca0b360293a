package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tkesnap/collector"
	"tkesnap/internal/readiness"
	"tkesnap/internal/testenv"
	"tkesnap/parsers/bundle"
)

// labNode builds a node-like network namespace (eth0, a pod veth, routes,
// kube-proxy-style rules, a kube-proxy stand-in process) or skips.
func labNode(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.NeedRoot(t)
	}
	for _, tool := range []string{"ip", "iptables-save", "iptables-restore", "bash", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skipf(t, "%s not installed", tool)
		}
	}
	b := make([]byte, 4)
	rand.Read(b)
	ns := "tks-eq-" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		testenv.Skipf(t, "cannot create netns: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	sh := func(stdin string, args ...string) {
		t.Helper()
		c := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
		c.Stdin = strings.NewReader(stdin)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	sh("", "ip", "link", "set", "lo", "up")
	// no IPv6 duplicate address detection: addresses would change from
	// "tentative" between the two collections
	sh("", "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0")
	sh("", "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "vp-pod")
	sh("", "ip", "addr", "add", "10.0.1.11/24", "dev", "eth0")
	sh("", "ip", "link", "set", "eth0", "up")
	sh("", "ip", "link", "set", "vp-pod", "up")
	sh("", "ip", "route", "add", "172.16.0.2/32", "dev", "vp-pod")
	sh("", "ip", "route", "add", "172.16.0.64/26", "via", "10.0.1.12")
	sh(`*nat
:KUBE-SERVICES - [0:0]
:KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]
:KUBE-SEP-BBBBBBBBBBBBBBBB - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -d 172.16.252.10/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-AAAAAAAAAAAAAAAA
-A KUBE-SVC-AAAAAAAAAAAAAAAA -j KUBE-SEP-BBBBBBBBBBBBBBBB
-A KUBE-SEP-BBBBBBBBBBBBBBBB -p tcp -m tcp -j DNAT --to-destination 172.16.0.2:8080
COMMIT
*filter
-A FORWARD -d 172.16.0.64/26 -p tcp -m tcp --dport 8080 -j DROP
COMMIT
`, "iptables-restore")
	// kube-proxy stand-in: its comm is "kube-proxy" (the script's name).
	dir := t.TempDir()
	kp := filepath.Join(dir, "kube-proxy")
	os.WriteFile(kp, []byte("#!/bin/sh\ntrap 'kill $s 2>/dev/null; exit 0' TERM\nwhile :; do sleep 3600 & s=$!; wait $s; done\n"), 0o755)
	c := exec.Command("ip", "netns", "exec", ns, kp, "--proxy-mode=iptables", "--token=should-not-leak", "--cluster-cidr=172.16.0.0/16")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// ip netns exec execs the script: c.Process is it; TERM lets it stop its sleep
	t.Cleanup(func() { c.Process.Signal(syscall.SIGTERM); c.Wait() })
	// ready once ip has exec'd into the stand-in (the collectors look for
	// the comm "kube-proxy")
	comm := fmt.Sprintf("/proc/%d/comm", c.Process.Pid)
	if !readiness.Until(30*time.Second, func() bool {
		b, _ := os.ReadFile(comm)
		return strings.TrimSpace(string(b)) == "kube-proxy"
	}) {
		t.Fatalf("kube-proxy stand-in did not start (%s)", comm)
	}
	return ns
}

var (
	reCounters = regexp.MustCompile(`\[\d+:\d+\]`)
	reNftCount = regexp.MustCompile(`"(packets|bytes)": \d+`)
)

// normalize removes what legitimately differs between two runs a second
// apart: iptables-save's timestamp comments, packet/byte counters, the
// conntrack counters.
func normalize(path string, data []byte) string {
	s := string(data)
	switch {
	case strings.HasSuffix(path, "save.txt"):
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.HasPrefix(l, "#") {
				keep = append(keep, reCounters.ReplaceAllString(l, "[0:0]"))
			}
		}
		return strings.Join(keep, "\n")
	case strings.HasSuffix(path, "nft-ruleset.json"):
		return reNftCount.ReplaceAllString(s, `"$1": 0`)
	case strings.HasSuffix(path, "sysctl.txt"):
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.HasPrefix(l, "net.netfilter.nf_conntrack_count") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	case strings.HasSuffix(path, "conntrack-stats.txt"), strings.HasSuffix(path, "conntrack.txt"):
		return regexp.MustCompile(`\d+`).ReplaceAllString(s, "N")
	}
	return s
}

func TestGoNodeCollectorWritesWhatTheScriptWrites(t *testing.T) {
	ns := labNode(t)
	out := t.TempDir()
	script := filepath.Join(out, "collect.sh")
	os.WriteFile(script, collector.Script, 0o755)
	if msg, err := exec.Command("ip", "netns", "exec", ns, "bash", script, "--node", "--node-name", "10.0.1.11", "-o", out+"/script.tgz").CombinedOutput(); err != nil {
		t.Fatalf("script: %v %s", err, msg)
	}
	// The Go collector runs inside the namespace through a re-exec of the
	// test binary (a goroutine cannot enter a netns safely).
	gocol := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=TestHelperCollect")
	gocol.Env = append(os.Environ(), "TKESNAP_HELPER_OUT="+out+"/go")
	if msg, err := gocol.CombinedOutput(); err != nil {
		t.Fatalf("go collector: %v %s", err, msg)
	}
	sb, err := bundle.Open(out+"/script.tgz", bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	gb, err := bundle.Open(out+"/go", bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer gb.Close()
	if len(sb.Problems)+len(gb.Problems) > 0 {
		t.Fatalf("problems: script %+v go %+v", sb.Problems, gb.Problems)
	}
	if a, b := strings.Join(sb.Files(), "\n"), strings.Join(gb.Files(), "\n"); a != b {
		t.Fatalf("file sets differ:\nscript:\n%s\ngo:\n%s", a, b)
	}
	for _, f := range sb.Files() {
		if f == "manifest.json" {
			continue
		}
		a, _ := sb.ReadFile(f)
		b, _ := gb.ReadFile(f)
		if na, nb := normalize(f, a), normalize(f, b); na != nb {
			t.Errorf("%s differs:\n--- script\n%s\n--- go\n%s", f, na, nb)
		}
	}
	sm, gm := sb.Manifest.Files, gb.Manifest.Files
	if len(sm) != len(gm) {
		t.Fatalf("manifest records: script %d, go %d", len(sm), len(gm))
	}
	for i := range sm {
		s, g := sm[i], gm[i]
		if s.Path != g.Path || s.Command != g.Command || s.Node != g.Node || s.ExitCode != g.ExitCode || s.Skipped != g.Skipped || s.Truncated != g.Truncated {
			t.Errorf("record %d differs:\nscript %+v\ngo     %+v", i, s, g)
		}
	}
	kp, _ := gb.ReadFile("nodes/10.0.1.11/kube-proxy.txt")
	if !bytes.Contains(kp, []byte("mode: iptables")) || bytes.Contains(kp, []byte("should-not-leak")) {
		t.Errorf("kube-proxy.txt: mode missing or token leaked:\n%s", kp)
	}
}

// TestHelperCollect is the Go collector run inside the namespace by
// TestGoNodeCollectorWritesWhatTheScriptWrites.
func TestHelperCollect(t *testing.T) {
	dir := os.Getenv("TKESNAP_HELPER_OUT")
	if dir == "" {
		return // not run as the helper process: nothing to do
	}
	var recs []bundle.ManifestRecord
	if a := strings.Fields(os.Getenv("TKESNAP_HELPER_CAPTURE")); len(a) == 8 {
		secs, _ := strconv.Atoi(a[3])
		recs = Captures(context.Background(), dir, "10.0.1.11", Capture{Host: a[1], Seconds: secs, Netns: a[5], Pod: a[7], Log: os.Stderr})
	}
	more, err := Collect(context.Background(), dir, Options{NodeName: "10.0.1.11"})
	if err != nil {
		t.Fatal(err)
	}
	recs = append(recs, more...)
	f, err := os.Create(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := &bundle.Manifest{Format: "tkesnap-bundle/v1", Created: time.Now(), CollectorVersion: collector.Version, Files: recs}
	if err := collector.WriteManifest(f, m); err != nil {
		t.Fatal(err)
	}
}

func TestGoCapturesWriteWhatTheScriptWrites(t *testing.T) {
	ns := labNode(t)
	if _, err := exec.LookPath("tcpdump"); err != nil {
		testenv.Skip(t, "tcpdump not installed")
	}
	// the pod end of vp-pod, in its own netns
	pod := ns + "-p"
	for _, c := range [][]string{
		{"ip", "netns", "add", pod},
		{"ip", "-n", ns, "link", "set", "vp-pod", "netns", pod},
		{"ip", "-n", pod, "link", "set", "vp-pod", "name", "eth0"},
		{"ip", "-n", pod, "addr", "add", "10.0.1.50/24", "dev", "eth0"},
		{"ip", "-n", pod, "link", "set", "eth0", "up"},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", c, err, out)
		}
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", pod).Run() })
	out := t.TempDir()
	script := filepath.Join(out, "collect.sh")
	os.WriteFile(script, collector.Script, 0o755)
	capArgs := []string{"--capture-host", "10.0.1.50", "--seconds", "2", "--pod-netns", pod, "--pod", "default/web-0"}
	run := func(c *exec.Cmd) {
		t.Helper()
		msg := readiness.NewOutput()
		c.Stdout, c.Stderr = msg, msg
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		var werr error
		go func() { werr = c.Wait(); close(exited) }()
		// both collectors say so once every tcpdump listens; the capture
		// window starts then, so the knock below falls inside it
		if err := msg.Wait("reproduce the failure now", 2*time.Minute, exited); err != nil {
			t.Fatalf("%v: %v", c.Args, err)
		}
		exec.Command("ip", "netns", "exec", pod, "bash", "-c", "exec 3<>/dev/tcp/10.0.1.11/9").Run()
		<-exited
		if werr != nil {
			t.Fatalf("%v: %v\n%s", c.Args, werr, msg.String())
		}
	}
	run(exec.Command("ip", append([]string{"netns", "exec", ns, "bash", script, "--node", "--node-name", "10.0.1.11", "-o", out + "/script.tgz"}, capArgs...)...))
	gocol := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=TestHelperCollect")
	gocol.Env = append(os.Environ(), "TKESNAP_HELPER_OUT="+out+"/go", "TKESNAP_HELPER_CAPTURE="+strings.Join(capArgs, " "))
	run(gocol)
	sb, err := bundle.Open(out+"/script.tgz", bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	gb, err := bundle.Open(out+"/go", bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer gb.Close()
	keys := func(b *bundle.Bundle, f string) string {
		var m map[string]any
		data, _ := b.ReadFile(f)
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var ks []string
		for k, v := range m {
			switch k {
			case "start", "stop":
				continue
			case "packets_captured", "packets_received":
				if v.(float64) < 1 {
					t.Errorf("%s: %s = %v", f, k, v)
				}
				continue
			}
			ks = append(ks, fmt.Sprintf("%s=%v", k, v))
		}
		sort.Strings(ks)
		return strings.Join(ks, " ")
	}
	var caps []string
	for _, f := range sb.Files() {
		if strings.HasPrefix(f, "captures/") {
			caps = append(caps, f)
			if !gb.Has(f) {
				t.Errorf("Go collector lacks %s", f)
			} else if strings.HasSuffix(f, ".json") {
				if a, b := keys(sb, f), keys(gb, f); a != b {
					t.Errorf("%s metadata differs:\nscript %s\ngo     %s", f, a, b)
				}
			}
		}
	}
	if len(caps) != 4 {
		t.Errorf("script captures: %v", caps)
	}
}
