package checks

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/parsers/conntrack"
	"tkesnap/parsers/netlink"
)

// Node datapath checks of the guide "网络无法访问": kernel forwarding,
// bridge netfilter, reverse-path filtering, routes to the other nodes'
// pod CIDRs and the conntrack table. Each reads one node's own view
// (nodes/<name>/) and cites the file and line that decides it.

func init() {
	Register(&driver.Analyzer{
		Name:   "node-forwarding",
		Doc:    "Kernel forwarding switches of each node: net.ipv4.ip_forward, bridge-nf-call-iptables on bridge CNIs.",
		Inputs: []driver.Input{driver.In("nodes/*/sysctl.txt"), driver.In("nodes/*/ip-link.json"), driver.In("nodes/*/cni/")},
		IDs:    []string{"IP_FORWARD_DISABLED", "BRIDGE_NF_DISABLED"},
		Run:    guarded(needNodes, runForwarding),
	})
	Register(&driver.Analyzer{
		Name: "node-routes",
		Doc:  "Each node's routes to the other nodes' pod CIDRs, and rp_filter dropping asymmetric replies.",
		Inputs: []driver.Input{driver.In("nodes/*/ip-route.json"), driver.In("nodes/*/ip-rule.json"), driver.In("nodes/*/ip-addr.json"),
			driver.In("nodes/*/sysctl.txt"), driver.In("cluster/nodes.yaml"), driver.In("cloud/cluster-routes.json"),
			driver.In("cloud/route-tables.json"), driver.In("cloud/clusters.json")},
		IDs: []string{"NODE_ROUTE_MISSING", "RP_FILTER_DROPS"},
		Run: guarded(needNodes, runNodeRoutes),
	})
	Register(&driver.Analyzer{
		Name:   "node-conntrack",
		Doc:    "Conntrack table at or near its maximum, or insert failures and drops.",
		Inputs: []driver.Input{driver.In("nodes/*/sysctl.txt"), driver.In("nodes/*/conntrack-stats.txt"), driver.In("nodes/*/conntrack.txt")},
		IDs:    []string{"CONNTRACK_TABLE_FULL"},
		Run:    guarded(needNodes, runConntrack),
	})
	Register(&driver.Analyzer{
		Name: "node-iptables-backend",
		Doc:  "Rules in both iptables backends (legacy and nft) of one node.",
		Inputs: []driver.Input{driver.In("nodes/*/iptables-save.txt"), driver.In("nodes/*/iptables-legacy-save.txt"),
			driver.In("nodes/*/iptables-nft-save.txt")},
		IDs: []string{"IPTABLES_BACKEND_SPLIT"},
		Run: guarded(needNodes, runBackendSplit),
	})
}

// runBackendSplit: iptables-legacy (x_tables) and iptables-nft (nf_tables)
// rules are both evaluated by the kernel, each in its own hooks; a
// component writing to the other backend (kube-proxy in a legacy image on
// an nft host, or the reverse) is invisible to `iptables-save` of the
// default backend, and its rules and the visible ones both act on packets.
// The collector saves both dumps when both backends hold tables; the
// default dump also says "# Warning: iptables-legacy tables present".
func runBackendSplit(p *Pass) {
	for _, n := range p.Cluster.Nodes {
		// the default dump is one of the two backends (the tracer names
		// the same counts when a stale rule of one decides a flow)
		legacy, nft := n.Backends()
		if def := n.Dump(model.FileIPTables); def != nil && def.Rules != nil {
			if legacy == nil && def.Rules.Backend == "nf_tables" && legacyWarned(p, n, def) {
				p.Inconclusive(model.FileIPTablesLegacy, n.Name, finding.Say("inc.legacy"))
			}
		}
		if n.Dump(model.FileIPTablesNft) != nil && n.Dump(model.FileIPTablesLegacy) == nil && !recorded(p, n.File(model.FileIPTablesLegacy)) {
			// the collector saves both backends together (or records why
			// it skipped one): an nft dump without any legacy record lost
			// the legacy one, whose rules the kernel would run too
			p.HaveNode(n, model.FileIPTablesLegacy)
		}
		if legacy == nil || nft == nil || legacy.Rules == nil || nft.Rules == nil {
			continue
		}
		nl, nn := legacy.Rules.NumRules(), nft.Rules.NumRules()
		if nl == 0 || nn == 0 {
			continue
		}
		p.Report(finding.New("IPTABLES_BACKEND_SPLIT",
			finding.Args{"node": n.Name, "legacy": strconv.Itoa(nl), "nft": strconv.Itoa(nn)},
			[]string{nodeRef(n)}, firstRuleEvidence(legacy), firstRuleEvidence(nft)))
	}
}

