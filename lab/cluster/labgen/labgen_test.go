package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Chain names must be kube-proxy's own, or the analyzer would learn from
// rules no real node has. Expected names are from kube-proxy's
// pkg/proxy/iptables/proxier_test.go (ns1/svc1:p80 → 10.180.0.1:80).
func TestChainNamesAreKubeProxys(t *testing.T) {
	if got := "KUBE-SVC-" + protoHash("ns1/svc1:p80", "tcp"); got != "KUBE-SVC-XPGD46QRK7WJZT7O" {
		t.Errorf("service chain %s", got)
	}
	if got := "KUBE-SEP-" + protoHash("ns1/svc1:p80", "tcp", "10.180.0.1:80"); got != "KUBE-SEP-SXIVWICOYRO3J4NJ" {
		t.Errorf("endpoint chain %s", got)
	}
}

// The rules of the sample bundle's node come from its own cluster files.
func TestRulesGeneratedFromTheSampleBundleMatchItsNodeDump(t *testing.T) {
	c := "../../../testdata/bundles/sample/cluster/"
	if _, err := os.Stat(c + "services.yaml"); err != nil {
		t.Fatal("no sample bundle")
	}
	var b bytes.Buffer
	if err := writeIptables(&b, "10.0.1.11", []string{c + "services.yaml", c + "endpointslices.yaml", c + "configmaps-kube-system.yaml"}); err != nil {
		t.Fatal(err)
	}
	dump, err := os.ReadFile(filepath.Join(c, "../nodes/10.0.1.11/iptables-save.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if !strings.HasPrefix(l, "-A KUBE-S") && !strings.HasPrefix(l, "-A IP-MASQ-AGENT") {
			continue
		}
		// iptables-save reorders matches; compare the chain, target and comment.
		f := strings.Fields(l)
		if !bytes.Contains(dump, []byte(f[0]+" "+f[1]+" ")) || !bytes.Contains(dump, []byte(f[len(f)-1])) {
			t.Errorf("generated rule not in the node's dump: %s", l)
		}
	}
	if !bytes.Contains(b.Bytes(), []byte("8081")) {
		t.Error("sample's targetPort 8081 missing from the generated DNAT")
	}
}

func TestEveryScenarioHasAFaultFlowAndExpectation(t *testing.T) {
	for _, s := range scenarios {
		if s.Name == "healthy" {
			if len(s.Faults)+len(s.Flows)+len(s.Expect) != 0 {
				t.Errorf("healthy has a fault")
			}
			continue
		}
		if len(s.Faults) == 0 || len(s.Flows) == 0 || len(s.Expect) == 0 || s.Fault == "" {
			t.Errorf("%s: fault %v, flows %v, expect %v", s.Name, s.Faults, s.Flows, s.Expect)
		}
	}
}
