package collector

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/internal/realdata"
	"tkesnap/internal/testenv"
	"tkesnap/parsers/bundle"
	"tkesnap/parsers/tencent"
)

// realTencent is the directory of official tccli example responses
// (tencent/ in the shared real data).
func realTencent(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs(realdata.Path(t, "tencent"))
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// fakeTccli answers `tccli SERVICE ACTION ...` with the official example
// response of that action (tccli-SERVICE-vVERSION-ACTION-ex1.json) and logs
// every call; an action without an example fails like tccli does.
func fakeTccli(t *testing.T, dir, real string) (log string) {
	t.Helper()
	log = filepath.Join(dir, "tccli.log")
	script := `#!/bin/sh
echo "$*" >>"` + log + `"
case "$2" in
# API doc example (tke 2018-05-25 DescribeClusterEndpointStatus); tccli ships none
DescribeClusterEndpointStatus) printf '{\n    "Response": {\n        "Status": "Created",\n        "ErrorMsg": "",\n        "RequestId": "eac6b301-a322-493a-8e36-83b295459397"\n    }\n}\n'; exit 0 ;;
# API doc example shape (vpc 2017-03-12 DescribeNetworkAccountType); tccli ships none
DescribeNetworkAccountType) printf '{\n    "Response": {\n        "NetworkAccountType": "LEGACY",\n        "RequestId": "0b3a7d2c-4e5f-4a6b-9c8d-7e6f5a4b3c2d"\n    }\n}\n'; exit 0 ;;
esac
f=$(ls "` + real + `"/tccli-"$1"-v*-"$2"-ex1.json 2>/dev/null | head -n1)
[ -n "$f" ] || { echo "[TencentCloudSDKException] code:InvalidAction message:no example for $1 $2" >&2; exit 1; }
cat "$f"
`
	if err := os.WriteFile(filepath.Join(dir, "tccli"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return log
}

// runCluster runs cluster mode with the tools in bin first on PATH and
// returns the bundle path, the combined output and the exit error.
func runCluster(t *testing.T, bin string) (string, string, error) {
	t.Helper()
	path, stdout, stderr, err := runClusterSplit(t, bin)
	return path, stdout + stderr, err
}

// runClusterSplit is runCluster with stdout and stderr apart.
func runClusterSplit(t *testing.T, bin string) (path, stdout, stderr string, err error) {
	t.Helper()
	return runClusterPATH(t, bin+":/usr/bin:/bin:/usr/sbin:/sbin")
}

// runClusterPATH runs cluster mode with exactly this PATH.
func runClusterPATH(t *testing.T, pathEnv string) (path, stdout, stderr string, err error) {
	t.Helper()
	for _, tool := range []string{"bash", "tar", "awk", "sed", "timeout"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skipf(t, "%s not installed", tool)
		}
	}
	out := t.TempDir()
	cmd := exec.Command("bash", writeScript(t), "--cluster", "--cluster-id", "cls-lab00001", "--region", "ap-guangzhou", "-o", out+"/c.tgz")
	tmp := t.TempDir()
	cmd.Env = append(os.Environ(), "PATH="+pathEnv, "TMPDIR="+tmp)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	// whatever the outcome (exit 3 included), the temp dir is gone
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("the collector left %s in TMPDIR", left[0].Name())
	}
	return out + "/c.tgz", o.String(), e.String(), err
}

func TestClusterModeDescribesTheAPIServerAndENISecurityGroups(t *testing.T) {
	real := realTencent(t)
	bin := t.TempDir()
	fakeKubectl(t, bin)
	log := fakeTccli(t, bin, real)
	path, msg, err := runCluster(t, bin)
	if err != nil {
		t.Fatalf("cluster mode: %v\n%s", err, msg)
	}
	b, err := bundle.Open(path, bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	calls, _ := os.ReadFile(log)
	var sgCall string
	for _, l := range strings.Split(string(calls), "\n") {
		if strings.HasPrefix(l, "vpc DescribeSecurityGroups ") {
			sgCall = l
		}
	}
	// sg-p1ezv4wz: the CVM's (DescribeInstances ex1); sg-2quou3re: the API
	// server endpoint's (DescribeClusterEndpoints ex1); sg-c2r7lnxh and
	// sg-f9ekbxeq: the ENI's GroupSet (DescribeNetworkInterfaces ex1).
	for _, sg := range []string{"sg-p1ezv4wz", "sg-2quou3re", "sg-c2r7lnxh", "sg-f9ekbxeq"} {
		if !strings.Contains(sgCall, `"`+sg+`"`) {
			t.Errorf("DescribeSecurityGroups does not ask for %s: %q", sg, sgCall)
		}
		if !b.Has("cloud/security-group-policies/" + sg + ".json") {
			t.Errorf("no policies collected for %s", sg)
		}
	}
	if !strings.Contains(sgCall, "--Limit 100") {
		t.Errorf("DescribeSecurityGroups without --Limit 100 returns only 20 groups: %q", sgCall)
	}
	order := map[string]int{}
	for i, r := range b.Manifest.Files {
		if _, ok := order[r.Path]; !ok {
			order[r.Path] = i
		}
	}
	eni, ok1 := order["cloud/network-interfaces.json"]
	sgs, ok2 := order["cloud/security-groups.json"]
	if !ok1 || !ok2 || eni > sgs {
		t.Errorf("ENIs (record %d, %v) must be read before the security groups (record %d, %v)", eni, ok1, sgs, ok2)
	}
	acct, err := b.ReadFile("cloud/network-account-type.json")
	if err != nil {
		t.Fatalf("account type not collected: %v", err)
	}
	if a, err := tencent.ParseNetworkAccountType(acct); err != nil || a.NetworkAccountType != "LEGACY" {
		t.Errorf("network-account-type.json: %q, %v", a.NetworkAccountType, err)
	}
	st, err := b.ReadFile("cloud/cluster-endpoint-status.json")
	if err != nil {
		t.Fatalf("endpoint status not collected: %v", err)
	}
	ep, err := tencent.ParseClusterEndpoints(st)
	if err != nil || ep.Status != "Created" {
		t.Errorf("cluster-endpoint-status.json: %+v %v\n%s", ep, err, st)
	}
	// Read-only: tccli only describes, kubectl only gets, never Secrets.
	for _, l := range strings.Split(strings.TrimSpace(string(calls)), "\n") {
		if f := strings.Fields(l); len(f) < 2 || !strings.HasPrefix(f[1], "Describe") {
			t.Errorf("tccli call that is not a Describe: %q", l)
		}
		if strings.HasPrefix(l, "clb DescribeLoadBalancers ") && !strings.Contains(l, "--Limit 100") {
			t.Errorf("DescribeLoadBalancers without --Limit 100: %q", l)
		}
	}
	kcalls, _ := os.ReadFile(filepath.Join(bin, "kubectl.log"))
	for _, l := range strings.Split(strings.TrimSpace(string(kcalls)), "\n") {
		if !(strings.HasPrefix(l, "get ") || strings.HasPrefix(l, "version ")) || strings.Contains(strings.ToLower(l), "secret") {
			t.Errorf("kubectl call that is not a read of a non-secret: %q", l)
		}
	}
	if !strings.Contains(string(calls), "tke DescribeClusterEndpointStatus --ClusterId cls-lab00001 --region ap-guangzhou") {
		t.Errorf("DescribeClusterEndpointStatus not called for the cluster:\n%s", calls)
	}
}
