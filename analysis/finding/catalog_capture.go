package finding

// Capture findings (docs/design.md §5). Evidence cites capture file and packet.
func init() {
	for _, e := range []Entry{
		{ID: "PCAP_SYN_UNANSWERED", Severity: Error, Group: "capture", Guide: "抓包: SYN 无响应",
			Texts: map[Lang]Text{EN: {
				Title:   "SYNs retransmitted with no answer",
				Message: `{{if .conns}}{{.conns}} connections {{end}}{{.flow}}: {{.count}} SYNs with no answer ({{if .gaps}}gaps {{.gaps}}{{else if .conns}}one SYN per connection{{else}}a single SYN{{end}}) in {{.capture}}.`,
				Remedy:  `The SYN is dropped on the way: check security groups, routes and iptables between {{.src}} and {{.dst}}.`}}},
		{ID: "PCAP_CONNECTION_REFUSED", Severity: Error, Group: "capture", Guide: "抓包: 连接被拒绝",
			Texts: map[Lang]Text{EN: {
				Title:   "Connection refused",
				Message: `{{if .conns}}{{.conns}} connections {{end}}{{.flow}} {{if .conns}}were{{else}}was{{end}} refused ({{if eq .how "rst"}}RST from {{.by}} in answer to the SYN, packet {{.packet}}{{else if eq .how "icmp-port-unreachable"}}ICMP port unreachable from {{.by}}, {{.times}}×{{else}}{{.how}}{{end}}) in {{.capture}}.`,
				Remedy:  `Nothing listens on {{.dst}}, or a REJECT rule answers: check the Service's endpoints and targetPort.`}}},
		{ID: "PCAP_ICMP_UNREACHABLE", Severity: Error, Group: "capture", Guide: "抓包: ICMP 不可达",
			Texts: map[Lang]Text{EN: {
				Title:   "ICMP destination unreachable",
				Message: `{{.from}} answered {{.what}} for {{.flow}} in {{.capture}}.`,
				Remedy:  `Check routes and firewall rules on {{.from}} for {{.dst}}.`}}},
		{ID: "PCAP_DNS_NO_RESPONSE", Severity: Error, Group: "capture", Guide: "抓包: DNS 无响应",
			Texts: map[Lang]Text{EN: {
				Title:   "DNS query never answered",
				Message: `{{.count}} DNS queries for {{.name}} to {{.server}} got no answer in {{.capture}}.`,
				Remedy:  `Check that the DNS Service {{.server}} has ready endpoints and that UDP/TCP 53 is allowed.`}}},
		{ID: "PCAP_DNS_ERROR", Severity: Warning, Group: "capture", Guide: "抓包: DNS 错误",
			Texts: map[Lang]Text{EN: {
				Title:   "DNS error answers",
				Message: `{{.server}} answered {{.rcode}} for {{.name}} in {{.capture}}.`,
				Remedy:  `Check the name (search domains, namespace) and CoreDNS upstreams.`}}},
		{ID: "PCAP_HTTP_ERROR", Severity: Warning, Group: "capture", Guide: "抓包: HTTP 错误",
			Texts: map[Lang]Text{EN: {
				Title:   "HTTP error responses",
				Message: `{{.count}} HTTP {{.status}} responses for {{.method}} {{.host}}{{.uri}} in {{.capture}}.`,
				Remedy:  `{{if eq .status "404"}}Check the Ingress rules for host and path.{{else if eq .status "504"}}The backend did not answer in time: check NodePort reachability from the CLB and the pods.{{else}}Check the backend serving {{.host}}{{.uri}}.{{end}}`}}},
		{ID: "PCAP_ONE_WAY_TRAFFIC", Severity: Warning, Group: "capture", Guide: "抓包: 单向流量",
			Texts: map[Lang]Text{EN: {
				Title:   "Packets seen in one direction only",
				Message: `{{.flow}}: {{.count}} packets from {{.src}}, none back, in {{.capture}}.`,
				Remedy:  `Return traffic is lost or takes another path: check routes and SNAT for {{.src}}.`}}},
		{ID: "PCAP_SOURCE_NATTED", Severity: Warning, Group: "capture", Guide: "抓包: 源地址被 SNAT",
			Texts: map[Lang]Text{EN: {
				Title:   "The peer sees the node IP, not the pod IP",
				Message: `{{.flow}} left as {{.original}}{{if .original_at}} at {{.original_at}}{{end}} and arrived as {{.natted}}{{if .natted_at}} at {{.natted_at}}{{end}} ({{.capture}}).`,
				Remedy:  `Add the destination CIDR to ip-masq-agent NonMasqueradeCIDRs if the peer must see pod IPs.`}}},
		// Cross-capture: the same connection followed through captures on
		// several nodes/netns (matched by TCP ISN or payload hash).
		{ID: "PCAP_LOST_BETWEEN_CAPTURES", Severity: Error, Group: "capture", Guide: "抓包: 源节点/对端节点/Pod 内同时抓包",
			Texts: map[Lang]Text{EN: {
				Title:   "Packet seen at one capture point never reached the next",
				Message: `{{.flow}} was last seen at {{.from}} ({{.at}}, packet {{.packet}}) and never reached {{.to}}.`,
				Remedy:  `It was dropped between {{.from}} and {{.to}}: check the security groups, routes and iptables between them (and VPC route tables/CCN for cross-VPC traffic).`}}},
		{ID: "PCAP_TRUNCATED", Severity: Info, Group: "capture", Guide: "抓包",
			Texts: map[Lang]Text{EN: {
				Title:   "Capture truncated or dropped packets",
				Message: `{{.capture}}: {{.why}}.`,
				Remedy:  `Capture again with a larger snap length/buffer (tcpdump -s 0 -B 4096) for the whole test.`}}},
	} {
		Register(e)
	}
}
