#!/usr/bin/env python3
"""Writes the cloud/ fixtures of testdata/cloud/scenarios/<name>/.

A 2-node TKE cluster in ap-guangzhou (GlobalRouter, pod CIDR 172.20.0.0/16)
in vpc-k8snap01 10.0.0.0/16, nodes 10.0.1.5 (subnet-k8sa 10.0.1.0/24) and
10.0.2.7 (subnet-k8sb 10.0.2.0/24), one public CLB (a LoadBalancer Service,
TCP 80 and 443 to NodePorts 31080/31443), a CCN with a peer VPC 10.8.0.0/16
and an IDC 192.168.0.0/16 behind direct connect gateway dcg-idc01.

"healthy" has every rule the TKE guide asks for; each other scenario breaks
exactly one thing (see README.md). Files are what tccli prints: the bare
result object, 4-space indent; the SG policy files are in the API Explorer
form {"Response": {...}} so both forms are exercised.

Run from this directory: ./generate.py (deterministic; commit the output).
"""
import copy
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
REQ = "8f3c2a1e-5b7d-4c9e-a1f2-0d3e4b5c6a7b"
CLUSTER = "cls-k8snap01"
VPC = "vpc-k8snap01"


def policy(idx, action, proto, port, cidr=None, sg=None, desc="", addr=None):
    return {
        "PolicyIndex": idx,
        "Protocol": proto,
        "Port": port,
        "ServiceTemplate": {"ServiceId": "", "ServiceGroupId": ""},
        "CidrBlock": cidr or "",
        "Ipv6CidrBlock": "",
        "SecurityGroupId": sg or "",
        "AddressTemplate": {"AddressId": addr or "", "AddressGroupId": ""},
        "Action": action,
        "PolicyDescription": desc,
        "ModifyTime": "2026-11-20 10:00:00",
    }


def reindex(ps):
    for i, p in enumerate(ps):
        p["PolicyIndex"] = i
    return ps


def node_ingress():
    return [
        policy(0, "ACCEPT", "ALL", "ALL", "172.20.0.0/16", desc="TKE pod CIDR"),
        policy(1, "ACCEPT", "ALL", "ALL", "10.0.0.0/16", desc="VPC CIDR"),
        policy(2, "ACCEPT", "TCP", "30000-32768", "0.0.0.0/0", desc="NodePort range"),
        policy(3, "ACCEPT", "ALL", "ALL", "192.168.0.0/16", desc="IDC via direct connect"),
        policy(4, "ACCEPT", "ICMP", "ALL", "0.0.0.0/0", desc="ping"),
        policy(5, "ACCEPT", "TCP", "22", "203.0.113.0/24", desc="ssh from office"),
    ]


def egress_all():
    return [policy(0, "ACCEPT", "ALL", "ALL", "0.0.0.0/0", desc="all outbound")]


def instance(iid, name, ip, subnet, sgs, bw, public):
    return {
        "Placement": {"Zone": "ap-guangzhou-3", "ProjectId": 0, "HostId": None},
        "InstanceId": iid,
        "InstanceType": "S5.LARGE8",
        "CPU": 4,
        "Memory": 8,
        "RestrictState": "NORMAL",
        "InstanceName": name,
        "InstanceChargeType": "POSTPAID_BY_HOUR",
        "SystemDisk": {"DiskType": "CLOUD_PREMIUM", "DiskId": "disk-" + iid[4:], "DiskSize": 50},
        "DataDisks": [],
        "PrivateIpAddresses": [ip],
        "PublicIpAddresses": [public] if public else None,
        "InternetAccessible": {
            "InternetChargeType": "TRAFFIC_POSTPAID_BY_HOUR",
            "InternetMaxBandwidthOut": bw,
            "PublicIpAssigned": bool(public),
        },
        "VirtualPrivateCloud": {"VpcId": VPC, "SubnetId": subnet, "AsVpcGateway": False},
        "ImageId": "img-eb30mz89",
        "RenewFlag": None,
        "CreatedTime": "2026-11-01T08:00:00Z",
        "ExpiredTime": None,
        "OsName": "TencentOS Server 3.1 (TK4)",
        "SecurityGroupIds": sgs,
        "LoginSettings": {"KeyIds": ["skey-k8snap01"]},
        "InstanceState": "RUNNING",
        "Tags": [{"Key": "tke-clusterId", "Value": CLUSTER}],
        "StopChargingMode": "NOT_APPLICABLE",
        "Uuid": "00000000-0000-4000-8000-" + iid[4:].rjust(12, "0"),
        "LatestOperation": "RunInstances",
        "LatestOperationState": "SUCCESS",
        "LatestOperationRequestId": REQ,
        "IPv6Addresses": None,
        "CamRoleName": "TKE_QCSLinkedRoleInAutoScaling",
        "DisasterRecoverGroupId": "",
        "IsolatedSource": "NOTISOLATED",
        "DefaultLoginUser": "root",
        "DefaultLoginPort": 22,
    }


