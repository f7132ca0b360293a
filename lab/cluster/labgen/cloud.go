package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

type obj = map[string]any

// writeCloud writes the lab's Tencent Cloud state as the fake tccli prints
// it: one file per Action (ACTION.json) or per Action and resource id
// (ACTION-ID.json). tccli prints the response body without the
// {"Response": ...} wrapper, RequestId included, indented by 4.
func writeCloud(dir string, s Scenario) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	req := 0
	put := func(name string, v obj) error {
		req++
		v["RequestId"] = fmt.Sprintf("6d3b0f4e-1a2b-4c5d-8e9f-%012d", req)
		b, err := json.MarshalIndent(v, "", "    ")
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".json"), append(b, '\n'), 0o644)
	}
	var clInst, cvm, enis []any
	for i, n := range nodes {
		clInst = append(clInst, obj{"InstanceId": n.InstanceID, "InstanceRole": "WORKER", "InstanceState": "running", "FailedReason": "",
			"DrainStatus": "", "InstanceAdvancedSettings": nil, "CreatedTime": "2026-11-20T08:00:00Z", "LanIP": n.IP,
			"NodePoolId": "np-lab00001", "AutoscalingGroupId": ""})
		cvm = append(cvm, obj{"Placement": obj{"Zone": "ap-guangzhou-3", "ProjectId": 0}, "InstanceId": n.InstanceID,
			"InstanceType": "SA2.MEDIUM4", "CPU": 2, "Memory": 4, "InstanceName": "tke_" + ClusterID + "_worker",
			"InstanceChargeType": "POSTPAID_BY_HOUR", "PrivateIpAddresses": []string{n.IP}, "PublicIpAddresses": nil,
			"InternetAccessible":  obj{"InternetChargeType": "TRAFFIC_POSTPAID_BY_HOUR", "InternetMaxBandwidthOut": 0, "PublicIpAssigned": false},
			"VirtualPrivateCloud": obj{"VpcId": VpcID, "SubnetId": SubnetID, "AsVpcGateway": false, "PrivateIpAddresses": []string{n.IP}},
			"SecurityGroupIds":    []string{NodeSG}, "InstanceState": "RUNNING", "OsName": "TencentOS Server 3.1 (TK4)",
			"Uuid": fmt.Sprintf("2f1c3d5e-0000-4000-8000-%012d", i+11), "RestrictState": "NORMAL", "CreatedTime": "2026-11-20T08:00:00Z"})
		enis = append(enis, obj{"NetworkInterfaceId": fmt.Sprintf("eni-lab000%02d", i+11), "NetworkInterfaceName": "primary", "VpcId": VpcID,
			"SubnetId": SubnetID, "Primary": true, "MacAddress": fmt.Sprintf("52:54:00:00:01:%02d", i+11), "State": "AVAILABLE",
			"PrivateIpAddressSet": []obj{{"PrivateIpAddress": n.IP, "Primary": true, "PublicIpAddress": "", "State": "AVAILABLE"}},
			"Attachment":          obj{"InstanceId": n.InstanceID, "DeviceIndex": 0}, "GroupSet": []string{NodeSG}, "Zone": "ap-guangzhou-3"})
	}
	steps := []struct {
		name string
		v    obj
	}{
		{"DescribeClusters", obj{"TotalCount": 1, "Clusters": []obj{{"ClusterId": ClusterID, "ClusterName": "lab", "ClusterType": "MANAGED_CLUSTER",
			"ClusterVersion": "1.30.0", "ClusterOs": "tlinux3.1x86_64", "ClusterStatus": "Running", "ContainerRuntime": "containerd",
			"ClusterNodeNum": len(nodes), "Property": `{"NodeNameType":"lan-ip","NetworkType":"GR"}`,
			"ClusterNetworkSettings": obj{"ClusterCIDR": ClusterCIDR, "ServiceCIDR": ServiceCIDR, "VpcId": VpcID, "Ipvs": false,
				"KubeProxyMode": "", "MaxNodePodNum": 64, "MaxClusterServiceNum": 1024, "Cni": false, "IgnoreClusterCIDRConflict": false,
				"IsDualStack": false, "Subnets": nil}}}}},
		{"DescribeClusterInstances", obj{"TotalCount": len(nodes), "InstanceSet": clInst}},
		// a standard account (标准账户类型): CLBs carry their own bandwidth
		{"DescribeNetworkAccountType", obj{"NetworkAccountType": "STANDARD"}},
		{"DescribeClusterEndpoints", obj{"CertificationAuthority": "<lab>", "ClusterExternalEndpoint": "", "ClusterIntranetEndpoint": "",
			"ClusterDomain": "cls-lab00001.ccs.tencent-cloud.com", "ClusterExternalACL": []string{}, "ClusterExternalDomain": "",
			"ClusterIntranetDomain": "", "SecurityGroup": "", "ClusterIntranetSubnetId": ""}},
		// The lab cluster has no intranet API endpoint: the API answers NotFound.
		{"DescribeClusterEndpointStatus", obj{"Status": "NotFound", "ErrorMsg": ""}},
		{"DescribeClusterSecurity", obj{"UserName": "admin", "Password": "lab-password-should-be-redacted", "CertificationAuthority": "<lab>",
			"ClusterExternalEndpoint": "", "Domain": "cls-lab00001.ccs.tencent-cloud.com", "PgwEndpoint": "169.254.128.7:60002",
			"SecurityPolicy": []string{}, "Kubeconfig": "apiVersion: v1\nusers:\n- name: admin\n  user:\n    token: lab-admin-token-should-be-redacted\n",
			"JnsGwEndpoint": ""}},
		{"DescribeInstances", obj{"TotalCount": len(nodes), "InstanceSet": cvm}},
		{"DescribeLoadBalancers", obj{"TotalCount": 1, "LoadBalancerSet": []obj{{"LoadBalancerId": CLBID, "LoadBalancerName": "default_web-lb",
			"LoadBalancerType": "INTERNAL", "Forward": 1, "Status": 1, "LoadBalancerVips": []string{CLBVIP}, "VpcId": VpcID, "SubnetId": SubnetID,
			"SecureGroups": []string{CLBSG}, "LoadBalancerPassToTarget": false, "Tags": []obj{{"TagKey": "tke-createdBy-flag", "TagValue": "yes"},
				{"TagKey": "tke-clusterId", "TagValue": ClusterID}}, "AddressIPVersion": "ipv4", "CreateTime": "2026-11-20 08:10:00"}}}},
		{"DescribeListeners-" + CLBID, obj{"TotalCount": 1, "Listeners": []obj{{"ListenerId": "lbl-lab00443", "ListenerName": "TCP-443",
			"Protocol": "TCP", "Port": 443, "EndPort": 0, "Scheduler": "WRR", "SessionExpireTime": 0, "TargetType": "NODE",
			"HealthCheck": obj{"HealthSwitch": 1, "TimeOut": 2, "IntervalTime": 5, "HealthNum": 3, "UnHealthNum": 3, "CheckType": "TCP"},
			"CreateTime":  "2026-11-20 08:10:00"}}}},
		{"DescribeTargets-" + CLBID, obj{"Listeners": []obj{{"ListenerId": "lbl-lab00443", "Protocol": "TCP", "Port": 443, "EndPort": 0,
			"Rules": nil, "Targets": targets()}}}},
		{"DescribeTargetHealth-" + CLBID, obj{"LoadBalancers": []obj{{"LoadBalancerId": CLBID, "LoadBalancerName": "default_web-lb",
			"Listeners": []obj{{"ListenerId": "lbl-lab00443", "ListenerName": "TCP-443", "Protocol": "TCP", "Port": 443,
				"Rules": []obj{{"LocationId": "", "Domain": "", "Url": "", "Targets": health()}}}}}}}},
		{"DescribeSecurityGroups", obj{"TotalCount": 2, "SecurityGroupSet": []obj{
			{"SecurityGroupId": NodeSG, "SecurityGroupName": "tke-worker-" + ClusterID, "SecurityGroupDesc": "TKE worker nodes", "ProjectId": "0",
				"IsDefault": false, "CreatedTime": "2026-11-20 08:00:00", "TagSet": []obj{}},
			{"SecurityGroupId": CLBSG, "SecurityGroupName": "clb-web-lb", "SecurityGroupDesc": "CLB of default/web-lb", "ProjectId": "0",
				"IsDefault": false, "CreatedTime": "2026-11-20 08:10:00", "TagSet": []obj{}}}}},
		{"DescribeSecurityGroupPolicies-" + NodeSG, obj{"SecurityGroupPolicySet": nodeSGPolicies(s)}},
		{"DescribeSecurityGroupPolicies-" + CLBSG, obj{"SecurityGroupPolicySet": clbSGPolicies(s)}},
		{"DescribeVpcs", obj{"TotalCount": 1, "VpcSet": []obj{{"VpcId": VpcID, "VpcName": "lab-vpc", "CidrBlock": VpcCIDR, "IsDefault": false,
			"EnableMulticast": false, "DnsServerSet": []string{"183.60.83.19", "183.60.82.98"}, "DomainName": "", "DhcpOptionsId": "",
			"EnableDhcp": true, "Ipv6CidrBlock": "", "CreatedTime": "2026-11-20 07:00:00", "TagSet": []obj{}, "AssistantCidrSet": []obj{}}}}},
		{"DescribeSubnets", obj{"TotalCount": 1, "SubnetSet": []obj{{"VpcId": VpcID, "SubnetId": SubnetID, "SubnetName": "lab-subnet",
			"CidrBlock": SubnetCIDR, "IsDefault": false, "EnableBroadcast": false, "Zone": "ap-guangzhou-3", "RouteTableId": "rtb-lab00001",
			"AvailableIpAddressCount": 250, "TotalIpAddressCount": 253, "NetworkAclId": "", "CreatedTime": "2026-11-20 07:00:00", "TagSet": []obj{}}}}},
		{"DescribeRouteTables", obj{"TotalCount": 1, "RouteTableSet": []obj{{"VpcId": VpcID, "RouteTableId": "rtb-lab00001",
			"RouteTableName": "default", "Main": true, "AssociationSet": []obj{{"SubnetId": SubnetID, "RouteTableId": "rtb-lab00001"}},
			"RouteSet": []obj{
				{"DestinationCidrBlock": VpcCIDR, "GatewayType": "LOCAL", "GatewayId": "Local", "RouteId": 1, "RouteDescription": "", "Enabled": true, "RouteType": "NETD", "RouteTableId": "rtb-lab00001"},
				{"DestinationCidrBlock": IDCCIDR, "GatewayType": "CCN", "GatewayId": CCNID, "RouteId": 2, "RouteDescription": "IDC via CCN", "Enabled": true, "RouteType": "CCN", "RouteTableId": "rtb-lab00001"},
			},
			"CreatedTime": "2026-11-20 07:00:00", "TagSet": []obj{}}}}},
		{"DescribeClusterRoutes", obj{"TotalCount": len(nodes), "RouteSet": clusterRoutes(s)}},
		{"DescribeCcnRoutes-" + CCNID, obj{"TotalCount": 3, "RouteSet": []obj{
			{"RouteId": "ccnr-lab00001", "DestinationCidrBlock": VpcCIDR, "InstanceType": "VPC", "InstanceId": VpcID, "InstanceName": "lab-vpc",
				"InstanceRegion": "ap-guangzhou", "Enabled": true, "ExtraState": "Running", "IsBgp": false, "RoutePriority": 0, "UpdateTime": "2026-11-20 07:30:00"},
			// the container CIDR published to CCN, so the IDC reaches pod IPs
			{"RouteId": "ccnr-lab00003", "DestinationCidrBlock": ClusterCIDR, "InstanceType": "VPC", "InstanceId": VpcID, "InstanceName": "lab-vpc",
				"InstanceRegion": "ap-guangzhou", "Enabled": true, "ExtraState": "Running", "IsBgp": false, "RoutePriority": 0, "UpdateTime": "2026-11-20 07:40:00"},
			{"RouteId": "ccnr-lab00002", "DestinationCidrBlock": IDCCIDR, "InstanceType": "DIRECTCONNECT", "InstanceId": "dcg-lab00001", "InstanceName": "idc-dc",
				"InstanceRegion": "ap-guangzhou", "Enabled": true, "ExtraState": "Running", "IsBgp": true, "RoutePriority": 0, "UpdateTime": "2026-11-20 07:30:00"}}}},
		{"DescribeNetworkInterfaces", obj{"TotalCount": len(enis), "NetworkInterfaceSet": enis}},
	}
	for _, st := range steps {
		if err := put(st.name, st.v); err != nil {
			return err
		}
	}
	return nil
}

