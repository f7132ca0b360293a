package node

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/collector"
	"tkesnap/parsers/bundle"
)

// A tool that fails on the node (here ss, as on a kernel without
// sock_diag) is listed to the customer at the end of the run, the same
// way by the script and by the Go collector, and the bundle still exits 0.
func TestFailedNodeCommandIsListedTheSameByScriptAndGo(t *testing.T) {
	ns := labNode(t)
	bin := t.TempDir()
	os.WriteFile(filepath.Join(bin, "ss"), []byte("#!/bin/sh\necho 'Cannot open netlink socket: Protocol not supported' >&2\nexit 1\n"), 0o755)
	path := bin + ":/usr/sbin:/usr/bin:/sbin:/bin"
	out := t.TempDir()
	script := filepath.Join(out, "collect.sh")
	os.WriteFile(script, collector.Script, 0o755)
	sc := exec.Command("ip", "netns", "exec", ns, "env", "PATH="+path, "bash", script, "--node", "--node-name", "10.0.1.11", "-o", out+"/script.tgz")
	var stderr strings.Builder
	sc.Stderr = &stderr
	if err := sc.Run(); err != nil {
		t.Fatalf("script must exit 0 when it wrote a bundle: %v\n%s", err, stderr.String())
	}
	gocol := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=TestHelperCollect")
	gocol.Env = append(os.Environ(), "TKESNAP_HELPER_OUT="+out+"/go", "PATH="+path)
	if msg, err := gocol.CombinedOutput(); err != nil {
		t.Fatalf("go collector: %v %s", err, msg)
	}
	gb, err := bundle.Open(out+"/go", bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer gb.Close()
	var goOut strings.Builder
	collector.ReportFailures(&goOut, "tkesnap collect", gb.Manifest.Files, out+"/go.tgz")
	list := func(s string) []string {
		var l []string
		for _, x := range strings.Split(s, "\n") {
			if strings.HasPrefix(x, "  ") {
				l = append(l, x)
			}
		}
		return l
	}
	want := "  nodes/10.0.1.11/ss.txt: `ss -tunapH` exit 1: Cannot open netlink socket: Protocol not supported"
	sl, gl := list(stderr.String()), list(goOut.String())
	found := false
	for _, l := range sl {
		found = found || l == want
	}
	if !found || !strings.Contains(stderr.String(), "INCOMPLETE") {
		t.Errorf("script does not list %q:\n%s", want, stderr.String())
	}
	if strings.Join(sl, "\n") != strings.Join(gl, "\n") {
		t.Errorf("failure lists differ:\nscript:\n%s\ngo:\n%s", strings.Join(sl, "\n"), strings.Join(gl, "\n"))
	}
}
