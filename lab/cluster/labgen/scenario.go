// Command labgen describes the netns lab cluster and its fault scenarios:
// the Kubernetes objects applied to the lab's real kube-apiserver, the
// Tencent Cloud state the fake tccli prints, the failing flows, and the
// kube-proxy/ip-masq-agent iptables rules each node loads (generated from
// the objects the API server returns, the way kube-proxy does).
//
//	labgen objects SCENARIO            multi-document YAML for kubectl apply
//	labgen status SCENARIO             "kind ns name json" status patches
//	labgen cloud SCENARIO DIR          fake tccli responses into DIR
//	labgen flows SCENARIO              flows.json
//	labgen iptables NODE FILE...       iptables-restore input for NODE from kubectl YAML
//	labgen list                        scenario names
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Lab topology. TKE names nodes by their VPC IP; pod CIDRs are per-node
// slices of the cluster CIDR (global router mode), the Service CIDR is the
// last /22 of it.
const (
	ClusterID   = "cls-lab00001"
	Region      = "ap-guangzhou"
	VpcID       = "vpc-lab00001"
	SubnetID    = "subnet-lab00001"
	VpcCIDR     = "10.0.0.0/16"
	SubnetCIDR  = "10.0.1.0/24"
	ClusterCIDR = "172.16.0.0/16"
	ServiceCIDR = "172.16.252.0/22"
	IDCCIDR     = "192.168.100.0/24"
	IDCHost     = "192.168.100.10"
	NodeSG      = "sg-lab0node"
	CLBSG       = "sg-lab00clb"
	CLBID       = "lb-lab00001"
	CLBVIP      = "10.0.1.100"
	CCNID       = "ccn-lab00001"
	DNSIP       = "172.16.252.2"
	WebIP       = "172.16.252.10"
	APIIP       = "172.16.252.20"
	WebLBIP     = "172.16.252.30"
)

type node struct{ Name, IP, PodCIDR, Gateway, InstanceID string }

var nodes = []node{
	{"10.0.1.11", "10.0.1.11", "172.16.0.0/26", "172.16.0.1", "ins-lab00011"},
	{"10.0.1.12", "10.0.1.12", "172.16.0.64/26", "172.16.0.65", "ins-lab00012"},
}

type pod struct {
	NS, Name, Node, IP string
	Labels             map[string]string
	Ports              []cport
	Ready              bool
}

type cport struct {
	Name  string
	Port  int
	Proto string
}

// Scenario is one bundle: the healthy lab plus one fault (sample: two).
type Scenario struct {
	Name        string
	Fault       string
	Faults      []string // fault keys applied (node-side ones are done by lab.sh)
	Flows       []Flow
	CaptureHost string // tcpdump host filter for node/pod captures
	CapturePort string
	CaptureSecs int      // capture window (default 7 s)
	Expect      []string // error and warning finding IDs the analyzer should report, no more
	Traffic     string   // what lab.sh sends during the captures
	// Trace is the first reported flow's expected trace, "VERDICT [REASON]
	// [@ hop]" (the healthy bundle: its first implicit trace), and Exit
	// the analyze exit code; Why says how Trace and Expect follow from the
	// fault and the captures, not from the tool's output.
	Trace string
	Exit  int
	Why   string
}

// Flow is one flows.json entry (docs/design.md §2).
type Flow struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Proto   string `json:"proto"`
	Symptom string `json:"symptom"`
}

const (
	fSGPodCIDR     = "sg-pod-cidr"      // cloud: node SG lacks the pod CIDR
	fNoEndpoints   = "svc-no-endpoints" // kube: default/api selects no pod
	fTargetPort    = "targetport"       // kube: default/web targetPort 8081, pods listen on 8080
	fForwardDrop   = "forward-drop"     // node 10.0.1.12: FORWARD DROP to the pods' port 8080
	fIPForwardOff  = "ip-forward-off"   // node 10.0.1.12: net.ipv4.ip_forward=0
	fRouteMissing  = "route-missing"    // node 10.0.1.11: no route to 172.16.0.64/26
	fDNSNoEndpoint = "dns-no-endpoints" // kube: kube-dns has no endpoints
	fMasqIDC       = "masq-idc"         // kube/node: ip-masq-agent lacks the IDC CIDR
	fCLBSG443      = "clb-sg-443"       // cloud: CLB SG allows 80 only, listener is 443
	fBackendSplit  = "backend-split"    // node 10.0.1.12: a legacy-iptables FORWARD DROP next to nft kube-proxy rules
	fNetpol        = "netpol-deny"      // kube: NetworkPolicy admits only app=frontend to the web pods (enforced on 10.0.1.12)
)

