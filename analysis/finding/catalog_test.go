package finding

import "testing"

func TestCatalogHasDesignIDs(t *testing.T) {
	// The IDs of docs/design.md §5: the acceptance checks look for them.
	ids := []string{"SG_NODEPORT_RANGE_BLOCKED", "SG_POD_CIDR_BLOCKED", "SG_VPC_CIDR_BLOCKED",
		"SG_MASTER_SUBNET_BLOCKED", "SG_APISERVER_SOURCE_BLOCKED", "SG_IDC_CIDR_BLOCKED",
		"CLB_SG_BLOCKS_LISTENER", "NODE_NO_PUBLIC_BANDWIDTH", "ROUTE_MISSING", "MASQ_HIDES_SOURCE",
		"SVC_NO_ENDPOINTS", "SVC_SELECTOR_MATCHES_NO_POD", "SVC_TARGET_PORT_MISMATCH",
		"DNS_SERVICE_UNHEALTHY", "INGRESS_NO_MATCHING_RULE", "INGRESS_BACKEND_MISSING", "NETPOL_DENIES_FLOW",
		"KUBE_PROXY_RULES_MISSING", "KUBE_PROXY_RULES_STALE", "IPTABLES_DROPS_FLOW", "IPTABLES_BACKEND_SPLIT",
		"IP_FORWARD_DISABLED", "NODE_ROUTE_MISSING", "CONNTRACK_TABLE_FULL",
		"PCAP_SYN_UNANSWERED", "PCAP_CONNECTION_REFUSED", "PCAP_ICMP_UNREACHABLE", "PCAP_DNS_NO_RESPONSE",
		"PCAP_DNS_ERROR", "PCAP_HTTP_ERROR", "PCAP_ONE_WAY_TRAFFIC", "PCAP_SOURCE_NATTED", "PCAP_TRUNCATED"}
	for _, id := range ids {
		e, ok := Lookup(id)
		if !ok {
			t.Errorf("%s missing from catalog", id)
			continue
		}
		if e.Texts[EN].Title == "" || e.Texts[EN].Message == "" || e.Texts[EN].Remedy == "" {
			t.Errorf("%s: English title, message and remedy are required", id)
		}
	}
	for _, err := range CheckTemplates() {
		t.Error(err)
	}
}

func TestRenderFillsArgsAndFallsBackToEnglish(t *testing.T) {
	f := New("SG_POD_CIDR_BLOCKED", Args{"sg": "sg-1", "node": "10.0.1.5", "cidr": "172.16.0.0/16", "decision": "implicit deny"}, nil)
	if err := Render(&f, Lang("xx")); err != nil {
		t.Fatal(err)
	}
	want := "Security group sg-1 of node 10.0.1.5 does not allow traffic from the cluster pod CIDR 172.16.0.0/16: implicit deny."
	if f.Message != want {
		t.Errorf("message = %q, want %q", f.Message, want)
	}
	if f.Severity != Error {
		t.Errorf("severity = %v", f.Severity)
	}
}

func TestSortIsBySeverityThenID(t *testing.T) {
	fs := []Finding{New("PCAP_TRUNCATED", nil, nil), New("SVC_NO_ENDPOINTS", nil, nil), New("PCAP_DNS_ERROR", nil, nil), New("CONNTRACK_TABLE_FULL", nil, nil)}
	Sort(fs)
	got := []string{fs[0].ID, fs[1].ID, fs[2].ID, fs[3].ID}
	want := []string{"CONNTRACK_TABLE_FULL", "SVC_NO_ENDPOINTS", "PCAP_DNS_ERROR", "PCAP_TRUNCATED"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order = %v, want %v", got, want)
		}
	}
}