// recorded: the manifest has a record for path (run or skipped).
func recorded(p *Pass, path string) bool {
	if m := p.Cluster.Manifest; m != nil {
		for _, r := range m.Files {
			if r.Path == path {
				return true
			}
		}
	}
	return false
}

// legacyWarned: iptables-nft-save says legacy tables are present, in
// the dump or on its stderr (where iptables 1.8 prints it; the manifest
// records it).
func legacyWarned(p *Pass, n *model.Node, def *model.IPTablesDump) bool {
	for _, w := range def.Rules.Warnings {
		if strings.Contains(w.Text, "legacy tables present") {
			return true
		}
	}
	if m := p.Cluster.Manifest; m != nil {
		for _, r := range m.Files {
			if (r.Path == def.File || r.Path == n.File(model.FileIPTablesNft)) && strings.Contains(r.Stderr, "legacy tables present") {
				return true
			}
		}
	}
	return false
}

func firstRuleEvidence(d *model.IPTablesDump) finding.Evidence {
	for _, t := range d.Rules.Tables {
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				return finding.Evidence{File: d.File, Line: r.Line, Excerpt: "*" + t.Name + " " + r.Text}
			}
		}
	}
	return finding.Evidence{File: d.File}
}

// needNodes: every node check needs at least one nodes/<name>/ folder.
// The text is the same for every node check so the report lists it once.
func needNodes(c *model.Cluster) []finding.Inconclusive {
	if len(c.Nodes) > 0 {
		return nil
	}
	return []finding.Inconclusive{finding.Because("nodes/<node>/", "", finding.Say("inc.nonodes"))}
}

func nodeRef(n *model.Node) string { return "node/" + n.Name }

// sysctlEvidence cites one key of a node's sysctl.txt.
func sysctlEvidence(n *model.Node, key string) (finding.Evidence, string, bool) {
	v, ok := n.SysctlValue(key)
	if !ok {
		return finding.Evidence{File: n.Path(model.FileSysctl)}, "", false
	}
	return finding.Evidence{File: n.Path(model.FileSysctl), Line: v.Line, Excerpt: key + " = " + v.Value}, v.Value, true
}

func runForwarding(p *Pass) {
	for _, n := range p.Cluster.Nodes {
		if !n.HasFile(model.FileSysctl) {
			p.Inconclusive(model.FileSysctl, n.Name, finding.Say("inc.nosysctl"))
			continue
		}
		// A node routes pod traffic between cbr0/ENIs and eth0: with
		// ip_forward=0 the kernel drops every packet it would forward
		// (ip_forward() is never reached; Documentation/networking/ip-sysctl.rst).
		if ev, v, ok := sysctlEvidence(n, "net.ipv4.ip_forward"); ok && v == "0" {
			p.Report(finding.New("IP_FORWARD_DISABLED",
				finding.Args{"node": n.Name, "key": "net.ipv4.ip_forward", "value": v, "want": "1"},
				[]string{nodeRef(n)}, ev))
		} else if ok {
			// ip_forward=1 sets every interface's forwarding, but one can be
			// turned off later; the kernel forwards only what arrives on an
			// interface with conf.<if>.forwarding = 1 (ip_route_input_slow:
			// IN_DEV_FORWARD of the input device).
			for _, dev := range podFacing(p.Cluster, n) {
				key := "net.ipv4.conf." + sysctlIface(dev) + ".forwarding"
				if ev, v, ok := sysctlEvidence(n, key); ok && v == "0" {
					p.Report(finding.New("IP_FORWARD_DISABLED",
						finding.Args{"node": n.Name, "key": key, "value": v, "want": "1"},
						[]string{nodeRef(n)}, ev))
				}
			}
			// an interface with forwarding off: whether pods sit behind
			// it (the pod bridge) is in ip-link.json
			if !n.HasFile(model.FileIPLink) && forwardingOffSomewhere(n) {
				p.HaveNode(n, model.FileIPLink)
			}
		}
		checkBridgeNF(p, n)
	}
}

