package model

import (
	"net/netip"
	"testing"

	"tkesnap/parsers/bundle"
)

// The cloud scenario "healthy" (testdata/cloud/scenarios/README.md):
// VPC 10.0.0.0/16, cluster CIDR 172.20.0.0/16, service CIDR
// 172.21.252.0/22, nodes 10.0.1.5 (public 119.29.20.5) and 10.0.2.7,
// CCN with a peer VPC 10.8.0.0/16 and the IDC 192.168.0.0/16 behind
// dcg-idc01. The expected classes follow from that topology.
func TestClassifyAddrOnTheCloudScenario(t *testing.T) {
	b, err := bundle.Open("../../testdata/cloud/scenarios/healthy", bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := Load(b)
	for _, tc := range []struct {
		ip    string
		class AddrClass
		cidr  string
	}{
		{"172.21.252.10", ClassService, "172.21.252.0/22"},
		{"172.20.0.10", ClassPod, "172.20.0.0/16"},
		{"10.0.1.5", ClassNode, ""},
		{"119.29.20.5", ClassCVMPublic, ""},
		{"10.0.3.9", ClassLocalVPC, "10.0.0.0/16"},
		{"10.8.3.4", ClassPeerVPC, "10.8.0.0/16"},
		{"192.168.10.20", ClassIDC, "192.168.0.0/16"},
		// a private address no route places is an unknown peer, not an IDC
		{"10.9.0.5", ClassUnknownPeer, ""},
		{"8.8.8.8", ClassInternet, ""},
	} {
		got := c.ClassifyAddr(netip.MustParseAddr(tc.ip))
		cidr := ""
		if got.CIDR.IsValid() {
			cidr = got.CIDR.String()
		}
		if got.Class != tc.class || cidr != tc.cidr {
			t.Errorf("%s: %s %s (via %s), want %s %s", tc.ip, got.Class, cidr, got.Via, tc.class, tc.cidr)
		}
		if tc.class == ClassCVMPublic && (got.Instance == nil || got.Instance.InstanceId != "ins-k8snode1") {
			t.Errorf("%s: owner %v, want ins-k8snode1", tc.ip, got.Instance)
		}
	}
}

// On TKE the service range sits inside the cluster CIDR: a ClusterIP is a
// Service address, not a pod's (the handmade base: cluster CIDR
// 172.18.0.0/16, service CIDR 172.18.252.0/22).
func TestServiceRangeInsideTheClusterCIDRIsService(t *testing.T) {
	b, err := bundle.Open("../../testdata/handmade/gr-iptables-healthy", bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := Load(b)
	if got := c.ClassifyAddr(netip.MustParseAddr("172.18.252.10")); got.Class != ClassService {
		t.Errorf("ClusterIP: %s", got.Class)
	}
	if got := c.ClassifyAddr(netip.MustParseAddr("172.18.253.77")); got.Class != ClassService || got.CIDR.String() != "172.18.252.0/22" {
		t.Errorf("unallocated service address: %s %s", got.Class, got.CIDR)
	}
	if got := c.ClassifyAddr(netip.MustParseAddr("172.18.0.70")); got.Class != ClassPod {
		t.Errorf("pod: %s", got.Class)
	}
}