def eni(eid, iid, ip, subnet, sgs):
    return {
        "VpcId": VPC,
        "SubnetId": subnet,
        "NetworkInterfaceId": eid,
        "NetworkInterfaceName": "PrimaryENI",
        "NetworkInterfaceDescription": "",
        "GroupSet": sgs,
        "Primary": True,
        "MacAddress": "20:90:6F:00:00:" + ip.split(".")[-1].rjust(2, "0")[-2:],
        "State": "AVAILABLE",
        "CreatedTime": "2026-11-01 16:00:00",
        "PrivateIpAddressSet": [{"Description": "", "Primary": True, "PrivateIpAddress": ip,
                                 "PublicIpAddress": "", "AddressId": "", "IsWanIpBlocked": False, "State": "AVAILABLE"}],
        "Attachment": {"InstanceId": iid, "DeviceIndex": 0, "InstanceAccountId": "100000000001", "AttachTime": "2026-11-01 16:00:01"},
        "Zone": "ap-guangzhou-3",
        "Ipv6AddressSet": [],
        "TagSet": [],
        "EniType": 0,
        "Business": "cvm",
        "CdcId": "",
        "AttachType": 0,
    }


def route(rid, item, dst, gtype, gid, rtype, enabled=True, desc=""):
    return {"RouteTableId": "rtb-k8snap01", "RouteId": rid, "RouteItemId": item,
            "DestinationCidrBlock": dst, "DestinationIpv6CidrBlock": "", "GatewayType": gtype,
            "GatewayId": gid, "RouteDescription": desc, "CreatedTime": "2026-11-01 16:00:00",
            "RouteType": rtype, "Enabled": enabled, "PublishedToVbc": False}


def ccn_route(rid, dst, itype, iid, iname, enabled=True, state="Running"):
    return {"RouteId": rid, "DestinationCidrBlock": dst, "InstanceType": itype, "InstanceId": iid,
            "InstanceName": iname, "InstanceRegion": "ap-guangzhou", "InstanceUin": "100000000001",
            "UpdateTime": "2026-11-01 16:00:00", "Enabled": enabled, "ExtraState": state,
            "IsBgp": itype == "DIRECTCONNECT", "RoutePriority": 0, "InstanceExtraName": iname}