var crossNode = Flow{From: "pod:default/client-0", To: "pod:default/web-1:8080", Proto: "tcp", Symptom: "timeout"}

var scenarios = []Scenario{
	{Name: "healthy", Expect: nil, Trace: "DELIVERED", Exit: 0, Why: "nothing is broken: every implicit check (pod to pod both ways, the CLB, DNS from each node) gets through and no check has anything to report", CaptureHost: "172.16.0.2", Traffic: "curl client-0 -> svc web:80, web-1:8080; DNS query; curl -> IDC", Fault: "none"},
	{Name: "sg-pod-cidr", Expect: []string{"SG_POD_CIDR_BLOCKED", "PCAP_SYN_UNANSWERED", "PCAP_LOST_BETWEEN_CAPTURES"}, Trace: "DROPPED SG_POD_CIDR_BLOCKED @ sg-lab0node", Exit: 3, Why: "client-0's packet keeps its pod source 172.16.0.2 across the VPC (GlobalRouter, no SNAT) and sg-lab0node of 10.0.1.12 has no pod-CIDR rule: the SG drops it at the peer node's SG; the SYN is seen on 10.0.1.11's eth0 and never on 10.0.1.12: `PCAP_LOST_BETWEEN_CAPTURES` (between the nodes) and `PCAP_SYN_UNANSWERED`", Traffic: "curl client-0 -> 172.16.0.66:8080", Fault: "node security group sg-lab0node has no rule for the pod CIDR 172.16.0.0/16 (cross-node pod traffic dropped by the SG of 10.0.1.12)",
		Faults: []string{fSGPodCIDR}, Flows: []Flow{crossNode}, CaptureHost: "172.16.0.66", CapturePort: "8080"},
	{Name: "svc-no-endpoints", Expect: []string{"SVC_NO_ENDPOINTS", "SVC_SELECTOR_MATCHES_NO_POD", "PCAP_CONNECTION_REFUSED"}, Trace: "REJECTED SVC_NO_ENDPOINTS @ node/10.0.1.11", Exit: 3, Why: "the selector matches no pod, so the Service has no endpoints; kube-proxy on the client's node 10.0.1.11 REJECTs the ClusterIP in filter (icmp-port-unreachable), which the client-0 capture shows as a refusal", Traffic: "curl client-0 -> 172.16.252.20:80", Fault: "Service default/api selects app=api; no pod has that label, so it has no endpoints (kube-proxy REJECTs)",
		Faults: []string{fNoEndpoints}, Flows: []Flow{{From: "pod:default/client-0", To: "svc:default/api:80", Proto: "tcp", Symptom: "refused"}}, CaptureHost: "172.16.0.2"},
	{Name: "targetport-mismatch", Expect: []string{"SVC_TARGET_PORT_MISMATCH", "PCAP_CONNECTION_REFUSED"}, Trace: "REJECTED SVC_TARGET_PORT_MISMATCH", Exit: 3, Why: "both endpoints get the DNAT to :8081 where nothing listens and answer RST: refused whichever endpoint kube-proxy picks (the hop is either endpoint's node, so the row names none)", Traffic: "curl client-0 -> 172.16.252.10:80 (both endpoints)", Fault: "Service default/web targetPort 8081 while the web pods listen on and declare 8080",
		Faults: []string{fTargetPort}, Flows: []Flow{{From: "pod:default/client-0", To: "svc:default/web:80", Proto: "tcp", Symptom: "refused"}}, CaptureHost: "172.16.0.2"},
	{Name: "forward-drop", Expect: []string{"IPTABLES_DROPS_FLOW", "PCAP_SYN_UNANSWERED", "PCAP_LOST_BETWEEN_CAPTURES"}, Trace: "DROPPED IPTABLES_DROPS_FLOW @ node/10.0.1.12", Exit: 3, Why: "the packet crosses the VPC and is dropped by the planted filter FORWARD rule of 10.0.1.12 before cbr0; the SYN is seen on 10.0.1.12's eth0 and never in web-1's pod capture: `PCAP_LOST_BETWEEN_CAPTURES` (between 10.0.1.12 eth0 and the pod) and `PCAP_SYN_UNANSWERED` (client-0 retransmits)", Traffic: "curl client-0 -> 172.16.0.66:8080", Fault: "node 10.0.1.12 has '-I FORWARD -d 172.16.0.64/26 -p tcp --dport 8080 -j DROP' (not kube-proxy's)",
		Faults: []string{fForwardDrop}, Flows: []Flow{crossNode}, CaptureHost: "172.16.0.66", CapturePort: "8080"},
	{Name: "ip-forward-off", Expect: []string{"IP_FORWARD_DISABLED", "PCAP_SYN_UNANSWERED", "PCAP_LOST_BETWEEN_CAPTURES"}, Trace: "DROPPED IP_FORWARD_DISABLED @ node/10.0.1.12", Exit: 3, Why: "10.0.1.12 receives the packet for its pod but does not forward it (routing decision, ip_forward 0); the SYN is seen on 10.0.1.12's eth0 and never in web-1's pod capture: `PCAP_LOST_BETWEEN_CAPTURES` (between 10.0.1.12 eth0 and the pod) and `PCAP_SYN_UNANSWERED` (client-0 retransmits)", Traffic: "curl client-0 -> 172.16.0.66:8080", Fault: "net.ipv4.ip_forward = 0 on node 10.0.1.12",
		Faults: []string{fIPForwardOff}, Flows: []Flow{crossNode}, CaptureHost: "172.16.0.66", CapturePort: "8080"},
	{Name: "route-missing", Expect: []string{"NODE_ROUTE_MISSING", "ROUTE_MISSING", "PCAP_SYN_UNANSWERED", "PCAP_LOST_BETWEEN_CAPTURES"}, Trace: "NO_ROUTE NODE_ROUTE_MISSING @ vpc", Exit: 3, Why: "the lab's nodes route each other's pod CIDRs node by node (10.0.1.12 still does), so 10.0.1.11 without its route is the first hop off the healthy path: it sends the packet by default to 10.0.1.1, and the VPC, whose GlobalRouter table lost 172.16.0.64/26 too, has no route (ROUTE_MISSING); the SYN is seen on 10.0.1.11's eth0 and never on 10.0.1.12: `PCAP_LOST_BETWEEN_CAPTURES` (between the nodes) and `PCAP_SYN_UNANSWERED`", Traffic: "curl client-0 -> 172.16.0.66:8080", Fault: "the route to node 10.0.1.12's pod CIDR 172.16.0.64/26 is gone from node 10.0.1.11 and from the cluster's GlobalRouter route table (cloud/cluster-routes.json): packets go to the VPC gateway and die",
		Faults: []string{fRouteMissing}, Flows: []Flow{crossNode}, CaptureHost: "172.16.0.66", CapturePort: "8080"},
	{Name: "dns-no-endpoints", Expect: []string{"DNS_SERVICE_UNHEALTHY", "SVC_NO_ENDPOINTS", "PCAP_CONNECTION_REFUSED"}, Trace: "REJECTED DNS_SERVICE_UNHEALTHY @ node/10.0.1.11", Exit: 3, Why: "kube-dns has no endpoints: kube-proxy on the client's node REJECTs the query (ICMP port unreachable in the capture, a timeout for the UDP client)", Traffic: "DNS query client-0 -> 172.16.252.2:53/udp (kube-proxy REJECT answers ICMP port unreachable; the unconnected UDP client ignores it and times out)", Fault: "kube-system/kube-dns has no endpoints (CoreDNS pod not ready)",
		Faults: []string{fDNSNoEndpoint}, Flows: []Flow{{From: "pod:default/client-0", To: "dns:kubernetes.default.svc.cluster.local", Proto: "udp", Symptom: "timeout"}}, CaptureHost: DNSIP, CapturePort: "53"},
	{Name: "masq-idc", Expect: []string{"MASQ_HIDES_SOURCE", "PCAP_SOURCE_NATTED"}, Trace: "DELIVERED MASQ_HIDES_SOURCE", Exit: 3, Why: "the connection works but ip-masq-agent's chain MASQUERADEs 192.168.100.0/24: delivered with the node's source, which the IDC-side capture shows (PCAP_SOURCE_NATTED, a warning)", Traffic: "curl client-0 -> 192.168.100.10:80 (IDC logs the source it sees)", Fault: "ip-masq-agent-config nonMasqueradeCIDRs lacks the IDC CIDR 192.168.100.0/24: pod traffic to the IDC leaves SNATed to the node IP",
		Faults: []string{fMasqIDC}, Flows: []Flow{{From: "pod:default/client-0", To: "ip:" + IDCHost + ":80", Proto: "tcp", Symptom: "wrong-source-ip"}}, CaptureHost: IDCHost, CapturePort: "80"},
	{Name: "clb-sg-443", Expect: []string{"CLB_SG_BLOCKS_LISTENER"}, Trace: "DROPPED CLB_SG_BLOCKS_LISTENER @ clb/lb-lab00001", Exit: 3, Why: "the client's SYN to the VIP meets sg-lab00clb, which admits TCP 80 only, before the listener forwards anything; the CLB is not emulated, so there is no capture", Traffic: "none (the CLB is not emulated)", Fault: "CLB lb-lab00001 (Service default/web-lb, listener TCP 443) is bound to sg-lab00clb which allows TCP 80 only",
		Faults: []string{fCLBSG443}, Flows: []Flow{{From: "ip:203.0.113.50", To: "svc:default/web-lb:443", Proto: "tcp", Symptom: "timeout"}}},
	{Name: "backend-split", Expect: []string{"IPTABLES_BACKEND_SPLIT", "IPTABLES_DROPS_FLOW", "PCAP_SYN_UNANSWERED", "PCAP_LOST_BETWEEN_CAPTURES"}, Trace: "DROPPED IPTABLES_DROPS_FLOW @ node/10.0.1.12", Exit: 3, Why: "the kernel runs the legacy FORWARD chain beside nft's: the DROP only iptables-legacy-save.txt shows drops the packet on 10.0.1.12 (the drop is an old tool's rule, not stale kube-proxy state: IPTABLES_DROPS_FLOW, with the split itself reported); the SYN is seen on 10.0.1.12's eth0 and never in web-1's pod capture: `PCAP_LOST_BETWEEN_CAPTURES` (between 10.0.1.12 eth0 and the pod) and `PCAP_SYN_UNANSWERED` (client-0 retransmits)", Traffic: "curl client-0 -> 172.16.0.66:8080",
		Fault:  "node 10.0.1.12 has kube-proxy's rules in iptables-nft and an old tool's '-I FORWARD -d 172.16.0.64/26 -p tcp --dport 8080 -j DROP' in iptables-legacy (only iptables-legacy-save.txt shows it)",
		Faults: []string{fBackendSplit}, Flows: []Flow{crossNode}, CaptureHost: "172.16.0.66", CapturePort: "8080"},
	{Name: "netpol-deny", Expect: []string{"NETPOL_DENIES_FLOW", "PCAP_SYN_UNANSWERED", "PCAP_LOST_BETWEEN_CAPTURES"}, Trace: "DROPPED NETPOL_DENIES_FLOW @ node/10.0.1.12", Exit: 3, Why: "web-1's node enforces the policy in its CNI chain and drops client-0 (app=client); the SYN is seen on 10.0.1.12's eth0 and never in web-1's pod capture: `PCAP_LOST_BETWEEN_CAPTURES` (between 10.0.1.12 eth0 and the pod) and `PCAP_SYN_UNANSWERED` (client-0 retransmits)", Traffic: "curl client-0 -> 172.16.0.66:8080",
		Fault:  "NetworkPolicy default/web-allow-frontend selects app=web and admits only app=frontend; client-0 (app=client) is dropped (enforced on 10.0.1.12 by a CNI-style policy chain)",
		Faults: []string{fNetpol}, Flows: []Flow{crossNode}, CaptureHost: "172.16.0.66", CapturePort: "8080"},
	{Name: "sample", Expect: []string{"SG_POD_CIDR_BLOCKED", "SVC_TARGET_PORT_MISMATCH", "PCAP_SYN_UNANSWERED", "PCAP_LOST_BETWEEN_CAPTURES", "PCAP_CONNECTION_REFUSED"}, Trace: "DROPPED SG_POD_CIDR_BLOCKED @ sg-lab0node", Exit: 3, Why: "the two faults of sg-pod-cidr and targetport-mismatch: the first flow dies at sg-lab0node as in sg-pod-cidr (the SYN is seen on 10.0.1.11's eth0 and never on 10.0.1.12: PCAP_LOST_BETWEEN_CAPTURES (between the nodes) and PCAP_SYN_UNANSWERED); the Service's refusals come from web-0 on the client's node, whose :8081 answers RST", Traffic: "curl client-0 -> 172.16.0.66:8080 and -> 172.16.252.10:80", Fault: "demo: node SG lacks the pod CIDR (cross-node pod traffic times out) and Service default/web targetPort 8081 mismatches the pods' 8080",
		Faults: []string{fSGPodCIDR, fTargetPort}, Flows: []Flow{crossNode, {From: "pod:default/client-0", To: "svc:default/web:80", Proto: "tcp", Symptom: "refused"}}, CaptureHost: "172.16.0.2", CaptureSecs: 14},
}

