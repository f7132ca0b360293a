package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func runTrace(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(append([]string{"trace"}, args...))
	err := root.Execute()
	return out.String(), err
}

func TestTraceIPTablesAnswersInTheDesignJSONShape(t *testing.T) {
	out, err := runTrace(t, "--iptables", "../../testdata/netfilter/rulesets/kube-proxy-1.28-nft.rules",
		"--proto", "tcp", "--src", "10.100.0.2:40000", "--dst", "10.96.0.10:80", "--in-iface", "eth0",
		"--local-ip", "eth0=10.100.0.1", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Verdict string `json:"verdict"`
		Paths   []struct {
			Probability float64 `json:"probability"`
			Verdict     string  `json:"verdict"`
			Steps       []struct {
				Table, Chain, Target string
				Rule, Line           int
			} `json:"steps"`
			NAT struct{ Src, Dst string } `json:"nat"`
		} `json:"paths"`
		Unknown []string `json:"unknown_matches"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// default/web:http has 4 endpoints: 4 statistic paths, all accepted.
	if res.Verdict != "ACCEPT" || len(res.Paths) != 4 || res.Unknown == nil {
		t.Fatalf("verdict %s, %d paths, unknown %v", res.Verdict, len(res.Paths), res.Unknown)
	}
	sum := 0.0
	for _, p := range res.Paths {
		sum += p.Probability
	}
	first := res.Paths[0]
	if sum < 0.999 || sum > 1.001 || first.NAT.Dst != "10.244.1.10:8080" || first.Probability != 0.25 {
		t.Errorf("paths %+v", res.Paths)
	}
	s := first.Steps[0]
	if s.Table != "nat" || s.Chain != "PREROUTING" || s.Rule != 1 || s.Line != 66 || s.Target != "KUBE-SERVICES" {
		t.Errorf("first step %+v", s)
	}
}

func TestTraceIPTablesRejectsBadInputWithExitCode2(t *testing.T) {
	for _, args := range [][]string{
		{"--iptables", "../../testdata/netfilter/rulesets/kube-proxy-1.28-nft.rules", "--src", "10.0.0.1", "--dst", "nope"},
		{"--iptables", "/nonexistent", "--src", "10.0.0.1", "--dst", "10.0.0.2:80"},
		{"--iptables", "../../testdata/netfilter/real/aks-azure-npm-2022-05-flattened-single-line-iptables-save.txt", "--src", "10.0.0.1", "--dst", "10.0.0.2:80"},
		{"--iptables", "../../testdata/netfilter/rulesets/kube-proxy-1.28-nft.rules", "--src", "10.0.0.1", "--dst", "10.0.0.2:80", "--proto", "gre"},
	} {
		_, err := runTrace(t, args...)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 2 {
			t.Errorf("%v: err %v, want exit 2", args, err)
		}
	}
}
