package trace

import (
	"fmt"
	"strings"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/sg"
)

// Step details are built from per-language formats (fmt verbs with
// explicit argument indexes, so a language can reorder them) and their
// arguments, which are data: addresses, object names, rule text. The
// walk renders English; Localize re-renders a finished trace in another
// language. Free text a step was given (an error message, iptables rule
// summaries, a security group decision) stays as it is.

// part is one piece of a step's detail: a catalog key and its arguments,
// or (key "") literal text in args[0].
type part struct {
	key  string
	args []any
}

// stepTexts holds the formats per language; a key missing in a language
// falls back to English.
var stepTexts = map[finding.Lang]map[string]string{
	finding.EN: {
		"cap.gone":              "the SYN left %[1]s (packet #%[2]d of %[3]s) unanswered",
		"cap.gone.missed":       " and never reached %[1]s (%[2]s)",
		"cap.answered":          "%[1]s answered in %[2]s (packet #%[3]d)",
		"cap.contra":            "the rules in the bundle pass this flow, but %[1]s; candidates: %[2]s",
		"cand.default":          "%[1]s sends it by its default route (%[2]s): no explicit route to the peer's pod CIDR",
		"cand.unseen":           "%[1]s %[2]s (not in the bundle)",
		"cand.vpc":              "the VPC's forwarding of %[1]s",
		"cand.gw":               "the VPC gateway or the peer node's eth0",
		"cand.acl":              "security groups or network ACLs the bundle does not list",
		"cand.elsewhen":         "the rules were collected at another time than the capture, or a path the dump does not show (another iptables backend, eBPF)",
		"sep":                   "; ",
		"where.pod":             "%[1]s pod %[2]s",
		"to.rs":                 "real server %[1]s:%[2]d",
		"to.master":             "master %[1]s (%[2]s)",
		"to.endpoint":           "%[1]s (%[2]s)",
		"to.ep":                 "%[1]s",
		"to.share":              "%[1]s",
		"to.undecided":          "share undecided",
		"src.pod":               "pod %[1]s (%[2]s) on node %[3]s",
		"src.hostnet":           ", host network",
		"src.node":              "sent by a process on node %[1]s (%[2]s)",
		"src.podcidr":           "%[1]s is in the pod CIDR of node %[2]s",
		"src.client":            "client %[1]s outside the cluster",
		"sg.ingress":            "ingress of %[1]s (%[2]s %[3]s): %[4]s",
		"sgd.nosg":              "no security group bound (not filtered)",
		"ipt.rule":              "%[1]s/%[2]s#%[3]d (line %[4]d) -j %[5]s",
		"ipt.policy":            "%[1]s/%[2]s policy %[3]s",
		"ipt.to.forward":        "→ forward",
		"ipt.to.local":          "→ local",
		"ipt.to.ipvs":           "→ ipvs",
		"sgd.undecided":         "undecided: collect %[1]s",
		"sgd.implicit":          "no policy matched in %[1]s %[2]s (implicit deny)",
		"sgd.policy":            "%[1]s %[2]s PolicyIndex %[3]d (%[4]s)",
		"sgp.from":              "%[1]s %[2]s from %[3]s",
		"sgp.to":                "%[1]s %[2]s to %[3]s",
		"dir.ingress":           "ingress",
		"dir.egress":            "egress",
		"sg.egress":             "egress of %[1]s (%[2]s %[3]s): %[4]s",
		"vpc.local":             "%[1]s is in the VPC CIDR (Local route)",
		"vpc.leave":             "%[1]s is outside the cluster; the bundle does not show the far side",
		"vpc.snat.internet":     "; source translated to %[1]s (the node) on the way to the internet, as it must be",
		"vpc.masq":              "; the peer sees source %[1]s (the node), not the pod %[2]s",
		"vpc.nonmasq":           "; ip-masq-agent keeps the pod source (%[1]s is in NonMasqueradeCIDRs %[2]s)",
		"vpc.masqcfg":           "; ip-masq-agent (%[1]s) masquerades it: %[2]s is in no NonMasqueradeCIDR, so the peer sees the node IP, not the pod %[3]s",
		"dns.clusterfirst":      "dnsPolicy ClusterFirst: kubelet points the pod's resolv.conf at Service %[1]s (%[2]s)",
		"dns.nosvc":             "the cluster DNS Service kube-system/kube-dns is not in the bundle",
		"dns.node":              "node %[1]s resolv.conf: nameserver %[2]s",
		"dns.noresolv":          "node %[1]s has no resolv.conf in the bundle",
		"dns.outside":           "a client outside the cluster uses its own resolver",
		"vpc.node":              "%[1]s is node %[2]s, in the cluster VPC (Local route)",
		"vpc.gr":                "container route %[1]s via node %[2]s (GlobalRouter)",
		"vpc.eni":               "%[1]s is on ENI %[2]s (VPC-CNI)",
		"vpc.nogr":              "no container route covers %[1]s",
		"vpc.nogr.node":         "; node %[1]s has no route to %[2]s (pod CIDR of %[3]s) either and sent it by %[4]s",
		"vpc.enter":             "from %[1]s outside the cluster",
		"vpc.public":            "%[1]s is the public IP of %[2]s: the VPC gateway maps it to its private IP %[3]s",
		"vpc.internet":          "%[1]s is on the internet (public IP or NAT gateway)",
		"vpc.noroute":           "route table %[1]s has no route to %[2]s",
		"vpc.route":             "%[1]s → %[2]s %[3]s",
		"pod.on":                "pod %[1]s on node %[2]s",
		"both.backends":         "%[1]s and %[2]s both hold rules; the kernel evaluates both",
		"both.natother":         "%[1]s's nat DNATs this new connection and %[2]s's does not: NAT is bound once per connection by the first nat table that binds (nf_nat_inet_fn), so %[1]s decides whatever the order",
		"both.natorder":         "both backends DNAT this new connection: %[1]s to %[2]s, %[3]s to %[4]s. Both nat tables are entries of the one nat hook at priority -100 and the first that binds wins (nf_nat_inet_fn); of equal priorities the one registered last runs first, and no dump says which that is. Each order is traced as a branch",
		"both.snatother":        "%[1]s's nat POSTROUTING rewrites the source to %[2]s and %[3]s's binds no source NAT: a nat table that binds nothing (RETURN, ACCEPT) leaves the new connection to the next nat table of the hook (nf_nat_inet_fn), so %[1]s decides whatever the order",
		"both.snatorder":        "both backends SNAT this new connection: %[1]s to %[2]s, %[3]s to %[4]s. Both nat POSTROUTING chains are entries of the one nat hook at priority 100 and the first that binds wins (nf_nat_inet_fn); of equal priorities the one registered last runs first, and no dump says which that is. Each order is traced as a branch",
		"both.snatfirst":        "%[1]s's nat runs first in this order and rewrites the source to %[2]s",
		"both.snatkept":         "%[1]s keeps the source (%[2]s, line %[3]d), which cannot stop %[4]s's SNAT: a nat table that binds nothing leaves the connection to the next (nf_nat_inet_fn). That exemption has no effect; it belongs in %[4]s (for ip-masq-agent: in NonMasqueradeCIDRs)",
		"idc.far":               "%[1]s is in the IDC %[2]s (via %[3]s); the IDC side is not in the bundle: check that the IDC firewall admits %[4]s and that the IDC routes %[5]s back through the direct connect gateway (without BGP: a static route for %[5]s)",
		"kp.nodnat":             "no rule on node %[1]s DNATs ClusterIP %[2]s of %[3]s: kube-proxy has not programmed it there, and the address exists nowhere else",
		"kp.nojump":             "no rule on node %[1]s DNATs ClusterIP %[2]s of %[3]s: nat %[4]s does not jump to KUBE-SERVICES, so kube-proxy's rules are never evaluated",
		"kp.vipunbound":         "%[1]s has an IPVS virtual service on node %[2]s (%[3]s) but is not a local address (not bound to kube-ipvs0): the packet is routed away before IPVS sees it",
		"np.deny.ingress":       "NetworkPolicy isolates %[1]s for ingress and no rule allows %[2]s: %[3]s",
		"np.deny.egress":        "NetworkPolicy isolates %[1]s for egress and no rule allows %[2]s: %[3]s",
		"np.allow":              "NetworkPolicy allows it%[1]s",
		"pod.notready":          " (pod is not Ready)",
		"pod.noport":            "; the pod declares no containerPort %[1]d/%[2]s",
		"decided.by":            "; decided by %[1]s",
		"node.socket":           "delivered to a socket of node %[1]s",
		"node.noListen":         "nothing listens on %[1]s/%[2]d on node %[3]s: the kernel answers with a TCP RST / ICMP port unreachable",
		"node.listen":           "a socket listens on %[1]s/%[2]d on node %[3]s",
		"node.anon":             "delivered to %[1]s on node %[2]s (no pod object has this IP in the bundle)",
		"fwd.off":               "%[1]s = 0: the node does not forward packets arriving on %[2]s",
		"kp.balance":            "kube-proxy balances new connections over %[1]d endpoints; each is traced as a branch",
		"dns.resolves":          "%[1]s resolves to %[2]s",
		"clb.vip.internal":      "internal CLB %[1]s (%[2]s) VIP %[3]s",
		"clb.vip.public":        "public CLB %[1]s (%[2]s) VIP %[3]s",
		"clb.listener":          "listener %[1]s %[2]s:%[3]d",
		"clb.sgs":               "CLB security groups: %[1]s",
		"clb.nosg":              "no security group bound to the CLB: every client passes",
		"clb.nors":              "the listener has no real server",
		"clb.masters":           "independent cluster: the real servers of %[1]s are its endpoints on the masters (%[2]s), where TKE binds the API server CLB; cloud/targets/ is not needed for them",
		"clb.rs":                "to real server %[1]s:%[2]d",
		"clb.health":            " (health check: %[1]s)",
		"clb.hc.target":         "target health %[1]s",
		"nf.reason":             " (%[1]s)",
		"ccn.route":             "CCN route %[1]s %[2]s → %[3]s %[4]s",
		"ccn.routeoff":          "CCN route %[1]s to %[2]s is disabled (%[3]s): nothing carries %[4]s→%[5]s",
		"vpc.noroute.ccnoff":    "route table %[1]s has no route to %[2]s; CCN route %[3]s %[4]s is disabled (%[5]s)",
		"clb.hc.switch":         "HealthSwitch %[1]d",
		"clb.hc.default":        "TKE's default for Service listeners; the listener's setting is not in the bundle",
		"clb.benched":           "the CLB health check (%[1]s) takes real server %[2]s out of service: it has no local endpoint, so clients are sent only to nodes that have one",
		"api.portunknown":       "master %[1]s admits %[2]s on some TCP ports, and the API port is not in the bundle (the default/kubernetes Service and its endpoints)",
		"clb.mastersunknown":    "the real servers of %[1]s are unknown: in an independent cluster the API server CLB binds the endpoints on the masters, otherwise the NodePorts",
		"clb.probe":             "the internal CLB health-checks master %[2]s from its VIP %[1]s (listener SourceIpType 0): %[3]s",
		"clb.probefail":         "master %[1]s:%[2]d fails the CLB health check, so the CLB sends it no client",
		"clb.pass":              "LoadBalancerPassToTarget: the real server's SGs do not filter traffic from the CLB",
		"cap.seen":              "seen here in %[1]s (packet #%[2]d): %[3]s, state %[4]s",
		"cap.history":           " history %[1]s",
		"cap.notseen":           "not seen here: %[1]s captured %[2]d packets, none of %[3]s",
		"cap.rst":               "the capture decides: %[1]s answered with a reset (packet #%[2]d) — nothing listens",
		"cap.unpredicted":       "cannot predict, not a contradiction: the capture shows %[1]s, and the bundle cannot decide whether the flow gets through — look at %[2]s",
		"cap.rst.only":          "the capture decides: %[1]s was answered with a reset (packet #%[2]d), and this is the only endpoint that can refuse it — nothing listens here",
		"need.sg.ingress":       "ingress SGs of %[1]s unknown",
		"need.sg.egress":        "egress SGs of %[1]s unknown",
		"need.noholder.ingress": "no CVM or ENI in the bundle holds %[1]s, so its ingress SGs are unknown",
		"need.noholder.egress":  "no CVM or ENI in the bundle holds %[1]s, so its egress SGs are unknown",
		"need.grroute":          "the VPC route to pod address %[1]s (GlobalRouter container routes) is unknown",
		"need.publicnode":       "%[1]s (%[2]s) is no node of the cluster in the bundle",
		"need.vpcroute":         "the VPC route to %[1]s is unknown",
		"need.subnet":           "no route table for the subnet of %[1]s",
		"need.nodedir":          "the bundle has no folder for node %[1]s",
		"need.routes":           "no routing table for this node",
		"need.clb":              "the CLB of %[1]s is not in the bundle",
		"need.listeners":        "the CLB's listeners are unknown",
		"need.targets":          "the CLB's real servers are unknown; assuming the Service's NodePort on every node",
		"need.collect":          "; collect %[1]s",
		"need.onnode":           " on node %[1]s",
		"api.needtype":          "the cluster type (managed or independent) decides who filters API server access",
		"ep.public":             "public",
		"ep.intranet":           "intranet",
		"api.managed":           "%[1]s endpoint %[2]s of managed cluster %[3]s (masters run by Tencent)",
		"api.acl":               "access sources %[1]s do not include %[2]s",
		"api.nosg":              "no security group bound to the endpoint",
		"api.sg":                "API server endpoint SG: %[1]s",
		"api.nomasters":         "independent cluster: the masters are unknown",
		"api.how.client":        "the client",
		"api.how.subnet":        "the intranet access subnet (the endpoint's CLB)",
		"api.indep":             "%[1]s endpoint %[2]s of independent cluster %[3]s forwards to %[4]d master(s); their SGs see %[5]s",
		"api.master":            "master %[1]s SGs: %[2]s",
		"clb.nolistener":        "no %[1]s listener on port %[2]d",
		"ing.norule":            "no rule of %[1]s matches host %[2]q path %[3]q and there is no default backend",
		"ing.rule":              "host %[1]q path %[2]q → Service %[3]s port %[4]s",
		"ing.prefix":            " (ImplementationSpecific path: matched as a prefix)",
		"ing.clusterip":         "backend Service is ClusterIP: only a direct-to-pod CLB (VPC-CNI) can reach it",
		"clb.rsunknown":         "real server %[1]s is no node or pod of the cluster",
		"clb.nosvc":             "no Service behind the CLB to find NodePorts",
		"clb.nonodeport":        "Service %[1]s port %[2]d has no NodePort",
		"clb.alive":             "Alive",
		"clb.dead":              "Dead",
		"ccn.noenabled":         "%[1]s → CCN %[2]s, but the CCN has no enabled route to %[3]s",
		"ccn.disabled":          " (%[1]s %[2]s is %[3]s)",
		"ccn.noroute":           "no CCN route to %[1]s: it is not published to the CCN that %[2]s comes from",
		"kind.eni":              "eni",
		"kind.cvm":              "cvm",
		"kind.clb":              "clb",
		"dns.noserver":          "no nameserver known for the client: %[1]s",
		"node.whether":          "whether a socket of node %[1]s listens on %[2]s/%[3]d",
		"np.cannot":             "NetworkPolicy cannot be decided: %[1]s%[2]s",
		"pod.whether":           "whether a container of %[1]s listens on %[2]d/%[3]s (declared ports are informational; collect `ss -tlnp` inside the pod's netns, or a capture)",
		"node.loop":             "more than 4 node hops: a routing loop in the collected data",
		"ct.full":               "conntrack table full: nf_conntrack_count %[1]d of nf_conntrack_max %[2]d",
		"ct.whether":            `whether a conntrack entry is free when the connection starts (dmesg "nf_conntrack: table full")`,
		"ipt.depends":           "the verdict depends on %[1]s",
		"ipt.whether":           "whether %[1]s matches",
		"ipt.nooutcome":         "the simulator found no outcome",
		"ipt.nodump":            "no iptables dump for this node",
		"kp.missing":            "kube-proxy on %[1]s has no rule for ready endpoint(s) %[2]s of %[3]s: it never sends there",
		"kp.stale":              "kube-proxy on %[1]s still sends %[2]s to %[3]s, which is no endpoint of it; ",
		"kp.stalesplit":         "%[1]s on %[2]s still sends %[3]s to %[4]s, which is no endpoint of it (stale rules of the other backend); ",
		"ipt.cni":               " — the CNI's enforcement of %[1]s, which denies this flow",
		"ipt.random":            " (MASQUERADE --random-fully: the source port is random)",
		"ipt.assumed":           " [assumed: %[1]s]",
		"ipt.masqaddr":          " (MASQUERADE to the address of %[1]s, not in the bundle: taken as the node's address %[2]s)",
		"rp.noback":             "no route back",
		"rp.back":               "the route back is %[1]s",
		"rp.drop":               "%[1]s = %[2]d (reverse-path filter) on %[3]s: %[4]s, not via %[3]s",
		"hp.zero":               "%[1]s = 0 and the endpoint %[2]s is on the same bridge %[3]s: its reply bypasses conntrack and reaches the client un-NATed",
		"hp.absent":             "%[1]s is absent (br_netfilter not loaded) and the endpoint %[2]s is on the same bridge %[3]s: its reply bypasses conntrack and reaches the client un-NATed",
		"rt.rule":               "ip rule %[1]s → ",
		"rt.undecidable":        "(%[1]s) ",
		"rt.line":               "%[1]s",
		"rt.none":               "no route to %[1]s in any table",
		"svc.noready":           "Service %[1]s port %[2]d has no ready endpoint; kube-proxy rejects it (ICMP port unreachable)",
		"svc.assume":            "assuming kube-proxy DNATs to the %[1]d ready endpoints of %[2]s",
		"svc.dnat":              "DNAT to endpoint",
		"lb.noaddr":             "the LoadBalancer Service has no load balancer address (status.loadBalancer is empty): clients outside have nothing to connect to",
		"svc.internal":          "Service type %[1]s: its ClusterIP is reachable only from the cluster's nodes and pods",
		"svc.headless":          "headless Service has no ready endpoint to resolve to",
		"dst.noaddr":            "the destination has no address in the bundle",
		"src.noresolve":         "cannot resolve the source: %[1]s",
		"dst.noresolve":         "cannot resolve the destination: %[1]s",
		"reply":                 "reply: ",
	},
	finding.ZH: {
		"cap.gone":              "SYN 从 %[1]s 发出后没有应答（%[3]s 的第 %[2]d 个包）",
		"cap.gone.missed":       "，且从未到达 %[1]s（%[2]s）",
		"cap.answered":          "%[1]s 在 %[2]s 中有应答（第 %[3]d 个包）",
		"cap.contra":            "采集到的规则放行此流量，但%[1]s；可能的原因：%[2]s",
		"cand.default":          "%[1]s 经默认路由（%[2]s）发出：没有到对端 Pod CIDR 的明确路由",
		"cand.unseen":           "%[1]s 的 %[2]s（不在采集数据中）",
		"cand.vpc":              "VPC 对其的转发（%[1]s）",
		"cand.gw":               "VPC 网关或对端节点的 eth0",
		"cand.acl":              "采集数据未列出的安全组或网络 ACL",
		"cand.elsewhen":         "规则与抓包不是同一时间采集的，或存在转储中看不到的路径（另一个 iptables 后端、eBPF）",
		"sep":                   "；",
		"where.pod":             "%[1]s Pod %[2]s",
		"to.rs":                 "后端服务器 %[1]s:%[2]d",
		"to.master":             "Master %[1]s（%[2]s）",
		"to.endpoint":           "%[1]s (%[2]s)", // a name: its parentheses stay ASCII
		"to.undecided":          "占比无法确定",
		"to.ep":                 "%[1]s",
		"to.share":              "%[1]s",
		"src.pod":               "Pod %[1]s（%[2]s）位于节点 %[3]s",
		"src.hostnet":           "，使用主机网络",
		"src.node":              "由节点 %[1]s（%[2]s）上的进程发出",
		"src.podcidr":           "%[1]s 属于节点 %[2]s 的容器网段",
		"src.client":            "集群外的客户端 %[1]s",
		"sg.ingress":            "%[1]s（%[2]s %[3]s）的入站规则：%[4]s",
		"sgd.nosg":              "未绑定安全组（不过滤）",
		"ipt.rule":              "%[1]s/%[2]s#%[3]d（第 %[4]d 行）-j %[5]s",
		"ipt.policy":            "%[1]s/%[2]s 默认策略 %[3]s",
		"ipt.to.forward":        "→ 转发",
		"ipt.to.local":          "→ 本机",
		"ipt.to.ipvs":           "→ IPVS 后端",
		"sgd.undecided":         "无法判定：请采集 `%[1]s`",
		"sgd.implicit":          "%[1]s 的%[2]s规则没有匹配的策略（隐式拒绝）",
		"sgd.policy":            "%[1]s %[2]s PolicyIndex %[3]d（%[4]s）",
		"sgp.from":              "%[1]s %[2]s，来源 %[3]s",
		"sgp.to":                "%[1]s %[2]s，目的 %[3]s",
		"dir.ingress":           "入站",
		"dir.egress":            "出站",
		"sg.egress":             "%[1]s（%[2]s %[3]s）的出站规则：%[4]s",
		"vpc.local":             "%[1]s 在 VPC 网段内（`Local` 路由）",
		"vpc.leave":             "%[1]s 在集群之外；采集数据看不到对端",
		"vpc.snat.internet":     "；访问公网时源地址转换为 %[1]s（节点），这是正常的",
		"vpc.masq":              "；对端看到的源地址是 %[1]s（节点），而不是 Pod %[2]s",
		"vpc.nonmasq":           "；ip-masq-agent 保留 Pod 源地址（%[1]s 在 NonMasqueradeCIDRs %[2]s 内）",
		"vpc.masqcfg":           "；ip-masq-agent（%[1]s）对其做 SNAT：%[2]s 不在任何 NonMasqueradeCIDR 内，对端看到的是节点 IP 而不是 Pod %[3]s",
		"dns.clusterfirst":      "dnsPolicy ClusterFirst：kubelet 把 Pod 的 resolv.conf 指向 Service %[1]s（%[2]s）",
		"dns.nosvc":             "采集数据中没有集群 DNS Service kube-system/kube-dns",
		"dns.node":              "节点 %[1]s 的 resolv.conf：nameserver %[2]s",
		"dns.noresolv":          "采集数据中没有节点 %[1]s 的 resolv.conf",
		"dns.outside":           "集群外的客户端使用自己的 DNS 服务器",
		"vpc.node":              "%[1]s 是节点 %[2]s，在集群 VPC 内（`Local` 路由）",
		"vpc.gr":                "容器路由 %[1]s 下一跳节点 %[2]s（GlobalRouter）",
		"vpc.eni":               "%[1]s 在弹性网卡 %[2]s 上（VPC-CNI）",
		"vpc.nogr":              "没有覆盖 %[1]s 的容器路由",
		"vpc.nogr.node":         "；节点 %[1]s 也没有到 %[2]s（%[3]s 的容器网段）的路由，按 `%[4]s` 发出",
		"vpc.enter":             "来自集群外的 %[1]s",
		"vpc.public":            "%[1]s 是 %[2]s 的公网 IP：VPC 网关将其映射到内网 IP %[3]s",
		"vpc.internet":          "%[1]s 在公网（公网 IP 或 NAT 网关）",
		"vpc.noroute":           "路由表 %[1]s 没有到 %[2]s 的路由",
		"vpc.route":             "%[1]s → %[2]s %[3]s",
		"pod.on":                "Pod %[1]s 位于节点 %[2]s",
		"both.backends":         "%[1]s 和 %[2]s 都有规则；内核两套规则都会执行",
		"both.natother":         "%[1]s 的 nat 表对这条新连接做了 DNAT，%[2]s 的没有：每条连接只由第一个完成绑定的 nat 表做一次 NAT（nf_nat_inet_fn），因此无论顺序如何都由 %[1]s 决定",
		"both.natorder":         "两套后端都对这条新连接做 DNAT：%[1]s 转到 %[2]s，%[3]s 转到 %[4]s。两个 nat 表是同一个优先级 -100 的 nat 钩子下的条目，先完成绑定的生效（nf_nat_inet_fn）；优先级相同时后注册的先执行，而规则导出中看不出谁后注册。每种顺序作为一个分支追踪",
		"both.snatother":        "%[1]s 的 nat POSTROUTING 把源地址改为 %[2]s，%[3]s 的没有做源地址转换：不做绑定的 nat 表（RETURN、ACCEPT）会把新连接交给同一钩子的下一个 nat 表（nf_nat_inet_fn），因此无论顺序如何都由 %[1]s 决定",
		"both.snatorder":        "两套后端都对这条新连接做 SNAT：%[1]s 改为 %[2]s，%[3]s 改为 %[4]s。两个 nat POSTROUTING 链是同一个优先级 100 的 nat 钩子下的条目，先完成绑定的生效（nf_nat_inet_fn）；优先级相同时后注册的先执行，而规则导出中看不出谁后注册。每种顺序作为一个分支追踪",
		"both.snatfirst":        "按此顺序 %[1]s 的 nat 先执行，把源地址改为 %[2]s",
		"both.snatkept":         "%[1]s 保留源地址（%[2]s，第 %[3]d 行），但这挡不住 %[4]s 的 SNAT：不做绑定的 nat 表会把连接交给下一个 nat 表（nf_nat_inet_fn）。该豁免规则不起作用，应加在 %[4]s 中（ip-masq-agent 则加到 NonMasqueradeCIDRs）",
		"idc.far":               "%[1]s 位于 IDC %[2]s（经 %[3]s）；采集数据不包含 IDC 侧：请确认 IDC 防火墙放通 %[4]s，且 IDC 经专线网关把 %[5]s 路由回来（未启用 BGP 时需为 %[5]s 配置静态路由）",
		"kp.nodnat":             "节点 %[1]s 上没有规则对 %[3]s 的 ClusterIP %[2]s 做 DNAT：kube-proxy 没有在该节点下发规则，而该地址在别处并不存在",
		"kp.nojump":             "节点 %[1]s 上没有规则对 %[3]s 的 ClusterIP %[2]s 做 DNAT：nat 表 %[4]s 链没有跳转到 KUBE-SERVICES，kube-proxy 的规则永远不会被匹配",
		"kp.vipunbound":         "%[1]s 在节点 %[2]s 上有 IPVS 虚拟服务（%[3]s），但不是本机地址（没有绑定到 kube-ipvs0）：报文在 IPVS 处理之前就被路由走了",
		"np.deny.ingress":       "NetworkPolicy 隔离了 %[1]s 的入站流量，没有规则放行 %[2]s：%[3]s",
		"np.deny.egress":        "NetworkPolicy 隔离了 %[1]s 的出站流量，没有规则放行 %[2]s：%[3]s",
		"np.allow":              "NetworkPolicy 放行%[1]s",
		"pod.notready":          "（Pod 未就绪）",
		"pod.noport":            "；该 Pod 未声明 containerPort %[1]d/%[2]s",
		"decided.by":            "；取决于：%[1]s",
		"node.socket":           "送达节点 %[1]s 上的套接字",
		"node.noListen":         "节点 %[3]s 上没有进程监听 %[1]s/%[2]d：内核回复 TCP RST / ICMP 端口不可达",
		"node.listen":           "节点 %[3]s 上有套接字监听 %[1]s/%[2]d",
		"node.anon":             "送达节点 %[2]s 上的 %[1]s（采集数据中没有该 IP 的 Pod 对象）",
		"fwd.off":               "%[1]s = 0：节点不转发从 %[2]s 进入的报文",
		"kp.balance":            "kube-proxy 把新连接均衡到 %[1]d 个后端，每个后端作为一个分支追踪",
		"dns.resolves":          "%[1]s 解析为 %[2]s",
		"clb.vip.internal":      "内网 CLB %[1]s（%[2]s）VIP %[3]s",
		"clb.vip.public":        "公网 CLB %[1]s（%[2]s）VIP %[3]s",
		"clb.listener":          "监听器 %[1]s %[2]s:%[3]d",
		"clb.sgs":               "CLB 安全组：%[1]s",
		"clb.nosg":              "CLB 未绑定安全组：所有客户端都放行",
		"clb.nors":              "监听器没有后端服务器",
		"clb.masters":           "独立集群：%[1]s 的后端是其位于 Master 上的 endpoints（%[2]s），TKE 将 API Server 的 CLB 直接绑定到 Master；无需 cloud/targets/ 即可确定",
		"clb.rs":                "转发到后端服务器 %[1]s:%[2]d",
		"clb.health":            "（健康检查：%[1]s）",
		"clb.hc.target":         "后端健康状态为%[1]s",
		"nf.reason":             "（%[1]s）",
		"ccn.route":             "云联网路由 %[1]s：%[2]s → %[3]s %[4]s",
		"ccn.routeoff":          "到 %[2]s 的云联网路由 %[1]s 已禁用（`%[3]s`）：没有路由承载 %[4]s→%[5]s",
		"vpc.noroute.ccnoff":    "路由表 %[1]s 中没有到 %[2]s 的路由；云联网路由 %[3]s %[4]s 已禁用（`%[5]s`）",
		"clb.hc.switch":         "HealthSwitch 为 %[1]d",
		"clb.hc.default":        "TKE 为 Service 创建的监听器默认开启；采集包中没有该监听器的设置",
		"clb.benched":           "CLB 健康检查（%[1]s）将后端 %[2]s 移出服务：该节点没有本地后端 Pod，客户端流量只会发往有后端的节点",
		"api.portunknown":       "Master %[1]s 在部分 TCP 端口放通了 %[2]s，而采集包中没有 API 端口（default/kubernetes Service 及其 endpoints）",
		"clb.mastersunknown":    "%[1]s 的后端未知：独立集群的 API Server CLB 绑定 Master 上的 endpoints，否则绑定 NodePort",
		"clb.probe":             "内网 CLB 以其 VIP %[1]s 为源对 Master %[2]s 做健康检查（监听器 SourceIpType 0）：%[3]s",
		"clb.probefail":         "Master %[1]s:%[2]d 健康检查失败，CLB 不会向其转发客户端流量",
		"clb.pass":              "LoadBalancerPassToTarget：后端服务器的安全组不过滤来自 CLB 的流量",
		"cap.seen":              "在 %[1]s 抓到（第 %[2]d 个包）：%[3]s，状态 %[4]s",
		"cap.history":           "，TCP 标志序列 `%[1]s`",
		"cap.notseen":           "此处未抓到：%[1]s 共抓到 %[2]d 个包，没有 %[3]s",
		"cap.rst":               "抓包给出结论：%[1]s 回复了 RST（第 %[2]d 个包）——没有进程监听",
		"cap.unpredicted":       "无法预测，并非矛盾：抓包显示 %[1]s，而采集数据不足以判定该流量能否到达——请检查 %[2]s",
		"cap.rst.only":          "抓包给出结论：%[1]s 被回复了 RST（第 %[2]d 个包），而只有这个后端会拒绝连接——此处没有进程监听",
		"need.sg.ingress":       "%[1]s 的入站安全组未知",
		"need.sg.egress":        "%[1]s 的出站安全组未知",
		"need.noholder.ingress": "采集数据中没有持有 %[1]s 的 CVM 或弹性网卡，其入站安全组未知",
		"need.noholder.egress":  "采集数据中没有持有 %[1]s 的 CVM 或弹性网卡，其出站安全组未知",
		"need.grroute":          "到 Pod 地址 %[1]s 的 VPC 路由（GlobalRouter 容器路由）未知",
		"need.publicnode":       "%[1]s（%[2]s）不是采集数据中的集群节点",
		"need.vpcroute":         "到 %[1]s 的 VPC 路由未知",
		"need.subnet":           "%[1]s 所在子网的路由表未知",
		"need.nodedir":          "采集包中没有节点 %[1]s 的目录",
		"need.routes":           "该节点没有路由表数据",
		"need.clb":              "采集包中没有 %[1]s 的 CLB",
		"need.listeners":        "CLB 的监听器未知",
		"need.targets":          "CLB 的后端服务器未知；假定为每个节点上该 Service 的 NodePort",
		"need.collect":          "；请采集 `%[1]s`",
		"need.onnode":           "（节点 %[1]s）",
		"api.needtype":          "集群类型（托管或独立）决定由谁过滤 API Server 访问",
		"ep.public":             "外网",
		"ep.intranet":           "内网",
		"api.managed":           "托管集群 %[3]s 的%[1]s访问地址 %[2]s（Master 由腾讯云托管）",
		"api.acl":               "访问来源 %[1]s 不包含 %[2]s",
		"api.nosg":              "访问地址未绑定安全组",
		"api.sg":                "API Server 访问地址的安全组：%[1]s",
		"api.nomasters":         "独立集群：Master 节点未知",
		"api.how.client":        "客户端",
		"api.how.subnet":        "内网访问子网（访问地址的 CLB）",
		"api.indep":             "独立集群 %[3]s 的%[1]s访问地址 %[2]s 转发到 %[4]d 个 Master；Master 的安全组看到的来源是%[5]s",
		"api.master":            "Master %[1]s 的安全组：%[2]s",
		"clb.nolistener":        "端口 %[2]d 上没有 %[1]s 监听器",
		"ing.norule":            "%[1]s 没有规则匹配 host %[2]q、path %[3]q，也没有默认后端",
		"ing.rule":              "host %[1]q、path %[2]q → Service %[3]s 端口 %[4]s",
		"ing.prefix":            "（ImplementationSpecific 路径：按前缀匹配）",
		"ing.clusterip":         "后端 Service 为 ClusterIP 类型：只有直连 Pod 的 CLB（VPC-CNI）能访问",
		"clb.rsunknown":         "后端服务器 %[1]s 不是集群中的节点或 Pod",
		"clb.nosvc":             "CLB 后面没有 Service，无法确定 NodePort",
		"clb.nonodeport":        "Service %[1]s 的端口 %[2]d 没有 NodePort",
		"clb.alive":             "健康",
		"clb.dead":              "异常",
		"ccn.noenabled":         "%[1]s → 云联网 %[2]s，但云联网中没有到 %[3]s 的已启用路由",
		"ccn.disabled":          "（%[1]s %[2]s 的状态为 `%[3]s`）",
		"ccn.noroute":           "云联网中没有到 %[1]s 的路由：它没有发布到 %[2]s 所在的云联网",
		"kind.eni":              "弹性网卡",
		"kind.cvm":              "云服务器",
		"kind.clb":              "负载均衡",
		"dns.noserver":          "不知道客户端使用的 DNS 服务器：%[1]s",
		"node.whether":          "节点 %[1]s 上是否有套接字监听 %[2]s/%[3]d",
		"np.cannot":             "无法判定 NetworkPolicy：%[1]s%[2]s",
		"pod.whether":           "%[1]s 的容器是否监听 %[2]d/%[3]s（声明的端口仅供参考；请在 Pod 的网络命名空间中执行 `ss -tlnp`，或抓包）",
		"node.loop":             "节点跳数超过 4：采集数据中存在路由环路",
		"ct.full":               "conntrack 表已满：nf_conntrack_count %[1]d，nf_conntrack_max %[2]d",
		"ct.whether":            `建立连接时 conntrack 表是否还有空位（dmesg 中的 "nf_conntrack: table full"）`,
		"ipt.depends":           "结果取决于 %[1]s",
		"ipt.whether":           "%[1]s 是否匹配",
		"ipt.nooutcome":         "iptables 模拟没有得出结果",
		"ipt.nodump":            "该节点没有 iptables 规则导出",
		"kp.missing":            "节点 %[1]s 上的 kube-proxy 没有 %[3]s 的就绪后端 %[2]s 的规则：流量永远不会转发过去",
		"kp.stale":              "节点 %[1]s 上的 kube-proxy 仍把 %[2]s 转发到 %[3]s，但它已不是该 Service 的后端；",
		"kp.stalesplit":         "节点 %[2]s 上的 %[1]s 仍把 %[3]s 转发到 %[4]s，但它已不是该 Service 的后端（另一套后端的残留规则）；",
		"ipt.cni":               "——这是 CNI 对 %[1]s 的实现，该策略拒绝了此链路",
		"ipt.random":            "（MASQUERADE --random-fully：源端口随机）",
		"ipt.assumed":           "［假定：%[1]s］",
		"ipt.masqaddr":          "（MASQUERADE 为 %[1]s 的地址，采集包中没有该地址：按节点地址 %[2]s 处理）",
		"rp.noback":             "没有回程路由",
		"rp.back":               "回程路由为 `%[1]s`",
		"rp.drop":               "%[3]s 上 %[1]s = %[2]d（反向路径过滤）：%[4]s，不经过 %[3]s",
		"hp.zero":               "%[1]s = 0，且后端 %[2]s 与客户端在同一网桥 %[3]s 上：回包绕过 conntrack，未经反向 NAT 就到达客户端",
		"hp.absent":             "%[1]s 不存在（未加载 br_netfilter），且后端 %[2]s 与客户端在同一网桥 %[3]s 上：回包绕过 conntrack，未经反向 NAT 就到达客户端",
		"rt.rule":               "策略路由 `ip rule %[1]s` → ",
		"rt.undecidable":        "（%[1]s）",
		"rt.line":               "命中路由 `%[1]s`",
		"rt.none":               "所有路由表中都没有到 %[1]s 的路由",
		"svc.noready":           "Service %[1]s 的端口 %[2]d 没有就绪的后端；kube-proxy 拒绝连接（ICMP 端口不可达）",
		"svc.assume":            "假定 kube-proxy 把流量 DNAT 到 %[2]s 的 %[1]d 个就绪后端",
		"svc.dnat":              "DNAT 到后端",
		"lb.noaddr":             "LoadBalancer 类型的 Service 没有负载均衡地址（status.loadBalancer 为空）：集群外的客户端无处可连",
		"svc.internal":          "Service 类型为 %[1]s：其 ClusterIP 只能从集群内的节点和 Pod 访问",
		"svc.headless":          "Headless Service 没有可解析到的就绪后端",
		"dst.noaddr":            "采集包中没有目的端的地址",
		"src.noresolve":         "无法解析源端：%[1]s",
		"dst.noresolve":         "无法解析目的端：%[1]s",
		"reply":                 "回包：",
	},
}