def base():
    """The healthy managed cluster, as a dict path -> JSON value."""
    f = {}
    # vpc DescribeNetworkAccountType: a standard account (CLBs carry their
    # own bandwidth); node-no-public-bandwidth switches it to LEGACY.
    f["cloud/network-account-type.json"] = {"NetworkAccountType": "STANDARD", "RequestId": REQ}
    f["cloud/clusters.json"] = {"TotalCount": 1, "Clusters": [{
        "ClusterId": CLUSTER, "ClusterName": "k8snap-demo", "ClusterDescription": "",
        "ClusterVersion": "1.30.0", "ClusterOs": "tlinux3.1x86_64", "ClusterType": "MANAGED_CLUSTER",
        "ClusterNetworkSettings": {
            "ClusterCIDR": "172.20.0.0/16", "IgnoreClusterCIDRConflict": False, "MaxNodePodNum": 64,
            "MaxClusterServiceNum": 1024, "Ipvs": False, "VpcId": VPC, "Cni": True,
            "KubeProxyMode": "iptables", "ServiceCIDR": "172.21.252.0/22", "Subnets": None,
            "IgnoreServiceCIDRConflict": False, "IsDualStack": False, "Ipv6ServiceCIDR": "",
            "CiliumMode": ""},
        "ClusterNodeNum": 2, "ProjectId": 0, "TagSpecification": [], "ClusterStatus": "Running",
        "Property": "{\"NodeNameType\":\"lan-ip\",\"NetworkType\":\"GR\"}",
        "ClusterMaterNodeNum": 0, "ImageId": "img-eb30mz89", "OsCustomizeType": "GENERAL",
        "ContainerRuntime": "containerd", "CreatedTime": "2026-11-01T08:00:00Z",
        "DeletionProtection": False, "EnableExternalNode": False, "ClusterLevel": "L5",
        "AutoUpgradeClusterLevel": True, "QGPUShareEnable": False, "RuntimeVersion": "1.6.9",
        "ClusterEtcdNodeNum": 0}], "RequestId": REQ}
    f["cloud/cluster-instances.json"] = {"TotalCount": 2, "InstanceSet": [
        {"InstanceId": "ins-k8snode1", "InstanceRole": "WORKER", "FailedReason": "", "InstanceState": "running",
         "DrainStatus": "", "NodePoolId": "np-k8snap01", "CreatedTime": "2026-11-01T08:05:00Z", "LanIP": "10.0.1.5",
         "AutoscalingGroupId": "asg-k8snap01"},
        {"InstanceId": "ins-k8snode2", "InstanceRole": "WORKER", "FailedReason": "", "InstanceState": "running",
         "DrainStatus": "", "NodePoolId": "np-k8snap01", "CreatedTime": "2026-11-01T08:05:00Z", "LanIP": "10.0.2.7",
         "AutoscalingGroupId": "asg-k8snap01"}], "RequestId": REQ}
    f["cloud/cluster-endpoints.json"] = {
        "CertificationAuthority": "", "ClusterExternalEndpoint": "119.29.10.30",
        "ClusterIntranetEndpoint": "10.0.1.100", "ClusterDomain": CLUSTER + ".ccs.tencent-cloud.com",
        "ClusterExternalACL": ["203.0.113.0/24"], "ClusterExternalDomain": CLUSTER + ".ccs.tencent-cloud.com",
        "ClusterIntranetDomain": CLUSTER + ".ccs.tencent-cloud.com", "SecurityGroup": "sg-k8sapi01",
        "ClusterIntranetSubnetId": "subnet-k8sa", "RequestId": REQ}
    f["cloud/cluster-routes.json"] = {"TotalCount": 2, "RouteSet": [
        {"RouteTableName": CLUSTER, "DestinationCidrBlock": "172.20.0.0/26", "GatewayIp": "10.0.1.5"},
        {"RouteTableName": CLUSTER, "DestinationCidrBlock": "172.20.0.64/26", "GatewayIp": "10.0.2.7"}],
        "RequestId": REQ}
    f["cloud/instances.json"] = {"TotalCount": 2, "InstanceSet": [
        instance("ins-k8snode1", "tke_" + CLUSTER + "_worker", "10.0.1.5", "subnet-k8sa", ["sg-k8snode"], 1, "119.29.20.5"),
        instance("ins-k8snode2", "tke_" + CLUSTER + "_worker", "10.0.2.7", "subnet-k8sb", ["sg-k8snode"], 1, "119.29.20.7")],
        "RequestId": REQ}
    f["cloud/security-groups.json"] = {"SecurityGroupSet": [
        {"SecurityGroupId": sg, "SecurityGroupName": name, "SecurityGroupDesc": desc, "ProjectId": "0",
         "IsDefault": False, "CreatedTime": "2026-11-01 16:00:00", "UpdateTime": "2026-11-20 10:00:00", "TagSet": []}
        for sg, name, desc in [("sg-k8snode", "tke-worker-" + CLUSTER, "TKE worker nodes"),
                               ("sg-k8sclb1", "clb-web", "CLB of default/web"),
                               ("sg-k8sapi01", "tke-apiserver-" + CLUSTER, "API server public access")]],
        "TotalCount": 3, "RequestId": REQ}
    f["sg:sg-k8snode"] = (node_ingress(), egress_all())
    f["sg:sg-k8sclb1"] = ([policy(0, "ACCEPT", "TCP", "80,443", "0.0.0.0/0", desc="web listeners")], egress_all())
    f["sg:sg-k8sapi01"] = ([policy(0, "ACCEPT", "TCP", "443", "203.0.113.0/24", desc="office")], egress_all())
    f["cloud/vpcs.json"] = {"TotalCount": 1, "VpcSet": [{
        "VpcId": VPC, "VpcName": "k8snap", "CidrBlock": "10.0.0.0/16", "Ipv6CidrBlock": "", "IsDefault": False,
        "EnableMulticast": False, "CreatedTime": "2026-11-01 16:00:00", "EnableDhcp": True,
        "DhcpOptionsId": "", "DnsServerSet": ["183.60.83.19", "183.60.82.98"], "DomainName": "",
        "TagSet": [], "AssistantCidrSet": [], "Ipv6CidrBlockSet": []}], "RequestId": REQ}
    f["cloud/subnets.json"] = {"TotalCount": 2, "SubnetSet": [
        {"VpcId": VPC, "SubnetId": sid, "SubnetName": sid, "CidrBlock": cidr, "Ipv6CidrBlock": "",
         "IsDefault": False, "EnableBroadcast": False, "Zone": "ap-guangzhou-3", "RouteTableId": "rtb-k8snap01",
         "CreatedTime": "2026-11-01 16:00:00", "AvailableIpAddressCount": 250, "NetworkAclId": "",
         "IsRemoteVpcSnat": False, "TotalIpAddressCount": 253, "TagSet": [], "CdcId": "", "IsCdcSubnet": 0}
        for sid, cidr in [("subnet-k8sa", "10.0.1.0/24"), ("subnet-k8sb", "10.0.2.0/24")]], "RequestId": REQ}
    f["cloud/route-tables.json"] = {"TotalCount": 1, "RouteTableSet": [{
        "VpcId": VPC, "RouteTableId": "rtb-k8snap01", "RouteTableName": "default", "Main": True,
        "AssociationSet": [{"SubnetId": "subnet-k8sa", "RouteTableId": "rtb-k8snap01"},
                           {"SubnetId": "subnet-k8sb", "RouteTableId": "rtb-k8snap01"}],
        "RouteSet": [
            route(0, "rti-k8slocal", "10.0.0.0/16", "LOCAL", "Local", "LOCAL", desc="local"),
            route(120001, "rti-k8sccn01", "10.8.0.0/16", "CCN", "ccn-k8snap01", "CCN", desc="peer VPC via CCN"),
            route(120002, "rti-k8sccn02", "192.168.0.0/16", "CCN", "ccn-k8snap01", "CCN", desc="IDC via CCN"),
        ],
        "TagSet": [], "LocalCidrForCcn": [{"Cidr": "10.0.0.0/16", "PublishedToVbc": True},
                                         {"Cidr": "172.20.0.0/16", "PublishedToVbc": True}],
        "CreatedTime": "2026-11-01 16:00:00"}], "RequestId": REQ}
    f["cloud/ccn-routes.json"] = {"TotalCount": 4, "RouteSet": [
        ccn_route("ccnr-k8s00001", "10.0.0.0/16", "VPC", VPC, "k8snap"),
        ccn_route("ccnr-k8s00002", "172.20.0.0/16", "VPC", VPC, "k8snap (TKE container CIDR)"),
        ccn_route("ccnr-k8s00003", "10.8.0.0/16", "VPC", "vpc-peer0001", "peer"),
        ccn_route("ccnr-k8s00004", "192.168.0.0/16", "DIRECTCONNECT", "dcg-idc01", "idc-beijing"),
    ], "RequestId": REQ}
    f["cloud/network-interfaces.json"] = {"TotalCount": 2, "NetworkInterfaceSet": [
        eni("eni-k8snode1", "ins-k8snode1", "10.0.1.5", "subnet-k8sa", ["sg-k8snode"]),
        eni("eni-k8snode2", "ins-k8snode2", "10.0.2.7", "subnet-k8sb", ["sg-k8snode"])], "RequestId": REQ}
    f["cloud/load-balancers.json"] = {"TotalCount": 1, "LoadBalancerSet": [{
        "LoadBalancerId": "lb-k8sweb01", "LoadBalancerName": "default_web", "LoadBalancerType": "OPEN",
        "Forward": 1, "Domain": "", "LoadBalancerVips": ["119.29.10.20"], "Status": 1,
        "CreateTime": "2026-11-01 16:10:00", "StatusTime": "2026-11-01 16:10:00", "ProjectId": 0,
        "VpcId": VPC, "OpenBgp": 0, "Snat": False, "Isolation": 0, "Log": "", "SubnetId": "",
        "Tags": [{"TagKey": "tke-createdBy-flag", "TagValue": "yes"},
                 {"TagKey": "tke-clusterId", "TagValue": CLUSTER},
                 {"TagKey": "tke-lb-serviceId", "TagValue": "default/web"}],
        "SecureGroups": ["sg-k8sclb1"], "TargetRegionInfo": {"Region": "ap-guangzhou", "VpcId": VPC},
        "AnycastZone": "", "AddressIPVersion": "ipv4", "NumericalVpcId": 1000001,
        "VipIsp": "BGP", "MasterZone": {"ZoneId": 100003, "Zone": "ap-guangzhou-3", "ZoneName": "广州三区",
                                        "ZoneRegion": "ap-guangzhou", "LocalZone": False},
        "BackupZoneSet": None, "IsolatedTime": None, "ExpireTime": None, "ChargeType": "POSTPAID_BY_HOUR",
        "NetworkAttributes": {"InternetChargeType": "TRAFFIC_POSTPAID_BY_HOUR", "InternetMaxBandwidthOut": 10,
                              "BandwidthpkgSubType": "BGP"},
        "PrepaidAttributes": None, "LogSetId": "", "LogTopicId": "", "AddressIPv6": None, "ExtraInfo": None,
        "IsDDos": False, "ConfigId": "", "LoadBalancerPassToTarget": False, "ExclusiveCluster": None,
        "IPv6Mode": None, "SnatPro": False, "SnatIps": [], "SlaType": "", "IsBlock": False,
        "IsBlockTime": "", "LocalBgp": False, "ClusterTag": None, "MixIpTarget": False, "Zones": None,
        "NfvInfo": "", "HealthLogSetId": "", "HealthLogTopicId": "", "ClusterIds": None,
        "AttributeFlags": [], "LoadBalancerDomain": "", "Egress": ""}], "RequestId": REQ}
    f["cloud/listeners/lb-k8sweb01.json"] = {"TotalCount": 2, "Listeners": [
        {"ListenerId": lid, "ListenerName": "TCP_%d" % port, "Protocol": "TCP", "Port": port, "EndPort": 0,
         "HealthCheck": {"HealthSwitch": 1, "TimeOut": 2, "IntervalTime": 5, "HealthNum": 3, "UnHealthNum": 3,
                         "CheckPort": None, "CheckType": "TCP", "SourceIpType": 0},
         "Certificate": None, "Scheduler": "WRR", "SessionExpireTime": 0, "SniSwitch": 0, "Rules": None,
         "TargetType": "NODE", "TargetGroup": None, "SessionType": "NORMAL", "Toa": False,
         "DeregisterTargetRst": False, "CreateTime": "2026-11-01 16:10:00", "AttrFlags": []}
        for lid, port in [("lbl-k8s00080", 80), ("lbl-k8s00443", 443)]], "RequestId": REQ}

    def targets(port, nodeport):
        return [{"Type": "CVM", "InstanceId": iid, "Port": nodeport, "Weight": 10, "PublicIpAddresses": None,
                 "PrivateIpAddresses": [ip], "InstanceName": "tke_" + CLUSTER + "_worker",
                 "RegisteredTime": "2026-11-01 16:10:05", "EniId": ""}
                for iid, ip in [("ins-k8snode1", "10.0.1.5"), ("ins-k8snode2", "10.0.2.7")]]
    f["cloud/targets/lb-k8sweb01.json"] = {"Listeners": [
        {"ListenerId": "lbl-k8s00080", "Protocol": "TCP", "Port": 80, "Rules": None, "EndPort": 0,
         "Targets": targets(80, 31080)},
        {"ListenerId": "lbl-k8s00443", "Protocol": "TCP", "Port": 443, "Rules": None, "EndPort": 0,
         "Targets": targets(443, 31443)}], "RequestId": REQ}

    def health(port, nodeport, lid, alive=True):
        return {"ListenerId": lid, "ListenerName": "TCP_%d" % port, "Protocol": "TCP", "Port": port,
                "Rules": [{"LocationId": "", "Domain": None, "Url": None, "Targets": [
                    {"IP": ip, "Port": nodeport, "HealthStatus": alive, "TargetId": iid,
                     "HealthStatusDetail": "Alive" if alive else "Dead"}
                    for iid, ip in [("ins-k8snode1", "10.0.1.5"), ("ins-k8snode2", "10.0.2.7")]]}]}
    f["cloud/target-health/lb-k8sweb01.json"] = {"LoadBalancers": [{
        "LoadBalancerId": "lb-k8sweb01", "LoadBalancerName": "default_web",
        "Listeners": [health(80, 31080, "lbl-k8s00080"), health(443, 31443, "lbl-k8s00443")]}], "RequestId": REQ}
    return f


