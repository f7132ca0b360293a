package model

import (
	"encoding/json"
	"io"
	"net/netip"
	"sort"
	"strings"

	"tkesnap/parsers/conntrack"
	"tkesnap/parsers/ipvs"
	"tkesnap/parsers/kubeproxy"
	"tkesnap/parsers/netlink"
	"tkesnap/parsers/resolvconf"
	"tkesnap/parsers/ss"
	"tkesnap/parsers/sysctl"
)

// Bundle file names of a node's datapath (docs/design.md §2), relative to
// nodes/<name>/.
const (
	FileIPVS           = "ipvsadm.txt"       // ipvsadm -Sn
	FileIPVSStats      = "ipvsadm-stats.txt" // ipvsadm -Ln --stats --exact
	FileIPAddr         = "ip-addr.json"
	FileIPRoute        = "ip-route.json" // ip -j route show table all
	FileIPRule         = "ip-rule.json"
	FileIPNeigh        = "ip-neigh.json"
	FileIPLink         = "ip-link.json" // ip -j -d link
	FileSysctl         = "sysctl.txt"
	FileConntrack      = "conntrack.txt"
	FileConntrackStats = "conntrack-stats.txt"
	FileResolvConf     = "resolv.conf"
	FileSS             = "ss.txt"
	FileKubeProxy      = "kube-proxy.txt"
	DirCNI             = "cni"
)

// Datapath is the rest of a node's datapath: IPVS, addresses, routes,
// rules, neighbours, links, sysctls, conntrack, resolv.conf, sockets,
// kube-proxy mode and CNI configuration. A nil pointer / nil slice with
// Has(file) false means the file was not collected; checks must then say
// what to collect rather than assume.
type Datapath struct {
	IPVS           *ipvs.Table // ipvsadm.txt, with ipvsadm-stats.txt counters merged
	IPVSStats      *ipvs.Table
	Links          []*netlink.Link // ip-link.json and ip-addr.json merged (Addrs from the latter)
	Routes         []netlink.Route
	Rules          []netlink.Rule // sorted by priority
	Neighs         []netlink.Neigh
	Sysctl         *sysctl.Table
	ConntrackStats *conntrack.Stats
	Conntrack      *conntrack.Summary
	Resolv         *resolvconf.Config
	Sockets        []ss.Socket
	KubeProxy      *kubeproxy.Config
	// CNI holds the files of cni/ (/etc/cni/net.d) by name, each cut at
	// 64 KiB.
	CNI map[string]string

	dir   string
	have  map[string]bool
	local map[netip.Addr]bool
}

// HasFile says whether nodes/<name>/file was collected and read.
func (d *Datapath) HasFile(file string) bool { return d.have[file] }

// Path is the bundle path of one of the node's datapath files, for
// evidence.
func (d *Datapath) Path(file string) string { return d.dir + "/" + file }