// symptomTexts are the customer-visible symptoms per language.
var symptomTexts = map[finding.Lang]map[string]string{
	finding.ZH: {
		"timeout": "超时", "refused": "连接被拒绝", "http-504": "HTTP 504", "http-502": "HTTP 502",
		"http-503": "HTTP 503", "http-404": "HTTP 404", "nxdomain": "域名不存在（NXDOMAIN）",
		"no-route-to-host": "无路由到主机", "source-natted": "源地址被 SNAT",
	},
}

// cannotPredictTexts say why the model cannot predict what the customer
// or a capture saw (Trace.CannotPredict).
var cannotPredictTexts = map[finding.Lang]map[string]string{
	finding.EN: {
		"undecided-hop":    "cannot predict: a hop on the path could not be decided from the bundle",
		"undecided-branch": "cannot predict: an endpoint's branch could not be decided, and it may be the one the customer hit",
		"far-side":         "cannot predict: the flow leaves the cluster and its far side is not in the bundle",
		"l7-status":        "cannot predict the exact HTTP status: which code TKE's L7 CLB answers (404, 502, 503, 504) is not modelled exactly",
		"application":      "cannot predict: the flow reaches a listening backend, and its HTTP answer is the application's",
	},
	finding.ZH: {
		"undecided-hop":    "无法预测：路径上有一跳无法根据采集数据判定",
		"undecided-branch": "无法预测：有一个后端分支无法判定，客户访问的可能正是它",
		"far-side":         "无法预测：流量离开集群，对端不在采集数据中",
		"l7-status":        "无法预测具体的 HTTP 状态码：TKE 七层 CLB 返回哪个状态码（404、502、503、504）未被精确建模",
		"application":      "无法预测：流量已到达正在监听的后端，HTTP 应答由应用决定",
	},
}