func (s Scenario) has(f string) bool {
	for _, x := range s.Faults {
		if x == f {
			return true
		}
	}
	return false
}

func scenario(name string) Scenario {
	for _, s := range scenarios {
		if s.Name == name {
			return s
		}
	}
	fmt.Fprintf(os.Stderr, "labgen: unknown scenario %q\n", name)
	os.Exit(2)
	return Scenario{}
}

func pods(s Scenario) []pod {
	web := map[string]string{"app": "web"}
	ps := []pod{
		{"default", "client-0", "10.0.1.11", "172.16.0.2", map[string]string{"app": "client"}, nil, true},
		{"default", "web-0", "10.0.1.11", "172.16.0.3", web, []cport{{"http", 8080, "TCP"}}, true},
		{"default", "web-1", "10.0.1.12", "172.16.0.66", web, []cport{{"http", 8080, "TCP"}}, true},
		{"kube-system", "coredns-0", "10.0.1.12", "172.16.0.67", map[string]string{"k8s-app": "kube-dns"},
			[]cport{{"dns", 53, "UDP"}, {"dns-tcp", 53, "TCP"}}, !s.has(fDNSNoEndpoint)},
	}
	return ps
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: labgen objects|status|cloud|flows|iptables|list ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "list":
		var names []string
		for _, s := range scenarios {
			names = append(names, s.Name)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Println(n)
		}
	case "objects":
		err = writeObjects(os.Stdout, scenario(arg(2)))
	case "status":
		err = writeStatus(os.Stdout, scenario(arg(2)))
	case "cloud":
		err = writeCloud(arg(3), scenario(arg(2)))
	case "flows":
		err = writeFlows(os.Stdout, scenario(arg(2)))
	case "info":
		s := scenario(arg(2))
		secs := s.CaptureSecs
		if secs == 0 {
			secs = 7
		}
		fmt.Printf("FAULTS=%q\nCAPTURE_HOST=%q\nCAPTURE_PORT=%q\nCAPTURE_SECONDS=%d\n", join(s.Faults), s.CaptureHost, s.CapturePort, secs)
	case "describe":
		err = writeReadme(os.Stdout)
	case "iptables":
		err = writeIptables(os.Stdout, arg(2), os.Args[3:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "labgen:", err)
		os.Exit(1)
	}
}

