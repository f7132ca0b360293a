package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"tkesnap/analysis/model"
	"tkesnap/internal/testbundle"
	"tkesnap/parsers/bundle"
)

// The second metamorphic property of issue 14: adding objects that have
// nothing to do with any flow or fault — a security group bound to
// nothing, a Service of type ExternalName and a completed Job pod in a
// namespace of their own, with no address of any traced flow — changes no
// finding and no traced flow. A check that reacts to them concludes from
// something other than the cluster's faults.

// unrelatedNS is the namespace of the added objects: no flow, policy or
// Service of any bundle names it.
var unrelatedNS = fmt.Sprintf("tkesnap-unrelated-%d", os.Getpid())

const unrelatedSG = "sg-unrelat1"

// addUnrelated adds the objects to the bundle folder dir where the bundle
// has the file that lists their kind (a bundle without cloud data gets no
// SG: a new file would be a new input, not an unrelated object) and
// returns what it added.
func addUnrelated(t *testing.T, dir string) []string {
	t.Helper()
	var added []string
	appendDoc := func(rel, doc string) {
		p := filepath.Join(dir, rel)
		data, err := os.ReadFile(p)
		if err != nil {
			if os.IsNotExist(err) {
				return
			}
			t.Fatal(err)
		}
		if len(data) > 0 && data[len(data)-1] != '\n' {
			data = append(data, '\n')
		}
		data = append(data, "---\n"+doc...)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		added = append(added, rel)
	}
	appendDoc("cluster/services.yaml", `apiVersion: v1
kind: Service
metadata:
  name: docs-mirror
  namespace: `+unrelatedNS+`
spec:
  type: ExternalName
  externalName: mirror.example.com
`)
	appendDoc("cluster/pods.yaml", `apiVersion: v1
kind: Pod
metadata:
  name: report-job-x7k2p
  namespace: `+unrelatedNS+`
  labels:
    job-name: report-job
spec:
  restartPolicy: Never
  containers:
  - name: report
    image: busybox:1.36
status:
  phase: Succeeded
  conditions:
  - type: Ready
    status: "False"
    reason: PodCompleted
`)

	sgs := filepath.Join(dir, "cloud/security-groups.json")
	if _, err := os.Stat(sgs); err == nil {
		editJSON(t, sgs, func(v map[string]any) {
			set, _ := v["SecurityGroupSet"].([]any)
			v["SecurityGroupSet"] = append(set, map[string]any{
				"CreatedTime": "2026-11-20 09:00:00", "IsDefault": false, "ProjectId": "0",
				"SecurityGroupDesc": "build farm, bound to nothing of the cluster", "SecurityGroupId": unrelatedSG,
				"SecurityGroupName": "build-farm", "TagSet": []any{}})
		})
		pol := map[string]any{"RequestId": "unrelated", "SecurityGroupPolicySet": map[string]any{
			"Version": "1",
			"Ingress": []any{policy(0, "TCP", "22", "198.18.0.0/24", "ssh from the build farm's bastion")},
			"Egress":  []any{policy(0, "ALL", "ALL", "0.0.0.0/0", "all out")},
		}}
		rel := "cloud/security-group-policies/" + unrelatedSG + ".json"
		data, err := json.MarshalIndent(pol, "", "    ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, rel), data, 0o644); err != nil {
			t.Fatal(err)
		}
		// the collector records every file it writes
		editJSON(t, filepath.Join(dir, "manifest.json"), func(v map[string]any) {
			files, _ := v["files"].([]any)
			v["files"] = append(files, map[string]any{"path": rel,
				"command": "tccli vpc DescribeSecurityGroupPolicies --SecurityGroupId " + unrelatedSG,
				"node":    "", "exit_code": 0, "duration_ms": 100, "bytes": len(data), "truncated": false})
		})
		added = append(added, "cloud/security-groups.json", rel)
	}
	return added
}

func policy(i int, proto, port, cidr, desc string) map[string]any {
	return map[string]any{"Action": "ACCEPT", "AddressTemplate": map[string]any{"AddressGroupId": "", "AddressId": ""},
		"CidrBlock": cidr, "Ipv6CidrBlock": "", "ModifyTime": "2026-11-20 09:00:00", "PolicyDescription": desc,
		"PolicyIndex": i, "Port": port, "Protocol": proto, "SecurityGroupId": "",
		"ServiceTemplate": map[string]any{"ServiceGroupId": "", "ServiceId": ""}}
}

func editJSON(t *testing.T, p string, edit func(map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	edit(v)
	if data, err = json.MarshalIndent(v, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// conclusions lists what an analysis concludes, one line per fault
// (severity, ID, primary object) and per traced flow (verdict and the hop
// where it fails), for an exact comparison.
func conclusions(o outcome) []string {
	var out []string
	for _, f := range o.findings {
		out = append(out, fmt.Sprintf("finding %s %s on %s", f.Severity, f.ID, primary(f)))
	}
	for k, e := range o.flows {
		out = append(out, fmt.Sprintf("flow %s: %s at %q (%s)", k, e.verdict, e.at, e.reason))
	}
	sort.Strings(out)
	return out
}

func TestUnrelatedObjectsChangeNothing(t *testing.T) {
	t.Chdir("../..")
	checked := 0
	for _, p := range labBundles(t) {
		t.Run(goldenName(p), func(t *testing.T) {
			open := func(dir string) outcome {
				abs, err := filepath.Abs(dir)
				if err != nil {
					t.Fatal(err)
				}
				b, err := bundle.Open(abs, bundle.DefaultLimits())
				if err != nil {
					t.Fatalf("open %s: %v", dir, err)
				}
				defer b.Close()
				return analyzeBundle(t, b)
			}
			dir := testbundle.Copy(t, p)
			added := addUnrelated(t, dir)
			if len(added) == 0 {
				t.Logf("%s lists no Services, pods or security groups: nothing unrelated to add", p)
				return
			}
			checked++
			// the objects must be read, or the property says nothing
			abs, _ := filepath.Abs(dir)
			b, err := bundle.Open(abs, bundle.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			c := model.Load(b)
			for _, rel := range added {
				switch {
				case rel == "cluster/services.yaml" && c.Kube.Service(unrelatedNS, "docs-mirror") == nil,
					rel == "cluster/pods.yaml" && c.Kube.Pod(unrelatedNS, "report-job-x7k2p") == nil,
					rel == "cloud/security-groups.json" && (c.Cloud.SecurityGroups[unrelatedSG] == nil || !c.Cloud.SecurityGroups[unrelatedSG].HasPolicies()):
					t.Errorf("%s: the object added to %s is not in the model", p, rel)
				}
			}
			b.Close()
			want, got := conclusions(open(p)), conclusions(open(dir))
			if d := diffLines(want, got); d != "" {
				t.Errorf("%s with unrelated objects added to %s:\n%s", p, strings.Join(added, ", "), d)
			}
		})
	}
	if checked < 30 {
		t.Errorf("only %d bundles got unrelated objects: the property checks too little", checked)
	}
}

// diffLines says which lines only one side has.
func diffLines(want, got []string) string {
	count := map[string]int{}
	for _, l := range want {
		count[l]++
	}
	for _, l := range got {
		count[l]--
	}
	var b strings.Builder
	for _, l := range want {
		if count[l] > 0 {
			fmt.Fprintf(&b, "  lost:  %s\n", l)
			count[l]--
		}
	}
	for _, l := range got {
		if count[l] < 0 {
			fmt.Fprintf(&b, "  added: %s\n", l)
			count[l]++
		}
	}
	return b.String()
}
