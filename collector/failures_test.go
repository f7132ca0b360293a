package collector

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/internal/testenv"
	"tkesnap/parsers/bundle"
)

// listed returns the list lines ("  path: `cmd` exit N: why") of a
// failure report.
func listed(report string) []string {
	var out []string
	for _, l := range strings.Split(report, "\n") {
		if strings.HasPrefix(l, "  ") {
			out = append(out, l)
		}
	}
	return out
}

// sameListAsGo checks that the Go collector's report of the bundle's
// manifest lists exactly what the script printed.
func sameListAsGo(t *testing.T, b *bundle.Bundle, scriptStderr, dest string) {
	t.Helper()
	var goOut strings.Builder
	ReportFailures(&goOut, "tkesnap collect", b.Manifest.Files, dest)
	if g, s := strings.Join(listed(goOut.String()), "\n"), strings.Join(listed(scriptStderr), "\n"); g != s {
		t.Errorf("Go and script list different failures:\nGo:\n%s\nscript:\n%s", g, s)
	}
}

func TestUnreachableAPIServerIsReportedAndExitsNonZeroKeepingThePartialBundle(t *testing.T) {
	if _, err := exec.LookPath("tccli"); err == nil {
		testenv.Skip(t, "a real tccli is installed on this machine")
	}
	bin := t.TempDir()
	// every kubectl call fails the way it does when the API server's
	// endpoint is not reachable from this machine
	os.WriteFile(filepath.Join(bin, "kubectl"), []byte(`#!/bin/sh
echo "I1125 10:00:00.000000 memcache.go:265] couldn't get current server API group list" >&2
echo "The connection to the server 10.0.0.1:443 was refused - did you specify the right host or port?" >&2
exit 1
`), 0o755)
	path, stdout, stderr, err := runClusterSplit(t, bin)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("want exit 3 when nothing could be collected, got %v\n%s", err, stderr)
	}
	if strings.TrimSpace(stdout) != path {
		t.Errorf("stdout %q, want the bundle path %s", stdout, path)
	}
	b, err := bundle.Open(path, bundle.DefaultLimits())
	if err != nil {
		t.Fatalf("the partial bundle must stay: %v", err)
	}
	defer b.Close()
	want := "  cluster/pods.yaml: `kubectl get pods -A -o yaml` exit 1: The connection to the server 10.0.0.1:443 was refused - did you specify the right host or port?"
	lines := listed(stderr)
	if !strings.Contains(stderr, "\n"+want+"\n") || len(lines) != len(Failed(b.Manifest.Files)) || len(lines) < 13 {
		t.Errorf("failure list lacks %q or is not one line per failed kubectl call (%d lines):\n%s", want, len(lines), stderr)
	}
	if !strings.Contains(stderr, "INCOMPLETE") || !strings.Contains(stderr, "nothing could be collected") ||
		!strings.Contains(stderr, "partial bundle kept at "+path) {
		t.Errorf("stderr does not say the bundle is incomplete and nothing was collected:\n%s", stderr)
	}
	sameListAsGo(t, b, stderr, path)
}

func TestClusterModeWithoutKubectlOrTccliSaysNothingWasCollected(t *testing.T) {
	// a PATH with every system tool but kubectl and tccli
	bin := t.TempDir()
	for _, d := range []string{"/usr/bin", "/bin", "/usr/sbin", "/sbin"} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if n := e.Name(); n != "kubectl" && n != "tccli" {
				os.Symlink(filepath.Join(d, n), filepath.Join(bin, n)) // first dir wins, like PATH
			}
		}
	}
	path, _, stderr, err := runClusterPATH(t, bin)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(stderr, "nothing could be collected: kubectl is not installed here") {
		t.Errorf("want exit 3 saying kubectl is missing, got %v\n%s", err, stderr)
	}
	// skipped tools are not failures: no list, but the bundle says why
	if len(listed(stderr)) != 0 {
		t.Errorf("missing tools listed as failed commands:\n%s", stderr)
	}
	b, err := bundle.Open(path, bundle.DefaultLimits())
	if err != nil {
		t.Fatalf("partial bundle: %v", err)
	}
	defer b.Close()
	if len(b.Manifest.Files) == 0 || b.Manifest.Files[0].Skipped != "kubectl not found" {
		t.Errorf("manifest does not record the missing kubectl: %+v", b.Manifest.Files)
	}
}