// CannotPredictText is a Trace.CannotPredict code in lang.
func CannotPredictText(code string, lang finding.Lang) string {
	if s, ok := cannotPredictTexts[lang][code]; ok {
		return s
	}
	if s, ok := cannotPredictTexts[finding.EN][code]; ok {
		return s
	}
	return code
}

// SymptomText is a symptom code (timeout, refused, http-504 ...) in lang,
// for renderers; the JSON keeps the code.
func SymptomText(sym string, lang finding.Lang) string {
	if s, ok := symptomTexts[lang][sym]; ok {
		return s
	}
	return sym
}

func render(lang finding.Lang, ps []part) string {
	out := ""
	for _, p := range ps {
		if p.key == "" {
			if len(p.args) > 0 {
				out += fmt.Sprint(p.args[0])
			}
			continue
		}
		f, ok := stepTexts[lang][p.key]
		if !ok {
			f = stepTexts[finding.EN][p.key]
		}
		args := make([]any, len(p.args))
		for i, a := range p.args {
			// an argument that is itself a catalogued phrase (a security
			// group's decision) is worded in the same language
			if q, ok := a.(part); ok {
				a = render(lang, []part{q})
			} else if l, ok := a.(finding.Localizer); ok {
				a = l.In(lang)
			}
			args[i] = a
		}
		out += fmt.Sprintf(f, args...)
	}
	return out
}

