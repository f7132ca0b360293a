package tencent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readReal(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "real", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parsers by API name as it appears in the real file names.
var byAPI = map[string]func([]byte) (int, error){
	"DescribeClusters":              count(ParseClusters),
	"DescribeClusterInstances":      count(ParseClusterInstances),
	"DescribeClusterRoutes":         count(ParseClusterRoutes),
	"DescribeInstances":             count(ParseInstances),
	"DescribeSecurityGroups":        count(ParseSecurityGroups),
	"DescribeAddressTemplates":      count(ParseAddressTemplates),
	"DescribeAddressTemplateGroups": count(ParseAddressTemplateGroups),
	"DescribeServiceTemplates":      count(ParseServiceTemplates),
	"DescribeVpcs":                  count(ParseVpcs),
	"DescribeSubnets":               count(ParseSubnets),
	"DescribeRouteTables":           count(ParseRouteTables),
	"DescribeCcnRoutes":             count(ParseCcnRoutes),
	"DescribeNetworkInterfaces":     count(ParseNetworkInterfaces),
	"DescribeLoadBalancers":         count(ParseLoadBalancers),
	"DescribeLoadBalancersDetail":   count(ParseLoadBalancers),
	"DescribeListeners":             count(ParseListeners),
	"DescribeTargets":               count(ParseTargets),
	"DescribeTargetHealth":          count(ParseTargetHealth),
	"DescribeSecurityGroupPolicies": func(b []byte) (int, error) {
		s, err := ParsePolicies(b)
		return len(s.Ingress) + len(s.Egress), err
	},
	"DescribeClusterEndpoints": func(b []byte) (int, error) {
		e, err := ParseClusterEndpoints(b)
		return len(e.ClusterExternalACL), err
	},
	"DescribeNetworkAccountType": func(b []byte) (int, error) {
		a, err := ParseNetworkAccountType(b)
		if a.NetworkAccountType == "" {
			return 0, err
		}
		return 1, err
	},
	"DescribeClusterSecurity": func(b []byte) (int, error) {
		e, err := ParseClusterEndpoints(b)
		return len(e.SecurityPolicy), err
	},
}

func count[T any](f func([]byte) ([]T, error)) func([]byte) (int, error) {
	return func(b []byte) (int, error) { v, err := f(b); return len(v), err }
}

// Every real tccli example the product reads parses without error and
// yields at least one item; the ones tkesnap does not read are listed so
// that a new real file cannot slip by untested.
func TestEveryRealExampleParses(t *testing.T) {
	notRead := map[string]bool{ // APIs the analysis does not use
		"DescribeClusterNodePools": true, "DescribeClusterRouteTables": true,
		"DescribeEKSClusters": true, "DescribeIPAMD": true, "DescribeRouteTableConflicts": true,
		"DescribeVpcCniPodLimits": true, "DescribeCcns": true, "DescribeNetworkAcls": true,
		"DescribeSecurityGroupAssociationStatistics": true,
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "real", "*.json"))
	if len(files) < 50 {
		t.Fatalf("expected the 52 real examples, found %d", len(files))
	}
	for _, f := range files {
		name := filepath.Base(f)
		parts := strings.Split(strings.TrimSuffix(name, ".json"), "-")
		api := parts[3]
		t.Run(name, func(t *testing.T) {
			parse, ok := byAPI[api]
			if !ok {
				if !notRead[api] {
					t.Fatalf("no parser for %s", api)
				}
				// Still a valid response: unwrapping must work.
				docs, err := documents(readReal(t, name))
				if err != nil || len(docs) != 1 {
					t.Fatalf("documents: %v (%d)", err, len(docs))
				}
				return
			}
			n, err := parse(readReal(t, name))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if n == 0 {
				t.Fatalf("no items decoded")
			}
		})
	}
}