func TestFailedKubectlAndTccliCallsAreListedAndTheBundleStillExitsZero(t *testing.T) {
	bin := t.TempDir()
	fakeKubectl(t, bin)
	// pods are forbidden to this user; everything else works
	wrap := t.TempDir()
	os.WriteFile(filepath.Join(wrap, "kubectl"), []byte(`#!/bin/sh
if [ "$2" = pods ]; then
	echo 'Error from server (Forbidden): pods is forbidden: User "dev" cannot list resource "pods" in API group "" at the cluster scope' >&2
	exit 1
fi
exec "`+bin+`/kubectl" "$@"
`), 0o755)
	// tccli installed but without credentials
	os.WriteFile(filepath.Join(wrap, "tccli"), []byte(`#!/bin/sh
echo "[TencentCloudSDKException] code:AuthFailure.SecretIdNotFound message:The SecretId is not found, please ensure that your SecretId exists and TokenId is valid." >&2
exit 255
`), 0o755)
	path, stdout, stderr, err := runClusterSplit(t, wrap+":"+bin)
	if err != nil {
		t.Fatalf("a written bundle exits 0: %v\n%s", err, stderr)
	}
	if strings.TrimSpace(stdout) != path {
		t.Errorf("stdout %q, want the bundle path", stdout)
	}
	b, err := bundle.Open(path, bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	want := []string{
		"  cluster/pods.yaml: `kubectl get pods -A -o yaml` exit 1: Error from server (Forbidden): pods is forbidden: User \"dev\" cannot list resource \"pods\" in API group \"\" at the cluster scope",
		// later tccli calls are skipped with a reason, not failed again
		"  cloud/clusters.json: `tccli tke DescribeClusters --ClusterIds [\"cls-lab00001\"] --region ap-guangzhou` exit 255: [TencentCloudSDKException] code:AuthFailure.SecretIdNotFound message:The SecretId is not found, please ensure that your SecretId exists and TokenId is valid.",
	}
	if got := listed(stderr); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("failure list:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(stderr, "2 command(s) failed, the bundle is INCOMPLETE") || strings.Contains(stderr, "nothing could be collected") {
		t.Errorf("stderr:\n%s", stderr)
	}
	sameListAsGo(t, b, stderr, path)
}

func TestNoFailureReportWhenEverythingWasCollected(t *testing.T) {
	if _, err := exec.LookPath("tccli"); err == nil {
		testenv.Skip(t, "a real tccli is installed on this machine")
	}
	bin := t.TempDir()
	fakeKubectl(t, bin)
	_, _, stderr, err := runClusterSplit(t, bin)
	if err != nil || strings.Contains(stderr, "INCOMPLETE") || len(listed(stderr)) != 0 {
		t.Errorf("clean run (tccli merely absent) reported failures: %v\n%s", err, stderr)
	}
}

func TestFailureReportListsRanAndFailedCommandsOnlyAndStaysShort(t *testing.T) {
	recs := []bundle.ManifestRecord{
		{Path: "nodes/n/ipvsadm.txt", Command: "ipvsadm -Sn", ExitCode: 127, Skipped: "ipvs not available"},
		{Path: "nodes/n/ss.txt", Command: "ss -tunapH", ExitCode: 0},
		{Path: "nodes/n/conntrack.txt", Command: "conntrack -L", ExitCode: 1, Stderr: "conntrack v1.4.7 (conntrack-tools): \n  Operation not permitted  \n\n"},
		{Path: "nodes/n/nft-ruleset.json", Command: "nft -j list ruleset", ExitCode: 124, Stderr: "timed out after 20s"},
	}
	var w strings.Builder
	if n := ReportFailures(&w, "tkesnap collect", recs, "/tmp/b.tgz"); n != 2 {
		t.Errorf("%d failures, want 2 (skipped and successful commands are not failures)", n)
	}
	want := "  nodes/n/conntrack.txt: `conntrack -L` exit 1: Operation not permitted\n  nodes/n/nft-ruleset.json: `nft -j list ruleset` exit 124: timed out after 20s"
	if got := strings.Join(listed(w.String()), "\n"); got != want {
		t.Errorf("list:\n%s\nwant:\n%s", got, want)
	}
	var many []bundle.ManifestRecord
	for i := 0; i < 45; i++ {
		many = append(many, bundle.ManifestRecord{Path: fmt.Sprintf("cloud/x%d.json", i), Command: "tccli", ExitCode: 1})
	}
	w.Reset()
	ReportFailures(&w, "p", many, "b.tgz")
	if l := listed(w.String()); len(l) != maxListed+1 || !strings.Contains(l[maxListed], "25 more") {
		t.Errorf("long list not cut at %d:\n%s", maxListed, w.String())
	}
	w.Reset()
	if ReportFailures(&w, "p", recs[:2], "b.tgz") != 0 || w.Len() != 0 {
		t.Errorf("reported with no failure: %q", w.String())
	}
}
