package finding

import (
	"reflect"
	"testing"
)

func TestMergeOneFindingPerIDAndPrimaryObject(t *testing.T) {
	ipset := Evidence{File: "nodes/a/ipset.txt", Line: 3}
	ipvs := Evidence{File: "nodes/a/ipvsadm.txt", Line: 9}
	in := []Finding{
		// one missing rule seen in two files on node a, and on node b
		{ID: "KUBE_PROXY_RULES_MISSING", Severity: Error, Objects: []string{"svc/default/api", "node/a"}, Evidence: []Evidence{ipset}},
		{ID: "KUBE_PROXY_RULES_MISSING", Severity: Error, Objects: []string{"svc/default/api", "node/a"}, Evidence: []Evidence{ipvs}},
		{ID: "KUBE_PROXY_RULES_MISSING", Severity: Error, Objects: []string{"svc/default/api", "node/b"}, Evidence: []Evidence{ipset}},
		// another Service: another fault
		{ID: "KUBE_PROXY_RULES_MISSING", Severity: Error, Objects: []string{"svc/default/web", "node/a"}},
		// same SG, another ID: another fault
		{ID: "SG_POD_CIDR_BLOCKED", Severity: Warning, Objects: []string{"sg-1", "node/a"}},
		{ID: "SG_POD_CIDR_BLOCKED", Severity: Error, Objects: []string{"sg-1", "node/b"}},
		// captures: one file, two destinations = two faults
		{ID: "PCAP_SYN_UNANSWERED", Objects: []string{"capture/x.pcap"}, Args: Args{"dst": "10.0.0.1:80"}},
		{ID: "PCAP_SYN_UNANSWERED", Objects: []string{"capture/x.pcap"}, Args: Args{"dst": "10.0.0.1:81"}},
	}
	got := Merge(in)
	type row struct {
		ID      string
		Sev     Severity
		Count   int
		Objects []string
		Ev      int
	}
	var rows []row
	for _, f := range got {
		rows = append(rows, row{f.ID, f.Severity, f.Count, f.Objects, len(f.Evidence)})
	}
	want := []row{
		{"KUBE_PROXY_RULES_MISSING", Error, 3, []string{"svc/default/api", "node/a", "node/b"}, 2},
		{"KUBE_PROXY_RULES_MISSING", Error, 0, []string{"svc/default/web", "node/a"}, 0},
		{"SG_POD_CIDR_BLOCKED", Error, 2, []string{"sg-1", "node/a", "node/b"}, 0},
		{"PCAP_SYN_UNANSWERED", Info, 0, []string{"capture/x.pcap"}, 0},
		{"PCAP_SYN_UNANSWERED", Info, 0, []string{"capture/x.pcap"}, 0},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("Merge:\n got %+v\nwant %+v", rows, want)
	}
	// pure: the input is untouched
	if len(in[0].Objects) != 2 || len(in[0].Evidence) != 1 {
		t.Errorf("Merge modified its input: %+v", in[0])
	}
	// idempotent: merging a merged list changes nothing
	if again := Merge(got); !reflect.DeepEqual(again, got) {
		t.Errorf("Merge is not idempotent:\n%+v\n%+v", again, got)
	}
}

// TestMergeRefinedArgs: a later report of the same fault whose arguments
// hold the first's and more (the tracer naming the stale rule of a backend
// split the check counted) gives the merged finding its arguments; one
// that contradicts an argument does not.
func TestMergeRefinedArgs(t *testing.T) {
	check := Finding{ID: "IPTABLES_BACKEND_SPLIT", Objects: []string{"node/a"}, Args: Args{"node": "a", "legacy": "20", "nft": "30"}}
	traced := Finding{ID: "IPTABLES_BACKEND_SPLIT", Objects: []string{"node/a"}, Args: Args{"node": "a", "legacy": "20", "nft": "30", "stale": "iptables-legacy"}}
	other := Finding{ID: "IPTABLES_BACKEND_SPLIT", Objects: []string{"node/a"}, Args: Args{"node": "b", "legacy": "20", "nft": "30", "stale": "iptables-legacy"}}
	for _, tc := range []struct {
		name string
		in   []Finding
		want Args
	}{
		{"refined later", []Finding{check, traced}, traced.Args},
		{"refined first", []Finding{traced, check}, traced.Args},
		{"contradicting", []Finding{check, other}, check.Args},
	} {
		got := Merge(tc.in)
		if len(got) != 1 || !reflect.DeepEqual(got[0].Args, tc.want) {
			t.Errorf("%s: got %+v, want one finding with args %v", tc.name, got, tc.want)
		}
	}
}