// checkBridgeNF: pods on a Linux bridge reach a Service whose endpoint is
// another pod of the same bridge; the DNAT happens in PREROUTING, but the
// reply is bridged straight back. Only br_netfilter with
// net.bridge.bridge-nf-call-iptables=1 passes bridged frames through
// conntrack so the reply is un-NATed; otherwise the client gets a reply
// from the pod IP and drops it (lab/datapath: brnf-off). The key is absent
// when br_netfilter is not loaded, which has the same effect.
func checkBridgeNF(p *Pass, n *model.Node) {
	const key = "net.bridge.bridge-nf-call-iptables"
	ev, v, ok := sysctlEvidence(n, key)
	if ok && v != "0" {
		return
	}
	if !ok {
		v = "absent (br_netfilter not loaded)"
		ev.Excerpt = "no net.bridge.* keys in sysctl -a"
	}
	report := func(bridge string, why finding.Evidence) {
		p.Report(finding.New("BRIDGE_NF_DISABLED",
			finding.Args{"node": n.Name, "key": key, "value": v, "bridge": bridge},
			[]string{nodeRef(n)}, ev, why))
	}
	if n.HasFile(model.FileIPLink) {
		if br := n.PodBridge(); br != nil {
			report(br.Name, finding.Evidence{File: n.Path(model.FileIPLink), Line: br.Line, Excerpt: br.Name + " is a bridge with veth ports"})
		}
		return // pods are not bridged (VPC-CNI ENI, ptp, ipvlan, eBPF): not needed
	}
	// without link kinds, the CNI configuration says whether pods are bridged
	for _, pl := range n.CNIPlugins() {
		if pl.Type == "bridge" {
			report(pl.Bridge, finding.Evidence{File: pl.File, Excerpt: `"type": "bridge", bridge ` + pl.Bridge})
			return
		}
	}
	if !n.HasFile(model.DirCNI) {
		p.Inconclusive(model.FileIPLink, n.Name, finding.Say("inc.bridge", key, orAbsent(v, ok)))
	}
}

// podFacing lists the interfaces pod traffic arrives on: the pod bridge
// and the interface holding the node's address (where peers' pod traffic
// comes in).
func podFacing(c *model.Cluster, n *model.Node) []string {
	var out []string
	if br := n.PodBridge(); br != nil {
		out = append(out, br.Name)
	}
	if in, _ := arrivalIface(n, kubeNodeOf(c, n)); in != "" && (len(out) == 0 || out[0] != in) {
		out = append(out, in)
	}
	return out
}

// forwardingOffSomewhere: sysctl.txt turns forwarding off on some
// interface (not "all", "default" or lo).
func forwardingOffSomewhere(n *model.Node) bool {
	if n.Sysctl == nil {
		return false
	}
	for k, v := range n.Sysctl.Values {
		dev, ok := strings.CutPrefix(k, "net.ipv4.conf.")
		if !ok || !strings.HasSuffix(dev, ".forwarding") || v.Value != "0" {
			continue
		}
		switch strings.TrimSuffix(dev, ".forwarding") {
		case "all", "default", "lo":
			continue
		}
		return true
	}
	return false
}

func orAbsent(v string, ok bool) any {
	if !ok {
		return finding.Say("absent")
	}
	return v
}

// peer is another node whose pod CIDR this node must reach.
type peer struct {
	Name   string
	IP     netip.Addr // InternalIP
	CIDR   netip.Prefix
	Source finding.Evidence
}

// kubeNodeOf finds the Kubernetes Node of a node folder: same name, or a
// Node whose InternalIP is one of the folder's local addresses.
func kubeNodeOf(c *model.Cluster, n *model.Node) *model.KNode {
	if kn := c.Kube.Node(n.Name); kn != nil {
		return kn
	}
	for _, kn := range c.Kube.Nodes {
		for _, ip := range kn.InternalIPs {
			if n.IsLocal(ip) {
				return kn
			}
		}
	}
	return nil
}

