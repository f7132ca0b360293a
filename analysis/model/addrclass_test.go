package model

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"tkesnap/internal/testbundle"
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

// vpc DescribeVpcs may list other VPCs of the region: only the cluster's
// own VPC is local; another VPC listed there is a peer, named by its own
// CIDR (peer-vpc-ccn: cluster VPC vpc-hm000001 10.1.0.0/16, the peer
// vpc-hm000002 10.2.0.0/16 attached to ccn-hm000001).
func TestOnlyTheClusterVpcIsLocal(t *testing.T) {
	dir := testbundle.Copy(t, "../../testdata/handmade/peer-vpc-ccn")
	vpcs := `{"TotalCount": 2, "VpcSet": [
	  {"VpcId": "vpc-hm000001", "VpcName": "handmade", "CidrBlock": "10.1.0.0/16"},
	  {"VpcId": "vpc-hm000002", "VpcName": "billing", "CidrBlock": "10.2.0.0/16"}], "RequestId": "x"}`
	for _, tc := range []struct {
		name, vpcs string
	}{{"peer VPC not listed", ""}, {"peer VPC listed by DescribeVpcs", vpcs}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.vpcs != "" {
				if err := os.WriteFile(filepath.Join(dir, "cloud", "vpcs.json"), []byte(tc.vpcs), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := bundle.Open(dir, bundle.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			c := Load(b)
			for _, w := range []struct {
				ip, class, cidr, via string
			}{
				{"10.1.0.99", "local-vpc", "10.1.0.0/16", ""},
				{"10.2.0.20", "peer-vpc", "10.2.0.0/16", "ccn-hm000001"},
				{"10.9.0.5", "unknown-peer", "", ""},
			} {
				got := c.ClassifyAddr(netip.MustParseAddr(w.ip))
				cidr := ""
				if got.CIDR.IsValid() {
					cidr = got.CIDR.String()
				}
				if string(got.Class) != w.class || cidr != w.cidr || got.Via != w.via {
					t.Errorf("%s: %s %q via %q, want %s %q via %q", w.ip, got.Class, cidr, got.Via, w.class, w.cidr, w.via)
				}
			}
		})
	}
}

// VPC-CNI (handmade vpc-cni-healthy): pods take VPC addresses from the pod
// subnet subnet-hm0pod01 10.1.8.0/24 on ENIs; a pod's address is still a
// pod's (its block the pod subnet), the ENI's primary address and the
// node's are nodes.
func TestVPCCNIPodAddressIsAPod(t *testing.T) {
	b, err := bundle.Open("../../testdata/handmade/vpc-cni-healthy", bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := Load(b)
	for _, w := range []struct{ ip, class, cidr string }{
		{"10.1.8.70", "pod", "10.1.8.0/24"},
		{"10.1.8.66", "node", ""},
		{"10.1.0.11", "node", ""},
		{"10.1.0.99", "local-vpc", "10.1.0.0/16"},
	} {
		got := c.ClassifyAddr(netip.MustParseAddr(w.ip))
		cidr := ""
		if got.CIDR.IsValid() {
			cidr = got.CIDR.String()
		}
		if string(got.Class) != w.class || cidr != w.cidr {
			t.Errorf("%s: %s %q, want %s %q", w.ip, got.Class, cidr, w.class, w.cidr)
		}
	}
}