def independent(f):
    """An independent cluster: one master in subnet-k8sa behind sg-k8smst,
    intranet API access through subnet-k8slb 10.0.3.0/24."""
    f = copy.deepcopy(f)
    c = f["cloud/clusters.json"]["Clusters"][0]
    c["ClusterType"] = "INDEPENDENT_CLUSTER"
    c["ClusterMaterNodeNum"] = 1
    f["cloud/cluster-instances.json"]["InstanceSet"].insert(0, {
        "InstanceId": "ins-k8smst1", "InstanceRole": "MASTER_ETCD", "FailedReason": "", "InstanceState": "running",
        "DrainStatus": "", "NodePoolId": "", "CreatedTime": "2026-11-01T08:03:00Z", "LanIP": "10.0.1.10",
        "AutoscalingGroupId": ""})
    f["cloud/cluster-instances.json"]["TotalCount"] = 3
    f["cloud/instances.json"]["InstanceSet"].insert(0, instance(
        "ins-k8smst1", "tke_" + CLUSTER + "_master", "10.0.1.10", "subnet-k8sa", ["sg-k8smst"], 0, None))
    f["cloud/instances.json"]["TotalCount"] = 3
    f["cloud/network-interfaces.json"]["NetworkInterfaceSet"].insert(0, eni(
        "eni-k8smst1", "ins-k8smst1", "10.0.1.10", "subnet-k8sa", ["sg-k8smst"]))
    f["cloud/subnets.json"]["SubnetSet"].append(copy.deepcopy(f["cloud/subnets.json"]["SubnetSet"][0]))
    f["cloud/subnets.json"]["SubnetSet"][-1].update({"SubnetId": "subnet-k8slb", "SubnetName": "apiserver-lb", "CidrBlock": "10.0.3.0/24"})
    f["cloud/subnets.json"]["TotalCount"] = 3
    e = f["cloud/cluster-endpoints.json"]
    e["ClusterIntranetSubnetId"] = "subnet-k8slb"
    e["ClusterIntranetEndpoint"] = "10.0.3.20"
    e["SecurityGroup"] = "sg-k8smst"
    f["cloud/security-groups.json"]["SecurityGroupSet"].append({
        "SecurityGroupId": "sg-k8smst", "SecurityGroupName": "tke-master-" + CLUSTER, "SecurityGroupDesc": "TKE masters",
        "ProjectId": "0", "IsDefault": False, "CreatedTime": "2026-11-01 16:00:00", "UpdateTime": "2026-11-20 10:00:00", "TagSet": []})
    f["sg:sg-k8smst"] = ([
        policy(0, "ACCEPT", "ALL", "ALL", "10.0.0.0/16", desc="VPC CIDR (nodes, intranet access CLB)"),
        policy(1, "ACCEPT", "ALL", "ALL", "172.20.0.0/16", desc="TKE pod CIDR"),
        policy(2, "ACCEPT", "TCP", "443", "203.0.113.0/24", desc="kubectl from office"),
    ], egress_all())
    return f