func targets() []obj {
	var t []obj
	for _, n := range nodes {
		t = append(t, obj{"Type": "CVM", "InstanceId": n.InstanceID, "Port": 30443, "Weight": 10, "PublicIpAddresses": nil,
			"PrivateIpAddresses": []string{n.IP}, "InstanceName": "tke_" + ClusterID + "_worker", "RegisteredTime": "2026-11-20 08:10:00"})
	}
	return t
}

func health() []obj {
	var t []obj
	for _, n := range nodes {
		t = append(t, obj{"IP": n.IP, "Port": 30443, "HealthStatus": true, "TargetId": n.InstanceID, "HealthStatusDetail": "Alive"})
	}
	return t
}

func clusterRoutes(s Scenario) []obj {
	var r []obj
	for i, n := range nodes {
		if i == 1 && s.has(fRouteMissing) {
			continue // the GlobalRouter route of 10.0.1.12's pod CIDR is gone too
		}
		r = append(r, obj{"RouteTableName": ClusterID, "DestinationCidrBlock": n.PodCIDR, "GatewayIp": n.IP})
	}
	return r
}

func policy(i int, proto, port, cidr, action, desc string) obj {
	return obj{"PolicyIndex": i, "Protocol": proto, "Port": port, "CidrBlock": cidr, "Ipv6CidrBlock": "", "SecurityGroupId": "",
		"ServiceTemplate": obj{"ServiceId": "", "ServiceGroupId": ""}, "AddressTemplate": obj{"AddressId": "", "AddressGroupId": ""},
		"Action": action, "PolicyDescription": desc, "ModifyTime": "2026-11-20 08:00:00"}
}