func (c *Cluster) loadDatapath(n *Node) {
	d := &n.Datapath
	d.dir = n.Dir
	d.have = map[string]bool{}
	open := func(file string, fn func(r io.Reader)) {
		p := n.File(file)
		if !c.Bundle.Has(p) {
			return
		}
		rc, err := c.Bundle.Open(p)
		if err != nil {
			c.Problem(p, 0, "%v", err)
			return
		}
		defer rc.Close()
		d.have[file] = true
		fn(rc)
	}
	open(FileIPVS, func(r io.Reader) {
		d.IPVS = ipvs.Parse(r)
		for _, p := range d.IPVS.Problems {
			c.Problem(n.File(FileIPVS), p.Line, "%s", p.Message)
		}
	})
	open(FileIPVSStats, func(r io.Reader) {
		d.IPVSStats = ipvs.Parse(r)
		for _, p := range d.IPVSStats.Problems {
			c.Problem(n.File(FileIPVSStats), p.Line, "%s", p.Message)
		}
		d.IPVS.MergeCounters(d.IPVSStats)
	})
	nl := func(file string, probs []netlink.Problem) {
		for _, p := range probs {
			c.Problem(n.File(file), p.Line, "%s", p.Message)
		}
	}
	var addrLinks []*netlink.Link
	open(FileIPLink, func(r io.Reader) {
		var probs []netlink.Problem
		d.Links, probs = netlink.ParseLinks(r)
		nl(FileIPLink, probs)
	})
	open(FileIPAddr, func(r io.Reader) {
		var probs []netlink.Problem
		addrLinks, probs = netlink.ParseLinks(r)
		nl(FileIPAddr, probs)
	})
	d.Links = mergeLinks(d.Links, addrLinks)
	open(FileIPRoute, func(r io.Reader) {
		var probs []netlink.Problem
		d.Routes, probs = netlink.ParseRoutes(r)
		nl(FileIPRoute, probs)
	})
	open(FileIPRule, func(r io.Reader) {
		var probs []netlink.Problem
		d.Rules, probs = netlink.ParseRules(r)
		nl(FileIPRule, probs)
		sort.SliceStable(d.Rules, func(i, j int) bool { return d.Rules[i].Priority < d.Rules[j].Priority })
	})
	open(FileIPNeigh, func(r io.Reader) {
		var probs []netlink.Problem
		d.Neighs, probs = netlink.ParseNeighs(r)
		nl(FileIPNeigh, probs)
	})
	open(FileSysctl, func(r io.Reader) {
		d.Sysctl = sysctl.Parse(r)
		for _, p := range d.Sysctl.Problems {
			c.Problem(n.File(FileSysctl), p.Line, "%s", p.Message)
		}
	})
	open(FileConntrackStats, func(r io.Reader) {
		d.ConntrackStats = conntrack.ParseStats(r)
		for _, p := range d.ConntrackStats.Problems {
			c.Problem(n.File(FileConntrackStats), p.Line, "%s", p.Message)
		}
	})
	open(FileConntrack, func(r io.Reader) {
		d.Conntrack = conntrack.ParseList(r)
		for _, p := range d.Conntrack.Problems {
			c.Problem(n.File(FileConntrack), p.Line, "%s", p.Message)
		}
	})
	open(FileResolvConf, func(r io.Reader) {
		d.Resolv = resolvconf.Parse(r)
		for _, p := range d.Resolv.Problems {
			c.Problem(n.File(FileResolvConf), p.Line, "%s", p.Message)
		}
	})
	open(FileSS, func(r io.Reader) {
		var probs []ss.Problem
		d.Sockets, probs = ss.Parse(r)
		for _, p := range probs {
			c.Problem(n.File(FileSS), p.Line, "%s", p.Message)
		}
	})
	open(FileKubeProxy, func(r io.Reader) { d.KubeProxy = kubeproxy.Parse(r) })
	for _, name := range c.Bundle.Dir(n.File(DirCNI)) {
		p := n.File(DirCNI + "/" + name)
		if !c.Bundle.Has(p) {
			continue // a sub-folder
		}
		rc, err := c.Bundle.Open(p)
		if err != nil {
			c.Problem(p, 0, "%v", err)
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(rc, 64<<10))
		rc.Close()
		if d.CNI == nil {
			d.CNI = map[string]string{}
			d.have[DirCNI] = true
		}
		d.CNI[name] = string(b)
	}
	d.local = map[netip.Addr]bool{}
	for _, a := range d.LocalAddrs() {
		d.local[a] = true
	}
}

// mergeLinks joins `ip -j -d link` (link kinds, masters) with `ip -j addr`
// (addresses): either may be missing.
func mergeLinks(links, addrs []*netlink.Link) []*netlink.Link {
	if len(links) == 0 {
		return addrs
	}
	by := map[string]*netlink.Link{}
	for _, l := range links {
		by[l.Name] = l
	}
	for _, a := range addrs {
		if l := by[a.Name]; l != nil {
			l.Addrs = a.Addrs
		} else {
			links = append(links, a)
		}
	}
	return links
}

// Link returns the interface with the given name, or nil.
func (d *Datapath) Link(name string) *netlink.Link {
	for _, l := range d.Links {
		if l.Name == name {
			return l
		}
	}
	return nil
}