// sgPhrase words a security group decision (what sg.Decision.String
// says) from the catalog, so it follows the report's language.
func sgPhrase(d sg.Decision) part {
	switch {
	case d.NoSG:
		return part{key: "sgd.nosg"}
	case d.Action == sg.Undecided:
		var files []string
		for _, n := range d.Needs {
			files = append(files, n.File)
		}
		return part{key: "sgd.undecided", args: []any{strings.Join(files, ", ")}}
	case d.Policy == nil:
		return part{key: "sgd.implicit", args: []any{strings.Join(d.SGs, ", "), part{key: "dir." + string(d.Direction)}}}
	}
	p := d.Policy
	peer := "sgp.from"
	if p.Dir == model.DirEgress {
		peer = "sgp.to"
	}
	return part{key: "sgd.policy", args: []any{d.SG, part{key: "dir." + string(d.Direction)}, d.PolicyIndex,
		part{key: peer, args: []any{p.Action, p.Service(), p.PeerString()}}}}
}

// sayParts sets a step's detail from catalogued pieces.
func (s *Step) sayParts(ps []part) {
	s.parts = ps
	s.Detail = render(finding.EN, ps)
}

// say sets a step's detail from the catalog.
func (s *Step) say(key string, args ...any) {
	s.parts = []part{{key: key, args: args}}
	s.Detail = render(finding.EN, s.parts)
}

