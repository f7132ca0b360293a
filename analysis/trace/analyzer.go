package trace

import (
	"strings"

	"tkesnap/analysis/capture"
	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
)

// traceInputs are the files a hop concludes from. A hop whose file is
// absent is UNDETERMINED and names the file (never DROPPED).
var traceInputs = []driver.Input{
	driver.In("flows.json"),
	driver.In("cluster/nodes.yaml"), driver.In("cluster/pods.yaml"), driver.In("cluster/services.yaml"),
	driver.In("cluster/endpoints.yaml"), driver.In("cluster/endpointslices.yaml"), driver.In("cluster/ingresses.yaml"),
	driver.In("cluster/networkpolicies.yaml"), driver.In("cluster/namespaces.yaml"), driver.In("cluster/configmaps-kube-system.yaml"),
	driver.In("cloud/clusters.json"), driver.In("cloud/cluster-instances.json"), driver.In("cloud/cluster-endpoints.json"),
	driver.In("cloud/cluster-endpoint-status.json"), driver.In("cloud/cluster-security.json"), driver.In("cloud/cluster-routes.json"),
	driver.In("cloud/instances.json"), driver.In("cloud/security-groups.json"), driver.In("cloud/security-group-policies/*.json"),
	driver.In("cloud/address-templates.json"), driver.In("cloud/address-template-groups.json"),
	driver.In("cloud/service-templates.json"), driver.In("cloud/service-template-groups.json"),
	driver.In("cloud/vpcs.json"), driver.In("cloud/subnets.json"), driver.In("cloud/route-tables.json"),
	driver.In("cloud/network-interfaces.json"), driver.In("cloud/ccn-routes.json"), driver.In("cloud/ccn-routes/*.json"),
	driver.In("cloud/load-balancers.json"), driver.In("cloud/listeners/*.json"), driver.In("cloud/targets/*.json"),
	driver.In("cloud/target-health/*.json"),
	driver.In("nodes/*/iptables-save.txt"), driver.In("nodes/*/iptables-legacy-save.txt"), driver.In("nodes/*/iptables-nft-save.txt"),
	driver.In("nodes/*/ipvsadm.txt"), driver.In("nodes/*/ipset.txt"), driver.In("nodes/*/ip-addr.json"),
	driver.In("nodes/*/ip-link.json"), driver.In("nodes/*/ip-route.json"), driver.In("nodes/*/ip-rule.json"),
	driver.In("nodes/*/sysctl.txt"), driver.In("nodes/*/conntrack.txt"), driver.In("nodes/*/resolv.conf"),
	driver.In("nodes/*/ss.txt"), driver.In("nodes/*/kube-proxy.txt"), driver.In("nodes/*/cni/"),
	driver.In("captures/*/*"),
}

// traceIDs are the finding IDs the tracer reports: what fails a traced
// flow at a hop, and contradictions between a trace and what was seen.
var traceIDs = []string{
	"SG_BLOCKS_FLOW", "SG_POD_CIDR_BLOCKED", "SG_VPC_CIDR_BLOCKED", "SG_NODEPORT_RANGE_BLOCKED", "SG_IDC_CIDR_BLOCKED",
	"SG_MASTER_SUBNET_BLOCKED", "SG_APISERVER_SOURCE_BLOCKED",
	"NODE_ROUTE_MISSING", "ROUTE_MISSING", "IPTABLES_DROPS_FLOW", "IPTABLES_BACKEND_SPLIT", "PORT_NOT_LISTENING",
	"SVC_NO_LOCAL_ENDPOINTS", "CLB_NO_BACKENDS", "CLB_NO_LISTENER", "CLB_SG_BLOCKS_LISTENER",
	"TRACE_SYMPTOM_MISMATCH", "TRACE_CAPTURE_CONTRADICTS",
	// the reason of a failing reported flow no check explains
	"SVC_PORT_NOT_FOUND", "CLUSTERIP_FROM_OUTSIDE", "ROUTING_LOOP", "UNKNOWN_ENDPOINT", "TRACE_FLOW_FAILS",
}

// Analyzer traces every reported flow (flows.json, --flow) and then the
// guide's implicit checks (Implicit). Its result is the []Trace.
var Analyzer = &driver.Analyzer{
	Name: "trace",
	Doc: "Traces each reported flow hop by hop (pod, node netfilter and routes, VPC routes, SGs, CLB), then the guide's implicit flows; " +
		"reports what fails a flow at a hop and contradictions with the captures.",
	Inputs:   traceInputs,
	Requires: []*driver.Analyzer{capture.Analyzer},
	IDs:      traceIDs,
	Run: func(p *driver.Pass) (any, error) {
		if len(p.Cluster.Flows) == 0 {
			// no reported flow: the report answers the guide's implicit
			// checks only, not the customer's question
			p.Have("flows.json")
		}
		if guessedClients(p.Cluster) {
			// an intranet CLB's clients taken as its VIP's /24: the VPC
			// CIDR the guide names is in cloud/vpcs.json
			p.Have("cloud/vpcs.json")
		}
		implicitInputs(p)
		return report(p, All(p.Cluster)), nil
	},
}