func TestRealPoliciesKeepIndexTemplatesAndLines(t *testing.T) {
	for _, name := range []string{
		"tccli-vpc-v20170312-DescribeSecurityGroupPolicies-ex1.json",           // Version "60"
		"tccli-vpc-v20170312-DescribeSecurityGroupPolicies-ex1-3bb566bfe.json", // Version 60
		"tccli-vpc-v20170312-DescribeSecurityGroupPolicies-ex1-e0adcb64e.json", // Direction field, no empty ids
	} {
		s, err := ParsePolicies(readReal(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s.Version != "60" {
			t.Errorf("%s: Version = %q, want 60 whether int or string", name, s.Version)
		}
		if len(s.Ingress) != 2 || len(s.Egress) != 1 {
			t.Fatalf("%s: %d ingress %d egress", name, len(s.Ingress), len(s.Egress))
		}
		p := s.Ingress[1]
		if p.PolicyIndex != 1 || p.ServiceTemplate.ServiceId != "ppm-f5n1f8da" || p.AddressTemplate.AddressGroupId != "ipmg-2uw6ujo6" || p.Action != "ACCEPT" {
			t.Errorf("%s: ingress[1] = %+v", name, p)
		}
		// Lines point at the opening brace of each policy.
		lines := strings.Split(string(readReal(t, name)), "\n")
		for _, q := range append(s.Ingress, s.Egress...) {
			if q.Line == 0 || strings.TrimSpace(lines[q.Line-1]) != "{" || !strings.Contains(lines[q.Line], "PolicyIndex") {
				t.Errorf("%s: policy %d line %d does not start a policy", name, q.PolicyIndex, q.Line)
			}
		}
	}
	s, err := ParsePolicies(readReal(t, "tccli-ecm-v20190719-DescribeSecurityGroupPolicies-ex1.json"))
	if err != nil {
		t.Fatal(err)
	}
	in := s.Ingress[0]
	if in.Protocol != "tcp" || in.Port != "8080" || in.CidrBlock != "10.0.0.0/16" || in.PolicyIndex != 2 || in.Line != 26 {
		t.Errorf("ecm ingress = %+v", in)
	}
}

func TestRealClustersTypeAndNetwork(t *testing.T) {
	cs, err := ParseClusters(readReal(t, "tccli-tke-v20180525-DescribeClusters-ex1.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := cs[0]
	nn, nt := c.Properties()
	if !c.Managed() || c.ClusterNetworkSettings.ClusterCIDR != "10.12.0.0/14" || c.ClusterNetworkSettings.ServiceCIDR != "10.15.252.0/22" ||
		c.ClusterNetworkSettings.VpcId != "vpc-7modfjc3" || !bool(c.ClusterNetworkSettings.Cni) || nn != "lan-ip" || nt != "GR" || c.Line != 4 {
		t.Errorf("cluster = %+v (%s %s)", c, nn, nt)
	}
	cs, err = ParseClusters(readReal(t, "tccli-tke-v20180525-DescribeClusters-ex1-e0adcb64e.json"))
	if err != nil || !cs[0].Independent() || cs[0].ClusterNetworkSettings.ClusterCIDR != "10.211.0.0/16" {
		t.Errorf("independent cluster = %+v %v", cs, err)
	}
}

func TestRealClusterInstancesRoles(t *testing.T) {
	is, err := ParseClusterInstances(readReal(t, "tccli-tke-v20220501-DescribeClusterInstances-ex1.json"))
	if err != nil || len(is) != 4 {
		t.Fatalf("%v %d", err, len(is))
	}
	if is[2].NodeType != "Native" || is[2].Native == nil || is[2].Native.SecurityGroupIDs[0] != "sg-ccccc" {
		t.Errorf("native node = %+v", is[2])
	}
	for _, i := range is {
		if i.InstanceRole != "WORKER" {
			t.Errorf("role %q", i.InstanceRole)
		}
	}
}

func TestRealEndpointsAndSecurity(t *testing.T) {
	e, err := ParseClusterEndpoints(readReal(t, "tccli-tke-v20180525-DescribeClusterEndpoints-ex1.json"))
	if err != nil || e.SecurityGroup != "sg-2quou3re" || e.ClusterIntranetSubnetId != "subnet-e55paxnt" || e.ClusterExternalACL[0] != "10.0.0.0/24" || e.ACLLine != 10 {
		t.Errorf("endpoints = %+v %v", e, err)
	}
	// Two responses in one file merge.
	both := append(readReal(t, "tccli-tke-v20180525-DescribeClusterEndpoints-ex1.json"), readReal(t, "tccli-tke-v20180525-DescribeClusterSecurity-ex1.json")...)
	e, err = ParseClusterEndpoints(both)
	if err != nil || e.SecurityPolicy[0] != "192.168.0.1" || e.SecurityGroup != "sg-2quou3re" {
		t.Errorf("merged = %+v %v", e, err)
	}
}

func TestRealInstancesBindingsAndBandwidth(t *testing.T) {
	is, err := ParseInstances(readReal(t, "tccli-cvm-v20170312-DescribeInstances-ex1.json"))
	if err != nil {
		t.Fatal(err)
	}
	i := is[0]
	if i.InstanceId != "ins-xlsyru2j" || i.SecurityGroupIds[0] != "sg-p1ezv4wz" || i.PrivateIpAddresses[0] != "172.16.32.78" ||
		i.InternetAccessible.InternetMaxBandwidthOut != 1 || i.VirtualPrivateCloud.SubnetId != "subnet-mv4sn55k" || i.Line != 4 {
		t.Errorf("instance = %+v", i)
	}
}

func TestRealLoadBalancersBothForms(t *testing.T) {
	lbs, err := ParseLoadBalancers(readReal(t, "tccli-clb-v20180317-DescribeLoadBalancers-ex1.json"))
	if err != nil || !lbs[0].Public() || bool(lbs[0].LoadBalancerPassToTarget) || lbs[0].VIPs()[0] != "119.***.***.51" {
		t.Errorf("lb = %+v %v", lbs, err)
	}
	lbs, err = ParseLoadBalancers(readReal(t, "tccli-clb-v20180317-DescribeLoadBalancersDetail-ex1.json"))
	if err != nil || len(lbs) < 2 || !lbs[0].Public() || bool(lbs[0].LoadBalancerPassToTarget) || lbs[0].Line != 4 {
		t.Errorf("detail = %+v %v", lbs, err)
	}
}

func TestRealTargetsAndHealth(t *testing.T) {
	ts, err := ParseTargets(readReal(t, "tccli-clb-v20180317-DescribeTargets-ex2.json"))
	if err != nil || len(ts) != 2 || ts[0].All()[0].Port != 555 || ts[1].All()[0].PrivateIpAddresses[0] != "172.16.0.12" {
		t.Errorf("targets = %+v %v", ts, err)
	}
	hs, err := ParseTargetHealth(readReal(t, "tccli-clb-v20180317-DescribeTargetHealth-ex1.json"))
	if err != nil || len(hs) != 2 || bool(hs[0].HealthStatus) || !bool(hs[1].HealthStatus) || hs[0].ListenerId != "lbl-fs9naq76" || hs[0].Port != 2020 || hs[0].Line == 0 {
		t.Errorf("health = %+v %v", hs, err)
	}
	ls, err := ParseListeners(readReal(t, "tccli-clb-v20180317-DescribeListeners-ex1.json"))
	if err != nil || ls[0].Port != 333 || ls[0].Transport() != "tcp" || ls[0].Line != 5 {
		t.Errorf("listeners = %+v %v", ls, err)
	}
}

func TestRealRoutesAndTemplates(t *testing.T) {
	rts, err := ParseRouteTables(readReal(t, "tccli-vpc-v20170312-DescribeRouteTables-ex1.json"))
	if err != nil || rts[0].RouteSet[0].GatewayType != "CCN" || rts[0].RouteSet[0].DestinationIpv6CidrBlock == "" || rts[0].RouteSet[0].Line != 10 {
		t.Errorf("route tables = %+v %v", rts, err)
	}
	cr, err := ParseCcnRoutes(readReal(t, "tccli-vpc-v20170312-DescribeCcnRoutes-ex1.json"))
	if err != nil || len(cr) != 2 || cr[1].DestinationCidrBlock != "192.168.0.0/24" || !cr[1].IsEnabled() {
		t.Errorf("ccn = %+v %v", cr, err)
	}
	g, err := ParseAddressTemplateGroups(readReal(t, "tccli-vpc-v20170312-DescribeAddressTemplateGroups-ex1.json"))
	if err != nil || strings.Join(g[0].Members(), ",") != "ipm-xxxxxxxx,ipm-yyyyyyyy,ipm-siqmaox1" {
		t.Errorf("group = %+v %v", g, err)
	}
	enis, err := ParseNetworkInterfaces(readReal(t, "tccli-vpc-v20170312-DescribeNetworkInterfaces-ex1.json"))
	if err != nil || enis[0].GroupSet[1] != "sg-f9ekbxeq" || enis[0].Attachment.InstanceId != "ins-ymk3eje8" || len(enis[0].PrivateIpAddressSet) != 4 {
		t.Errorf("eni = %+v %v", enis, err)
	}
}