def write(name, f, readme, flows=None):
    root = os.path.join(HERE, name)
    if os.path.isdir(root):
        shutil.rmtree(root)
    for path, v in sorted(f.items()):
        if path.startswith("sg:"):
            sg = path[3:]
            ingress, egress = v
            path = "cloud/security-group-policies/%s.json" % sg
            v = {"Response": {"SecurityGroupPolicySet": {
                "Version": "12", "Ingress": ingress, "Egress": egress,
                "PolicyStatistics": {"IngressIPv4TotalCount": len(ingress), "IngressIPv6TotalCount": 0,
                                     "EgressIPv4TotalCount": len(egress), "EgressIPv6TotalCount": 0}},
                "RequestId": REQ}}
        p = os.path.join(root, path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(v, indent=4, ensure_ascii=False) + "\n")
    # manifest.json: what the cluster collector records for each file.
    cmds = {
        "cloud/clusters.json": "tccli tke DescribeClusters --ClusterIds '[\"%s\"]'" % CLUSTER,
        "cloud/cluster-instances.json": "tccli tke DescribeClusterInstances --ClusterId %s" % CLUSTER,
        "cloud/cluster-endpoints.json": "tccli tke DescribeClusterEndpoints --ClusterId %s" % CLUSTER,
        "cloud/cluster-routes.json": "tccli tke DescribeClusterRoutes --RouteTableName %s" % CLUSTER,
        "cloud/instances.json": "tccli cvm DescribeInstances --Filters '[{\"Name\":\"vpc-id\",\"Values\":[\"%s\"]}]' --Limit 100" % VPC,
        "cloud/security-groups.json": "tccli vpc DescribeSecurityGroups --Limit 100",
        "cloud/network-account-type.json": "tccli vpc DescribeNetworkAccountType",
        "cloud/vpcs.json": "tccli vpc DescribeVpcs --VpcIds '[\"%s\"]'" % VPC,
        "cloud/subnets.json": "tccli vpc DescribeSubnets --Filters '[{\"Name\":\"vpc-id\",\"Values\":[\"%s\"]}]'" % VPC,
        "cloud/route-tables.json": "tccli vpc DescribeRouteTables --Filters '[{\"Name\":\"vpc-id\",\"Values\":[\"%s\"]}]'" % VPC,
        "cloud/ccn-routes.json": "tccli vpc DescribeCcnRoutes --CcnId ccn-k8snap01",
        "cloud/network-interfaces.json": "tccli vpc DescribeNetworkInterfaces --Filters '[{\"Name\":\"vpc-id\",\"Values\":[\"%s\"]}]'" % VPC,
        "cloud/load-balancers.json": "tccli clb DescribeLoadBalancers --Filters '[{\"Name\":\"tag:tke-clusterId\",\"Values\":[\"%s\"]}]'" % CLUSTER,
    }
    records = []
    for dirpath, _, files in sorted(os.walk(os.path.join(root, "cloud"))):
        for fn in sorted(files):
            full = os.path.join(dirpath, fn)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            cmd = cmds.get(rel, "")
            if rel.startswith("cloud/security-group-policies/"):
                cmd = "tccli vpc DescribeSecurityGroupPolicies --SecurityGroupId " + fn[:-5]
            elif rel.startswith("cloud/listeners/"):
                cmd = "tccli clb DescribeListeners --LoadBalancerId " + fn[:-5]
            elif rel.startswith("cloud/targets/"):
                cmd = "tccli clb DescribeTargets --LoadBalancerId " + fn[:-5]
            elif rel.startswith("cloud/target-health/"):
                cmd = "tccli clb DescribeTargetHealth --LoadBalancerIds '[\"%s\"]'" % fn[:-5]
            records.append({"path": rel, "command": cmd, "exit_code": 0, "duration_ms": 420,
                            "bytes": os.path.getsize(full)})
    ctype = f["cloud/clusters.json"]["Clusters"][0]["ClusterType"]
    manifest = {"format": "tkesnap-bundle/v1", "created": "2026-11-20T10:30:00Z",
                "collector_version": "scenario-generator",
                "cluster": {"id": CLUSTER, "type": ctype, "region": "ap-guangzhou"},
                "files": records}
    with open(os.path.join(root, "manifest.json"), "w") as fh:
        fh.write(json.dumps(manifest, indent=2) + "\n")
    if flows is not None:
        with open(os.path.join(root, "flows.json"), "w") as fh:
            fh.write(json.dumps(flows, indent=2) + "\n")
    with open(os.path.join(root, "README.md"), "w", encoding="utf-8") as fh:
        fh.write(readme.strip() + "\n")