// nodeSGPolicies is TKE's recommended worker SG: pod CIDR, VPC CIDR,
// NodePort range, IDC; everything else dropped (first match wins).
func nodeSGPolicies(s Scenario) obj {
	type p struct{ proto, port, cidr, action, desc string }
	in := []p{
		{"ALL", "ALL", VpcCIDR, "ACCEPT", "VPC"},
		{"ALL", "ALL", ClusterCIDR, "ACCEPT", "cluster pod CIDR"},
		{"TCP", "30000-32768", "0.0.0.0/0", "ACCEPT", "NodePort"},
		{"UDP", "30000-32768", "0.0.0.0/0", "ACCEPT", "NodePort"},
		{"ALL", "ALL", IDCCIDR, "ACCEPT", "IDC"},
		{"ICMP", "ALL", "0.0.0.0/0", "ACCEPT", "ping"},
		{"ALL", "ALL", "0.0.0.0/0", "DROP", "deny the rest"},
	}
	if s.has(fSGPodCIDR) {
		in = append(in[:1], in[2:]...)
	}
	var ing []obj
	for i, x := range in {
		ing = append(ing, policy(i, x.proto, x.port, x.cidr, x.action, x.desc))
	}
	return obj{"Version": "3", "Ingress": ing, "Egress": []obj{policy(0, "ALL", "ALL", "0.0.0.0/0", "ACCEPT", "all out")}}
}

func clbSGPolicies(s Scenario) obj {
	port := "80,443"
	if s.has(fCLBSG443) {
		port = "80"
	}
	return obj{"Version": "1", "Ingress": []obj{
		policy(0, "TCP", port, "0.0.0.0/0", "ACCEPT", "web listeners"),
		policy(1, "ALL", "ALL", "0.0.0.0/0", "DROP", "deny the rest"),
	}, "Egress": []obj{policy(0, "ALL", "ALL", "0.0.0.0/0", "ACCEPT", "all out")}}
}