func arg(i int) string {
	if len(os.Args) <= i {
		fmt.Fprintln(os.Stderr, "labgen: missing argument")
		os.Exit(2)
	}
	return os.Args[i]
}

func join(a []string) string {
	s := ""
	for i, x := range a {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s
}

// writeReadme prints testdata/bundles/README.md.
func writeReadme(w io.Writer) error {
	fmt.Fprint(w, readmeHead)
	for _, s := range scenarios {
		e := "none"
		if len(s.Expect) > 0 {
			e = "`" + strings.Join(s.Expect, "`, `") + "`"
		}
		fl := ""
		for _, f := range s.Flows {
			fl += fmt.Sprintf("<br>flow `%s` → `%s` %s: %s", f.From, f.To, f.Proto, f.Symptom)
		}
		if _, err := fmt.Fprintf(w, "| %s | %s%s<br>expected because: %s | %s | `%s` | %s | %d |\n", s.Name, s.Fault, fl, s.Why, s.Traffic, s.Trace, e, s.Exit); err != nil {
			return err
		}
	}
	return nil
}

const readmeHead = "# Lab bundles\n\n" +
	"Made by `make lab` (lab/cluster/lab.sh; this file by `labgen describe`): a fake TKE\n" +
	"cluster of network namespaces — nodes 10.0.1.11 (pod CIDR 172.16.0.0/26) and\n" +
	"10.0.1.12 (172.16.0.64/26) on a \"VPC\" bridge 10.0.1.0/24 (gateway 10.0.1.1), pods\n" +
	"as netns behind a cbr0 bridge on each node, kube-proxy iptables rules and the\n" +
	"ip-masq-agent chain generated from the objects of a real kube-apiserver, an \"IDC\"\n" +
	"host 192.168.100.10 — then the REAL collector (collector/tkesnap-collect.sh):\n" +
	"cluster mode against the API server (tccli is a fake that prints the lab's cloud\n" +
	"state the way tccli does: bare JSON, no Response wrapper), node mode inside each\n" +
	"node netns with captures on the node's eth0 and in one pod netns while real\n" +
	"traffic runs, merged with `--merge`. One fault per scenario (`sample` has two);\n" +
	"faulty bundles carry flows.json with the failing flow.\n\n" +
	"Pods: default/client-0 172.16.0.2 and default/web-0 172.16.0.3 on 10.0.1.11;\n" +
	"default/web-1 172.16.0.66 and kube-system/coredns-0 172.16.0.67 on 10.0.1.12 (web\n" +
	"pods listen on 8080, coredns answers on 53/udp). Services: default/web NodePort\n" +
	"172.16.252.10:80 → 8080 (nodePort 30080); default/web-lb LoadBalancer\n" +
	"172.16.252.30:443 → 8080 (nodePort 30443, CLB lb-lab00001, VIP 10.0.1.100, CLB SG\n" +
	"sg-lab00clb); kube-system/kube-dns 172.16.252.2:53. Node SG sg-lab0node (VPC\n" +
	"10.0.0.0/16, pod CIDR 172.16.0.0/16, NodePorts, IDC, ICMP, then DROP all). Cluster\n" +
	"cls-lab00001 (MANAGED_CLUSTER, ap-guangzhou, iptables mode), VPC vpc-lab00001\n" +
	"10.0.0.0/16, IDC 192.168.100.0/24 via CCN ccn-lab00001. Captures:\n" +
	"captures/<node>/node-eth0.pcap and captures/<node>/pod-*.pcap (client-0 on\n" +
	"10.0.1.11, web-1 on 10.0.1.12), each with its .json metadata.\n\n" +
	"The expected columns are derived from the scenario (the planted fault, where\n" +
	"the kernel drops the packet, what each capture point can see), not copied\n" +
	"from the tool: `go test ./cmd/tkesnap -run LabExpectations` checks `tkesnap\n" +
	"analyze --format json` against them — the set of error and warning IDs\n" +
	"(exactly), the exit code, and the first trace's verdict, reason and deciding\n" +
	"hop (`@`: the first failed or UNDETERMINED step).\n\n" +
	"| bundle | fault | traffic | trace of the flow | expected findings | exit |\n|---|---|---|---|---|---|\n"