// LocalAddrs are the addresses the node owns: every interface address
// (kube-ipvs0's Service VIPs included) and the local routes of table
// local (RTN_LOCAL), which is what the kernel's input routing consults.
func (d *Datapath) LocalAddrs() []netip.Addr {
	seen := map[netip.Addr]bool{}
	var out []netip.Addr
	add := func(a netip.Addr) {
		if a.IsValid() && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, l := range d.Links {
		for _, a := range l.Addrs {
			add(a.Local)
		}
	}
	for _, r := range d.Routes {
		if r.Type == "local" && r.Dst.IsSingleIP() {
			add(r.Dst.Addr())
		}
	}
	return out
}

// IsLocal reports whether the node owns a (loopback included).
func (d *Datapath) IsLocal(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() {
		return true
	}
	if d.local == nil {
		for _, x := range d.LocalAddrs() {
			if x == a {
				return true
			}
		}
		return false
	}
	return d.local[a]
}

// WithAddr returns a copy of d with p bound to link (as `ip addr add p
// dev link` does): the copy takes p's address as local; d is unchanged.
// ok is false when d has no such link.
func (d *Datapath) WithAddr(link string, p netip.Prefix) (Datapath, bool) {
	cp := *d
	cp.Links = append([]*netlink.Link(nil), d.Links...)
	for i, l := range d.Links {
		if l.Name != link {
			continue
		}
		nl := *l
		nl.Addrs = append(append([]netlink.Addr(nil), l.Addrs...), netlink.Addr{Link: link, Family: family(p.Addr()), Local: p.Addr(), Prefix: p.Masked(), Scope: "global"})
		cp.Links[i] = &nl
		cp.local = map[netip.Addr]bool{}
		for _, a := range cp.LocalAddrs() {
			cp.local[a] = true
		}
		return cp, true
	}
	return cp, false
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "inet"
	}
	return "inet6"
}

// IfaceAddrs maps each interface to its first global address (what
// MASQUERADE picks), for the netfilter simulator.
func (d *Datapath) IfaceAddrs() map[string]netip.Addr {
	out := map[string]netip.Addr{}
	for _, l := range d.Links {
		for _, a := range l.Addrs {
			if a.Scope == "global" || a.Scope == "" {
				if _, ok := out[l.Name]; !ok && a.Local.Is4() {
					out[l.Name] = a.Local
				}
			}
		}
	}
	return out
}

// KubeIPVS0 returns the addresses bound to kube-proxy's dummy interface
// kube-ipvs0 (IPVS mode binds every ClusterIP, external IP and LB ingress
// IP there so the node accepts them as local). ok is false when the node
// has no such interface or ip-addr.json was not collected.
func (d *Datapath) KubeIPVS0() (addrs []netip.Addr, ok bool) {
	l := d.Link("kube-ipvs0")
	if l == nil {
		return nil, false
	}
	for _, a := range l.Addrs {
		addrs = append(addrs, a.Local)
	}
	return addrs, true
}

// PodBridge returns the Linux bridge pods are attached to (cbr0 on TKE
// GlobalRouter, cni0 with the bridge plugin): a bridge that has veth
// ports. nil when pods are not bridged (VPC-CNI, ipvlan, eBPF) or links
// were not collected with -d.
func (d *Datapath) PodBridge() *netlink.Link {
	ports := map[string]int{}
	for _, l := range d.Links {
		if l.Kind == "veth" && l.Master != "" {
			ports[l.Master]++
		}
	}
	var best *netlink.Link
	for _, l := range d.Links {
		if l.Kind == "bridge" && ports[l.Name] > 0 && (best == nil || ports[l.Name] > ports[best.Name]) {
			best = l
		}
	}
	return best
}

// CNIPlugin is one plugin of a CNI network configuration in cni/.
type CNIPlugin struct {
	File   string // bundle path
	Type   string // bridge, ptp, host-local, portmap, tke-route-eni, cilium-cni, ...
	Bridge string // the bridge device of a "bridge" plugin (default cni0)
}

