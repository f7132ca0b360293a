package model

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func realTencent(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "parsers", "tencent", "testdata", "real", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A bundle made of the real tccli examples at their bundle paths loads
// with the joins the checks rely on.
func TestCloudFromRealExamples(t *testing.T) {
	c := loadDir(t, map[string]string{
		"cloud/clusters.json":                            realTencent(t, "tccli-tke-v20180525-DescribeClusters-ex1.json"),
		"cloud/cluster-instances.json":                   realTencent(t, "tccli-tke-v20220501-DescribeClusterInstances-ex1.json"),
		"cloud/cluster-endpoints.json":                   realTencent(t, "tccli-tke-v20180525-DescribeClusterEndpoints-ex1.json"),
		"cloud/cluster-security.json":                    realTencent(t, "tccli-tke-v20180525-DescribeClusterSecurity-ex1.json"),
		"cloud/instances.json":                           realTencent(t, "tccli-cvm-v20170312-DescribeInstances-ex1.json"),
		"cloud/security-groups.json":                     realTencent(t, "tccli-vpc-v20170312-DescribeSecurityGroups-ex1.json"),
		"cloud/security-group-policies/sg-p1ezv4wz.json": realTencent(t, "tccli-vpc-v20170312-DescribeSecurityGroupPolicies-ex1-3bb566bfe.json"),
		"cloud/security-group-policies/sg-ecm.json":      realTencent(t, "tccli-ecm-v20190719-DescribeSecurityGroupPolicies-ex1.json"),
		"cloud/address-templates.json":                   realTencent(t, "tccli-vpc-v20170312-DescribeAddressTemplates-ex1.json"),
		"cloud/address-template-groups.json":             realTencent(t, "tccli-vpc-v20170312-DescribeAddressTemplateGroups-ex1.json"),
		"cloud/service-templates.json":                   realTencent(t, "tccli-vpc-v20170312-DescribeServiceTemplates-ex1.json"),
		"cloud/vpcs.json":                                realTencent(t, "tccli-vpc-v20170312-DescribeVpcs-ex2.json"),
		"cloud/subnets.json":                             realTencent(t, "tccli-vpc-v20170312-DescribeSubnets-ex1.json"),
		"cloud/route-tables.json":                        realTencent(t, "tccli-vpc-v20170312-DescribeRouteTables-ex2.json"),
		"cloud/ccn-routes.json":                          realTencent(t, "tccli-vpc-v20170312-DescribeCcnRoutes-ex1.json"),
		"cloud/network-interfaces.json":                  realTencent(t, "tccli-vpc-v20170312-DescribeNetworkInterfaces-ex1.json"),
		"cloud/load-balancers.json":                      realTencent(t, "tccli-clb-v20180317-DescribeLoadBalancers-ex1.json"),
		"cloud/listeners/lb-9vpm****.json":               realTencent(t, "tccli-clb-v20180317-DescribeListeners-ex1.json"),
		"cloud/targets/lb-9vpm****.json":                 realTencent(t, "tccli-clb-v20180317-DescribeTargets-ex2.json"),
		"cloud/target-health/lb-9vpm****.json":           realTencent(t, "tccli-clb-v20180317-DescribeTargetHealth-ex1.json"),
	})
	for _, p := range c.Problems {
		if strings.HasPrefix(p.File, "cloud/") {
			t.Errorf("problem: %+v", p)
		}
	}
	cl := &c.Cloud
	if cl.Cluster == nil || !cl.Cluster.Managed() || cl.Cluster.ClusterCIDR.String() != "10.12.0.0/14" || cl.Cluster.NetworkType != "GR" {
		t.Fatalf("cluster = %+v", cl.Cluster)
	}
	if e := cl.Endpoints; e == nil || e.SecurityGroup != "sg-2quou3re" || len(e.ExternalACL) != 1 || len(e.SecurityPol) != 1 || e.SecurityPol[0].String() != "192.168.0.1" {
		t.Errorf("endpoints = %+v", cl.Endpoints)
	}
	in := cl.InstanceByIP(netip.MustParseAddr("172.16.32.78"))
	if in == nil || in.InstanceId != "ins-xlsyru2j" || in.At.Line != 4 || len(in.IPs) != 2 {
		t.Fatalf("instance = %+v", in)
	}
	if m := cl.SGMembers("sg-p1ezv4wz"); len(m) != 2 {
		t.Errorf("members of sg-p1ezv4wz = %v", m)
	}
	s := cl.SecurityGroups["sg-p1ezv4wz"]
	if s == nil || !s.HasPolicies() || s.Version != "60" || len(s.Ingress) != 2 || s.Ingress[1].Index != 1 || s.Ingress[1].AddressGroup != "ipmg-2uw6ujo6" || s.Ingress[1].ServiceID != "ppm-f5n1f8da" || s.Ingress[1].At.Line == 0 {
		t.Fatalf("sg = %+v", s)
	}
	if e := cl.SecurityGroups["sg-ecm"]; e == nil || e.Ingress[0].Proto != "tcp" || e.Ingress[0].Ports[0].From != 8080 || e.Ingress[0].Peer.String() != "10.0.0.0/16" {
		t.Errorf("ecm sg = %+v", e)
	}
	if tpl := cl.AddressTemplates["ipm-mdunqeb6"]; tpl == nil || len(tpl.Ranges) != 2 || tpl.Ranges[1].String() != "192.128.0.0/17" {
		t.Errorf("address template = %+v", tpl)
	}
	if v := cl.Vpcs["vpc-p5sf61yj"]; v == nil || len(v.CIDRs) != 2 {
		t.Errorf("vpc with assistant CIDR = %+v", v)
	}
	if b, ok := cl.BindingFor(netip.MustParseAddr("192.168.0.15")); !ok || b.Kind != "eni" || b.Instance != "ins-ymk3eje8" || strings.Join(b.SGs, ",") != "sg-c2r7lnxh,sg-f9ekbxeq" {
		t.Errorf("ENI binding = %+v %v", b, ok)
	}
	lb := cl.LoadBalancer("lb-9vpm****")
	if lb == nil || len(lb.Listeners) != 1 || lb.Listeners[0].Port != 333 || len(lb.Targets) != 2 || len(lb.Health) != 2 {
		t.Errorf("lb = %+v", lb)
	}
	if len(cl.RouteTables) != 1 || cl.RouteTables[0].Routes[0].Dst.String() != "169.254.64.0/23" || len(cl.CcnRoutes) != 2 {
		t.Errorf("routes = %+v %+v", cl.RouteTables, cl.CcnRoutes)
	}
	if r := cl.Role("ins-aaaaaa"); r != "WORKER" {
		t.Errorf("role = %q", r)
	}
}

func TestCloudProblemsCarryFileAndLine(t *testing.T) {
	c := loadDir(t, map[string]string{
		"cloud/instances.json": "{\n\"InstanceSet\": [\n{\"InstanceId\": \"ins-1\",\n",
		"cloud/security-group-policies/sg-1.json": `{"SecurityGroupPolicySet":{"Ingress":[
{"PolicyIndex":0,"Protocol":"SCTP","Port":"1","CidrBlock":"10.0.0.0/8","Action":"ACCEPT"},
{"PolicyIndex":1,"Protocol":"TCP","Port":"80","Action":"ACCEPT"}]}}`,
		"cloud/security-group-policies/sg-2.json": `{"Response":{"Error":{"Code":"UnauthorizedOperation","Message":"no"},"RequestId":"x"}}`,
	})
	var got []string
	for _, p := range c.Problems {
		if strings.HasPrefix(p.File, "cloud/") {
			got = append(got, p.File+":"+itoa(p.Line)+": "+p.Message)
		}
	}
	want := []string{
		"cloud/instances.json:4: truncated JSON",
		"cloud/security-group-policies/sg-1.json:2: sg-1 ingress PolicyIndex 0: unknown protocol \"SCTP\"",
		"cloud/security-group-policies/sg-1.json:3: sg-1 ingress PolicyIndex 1: policy names no peer (CidrBlock, Ipv6CidrBlock, SecurityGroupId or AddressTemplate)",
		"cloud/security-group-policies/sg-2.json:0: API error UnauthorizedOperation: no",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems\n got %s\nwant %s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s := c.Cloud.SecurityGroups["sg-2"]; s != nil && s.HasPolicies() {
		t.Error("an API error response counts as collected policies")
	}
}