// sayMore appends a catalogued piece to a step's detail.
func (s *Step) sayMore(key string, args ...any) {
	if s.Detail == "" && len(s.parts) > 0 {
		s.Detail = render(finding.EN, s.parts)
	}
	if len(s.parts) == 0 && s.Detail != "" {
		s.parts = []part{{args: []any{s.Detail}}}
	}
	p := part{key: key, args: args}
	s.parts = append(s.parts, p)
	s.Detail += render(finding.EN, []part{p})
}

// sayBefore puts a catalogued piece in front of a step's detail.
func (s *Step) sayBefore(key string, args ...any) {
	if len(s.parts) == 0 && s.Detail != "" {
		s.parts = []part{{args: []any{s.Detail}}}
	}
	p := part{key: key, args: args}
	s.parts = append([]part{p}, s.parts...)
	s.Detail = render(finding.EN, []part{p}) + s.Detail
}

// worded is catalogued text used as an argument (of a finding or of
// another piece): it words itself in the report's language.
type worded []part

func (w worded) In(lang finding.Lang) string { return render(lang, w) }

// joined separates pieces as the language separates clauses.
func joined(ps []part) worded {
	var out worded
	for i, p := range ps {
		if i > 0 {
			out = append(out, part{key: "sep"})
		}
		out = append(out, p)
	}
	return out
}

// said returns s with its detail set from the catalog.
func said(s Step, key string, args ...any) Step {
	s.say(key, args...)
	return s
}

// Localize renders the details of every step of ts (and their branches)
// in lang. A detail changed after it was built from the catalog is left
// as it is. Calling it again with another language re-renders.
func Localize(ts []Trace, lang finding.Lang) {
	for i := range ts {
		t := &ts[i]
		for j := range t.Steps {
			s := &t.Steps[j]
			if len(s.parts) == 0 {
				continue
			}
			if s.Detail != render(finding.EN, s.parts) && s.Detail != render(s.lang, s.parts) {
				continue
			}
			s.Detail, s.lang = render(lang, s.parts), lang
		}
		if len(t.to) > 0 {
			t.To = render(lang, t.to)
		}
		Localize(t.Branches, lang)
	}
}