def main():
    h = base()
    write("healthy", h, """
# healthy (managed cluster)
Every rule the guide asks for is present: node SG sg-k8snode accepts the pod
CIDR, the VPC CIDR, TCP 30000-32768 from anywhere and the IDC CIDR; the CLB
SG accepts TCP 80,443; the container CIDR is published to the CCN; the CLB
has its own bandwidth. Expected: no cloud finding.
""")

    f = copy.deepcopy(h)
    f["sg:sg-k8snode"] = (reindex(node_ingress()[1:]), egress_all())
    write("sg-pod-cidr-blocked", f, """
# sg-pod-cidr-blocked
The pod CIDR rule (ACCEPT ALL 172.20.0.0/16) was deleted from sg-k8snode.
Pods reach pods on the other node only on NodePorts; everything else from
172.20.0.0/16 falls through to the implicit deny.
Expected: SG_POD_CIDR_BLOCKED, sg-k8snode ingress, implicit deny, both nodes.
""")

    f = copy.deepcopy(h)
    ps = node_ingress()
    ps.insert(1, policy(1, "DROP", "ALL", "ALL", "10.0.2.0/24", desc="block subnet-k8sb"))
    f["sg:sg-k8snode"] = (reindex(ps), egress_all())
    write("sg-vpc-cidr-blocked", f, """
# sg-vpc-cidr-blocked
A DROP ALL from 10.0.2.0/24 (subnet-k8sb) was inserted at PolicyIndex 1 of
sg-k8snode, before the VPC CIDR rule. Node 10.0.1.5 no longer accepts
node 10.0.2.7 (node → pod on another node, kubelet, NodePort hops).
Expected: SG_VPC_CIDR_BLOCKED on node 10.0.1.5, sg-k8snode ingress
PolicyIndex 1, remedy before PolicyIndex 1.
""")

    f = copy.deepcopy(h)
    ps = node_ingress()
    del ps[2]
    f["sg:sg-k8snode"] = (reindex(ps), egress_all())
    write("sg-nodeport-range-blocked", f, """
# sg-nodeport-range-blocked
The NodePort rule (ACCEPT TCP 30000-32768 0.0.0.0/0) was deleted from
sg-k8snode. The public CLB lb-k8sweb01 (LoadBalancerPassToTarget false)
forwards clients and its health checks (from the VIP 119.29.10.20) to
NodePorts 31080/31443, which now hit the implicit deny: health checks fail,
clients see timeouts.
Expected: SG_NODEPORT_RANGE_BLOCKED for source 119.29.10.20 and 0.0.0.0/0.
""")

    f = copy.deepcopy(h)
    ps = node_ingress()
    del ps[3]
    f["sg:sg-k8snode"] = (reindex(ps), egress_all())
    write("sg-idc-cidr-blocked", f, """
# sg-idc-cidr-blocked
The IDC rule (ACCEPT ALL 192.168.0.0/16) was deleted from sg-k8snode; the
IDC behind dcg-idc01 (CCN route ccnr-k8s00004) can no longer reach nodes or
pods (except NodePorts).
Expected: SG_IDC_CIDR_BLOCKED, sg-k8snode ingress, implicit deny.
""")

    f = copy.deepcopy(h)
    f["sg:sg-k8sclb1"] = ([policy(0, "ACCEPT", "TCP", "80", "0.0.0.0/0", desc="http only")], egress_all())
    write("clb-sg-blocks-listener", f, """
# clb-sg-blocks-listener
The CLB SG sg-k8sclb1 accepts TCP 80 only; the 443 listener lbl-k8s00443
accepts no client at all.
Expected: CLB_SG_BLOCKS_LISTENER lb-k8sweb01 TCP 443, implicit deny.
""")

    f = copy.deepcopy(h)
    f["cloud/network-account-type.json"]["NetworkAccountType"] = "LEGACY"
    f["cloud/load-balancers.json"]["LoadBalancerSet"][0]["NetworkAttributes"] = None
    for i in f["cloud/instances.json"]["InstanceSet"]:
        i["InternetAccessible"]["InternetMaxBandwidthOut"] = 0
        i["InternetAccessible"]["PublicIpAssigned"] = False
        i["PublicIpAddresses"] = None
    write("node-no-public-bandwidth", f, """
# node-no-public-bandwidth
A traditional-account (DescribeNetworkAccountType LEGACY) public CLB (no
NetworkAttributes bandwidth of its own) whose real servers, the two nodes, have InternetMaxBandwidthOut 0.
Expected: NODE_NO_PUBLIC_BANDWIDTH for both nodes.
""")

    f = copy.deepcopy(h)
    f["cloud/ccn-routes.json"]["RouteSet"][3].update({"Enabled": False, "ExtraState": "Prohibited"})
    f["cloud/route-tables.json"]["RouteTableSet"][0]["RouteSet"].pop(2)
    write("route-missing-idc", f, """
# route-missing-idc
The CCN route to the IDC 192.168.0.0/16 (from dcg-idc01) is disabled
(Enabled false, ExtraState Prohibited: it overlapped another route), so
rtb-k8snap01 has no route for it.
Expected: ROUTE_MISSING for 192.168.0.0/16 citing ccnr-k8s00004.
""")

    f = copy.deepcopy(h)
    f["cloud/ccn-routes.json"]["RouteSet"].pop(1)
    f["cloud/ccn-routes.json"]["TotalCount"] = 3
    f["cloud/route-tables.json"]["RouteTableSet"][0]["LocalCidrForCcn"].pop(1)
    write("route-missing-pod-cidr", f, """
# route-missing-pod-cidr
The cluster's container CIDR 172.20.0.0/16 (GlobalRouter) was not
published to the CCN, and the IDC talks to pods directly (flows.json:
192.168.1.10 → pod 172.20.0.70:8080): the IDC has no route to pod IPs
(IDC → pod never arrives; pod → IDC without SNAT dies on the way back).
Peers that only see node IPs would need no such route, so the finding
needs this evidence (a flow, or ip-masq-agent NonMasqueradeCIDRs covering
the peer).
Expected: ROUTE_MISSING for 172.20.0.0/16.
""", flows=[{"from": "ip:192.168.1.10", "to": "ip:172.20.0.70:8080", "proto": "tcp", "symptom": "timeout"}])

    write("sg-apiserver-source-blocked", h, """
# sg-apiserver-source-blocked
Managed cluster; the public API endpoint 119.29.10.30 only admits
203.0.113.0/24 (ClusterExternalACL). flows.json reports kubectl from
198.51.100.7 timing out.
Expected: SG_APISERVER_SOURCE_BLOCKED, client 198.51.100.7.
""", flows=[{"from": "ip:198.51.100.7", "to": "ip:119.29.10.30:443", "proto": "tcp", "symptom": "timeout"}])

    ih = independent(h)
    write("independent-healthy", ih, """
# independent-healthy
Independent cluster: master ins-k8smst1 (10.0.1.10, sg-k8smst) accepts the
whole VPC 10.0.0.0/16, which holds the intranet access subnet subnet-k8slb
10.0.3.0/24. Expected: no cloud finding.
""")

    f = copy.deepcopy(ih)
    ing, eg = f["sg:sg-k8smst"]
    ing[0] = policy(0, "ACCEPT", "ALL", "ALL", "10.0.1.0/24", desc="own subnet only")
    ing.insert(1, policy(1, "ACCEPT", "ALL", "ALL", "10.0.2.0/24", desc="worker subnet"))
    f["sg:sg-k8smst"] = (reindex(ing), eg)
    write("sg-master-subnet-blocked", f, """
# sg-master-subnet-blocked
Independent cluster after enabling intranet access in subnet-k8slb
(10.0.3.0/24): the master SG sg-k8smst accepts the two node subnets but not
the intranet access subnet, so kubectl through 10.0.3.20 times out.
Expected: SG_MASTER_SUBNET_BLOCKED for 10.0.3.0/24 (and the VPC CIDR
10.0.0.0/16, which the guide also asks for), implicit deny.
""")


if __name__ == "__main__":
    main()