// CNIPlugins lists the plugins of every .conf/.conflist in cni/, in file
// order; files that are not JSON are skipped (the bundle problem list has
// nothing to say about them: /etc/cni/net.d may hold anything).
func (d *Datapath) CNIPlugins() []CNIPlugin {
	names := make([]string, 0, len(d.CNI))
	for n := range d.CNI {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []CNIPlugin
	type plugin struct {
		Type   string `json:"type"`
		Bridge string `json:"bridge"`
	}
	for _, n := range names {
		var conf struct {
			plugin
			Plugins []plugin `json:"plugins"`
		}
		if json.Unmarshal([]byte(d.CNI[n]), &conf) != nil {
			continue
		}
		list := conf.Plugins
		if conf.Type != "" {
			list = append([]plugin{conf.plugin}, list...)
		}
		for _, p := range list {
			cp := CNIPlugin{File: d.Path(DirCNI + "/" + n), Type: p.Type, Bridge: p.Bridge}
			if p.Type == "bridge" && cp.Bridge == "" {
				cp.Bridge = "cni0" // the bridge plugin's default
			}
			out = append(out, cp)
		}
	}
	return out
}

// RouteQuery is a packet for the routing decision.
type RouteQuery struct {
	Dst netip.Addr
	// Src is the packet's source; zero for a locally generated packet
	// whose socket is not bound (the kernel looks rules up with saddr 0).
	Src netip.Addr
	// IIF is the input interface; "" means locally generated (rules see
	// iif "lo").
	IIF  string
	Mark uint32
}

// RouteResult is the outcome of a lookup.
type RouteResult struct {
	Route netlink.Route
	Rule  *netlink.Rule // the rule whose table held Route; nil without ip-rule.json
	// Found is false when no table had a route (ENETUNREACH), or an ip
	// rule action (unreachable/prohibit/blackhole) ended the lookup.
	Found bool
	// Undecidable names a rule selector the query cannot evaluate
	// (ipproto, sport, uidrange, ...); the result is then a guess.
	Undecidable string
}

// Delivers says the packet leaves by a route that forwards it.
func (r RouteResult) Delivers() bool { return r.Found && r.Route.Delivers() }

// Route looks up dst for a locally generated packet. ok is false when
// no route matches.
func (d *Datapath) Route(dst netip.Addr) (netlink.Route, bool) {
	r := d.Lookup(RouteQuery{Dst: dst})
	return r.Route, r.Found
}

// Lookup is the kernel's fib_lookup: ip rules in priority order
// (fib_rules_lookup), each table by longest prefix then lowest metric
// (fib_table_lookup); a table without a match, a throw route or a nop
// rule continue with the next rule. Without ip-rule.json the default
// rules (local 0, main 32766, default 32767) apply.
func (d *Datapath) Lookup(q RouteQuery) RouteResult {
	q.Dst = q.Dst.Unmap()
	rules := d.Rules
	if len(rules) == 0 {
		rules = []netlink.Rule{{Priority: 0, Table: "local"}, {Priority: 32766, Table: "main"}, {Priority: 32767, Table: "default"}}
	}
	iif := q.IIF
	if iif == "" {
		iif = "lo"
	}
	var res RouteResult
	for i := range rules {
		ru := &rules[i]
		match := true
		if ru.Src.IsValid() {
			match = match && q.Src.IsValid() && ru.Src.Contains(q.Src.Unmap())
		}
		if ru.Dst.IsValid() {
			match = match && ru.Dst.Contains(q.Dst)
		}
		if ru.HasMark {
			match = match && q.Mark&ru.FwMask == ru.FwMark
		}
		if ru.IIF != "" {
			match = match && ru.IIF == iif
		}
		if ru.OIF != "" {
			match = false // the query is not bound to an output device
		}
		if len(ru.Other) > 0 && res.Undecidable == "" {
			res.Undecidable = "rule " + ru.Excerpt + " selects on " + strings.Join(ru.Other, ",")
		}
		if ru.Not {
			match = !match
		}
		if !match {
			continue
		}
		switch ru.Action {
		case "":
		case "unreachable", "prohibit", "blackhole":
			res.Rule = ru
			res.Route = netlink.Route{Type: ru.Action, Table: "rule " + ru.Action, Line: ru.Line, Excerpt: ru.Excerpt}
			res.Found = false
			return res
		default: // nop, goto, unknown: continue
			continue
		}
		rt, ok := d.tableLookup(ru.Table, q.Dst)
		if !ok || rt.Type == "throw" {
			continue
		}
		res.Route, res.Rule, res.Found = rt, nil, true
		if len(d.Rules) > 0 {
			res.Rule = ru
		}
		return res
	}
	return res
}

func (d *Datapath) tableLookup(table string, dst netip.Addr) (netlink.Route, bool) {
	var best netlink.Route
	found := false
	for _, r := range d.Routes {
		if r.Table != table || !r.Dst.Contains(dst) {
			continue
		}
		switch r.Type {
		case "broadcast", "multicast", "anycast":
			if !r.Dst.IsSingleIP() {
				continue
			}
		}
		if !found || r.Dst.Bits() > best.Dst.Bits() || (r.Dst.Bits() == best.Dst.Bits() && r.Metric < best.Metric) {
			best, found = r, true
		}
	}
	return best, found
}

// SysctlValue returns a sysctl and where it was read, for evidence.
func (d *Datapath) SysctlValue(key string) (sysctl.Value, bool) { return d.Sysctl.Get(key) }