// peers lists every node's pod CIDRs: from the Node objects
// (spec.podCIDRs, GlobalRouter/host-gw/overlay), else from the other
// node folders' pod bridges (the bridge's connected prefix). VPC-CNI
// nodes have no pod CIDR: their pods are VPC addresses routed by the VPC.
func peers(c *model.Cluster) []peer {
	var out []peer
	for _, kn := range c.Kube.Nodes {
		var ip netip.Addr
		if len(kn.InternalIPs) > 0 {
			ip = kn.InternalIPs[0]
		}
		for _, cidr := range kn.PodCIDRs {
			out = append(out, peer{Name: kn.Name, IP: ip, CIDR: cidr,
				Source: kn.Source.Evidence("spec.podCIDR " + cidr.String())})
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, n := range c.Nodes {
		br := n.PodBridge()
		if br == nil {
			continue
		}
		for _, a := range br.Addrs {
			if a.Local.Is4() && a.Scope == "global" {
				out = append(out, peer{Name: n.Name, IP: n.IfaceAddrs()[defaultDev(n)], CIDR: a.Prefix,
					Source: finding.Evidence{File: n.Path(model.FileIPAddr), Line: a.Line, Excerpt: a.String()}})
			}
		}
	}
	return out
}

func defaultDev(n *model.Node) string {
	r, ok := n.Route(netip.IPv4Unspecified())
	if !ok {
		return "eth0"
	}
	return r.Dev
}

func routeEvidence(n *model.Node, r model.RouteResult) finding.Evidence {
	if r.Route.Line == 0 && r.Rule == nil {
		return finding.Evidence{File: n.Path(model.FileIPRoute), Excerpt: "no route matches"}
	}
	if r.Route.Table == "rule "+r.Route.Type && r.Rule != nil {
		return finding.Evidence{File: n.Path(model.FileIPRule), Line: r.Rule.Line, Excerpt: r.Rule.Excerpt}
	}
	return finding.Evidence{File: n.Path(model.FileIPRoute), Line: r.Route.Line, Excerpt: r.Route.String()}
}

func runNodeRoutes(p *Pass) {
	c := p.Cluster
	ps := peers(c)
	if k := c.Cloud.Cluster; len(ps) == 0 && k != nil && k.NetworkType == "VPC-CNI" {
		// VPC-CNI: pods take VPC addresses on ENIs, routed by the VPC;
		// nodes have no pod CIDRs to route to each other
		return
	}
	h := newHostGw(c, ps)
	for _, n := range c.Nodes {
		if !n.HasFile(model.FileIPRoute) {
			p.Inconclusive(model.FileIPRoute, n.Name, finding.Say("inc.noroutes"))
			continue
		}
		if len(ps) == 0 {
			p.Inconclusive("cluster/nodes.yaml", n.Name, finding.Say("inc.nopodcidrs"))
			continue
		}
		self := kubeNodeOf(c, n)
		var own []netip.Prefix
		for _, pr := range ps {
			if (self != nil && pr.Name == self.Name) || pr.Name == n.Name {
				own = append(own, pr.CIDR)
			}
		}
		if len(own) == 0 {
			if br := n.PodBridge(); br != nil {
				for _, a := range br.Addrs {
					own = append(own, a.Prefix)
				}
			}
		}
		for _, pr := range ps {
			if (self != nil && pr.Name == self.Name) || pr.Name == n.Name || overlaps(own, pr.CIDR) {
				continue
			}
			checkPeerRoute(p, h, n, pr, own)
			checkRPFilter(p, n, self, pr)
		}
	}
}

func overlaps(ps []netip.Prefix, q netip.Prefix) bool {
	for _, p := range ps {
		if p.Overlaps(q) {
			return true
		}
	}
	return false
}

// representative is an address inside a pod CIDR (the first pod address):
// routes are prefixes, so any address of the CIDR decides for the usual
// one-route-per-CIDR tables.
func representative(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr()
	if n := a.Next(); p.Contains(n) {
		return n
	}
	return a
}

// checkPeerRoute looks up the peer's pod CIDR from the node itself and
// from a local pod (source in the node's pod CIDR, arriving on the pod
// bridge), as the kernel would, ip rules included.
func checkPeerRoute(p *Pass, h *hostGw, n *model.Node, pr peer, own []netip.Prefix) {
	dst := representative(pr.CIDR)
	q := model.RouteQuery{Dst: dst}
	r := n.Lookup(q)
	if r.Delivers() && r.Route.Dst.Bits() == 0 {
		// only the default route covers the peer's pods
		if !defaultRouteReaches(p, h, n, pr, r) {
			return
		}
	}
	from := "the node"
	if r.Delivers() && len(own) > 0 {
		// traffic of the node's own pods may be policy-routed elsewhere
		q = model.RouteQuery{Dst: dst, Src: representative(own[0])}
		if br := n.PodBridge(); br != nil {
			q.IIF = br.Name
		}
		r = n.Lookup(q)
		from = "pods on the node"
	}
	if r.Delivers() {
		return
	}
	if r.Undecidable != "" {
		p.Inconclusive(model.FileIPRule, n.Name, finding.Say("inc.rule", pr.CIDR.String(), r.Undecidable))
		return
	}
	args := finding.Args{"node": n.Name, "cidr": pr.CIDR.String(), "peer": pr.Name, "from": from}
	if r.Found || r.Rule != nil {
		args["via"] = routeText(r)
	}
	p.Report(finding.New("NODE_ROUTE_MISSING", args, []string{nodeRef(n), "node/" + pr.Name},
		routeEvidence(n, r), pr.Source))
}

// defaultRouteReaches decides a peer pod CIDR that only the default route
// covers. On TKE GlobalRouter that is normal: the VPC routes pod CIDRs to
// nodes (the cluster route table, DescribeClusterRoutes). When the other
// nodes of the bundle route pod CIDRs node by node (host-gw style), this
// node lacks that route and its packets die at the gateway: reported.
// Otherwise the cloud data decides, or the question stays open. It returns
// true when it reported nothing and the caller may go on.
func defaultRouteReaches(p *Pass, h *hostGw, n *model.Node, pr peer, r model.RouteResult) bool {
	c := p.Cluster
	if conv, ok := h.perNodeRoute(c, n, pr); ok {
		p.Report(finding.New("NODE_ROUTE_MISSING",
			finding.Args{"node": n.Name, "cidr": pr.CIDR.String(), "peer": pr.Name, "from": "the node", "via": r.Route.String()},
			[]string{nodeRef(n), "node/" + pr.Name}, routeEvidence(n, r), conv, pr.Source))
		return false
	}
	covers := func(dst netip.Prefix) bool {
		return dst.IsValid() && dst.Bits() <= pr.CIDR.Bits() && dst.Contains(pr.CIDR.Addr())
	}
	for _, cr := range c.Cloud.ClusterRoutes {
		if covers(cr.Dst) {
			return false // the VPC's GlobalRouter route delivers it
		}
	}
	for _, t := range c.Cloud.RouteTables {
		for _, vr := range t.Routes {
			if covers(vr.Dst) && vr.Dst.Bits() > 0 {
				return false
			}
		}
	}
	// Only the cluster route table (DescribeClusterRoutes) holds the
	// GlobalRouter routes: VPC route tables without it prove nothing, and
	// an older collector or a refused call leaves it out.
	if c.Cloud.Have.ClusterRoutes {
		p.Report(finding.New("NODE_ROUTE_MISSING",
			finding.Args{"node": n.Name, "cidr": pr.CIDR.String(), "peer": pr.Name, "from": "the node", "via": r.Route.String()},
			[]string{nodeRef(n), "node/" + pr.Name}, routeEvidence(n, r), pr.Source,
			finding.Evidence{File: "cloud/cluster-routes.json", Excerpt: "no cluster or VPC route covers " + pr.CIDR.String()}))
		return false
	}
	p.Inconclusive("cloud/cluster-routes.json", n.Name, finding.Say("inc.grdefault"))
	return false
}

// hostGw caches, per node, whether it routes every other node's pod CIDR
// by an explicit (non-default) route: computed once per run, so the
// question "does the cluster route pod CIDRs on the nodes" costs
// O(nodes × peers) however many peers use the default route.
type hostGw struct {
	peers    []peer
	explicit map[*model.Node]bool
}

func newHostGw(c *model.Cluster, ps []peer) *hostGw {
	h := &hostGw{peers: ps, explicit: map[*model.Node]bool{}}
	for _, m := range c.Nodes {
		if !m.HasFile(model.FileIPRoute) {
			continue
		}
		km := kubeNodeOf(c, m)
		all := true
		for _, q := range ps {
			if q.Name == m.Name || (km != nil && q.Name == km.Name) {
				continue
			}
			if r := m.Lookup(model.RouteQuery{Dst: representative(q.CIDR)}); !r.Delivers() || r.Route.Dst.Bits() == 0 {
				all = false
				break
			}
		}
		h.explicit[m] = all
	}
	return h
}

// perNodeRoute says whether the cluster routes pod CIDRs on the nodes
// themselves (host-gw style): every other node with routes has an explicit
// route (not the default) to every pod CIDR but its own. One node doing so
// is not enough — a GlobalRouter cluster may have a hand-made route.
// The evidence is another node's route to the same CIDR.
func (h *hostGw) perNodeRoute(c *model.Cluster, self *model.Node, pr peer) (finding.Evidence, bool) {
	var ev finding.Evidence
	others := 0
	for m, explicit := range h.explicit {
		if m == self {
			continue
		}
		if !explicit {
			return finding.Evidence{}, false
		}
		others++
	}
	if others == 0 {
		return ev, false
	}
	for _, m := range c.Nodes { // deterministic order for the evidence
		if m == self || !h.explicit[m] {
			continue
		}
		r := m.Lookup(model.RouteQuery{Dst: representative(pr.CIDR)})
		if r.Delivers() && r.Route.Dst.Bits() > 0 {
			return finding.Evidence{File: m.Path(model.FileIPRoute), Line: r.Route.Line,
				Excerpt: "node " + m.Name + " routes pod CIDRs itself: " + r.Route.String()}, true
		}
	}
	// only the peer itself is another node: its own CIDR is local there
	for _, m := range c.Nodes {
		if m != self && h.explicit[m] {
			return finding.Evidence{File: m.Path(model.FileIPRoute), Excerpt: "node " + m.Name + " routes every other pod CIDR by an explicit route"}, true
		}
	}
	return ev, false
}

func routeText(r model.RouteResult) string {
	if r.Route.Table == "rule "+r.Route.Type && r.Rule != nil {
		return "ip rule " + strconv.Itoa(r.Rule.Priority) + " (" + r.Rule.Action + ")"
	}
	return r.Route.String()
}

// checkRPFilter: packets from the peer's pods arrive on the interface
// holding this node's InternalIP (the VPC, or the peer in host-gw mode,
// sends them there). With strict reverse-path filtering (rp_filter 1 =
// max(conf.all, conf.<dev>)) the kernel drops a packet when the route
// back to its source does not leave by that interface
// (fib_validate_source: the lookup uses iif lo, saddr and daddr swapped;
// Documentation/networking/ip-sysctl.rst rp_filter). Loose mode (2) only
// needs some route back.
func checkRPFilter(p *Pass, n *model.Node, self *model.KNode, pr peer) {
	if !n.HasFile(model.FileSysctl) {
		return // runForwarding already named sysctl.txt
	}
	if !n.HasFile(model.FileIPAddr) {
		// which interface the peer's packets arrive on, and the source
		// address of the route back, are in the addresses: with strict or
		// loose filtering on, undecided
		if all, _, _ := n.Sysctl.Int("net.ipv4.conf.all.rp_filter"); all > 0 || rpFilterOnSomewhere(n) {
			p.HaveNode(n, model.FileIPAddr)
		}
		return
	}
	in, local := arrivalIface(n, self)
	if in == "" {
		return
	}
	all, _, _ := n.Sysctl.Int("net.ipv4.conf.all.rp_filter")
	dev, _, _ := n.Sysctl.Int("net.ipv4.conf." + sysctlIface(in) + ".rp_filter")
	mode := max(all, dev)
	if mode == 0 {
		return
	}
	src := representative(pr.CIDR)
	r := n.Lookup(model.RouteQuery{Dst: src, Src: local})
	ok := r.Delivers()
	if ok && mode == 1 {
		ok = usesDev(r.Route, in)
	}
	if ok {
		return
	}
	key := "net.ipv4.conf.all.rp_filter"
	if dev >= all {
		key = "net.ipv4.conf." + sysctlIface(in) + ".rp_filter"
	}
	ev, _, _ := sysctlEvidence(n, key)
	args := finding.Args{"node": n.Name, "iface": in, "cidr": pr.CIDR.String(), "peer": pr.Name,
		"mode": strconv.FormatInt(mode, 10), "key": key}
	if r.Found {
		args["via"] = r.Route.String()
	}
	p.Report(finding.New("RP_FILTER_DROPS", args, []string{nodeRef(n), "node/" + pr.Name}, ev, routeEvidence(n, r)))
}

// rpFilterOnSomewhere: some interface has rp_filter on.
func rpFilterOnSomewhere(n *model.Node) bool {
	if n.Sysctl == nil {
		return false
	}
	for k, v := range n.Sysctl.Values {
		if strings.HasPrefix(k, "net.ipv4.conf.") && strings.HasSuffix(k, ".rp_filter") && v.Value != "0" && !strings.HasSuffix(k, ".default.rp_filter") {
			return true
		}
	}
	return false
}

// sysctl prints interface names with dots as slashes (eth0.100 → eth0/100).
func sysctlIface(name string) string { return strings.ReplaceAll(name, ".", "/") }

func usesDev(r netlink.Route, dev string) bool {
	if r.Dev == dev {
		return true
	}
	for _, nh := range r.Nexthops {
		if nh.Dev == dev {
			return true
		}
	}
	return false
}

// arrivalIface is the interface owning the node's InternalIP (else the
// default route's), and that address.
func arrivalIface(n *model.Node, self *model.KNode) (string, netip.Addr) {
	if self != nil {
		for _, ip := range self.InternalIPs {
			for _, l := range n.Links {
				for _, a := range l.Addrs {
					if a.Local == ip {
						return l.Name, ip
					}
				}
			}
		}
	}
	dev := defaultDev(n)
	if a, ok := n.IfaceAddrs()[dev]; ok {
		return dev, a
	}
	return "", netip.Addr{}
}

// runConntrack: when nf_conntrack_count reaches nf_conntrack_max the
// kernel drops new flows ("nf_conntrack: table full, dropping packet");
// insert_failed and drop count packets lost to clashes (the UDP DNS race)
// and to a full table since boot.
func runConntrack(p *Pass) {
	for _, n := range p.Cluster.Nodes {
		if !n.HasFile(model.FileSysctl) && !n.HasFile(model.FileConntrackStats) {
			p.Inconclusive(model.FileConntrackStats, n.Name, finding.Say("inc.noconntrack"))
			continue
		}
		var why []finding.Phrase
		var ev []finding.Evidence
		if n.Sysctl != nil {
			count, cv, okc := n.Sysctl.Int("net.netfilter.nf_conntrack_count")
			maxv, mv, okm := n.Sysctl.Int("net.netfilter.nf_conntrack_max")
			if !okc && n.ConntrackStats != nil && n.ConntrackStats.Count >= 0 {
				count, okc = n.ConntrackStats.Count, true
				cv.Line = n.ConntrackStats.CountLine
			}
			if okc && okm && maxv > 0 && count*10 >= maxv*9 {
				why = append(why, finding.Say("ct.near", count, count*100/maxv, maxv))
				ev = append(ev,
					finding.Evidence{File: n.Path(model.FileSysctl), Line: cv.Line, Excerpt: "net.netfilter.nf_conntrack_count = " + strconv.FormatInt(count, 10)},
					finding.Evidence{File: n.Path(model.FileSysctl), Line: mv.Line, Excerpt: "net.netfilter.nf_conntrack_max = " + mv.Value})
			}
		}
		if s := n.ConntrackStats; s != nil {
			for _, ctr := range []string{"drop", "early_drop", "insert_failed"} {
				v, lines := s.Total(ctr)
				if v == 0 {
					continue
				}
				why = append(why, finding.Say("ct.counter", ctr, v, len(lines)))
				sort.Ints(lines)
				ev = append(ev, finding.Evidence{File: n.Path(model.FileConntrackStats), Line: lines[0],
					Excerpt: fmt.Sprintf("%s=%d", ctr, s.CPUs[cpuAt(s.CPUs, lines[0])].Counters[ctr])})
			}
		}
		if len(why) > 0 {
			f := finding.New("CONNTRACK_TABLE_FULL", finding.Args{"node": n.Name}, []string{nodeRef(n)}, ev...)
			p.Report(*f.SayArg("why", finding.List(why)))
		}
	}
}

func cpuAt(cpus []conntrackCPU, line int) int {
	for i, c := range cpus {
		if c.Line == line {
			return i
		}
	}
	return 0
}

type conntrackCPU = conntrack.CPUStats
