package driver

import (
	"path"
	"strings"
)

// Commands maps bundle paths (path.Match patterns) to the command the
// collector (collector/tkesnap-collect.sh, docs/bundle-format.md) runs to make
// them. Inconclusive items name the command so support can ask for
// exactly that output.
var Commands = []struct{ Path, Command string }{
	{"manifest.json", "tkesnap-collect.sh (writes the manifest)"},
	{"flows.json", "write the failing flows as flows.json (docs/bundle-format.md)"},

	{"cluster/version.json", "kubectl version -o json"},
	{"cluster/nodes.yaml", "kubectl get nodes -o yaml"},
	{"cluster/pods.yaml", "kubectl get pods -A -o yaml"},
	{"cluster/services.yaml", "kubectl get services -A -o yaml"},
	{"cluster/endpoints.yaml", "kubectl get endpoints -A -o yaml"},
	{"cluster/endpointslices.yaml", "kubectl get endpointslices.discovery.k8s.io -A -o yaml"},
	{"cluster/ingresses.yaml", "kubectl get ingresses.networking.k8s.io -A -o yaml"},
	{"cluster/ingressclasses.yaml", "kubectl get ingressclasses.networking.k8s.io -o yaml"},
	{"cluster/networkpolicies.yaml", "kubectl get networkpolicies.networking.k8s.io -A -o yaml"},
	{"cluster/namespaces.yaml", "kubectl get namespaces -o yaml"},
	{"cluster/configmaps-kube-system.yaml", "kubectl get configmaps -n kube-system -o yaml"},
	{"cluster/daemonsets-kube-system.yaml", "kubectl get daemonsets -n kube-system -o yaml"},
	{"cluster/events.yaml", "kubectl get events -A -o yaml"},

	{"cloud/clusters.json", "tccli tke DescribeClusters --ClusterIds '[\"<cluster-id>\"]'"},
	{"cloud/cluster-instances.json", "tccli tke DescribeClusterInstances --ClusterId <cluster-id>"},
	{"cloud/cluster-endpoints.json", "tccli tke DescribeClusterEndpoints --ClusterId <cluster-id>"},
	{"cloud/cluster-endpoint-status.json", "tccli tke DescribeClusterEndpointStatus --ClusterId <cluster-id>"},
	{"cloud/cluster-security.json", "tccli tke DescribeClusterSecurity --ClusterId <cluster-id>"},
	{"cloud/cluster-routes.json", "tccli tke DescribeClusterRoutes --RouteTableName <cluster-id>"},
	{"cloud/instances.json", "tccli cvm DescribeInstances --InstanceIds '[...]'"},
	{"cloud/security-groups.json", "tccli vpc DescribeSecurityGroups --SecurityGroupIds '[...]'"},
	{"cloud/security-group-policies/*.json", "tccli vpc DescribeSecurityGroupPolicies --SecurityGroupId <sg-id>"},
	{"cloud/address-templates.json", "tccli vpc DescribeAddressTemplates"},
	{"cloud/address-template-groups.json", "tccli vpc DescribeAddressTemplateGroups"},
	{"cloud/service-templates.json", "tccli vpc DescribeServiceTemplates"},
	{"cloud/service-template-groups.json", "tccli vpc DescribeServiceTemplateGroups"},
	{"cloud/vpcs.json", "tccli vpc DescribeVpcs --VpcIds '[\"<vpc-id>\"]'"},
	{"cloud/subnets.json", "tccli vpc DescribeSubnets --Filters '[{\"Name\":\"vpc-id\",\"Values\":[\"<vpc-id>\"]}]'"},
	{"cloud/route-tables.json", "tccli vpc DescribeRouteTables --Filters '[{\"Name\":\"vpc-id\",\"Values\":[\"<vpc-id>\"]}]'"},
	{"cloud/network-interfaces.json", "tccli vpc DescribeNetworkInterfaces --Filters '[{\"Name\":\"vpc-id\",\"Values\":[\"<vpc-id>\"]}]'"},
	{"cloud/ccn-routes.json", "tccli vpc DescribeCcnRoutes --CcnId <ccn-id>"},
	{"cloud/ccn-routes/*.json", "tccli vpc DescribeCcnRoutes --CcnId <ccn-id>"},
	{"cloud/network-account-type.json", "tccli vpc DescribeNetworkAccountType"},
	{"cloud/load-balancers.json", "tccli clb DescribeLoadBalancers --LoadBalancerIds '[...]'"},
	{"cloud/listeners/*.json", "tccli clb DescribeListeners --LoadBalancerId <lb-id>"},
	{"cloud/targets/*.json", "tccli clb DescribeTargets --LoadBalancerId <lb-id>"},
	{"cloud/target-health/*.json", "tccli clb DescribeTargetHealth --LoadBalancerIds '[\"<lb-id>\"]'"},

	{"nodes/*/iptables-save.txt", "iptables-save -c"},
	{"nodes/*/iptables-legacy-save.txt", "iptables-legacy-save -c"},
	{"nodes/*/iptables-nft-save.txt", "iptables-nft-save -c"},
	{"nodes/*/ip6tables-save.txt", "ip6tables-save -c"},
	{"nodes/*/nft-ruleset.json", "nft -j list ruleset"},
	{"nodes/*/ipvsadm.txt", "ipvsadm -Sn"},
	{"nodes/*/ipvsadm-stats.txt", "ipvsadm -Ln --stats --exact"},
	{"nodes/*/ipset.txt", "ipset save"},
	{"nodes/*/ip-addr.json", "ip -j addr show"},
	{"nodes/*/ip-link.json", "ip -j -d link show"},
	{"nodes/*/ip-route.json", "ip -j route show table all"},
	{"nodes/*/ip-rule.json", "ip -j rule show"},
	{"nodes/*/ip-neigh.json", "ip -j neigh show"},
	{"nodes/*/sysctl.txt", "sysctl --pattern '^net\\.' -a"},
	{"nodes/*/conntrack.txt", "conntrack -L"},
	{"nodes/*/conntrack-stats.txt", "conntrack -S"},
	{"nodes/*/resolv.conf", "cat /etc/resolv.conf"},
	{"nodes/*/ss.txt", "ss -tunapH"},
	{"nodes/*/kube-proxy.txt", "cat /proc/$(pgrep -x kube-proxy)/cmdline (and its --config file)"},
	{"nodes/*/cni/", "cat /etc/cni/net.d/*"},

	{"captures/", "tkesnap-collect.sh --node --capture (tcpdump on the node or in the pod netns)"},
	{"captures/*/*", "tkesnap-collect.sh --node --capture (tcpdump on the node or in the pod netns)"},
}

// CommandFor returns the command that collects a bundle path (a concrete
// path or one of the patterns of Commands), "" when none is known.
func CommandFor(p string) string {
	for _, c := range Commands {
		if c.Path == p {
			return c.Command
		}
	}
	for _, c := range Commands {
		if ok, _ := path.Match(c.Path, p); ok {
			return withID(c.Command, c.Path, p)
		}
	}
	return ""
}

// withID puts the object ID a per-object cloud file is named after
// (cloud/security-group-policies/sg-1.json) into its command's
// placeholder, so the command can be run as it stands.
func withID(cmd, pattern, p string) string {
	if !strings.HasPrefix(pattern, "cloud/") || !strings.HasSuffix(pattern, "/*.json") {
		return cmd
	}
	id := strings.TrimSuffix(path.Base(p), ".json")
	if id == "" || strings.ContainsAny(id, "<>*'\" \t") {
		return cmd
	}
	for _, ph := range []string{"<sg-id>", "<lb-id>", "<ccn-id>"} {
		if strings.Contains(cmd, ph) {
			return strings.ReplaceAll(cmd, ph, id)
		}
	}
	return cmd
}