// implicitInputs names the files the guide's implicit checks are made
// from when they are absent, so a check that could not be set up is
// listed as undecided instead of silently not run:
//   - pod CIDRs between nodes: the Node objects (cluster/nodes.yaml), or
//     without them the GlobalRouter cluster routes;
//   - CLBs from their clients: in a bundle without cluster/services.yaml
//     (the cloud side alone) the CLBs are known only from
//     cloud/load-balancers.json, and a CLB's listeners from its
//     cloud/listeners/<lb>.json;
//   - peers behind a CCN (peer VPCs, IDCs): a route table sends traffic
//     to a CCN, and what the CCN reaches is in cloud/ccn-routes.json.
func implicitInputs(p *driver.Pass) {
	c := p.Cluster
	if len(c.Kube.Nodes) == 0 {
		p.Have("cluster/nodes.yaml")
		if len(c.Nodes) == 0 {
			p.Have("cloud/cluster-routes.json")
		}
	}
	if !p.Collected("cluster/services.yaml") && len(c.Cloud.Files) > 0 {
		p.Have("cloud/load-balancers.json")
	}
	for _, lb := range c.Cloud.LoadBalancers {
		p.Have("cloud/listeners/" + lb.LoadBalancerId + ".json")
	}
	if routesToCCN(c) {
		p.Have("cloud/ccn-routes.json")
	}
}

// routesToCCN: an enabled route of a VPC route table has a CCN next hop.
func routesToCCN(c *model.Cluster) bool {
	for _, t := range c.Cloud.RouteTables {
		for _, r := range t.Routes {
			if r.IsEnabled() && strings.EqualFold(r.GatewayType, "CCN") {
				return true
			}
		}
	}
	return false
}

// Reported traces only the reported flows (`tkesnap trace BUNDLE --from
// --to` sets the one flow as the model's flows).
var Reported = &driver.Analyzer{
	Name:     "trace-reported",
	Doc:      "Traces only the reported flows hop by hop (no implicit flows): the `trace BUNDLE` command.",
	Inputs:   traceInputs,
	Requires: []*driver.Analyzer{capture.Analyzer},
	IDs:      traceIDs,
	Run: func(p *driver.Pass) (any, error) {
		tr := New(p.Cluster)
		ts := make([]Trace, 0, len(p.Cluster.Flows))
		for _, f := range p.Cluster.Flows {
			ts = append(ts, tr.Trace(f))
		}
		return report(p, ts), nil
	},
}

// report hands the traces' findings and missing inputs to the driver.
// The same fault met by several flows (one rule, one SG policy) is one
// finding: the first flow's.
func report(p *driver.Pass, ts []Trace) []Trace {
	seen := map[string]bool{}
	once := func(f finding.Finding) bool {
		k := f.ID + "|" + strings.Join(f.Objects, "|")
		for _, e := range f.Evidence {
			k += "|" + e.File + ":" + itoa(e.Line)
		}
		if seen[k] {
			return false
		}
		seen[k] = true
		return true
	}
	var walk func(t Trace)
	walk = func(t Trace) {
		for _, f := range t.findings {
			if once(f) {
				p.Report(f)
			}
		}
		for _, f := range t.fallbacks {
			if once(f) {
				p.ReportFallback(f)
			}
		}
		for _, b := range t.Branches {
			walk(b)
		}
	}
	for _, t := range ts {
		walk(t)
	}
	// every failing reported flow is a finding (a DROPPED reported flow
	// never exits 0): the reason's own entry when the tracer declares it,
	// else TRACE_FLOW_FAILS naming the reason — unless an analyzer
	// reports the reason's ID (the check that states the fault)
	generic := false
	for _, t := range ts {
		if t.Implicit || !failsForReason(t) || carriesFallback(t, t.Reason) {
			continue // a fallback of the trace states the reason itself
		}
		f := reasonFinding(t)
		if !declaredID(f.ID) {
			f = finding.New("TRACE_FLOW_FAILS", f.Args, f.Objects)
		}
		if f.ID == "TRACE_FLOW_FAILS" && t.Reason == "" {
			if generic {
				continue
			}
			generic = true
		}
		if once(f) {
			p.ReportFallback(f, t.Reason)
		}
	}
	for _, in := range Inconclusive(ts) {
		if strings.HasPrefix(in.Need, "cloud/") && len(p.Cluster.Cloud.Files) == 0 {
			// no cloud file at all: the checks list the whole cloud/
			// side once, which covers every hop's cloud file
			continue
		}
		p.Record(in)
	}
	return ts
}

// carriesFallback: t or one of its branches holds a fallback finding with
// that ID (reported above, or given way to the check reporting the ID).
func carriesFallback(t Trace, id string) bool {
	for _, f := range t.fallbacks {
		if f.ID == id {
			return true
		}
	}
	for _, b := range t.Branches {
		if carriesFallback(b, id) {
			return true
		}
	}
	return false
}

func declaredID(id string) bool {
	for _, d := range traceIDs {
		if d == id {
			return true
		}
	}
	return false
}
