package trace

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/netfilter"
	"tkesnap/analysis/netpol"
	"tkesnap/parsers/iptables"
	"tkesnap/parsers/ipvs"
	"tkesnap/parsers/netlink"
)

// nodeSim is a node's netfilter simulator, built once per node.
type nodeSim struct {
	sim  *netfilter.Sim
	opts netfilter.Options
	file string
	why  part // why there is no simulator
	// same: this other-backend dump holds the primary dump's rules again
	// (decided once per node, not per hop)
	same bool
	// backend is the dump header's ("nf_tables", "legacy" or "")
	backend string
}

// sim builds the simulator of a node from the model's iptables dump,
// ipsets, IPVS table and addresses, or says what is missing.
func (tr *Tracer) sim(n *model.Node) *nodeSim {
	if s, ok := tr.sims[n.Name]; ok {
		return s
	}
	s := &nodeSim{file: n.File(model.FileIPTables)}
	tr.sims[n.Name] = s
	d := n.IPv4()
	if d == nil || d.Rules == nil || len(d.Rules.Tables) == 0 {
		s.why = part{key: "ipt.nodump"}
		return s
	}
	s.file, s.backend = d.File, d.Rules.Backend
	opts := netfilter.Options{
		LocalAddrs: n.LocalAddrs(),
		IfaceAddrs: n.IfaceAddrs(),
		Route: func(dst netip.Addr, mark uint32) (string, bool) {
			if len(n.Routes) == 0 {
				return "", false
			}
			r := n.Lookup(model.RouteQuery{Dst: dst, Mark: mark})
			return r.Route.Dev, r.Found && r.Route.Dev != ""
		},
	}
	if n.IPSets != nil {
		opts.Sets = netfilter.IPSets(n.IPSets)
	}
	if n.IPVS != nil {
		// kube-proxy IPVS mode binds its virtual addresses to kube-ipvs0;
		// what counts is whether the node owns the address (an interface
		// address or a local route: the input route lookup). Without
		// either file every virtual address is taken as bound.
		if n.HasFile(model.FileIPAddr) || n.HasFile(model.FileIPRoute) {
			vips := []netip.Addr{} // non-nil: none bound is a fact
			for _, vs := range n.IPVS.Services {
				if a := vs.Addr.Addr(); n.IsLocal(a) {
					vips = append(vips, a)
				}
			}
			opts.Balancer = netfilter.NewIPVS(n.IPVS, vips)
		} else {
			opts.Balancer = netfilter.IPVSFromTable(n.IPVS)
		}
	}
	s.sim, s.opts = netfilter.New(d.Rules, opts), opts
	return s
}

// atNode walks a packet through one node: netfilter, routing, then on to
// a pod of the node, the node itself, or out to the VPC.
func (tr *Tracer) atNode(w *walk, name string, p pkt, in arrival) {
	if w.hops++; w.hops > maxHops {
		w.stop(said(Step{At: "node/" + name, Component: "route", Before: p.String()}, "node.loop"),
			outcome{verdict: NoRoute, reason: "ROUTING_LOOP"})
		return
	}
	at := "node/" + name
	n := tr.bundleNode(name)
	if n == nil {
		w.needSaid(at, "iptables", "nodes/"+name+"/ (iptables-save.txt, ip-route.json, sysctl.txt)", name, "need.nodedir", name)
		tr.blind(w, name, p, in)
		return
	}
	ns := tr.sim(n)
	if ns.sim == nil {
		w.needPart(at, "iptables", ns.why, ns.file, name)
		tr.blind(w, name, p, in)
		return
	}
	np := netfilter.Packet{Proto: p.proto, Src: p.src, Dst: p.dst, LocalOut: in.localOut}
	if !in.localOut {
		np.InIface = tr.inIface(n, p, in)
		if in.fromPod && n.PodBridge() != nil {
			np.Bridged = true
		}
	}
	tr.conntrackFull(w, n, name, p)
	res := ns.sim.Simulate(np)
	tr.netfilterResult(w, n, name, p, in, ns, res)
}

// rivalNAT: another iptables backend of the node binds this new
// connection's destination too. The kernel keeps one NAT lookup per
// family for both backends: iptable_nat (legacy) and nft nat chains both
// register their table with nf_nat_register_fn, as entries of the one
// nat hook at NF_IP_PRI_NAT_DST (-100; SNAT at NF_IP_PRI_NAT_SRC), in
// priority order (nf_hook_entries_grow: an entry of equal priority is
// inserted before the ones already there, so of two at -100 the one
// registered last runs first). nf_nat_inet_fn consults them only while
// the conntrack entry's DST manip is not set up, and stops at the first
// that binds — DNAT happens once per connection, by one backend. So:
//   - only the other backend DNATs: it decides, whatever the order;
//   - both DNAT to the same endpoints, or to current endpoints: either
//     way the connection reaches an endpoint (mine is followed);
//   - both DNAT, differently, and one to an address that is no endpoint
//     (or the endpoints are unknown): the outcome depends on which
//     backend's nat registered first, which no dump says (iptables-save
//     does not print it, both print priority -100): AMBIGUOUS, one
//     branch per backend, the stale one failing (IPTABLES_BACKEND_SPLIT).
//
// mine are the destinations this backend's nat binds (its DNAT groups).
func (tr *Tracer) rivalNAT(w *walk, n *model.Node, name string, p pkt, in arrival, ns *nodeSim, res netfilter.Result, mine []string, stale func(string) bool, known bool) bool {
	at := "node/" + name
	for _, other := range tr.otherDumps(n, ns) {
		r2 := other.sim.Simulate(tr.backendPacket(n, p, p.dst, in))
		var theirs []string
		for _, path := range r2.Paths {
			if natBinds(path) && path.NAT != nil && !slices.Contains(theirs, path.NAT.Dst) {
				theirs = append(theirs, path.NAT.Dst)
			}
		}
		if len(theirs) == 0 {
			continue
		}
		if len(mine) == 0 {
			w.add(said(Step{At: at, Component: "iptables", Before: p.String(), Decision: ActBothBackends,
				Evidence: ev("file", other.file)}, "both.natother", backendName(other), backendName(ns)))
			tr.netfilterResultIn(w, n, name, p, in, other, r2, natCtx{decided: true, split: true})
			return true
		}
		if sameSet(mine, theirs) {
			continue
		}
		anyStale := false
		for _, d := range append(append([]string(nil), mine...), theirs...) {
			anyStale = anyStale || stale(d)
		}
		if known && !anyStale {
			continue
		}
		sort.Strings(mine)
		sort.Strings(theirs)
		s := Step{At: at, Component: "iptables", Before: p.String(), Decision: ActAmbiguous,
			Evidence: ev("file", ns.file)}
		s.say("both.natorder", backendName(ns), strings.Join(mine, ", "), backendName(other), strings.Join(theirs, ", "))
		w.add(s)
		sides := []struct {
			ns, rival *nodeSim
			res       netfilter.Result
			dsts      []string
		}{{ns, other, res, theirs}, {other, ns, r2, mine}}
		for i, side := range sides {
			// named by where that order sends the connection (identifiers
			// only: the label is not translated)
			label := backendName(side.ns)
			if own := [][]string{mine, theirs}[i]; len(own) == 1 {
				label = endpointName(tr.c, own[0]) + " (" + label + ")"
			}
			b := w.fork("to.ep", label)
			tr.netfilterResultIn(b, n, name, p, in, side.ns, side.res, natCtx{decided: true, split: true, rival: side.rival, rivalDsts: side.dsts})
		}
		return true
	}
	return false
}

// natBinds: the path's DNAT was made by a nat table rule (DNAT or
// REDIRECT at PREROUTING/OUTPUT), i.e. this backend set up the
// connection's DST manip — not IPVS, which is no nat table.
func natBinds(path netfilter.Path) bool {
	for _, s := range path.Steps {
		if s.Table == "nat" && (s.Hook == "PREROUTING" || s.Hook == "OUTPUT") && (s.Target == "DNAT" || s.Target == "REDIRECT") {
			return true
		}
	}
	return false
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// backendName is the iptables tool of a dump's backend: what a remedy
// runs to change it.
func backendName(s *nodeSim) string {
	switch {
	case strings.HasSuffix(s.file, "/"+model.FileIPTablesLegacy):
		return "iptables-legacy"
	case strings.HasSuffix(s.file, "/"+model.FileIPTablesNft):
		return "iptables-nft"
	}
	if s.backend == "nf_tables" {
		return "iptables-nft"
	}
	if s.backend == "legacy" {
		return "iptables-legacy"
	}
	return "iptables"
}

// staleBackend is IPTABLES_BACKEND_SPLIT for a stale DNAT of one backend
// that decides a flow: the node's rule counts per backend (as the
// backend check states them, so the two reports are one finding), the
// Service, the address that is no endpoint, and the rule that sends the
// flow there — the Service's entry in KUBE-SERVICES when kube-proxy
// wrote it (deleting it takes the Service out of the stale backend),
// else the DNAT rule itself.
func (tr *Tracer) staleBackend(n *model.Node, name string, p pkt, ns *nodeSim, path netfilter.Path, service, dst string, ctx natCtx) *finding.Finding {
	legacy, nft := n.Backends()
	args := finding.Args{"node": name, "flow": p.String(), "service": service, "endpoint": dst,
		"stale": backendName(ns), "file": ns.file}
	if legacy != nil && legacy.Rules != nil {
		args["legacy"] = itoa(legacy.Rules.NumRules())
	}
	if nft != nil && nft.Rules != nil {
		args["nft"] = itoa(nft.Rules.NumRules())
	}
	if ctx.rival != nil {
		args["current"] = backendName(ctx.rival)
		args["current_dst"] = strings.Join(ctx.rivalDsts, ", ")
	}
	var entry, dnat *netfilter.Step
	for i := range path.Steps {
		st := &path.Steps[i]
		if st.Table != "nat" || st.Rule == 0 {
			continue
		}
		if entry == nil && st.Chain == "KUBE-SERVICES" {
			entry = st
		}
		if st.Target == "DNAT" || st.Target == "REDIRECT" {
			dnat = st
		}
	}
	if entry == nil {
		entry = dnat
	}
	evs := []finding.Evidence{{File: ns.file}}
	if entry != nil {
		args["table"], args["chain"], args["rule"], args["line"] = entry.Table, entry.Chain, itoa(entry.Rule), itoa(entry.Line)
		args["text"] = strings.TrimSpace(entry.Text)
		if spec, ok := strings.CutPrefix(args["text"], "-A "); ok {
			args["spec"] = spec
		}
		evs = []finding.Evidence{{File: ns.file, Line: entry.Line, Excerpt: "*nat " + strings.TrimSpace(entry.Text)}}
	}
	if dnat != nil && dnat != entry {
		evs = append(evs, finding.Evidence{File: ns.file, Line: dnat.Line, Excerpt: "*nat " + strings.TrimSpace(dnat.Text)})
	}
	return newFinding("IPTABLES_BACKEND_SPLIT", args, []string{"node/" + name}, evs...)
}

// otherBackend: both iptables backends hold rules on this node, and the
// kernel runs the legacy (x_tables) and the nft chains at the same hooks,
// so a drop in either one drops the packet. The other dump is evaluated
// with the destination the primary's DNAT chose (filter FORWARD/INPUT
// come after every nat PREROUTING) and the original source.
func (tr *Tracer) otherBackend(w *walk, n *model.Node, name string, p, np pkt, in arrival, ns *nodeSim) bool {
	for _, other := range tr.otherDumps(n, ns) {
		r2 := other.sim.Simulate(tr.backendPacket(n, p, np.dst, in))
		if len(r2.Paths) > 0 && allFail(r2) {
			w.add(said(Step{At: "node/" + name, Component: "iptables", Before: p.String(), Decision: ActBothBackends},
				"both.backends", ns.file, other.file))
			tr.netfilterFail(w, n, name, pkt{proto: p.proto, src: p.src, dst: np.dst}, other, r2.Paths[0])
			return true
		}
	}
	return false
}

// backendPacket is p as the other backend's chains see it, sent to dst.
func (tr *Tracer) backendPacket(n *model.Node, p pkt, dst netip.AddrPort, in arrival) netfilter.Packet {
	q := netfilter.Packet{Proto: p.proto, Src: p.src, Dst: dst, LocalOut: in.localOut}
	if !in.localOut {
		q.InIface = tr.inIface(n, p, in)
		q.Bridged = in.fromPod && n.PodBridge() != nil
	}
	return q
}

func allFail(r netfilter.Result) bool {
	for _, p := range r.Paths {
		if p.Verdict != netfilter.Drop && p.Verdict != netfilter.Reject {
			return false
		}
	}
	return true
}

// otherDumps are simulators for the node's IPv4 dumps other than the one
// its packets are traced through (iptables-legacy-save.txt next to an
// nft iptables-save.txt), when they hold different rules.
func (tr *Tracer) otherDumps(n *model.Node, primary *nodeSim) []*nodeSim {
	var out []*nodeSim
	p := n.IPv4()
	if primary.file != "" && (p == nil || primary.file != p.File) {
		// traced through another backend's dump (rivalNAT): the node's
		// default dump is the other one now
		if p != nil && p.Rules != nil && p.Rules.NumRules() > 0 {
			if s := tr.sim(n); s.sim != nil {
				out = append(out, s)
			}
		}
		return out
	}
	for _, d := range n.IPTables {
		if d == p || d.Name == model.FileIP6Tables || d.Name == model.FileIPTables || d.Rules == nil || d.Rules.NumRules() == 0 {
			continue
		}
		key := n.Name + "|" + d.File
		s, ok := tr.sims[key]
		if !ok {
			s = &nodeSim{file: d.File, opts: primary.opts, backend: d.Rules.Backend}
			// the default backend's dump saved again under its backend's
			// name: one ruleset, evaluated once
			if s.same = p != nil && p.Rules != nil && iptables.SameRules(p.Rules, d.Rules); !s.same {
				s.sim = netfilter.New(d.Rules, primary.opts)
			}
			tr.sims[key] = s
		}
		if !s.same {
			out = append(out, s)
		}
	}
	return out
}

// conntrackFull: with the table at nf_conntrack_max the kernel drops
// packets that would create an entry ("nf_conntrack: table full,
// dropping packet"), unless an early drop frees one — so a new flow may
// or may not pass, depending on the moment.
func (tr *Tracer) conntrackFull(w *walk, n *model.Node, name string, p pkt) {
	if n.Sysctl == nil {
		return
	}
	count, cv, ok1 := n.Sysctl.Int("net.netfilter.nf_conntrack_count")
	max, _, ok2 := n.Sysctl.Int("net.netfilter.nf_conntrack_max")
	if !ok1 || !ok2 || max <= 0 || count*100 < max*99 {
		return
	}
	w.ambiguousHop(said(Step{At: "node/" + name, Component: "iptables", Before: p.String(),
		Evidence: ev("file", n.Path(model.FileSysctl), "line", cv.Line)}, "ct.full", count, max),
		part{key: "ct.whether"}, "CONNTRACK_TABLE_FULL")
}

// inIface is the interface a packet arrives on: the pod bridge (or the
// route to the pod's address: its veth or ENI) for a pod's packet, eth0
// for one from the VPC.
func (tr *Tracer) inIface(n *model.Node, p pkt, in arrival) string {
	if in.iface != "" {
		return in.iface
	}
	if in.fromPod {
		if br := n.PodBridge(); br != nil {
			return br.Name
		}
		if r, ok := n.Route(p.src.Addr()); ok && r.Dev != "" {
			return r.Dev
		}
		return "cbr0"
	}
	// From the VPC: the VPC delivers to the node's address, so the
	// packet arrives on the interface that holds it (not necessarily
	// the one the route back uses — that is what rp_filter checks).
	ips := tr.nodeIPs(n.Name)
	for ifc, a := range n.IfaceAddrs() {
		for _, ip := range ips {
			if a == ip {
				return ifc
			}
		}
	}
	for _, l := range n.Links {
		for _, a := range l.Addrs {
			for _, ip := range ips {
				if a.Local == ip {
					return l.Name
				}
			}
		}
	}
	return "eth0"
}

// netfilterResult turns the simulator's answer into steps: one branch per
// distinct DNAT destination (kube-proxy's -m statistic picks one endpoint
// per connection), a failure for DROP/REJECT, AMBIGUOUS naming the match
// the dump cannot decide.
func (tr *Tracer) netfilterResult(w *walk, n *model.Node, name string, p pkt, in arrival, ns *nodeSim, res netfilter.Result) {
	tr.netfilterResultIn(w, n, name, p, in, ns, res, natCtx{})
}

// natCtx is what a node's netfilter result is read with.
type natCtx struct {
	// decided: the nat binding of this connection is already settled
	// between the node's iptables backends (rivalNAT ran)
	decided bool
	// split: this backend's nat decides while another backend holds
	// rules too, so a DNAT to an address that is no endpoint is the
	// stale backend's (IPTABLES_BACKEND_SPLIT), not a kube-proxy that
	// stopped syncing
	split bool
	// rival is the other backend's choice when the order decides
	// (its file and destinations), for the finding's text
	rival     *nodeSim
	rivalDsts []string
}

func (tr *Tracer) netfilterResultIn(w *walk, n *model.Node, name string, p pkt, in arrival, ns *nodeSim, res netfilter.Result, ctx natCtx) {
	at := "node/" + name
	var accepted []netfilter.Path
	var failed []netfilter.Path
	for _, path := range res.Paths {
		switch path.Verdict {
		case netfilter.Accept:
			accepted = append(accepted, path)
		case netfilter.Drop, netfilter.Reject:
			failed = append(failed, path)
		}
	}
	if len(res.UnknownMatches) > 0 && len(failed) > 0 && len(accepted) > 0 {
		e := ev("file", ns.file)
		if strings.Contains(res.UnknownMatches[0], "match-set") && n != nil && !n.HasFile(model.FileIPSet) {
			// the set's members are unknown because ipset save was not
			// collected: that file decides it (listed as inconclusive)
			e["need"], e["node"] = model.FileIPSet, name
		}
		w.ambiguousHop(said(Step{At: at, Component: "iptables", Before: p.String(),
			Evidence: e}, "ipt.depends", res.UnknownMatches[0]),
			part{key: "ipt.whether", args: []any{res.UnknownMatches[0]}}, "IPTABLES_UNDECIDABLE_MATCH")
	}
	if len(accepted) == 0 {
		if len(failed) == 0 {
			w.needSaid(at, "iptables", ns.file, name, "ipt.nooutcome")
			return
		}
		tr.netfilterFail(w, n, name, p, ns, failed[0])
		return
	}
	// group accepted paths by destination after NAT
	type group struct {
		dst  string
		path netfilter.Path
		prob float64
		// undecided: a path rests on an undecidable match (session
		// affinity, an unknown module), so prob is no measured share
		undecided bool
	}
	var groups []*group
	for _, path := range accepted {
		d := ""
		if path.NAT != nil {
			d = path.NAT.Dst
		}
		found := false
		for _, g := range groups {
			if g.dst == d {
				g.prob += path.Probability
				g.undecided = g.undecided || path.Undecided
				found = true
			}
		}
		if !found {
			groups = append(groups, &group{dst: d, path: path, prob: path.Probability, undecided: path.Undecided})
		}
	}
	// A statistic branch that ends in DROP/REJECT (a rule against one
	// endpoint) is a branch of its own: that share of connections fails.
	if len(res.UnknownMatches) == 0 {
		for _, path := range failed {
			d := ""
			if path.NAT != nil {
				d = path.NAT.Dst
			}
			found := false
			for _, g := range groups {
				found = found || g.dst == d
			}
			if !found {
				groups = append(groups, &group{dst: d, path: path, prob: path.Probability})
			}
		}
	}
	// compare kube-proxy's choice with the Service's endpoints
	svc, known := tr.serviceOf(name, p)
	isStale := func(dst string) bool {
		if !known || dst == "" {
			return false
		}
		for _, b := range svc.Backends {
			if netip.AddrPortFrom(b.IP, uint16(b.Port)).String() == dst {
				return false
			}
		}
		return true
	}
	if known && !ctx.split {
		// (a backend split's other dump is not kube-proxy's current
		// one: what it lacks is no missing rule)
		var missing []string
		for _, b := range svc.Backends {
			if !b.Ready {
				continue
			}
			ap := netip.AddrPortFrom(b.IP, uint16(b.Port)).String()
			found := false
			for _, g := range groups {
				found = found || g.dst == ap
			}
			if !found {
				missing = append(missing, ap)
			}
		}
		if len(missing) > 0 && len(groups) > 0 && groups[0].dst != "" && groups[0].dst != p.dst.String() {
			w.add(said(Step{At: at, Component: "iptables", Before: p.String(), Decision: ActRulesMissing, Finding: "KUBE_PROXY_RULES_MISSING",
				Evidence: ev("file", ns.file)}, "kp.missing", name, strings.Join(missing, ", "), svc.Service.Key()))
		}
	}
	if !ctx.decided {
		var mine []string
		for _, g := range groups {
			if natBinds(g.path) {
				mine = append(mine, g.dst)
			}
		}
		if tr.rivalNAT(w, n, name, p, in, ns, res, mine, isStale, known) {
			return
		}
	}
	follow := func(w *walk, g *group) {
		if g.path.Verdict != netfilter.Accept {
			tr.netfilterFail(w, n, name, p, ns, g.path)
			return
		}
		if isStale(g.dst) && g.dst != p.dst.String() {
			s := Step{At: at, Component: "iptables", Before: p.String(), After: g.dst, Decision: ActStale, Tags: []string{TagStale},
				Evidence: stepEv(ns.file, telling(g.path))}
			if ctx.split {
				s.sayParts(append([]part{{key: "kp.stalesplit", args: []any{backendName(ns), name, svc.Service.Key(), g.dst}}}, summary(g.path)...))
				w.stop(s, outcome{verdict: Dropped, reason: "IPTABLES_BACKEND_SPLIT",
					finding: tr.staleBackend(n, name, p, ns, g.path, svc.Service.Key(), g.dst, ctx)})
				return
			}
			s.sayParts(append([]part{{key: "kp.stale", args: []any{name, svc.Service.Key(), g.dst}}}, summary(g.path)...))
			w.stop(s,
				outcome{verdict: Dropped, reason: "KUBE_PROXY_RULES_STALE"})
			return
		}
		tr.afterNetfilter(w, n, name, p, in, ns, g.path)
	}
	if len(groups) == 1 {
		follow(w, groups[0])
		return
	}
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].dst < groups[j].dst })
	w.add(said(Step{At: at, Component: "iptables", Before: p.String(), Decision: ActFork, Tags: []string{TagStatistic}, Evidence: ev("file", ns.file)},
		"kp.balance", len(groups)))
	for _, g := range groups {
		share := part{key: "to.share", args: []any{fmt.Sprintf("%.0f%%", 100*g.prob)}}
		if g.undecided {
			share = part{key: "to.undecided"}
		}
		b := w.fork("to.endpoint", endpointName(tr.c, g.dst), share)
		follow(b, g)
	}
}

// reasonOf is why netfilter decided a path outside its rules, per
// language when the simulator worded it from its catalog.
func reasonOf(path netfilter.Path) any {
	if path.Why.Key != "" {
		return path.Why
	}
	return path.Reason
}

// serviceOf finds the Service a packet is addressed to — its ClusterIP
// (or a LoadBalancer ingress IP) and port, or a NodePort of this node —
// with the endpoints of that port. known is false when the bundle has no
// endpoint data to compare with.
func (tr *Tracer) serviceOf(node string, p pkt) (model.Endpoint, bool) {
	k := &tr.c.Kube
	if !k.HasEndpointData() || p.proto == "icmp" {
		return model.Endpoint{}, false
	}
	proto := strings.ToUpper(p.proto)
	if sv := k.ServiceByIP(p.dst.Addr()); sv != nil {
		for _, sp := range sv.Spec.Ports {
			if int(sp.Port) == int(p.dst.Port()) && (string(sp.Protocol) == proto || sp.Protocol == "" && proto == "TCP") {
				if e, err := tr.c.ResolveFrom(fmt.Sprintf("svc:%s:%s", sv.Key(), portRef(sp.Name, int(sp.Port))), sv.Namespace); err == nil {
					return e, true
				}
			}
		}
		return model.Endpoint{}, false
	}
	if !tr.isNodeIP(node, p.dst.Addr()) {
		return model.Endpoint{}, false
	}
	for _, sv := range k.Services {
		for _, sp := range sv.Spec.Ports {
			if sp.NodePort != 0 && int(sp.NodePort) == int(p.dst.Port()) && (string(sp.Protocol) == proto || sp.Protocol == "" && proto == "TCP") {
				if e, err := tr.c.ResolveFrom(fmt.Sprintf("svc:%s:%s", sv.Key(), portRef(sp.Name, int(sp.Port))), sv.Namespace); err == nil {
					return e, true
				}
			}
		}
	}
	return model.Endpoint{}, false
}

func portRef(name string, port int) string {
	if name != "" {
		return name
	}
	return itoa(port)
}

// endpointName names a DNAT destination by its pod when known.
func endpointName(c *model.Cluster, dst string) string {
	ap, err := netip.ParseAddrPort(dst)
	if err != nil {
		return dst
	}
	if ps := c.Kube.PodsByIP(ap.Addr()); len(ps) > 0 && !ps[0].Spec.HostNetwork {
		return fmt.Sprintf("pod:%s:%d", ps[0].Key(), ap.Port())
	}
	return "ip:" + dst
}

// summary lists the rules that matter in a path: NAT, verdicts, policies.
func summary(path netfilter.Path) []part {
	var parts []part
	for _, s := range path.Steps {
		switch s.Target {
		case "ACCEPT", "DROP", "REJECT", "DNAT", "SNAT", "MASQUERADE", "REDIRECT":
		default:
			if !strings.HasPrefix(s.Target, "KUBE-SEP-") && !strings.HasPrefix(s.Target, "KUBE-SVC-") && !strings.HasPrefix(s.Target, "KUBE-MARK") {
				continue
			}
		}
		if len(parts) > 0 {
			parts = append(parts, part{args: []any{"; "}})
		}
		if s.Rule == 0 {
			parts = append(parts, part{key: "ipt.policy", args: []any{s.Table, s.Chain, s.Target}})
		} else {
			parts = append(parts, part{key: "ipt.rule", args: []any{s.Table, s.Chain, s.Rule, s.Line, s.Target}})
		}
	}
	if path.Delivered != "" {
		if len(parts) > 0 {
			parts = append(parts, part{args: []any{"; "}})
		}
		parts = append(parts, part{key: "ipt.to." + path.Delivered})
	}
	return parts
}

// deciding is the last step of a path: the rule or policy that decided.
func deciding(path netfilter.Path) *netfilter.Step {
	if len(path.Steps) == 0 {
		return nil
	}
	return &path.Steps[len(path.Steps)-1]
}

// telling is the step that best explains an accepted path: the NAT rule
// (DNAT to the endpoint, SNAT/MASQUERADE to the node), else the filter
// rule or policy that accepted it.
func telling(path netfilter.Path) *netfilter.Step {
	for i := range path.Steps {
		switch path.Steps[i].Target {
		case "DNAT", "SNAT", "MASQUERADE", "REDIRECT":
			return &path.Steps[i]
		}
	}
	for i := len(path.Steps) - 1; i >= 0; i-- {
		if path.Steps[i].Table == "filter" {
			return &path.Steps[i]
		}
	}
	return deciding(path)
}

func stepEv(file string, s *netfilter.Step) map[string]any {
	if s == nil {
		return ev("file", file)
	}
	return ev("file", file, "line", s.Line, "table", s.Table, "chain", s.Chain, "rule", s.Rule)
}

// netfilterFail stops at a DROP or REJECT. kube-proxy's own rejects name
// the Service fault (no endpoints); anything else is IPTABLES_DROPS_FLOW.
func (tr *Tracer) netfilterFail(w *walk, n *model.Node, name string, p pkt, ns *nodeSim, path netfilter.Path) {
	d := deciding(path)
	v := Dropped
	verb := "dropped"
	if path.Verdict == netfilter.Reject {
		v, verb = Rejected, "rejected"
	}
	s := Step{At: "node/" + name, Component: "iptables", Before: p.String(), Decision: Action(path.Verdict), Evidence: stepEv(ns.file, d)}
	s.sayParts(summary(path))
	if path.Reason != "" {
		s.sayMore("nf.reason", reasonOf(path))
	}
	text := ""
	if d != nil {
		text = d.Text
	}
	switch {
	case strings.Contains(text, "has no endpoints"):
		w.stop(s, outcome{verdict: v, reason: "SVC_NO_ENDPOINTS"})
		return
	case strings.Contains(text, "has no local endpoints"):
		// externalTrafficPolicy: Local: kube-proxy drops external traffic
		// on nodes without a local endpoint; a CLB's health check takes
		// such nodes out of service.
		w.stop(s, outcome{verdict: v, reason: "SVC_NO_LOCAL_ENDPOINTS", finding: newFinding("SVC_NO_LOCAL_ENDPOINTS",
			finding.Args{"node": name, "service": commentService(text), "flow": p.String()}, []string{"node/" + name},
			finding.Evidence{File: ns.file, Line: d.Line, Excerpt: d.Text})})
		return
	case strings.Contains(path.Reason, "no real server"):
		w.stop(s, outcome{verdict: v, reason: "SVC_NO_ENDPOINTS"})
		return
	}
	// An input packet that is not for the node is dropped by the routing
	// decision before FORWARD when forwarding is off on its interface.
	if !strings.HasPrefix(p.dst.Addr().String(), "127.") && d != nil && d.Hook == "FORWARD" {
		if off, s2 := tr.forwardingOff(n, name, tr.inIface(n, p, arrival{fromPod: true})); off {
			w.stop(s2, outcome{verdict: Dropped, reason: "IP_FORWARD_DISABLED"})
			return
		}
	}
	// A CNI enforces NetworkPolicy with its own chains: a drop there for
	// a flow the policies deny is the policy, not a stray rule.
	// (filter chains see the destination after DNAT, the source before SNAT)
	q := p
	if path.NAT != nil {
		q.dst = natted(p, path.NAT).dst
	}
	if np, ok := tr.policyDenies(q); ok {
		s.sayMore("ipt.cni", np)
		w.stop(s, outcome{verdict: v, reason: "NETPOL_DENIES_FLOW"})
		return
	}
	o := outcome{verdict: v, reason: "IPTABLES_DROPS_FLOW"}
	if d != nil {
		args := finding.Args{"node": name, "flow": p.String(), "verdict": verb,
			"table": d.Table, "chain": d.Chain, "rule": itoa(d.Rule), "line": itoa(d.Line), "text": strings.TrimSpace(d.Text)}
		excerpt := d.Text
		if d.Rule == 0 {
			// No rule decided: the built-in chain's policy did (rule 0,
			// docs/design.md §3), as iptables-save writes it on a ":" line.
			args["policy"] = d.Target
			excerpt = ":" + d.Chain + " " + d.Target
		}
		f := finding.New("IPTABLES_DROPS_FLOW", args, []string{"node/" + name}, finding.Evidence{File: ns.file, Line: d.Line, Excerpt: excerpt})
		o.finding = &f
	}
	w.stop(s, o)
}

// policyDenies says whether NetworkPolicy (decidably) denies a packet to
// a pod, naming the isolating policy.
func (tr *Tracer) policyDenies(p pkt) (string, bool) {
	k := &tr.c.Kube
	if !k.Has("NetworkPolicy") || p.proto == "icmp" {
		return "", false
	}
	ps := k.PodsByIP(p.dst.Addr())
	if len(ps) == 0 || ps[0].Spec.HostNetwork {
		return "", false
	}
	r := netpol.Evaluate(k, tr.peer(p.src.Addr()), netpol.PodPeer(ps[0]), p.proto, int(p.dst.Port()))
	if r.Allowed || r.Undecided {
		return "", false
	}
	d := r.Ingress
	if d.Allowed {
		d = r.Egress
	}
	if len(d.Isolating) > 0 {
		return d.Isolating[0].Ref(), true
	}
	return "a NetworkPolicy", true
}

// commentService is "ns/name:port" from a kube-proxy rule comment.
func commentService(text string) string {
	_, rest, ok := strings.Cut(text, `--comment "`)
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, " ")
	return strings.TrimSuffix(name, `"`)
}

// afterNetfilter continues one accepted path: route, forwarding, then the
// next place the packet goes.
func (tr *Tracer) afterNetfilter(w *walk, n *model.Node, name string, p pkt, in arrival, ns *nodeSim, path netfilter.Path) {
	np := p
	if path.NAT != nil {
		np = natted(p, path.NAT)
		// MASQUERADE to an interface whose address the node folder does
		// not hold (no ip addr dump): the node's own address from the
		// cluster objects is the best fact, and the step says so
		if path.NAT.SrcAddrOf != "" {
			if ips := tr.nodeIPs(name); len(ips) > 0 {
				np.src = netip.AddrPortFrom(ips[0], np.src.Port())
			}
		}
	}
	d := telling(path)
	s := Step{At: "node/" + name, Component: "iptables", Before: p.String(), Decision: ActAccept, Evidence: stepEv(ns.file, d)}
	s.sayParts(summary(path))
	if np != p {
		s.After = np.String()
	}
	if path.NAT != nil && path.NAT.RandomFully {
		s.sayMore("ipt.random")
	}
	if len(path.Assumptions) > 0 {
		s.sayMore("ipt.assumed", strings.Join(path.Assumptions, "; "))
	}
	if path.NAT != nil && path.NAT.SrcAddrOf != "" {
		s.sayMore("ipt.masqaddr", path.NAT.SrcAddrOf, np.src.Addr())
	}
	w.add(s)
	// the other backend's nat POSTROUTING may bind the source instead
	np, forked := tr.rivalSNAT(w, n, name, p, np, in, ns, path)
	if forked {
		return
	}
	tr.afterSNAT(w, n, name, p, np, in, ns, path)
}

// afterSNAT continues an accepted path whose NAT is settled (np): the
// other backend's drops, reverse-path filtering, then where it goes.
func (tr *Tracer) afterSNAT(w *walk, n *model.Node, name string, p, np pkt, in arrival, ns *nodeSim, path netfilter.Path) {
	if tr.otherBackend(w, n, name, p, np, in, ns) {
		return
	}
	if !in.localOut {
		if drop, s := tr.rpFilter(n, name, np, tr.inIface(n, p, in)); drop {
			w.stop(s, outcome{verdict: Dropped, reason: "RP_FILTER_DROPS"})
			return
		}
	}
	if path.Delivered == "local" {
		tr.deliverNode(w, name, np)
		return
	}
	if np.dst.Addr() == p.dst.Addr() {
		if s, o, ok := tr.clusterIPNotNATed(n, name, p, in, ns); ok {
			w.stop(s, o)
			return
		}
	}
	dnat := path.NAT != nil && np.dst != p.dst
	if in.fromPod && dnat {
		if drop, s := tr.hairpin(n, name, np); drop {
			w.stop(s, outcome{verdict: Dropped, reason: "BRIDGE_NF_DISABLED"})
			return
		}
	}
	tr.routeOut(w, n, name, np, in)
}

// clusterIPNotNATed: a packet to a Service's ClusterIP and port that
// leaves netfilter with its destination unchanged. A ClusterIP exists
// only in kube-proxy's rules (the service range is inside the cluster
// CIDR on TKE, yet no pod or route holds the address), so that is a
// kube-proxy fault on this node — its failing hop — and never a missing
// route: IPVS_VIP_UNBOUND when IPVS has the virtual service but the
// address is not local, KUBE_PROXY_JUMP_MISSING when nat PREROUTING (or
// OUTPUT for a local sender) does not reach KUBE-SERVICES, else
// KUBE_PROXY_RULES_MISSING. A node known to run no kube-proxy (a
// kube-proxy replacement) is left to the route lookup.
func (tr *Tracer) clusterIPNotNATed(n *model.Node, name string, p pkt, in arrival, ns *nodeSim) (Step, outcome, bool) {
	sv := tr.c.Kube.ServiceByIP(p.dst.Addr())
	if sv == nil || (n.KubeProxy != nil && n.KubeProxy.Found != nil && !*n.KubeProxy.Found) {
		return Step{}, outcome{}, false
	}
	isClusterIP := false
	for _, ip := range sv.ClusterIPs {
		isClusterIP = isClusterIP || ip == p.dst.Addr()
	}
	proto := strings.ToUpper(p.proto)
	hasPort := false
	for _, sp := range sv.Spec.Ports {
		if int(sp.Port) == int(p.dst.Port()) && (string(sp.Protocol) == proto || sp.Protocol == "" && proto == "TCP") {
			hasPort = true
		}
	}
	if !isClusterIP || !hasPort {
		return Step{}, outcome{}, false
	}
	at := "node/" + name
	if n.IPVS != nil {
		if s := n.IPVS.Service(ipvs.Key{Proto: ipvs.Proto(proto), Addr: p.dst}); s != nil && !n.IsLocal(p.dst.Addr()) {
			return said(Step{At: at, Component: "ipvs", Before: p.String(), Decision: ActNotLocal,
					Evidence: ev("file", n.Path(model.FileIPVS), "line", s.Line)}, "kp.vipunbound", p.dst, name, sv.Key()),
				outcome{verdict: Dropped, reason: "IPVS_VIP_UNBOUND"}, true
		}
	}
	hook := "PREROUTING"
	if in.localOut {
		hook = "OUTPUT"
	}
	for _, d := range n.IPTables {
		if d.File != ns.file || d.Rules == nil {
			continue
		}
		for _, j := range model.MissingKubeProxyJumps(d.Rules, n.IPVS != nil) {
			if j.Table == "nat" && j.Hook == hook && j.Chain == "KUBE-SERVICES" {
				return said(Step{At: at, Component: "iptables", Before: p.String(), Decision: ActNoDNAT,
						Evidence: ev("file", ns.file)}, "kp.nojump", name, p.dst, sv.Key(), hook),
					outcome{verdict: Dropped, reason: "KUBE_PROXY_JUMP_MISSING"}, true
			}
		}
	}
	return said(Step{At: at, Component: "iptables", Before: p.String(), Decision: ActNoDNAT,
			Evidence: ev("file", ns.file)}, "kp.nodnat", name, p.dst, sv.Key()),
		outcome{verdict: Dropped, reason: "KUBE_PROXY_RULES_MISSING"}, true
}

// rpFilter is reverse-path filtering on the input interface
// (fib_validate_source; ip-sysctl.rst rp_filter: the mode is
// max(conf.all, conf.<iface>)): strict mode (1) drops a packet whose
// source is not routed back out of the interface it came in on, loose
// mode (2) one whose source has no route back at all.
func (tr *Tracer) rpFilter(n *model.Node, name string, p pkt, iface string) (bool, Step) {
	if n.Sysctl == nil || !n.HasFile(model.FileIPRoute) || iface == "" || iface == "lo" {
		return false, Step{}
	}
	all, _, _ := n.Sysctl.Int("net.ipv4.conf.all.rp_filter")
	key := "net.ipv4.conf." + strings.ReplaceAll(iface, ".", "/") + ".rp_filter"
	dev, v, _ := n.Sysctl.Int(key)
	mode := max(all, dev)
	if mode == 0 {
		return false, Step{}
	}
	if all > dev {
		key = "net.ipv4.conf.all.rp_filter"
		_, v, _ = n.Sysctl.Int(key)
	}
	r := n.Lookup(model.RouteQuery{Dst: p.src.Addr(), Src: p.dst.Addr()})
	ok := r.Delivers()
	if ok && mode == 1 {
		ok = r.Route.Dev == iface
		for _, nh := range r.Route.Nexthops {
			ok = ok || nh.Dev == iface
		}
	}
	if ok {
		return false, Step{}
	}
	back := part{key: "rp.noback"}
	if r.Found {
		back = part{key: "rp.back", args: []any{r.Route.String()}}
	}
	return true, said(Step{At: "node/" + name, Component: "route", Before: p.String(), Decision: ActDrop,
		Evidence: ev("file", n.Path(model.FileSysctl), "line", v.Line)}, "rp.drop", key, mode, iface, back)
}

// hairpin: a pod's packet DNATed to another pod on the same Linux bridge
// goes out the bridge it came from; the reply then travels bridge-local,
// and only with net.bridge.bridge-nf-call-iptables = 1 does it pass
// conntrack to be un-DNATed. Without it the client gets a reply from the
// endpoint's IP, which matches no socket, and the connection times out.
func (tr *Tracer) hairpin(n *model.Node, name string, p pkt) (bool, Step) {
	br := n.PodBridge()
	if br == nil || n.Sysctl == nil || !n.HasFile(model.FileIPRoute) {
		return false, Step{}
	}
	r := n.Lookup(model.RouteQuery{Dst: p.dst.Addr()})
	if !r.Found || r.Route.Dev != br.Name {
		return false, Step{}
	}
	const key = "net.bridge.bridge-nf-call-iptables"
	v, ok := n.SysctlValue(key)
	if ok && strings.TrimSpace(v.Value) != "0" {
		return false, Step{}
	}
	d := "hp.zero"
	if !ok {
		d = "hp.absent"
	}
	return true, said(Step{At: "node/" + name, Component: "iptables", Before: p.String(), Decision: ActDrop,
		Evidence: ev("file", n.Path(model.FileSysctl), "line", v.Line)}, d, key, p.dst.Addr(), br.Name)
}

// natted applies the simulator's rewrite to a packet.
func natted(p pkt, n *netfilter.NAT) pkt {
	parse := func(s string, keep netip.AddrPort) netip.AddrPort {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			return ap
		}
		if a, err := netip.ParseAddr(s); err == nil {
			return netip.AddrPortFrom(a, keep.Port())
		}
		return keep
	}
	return pkt{proto: p.proto, src: parse(n.Src, p.src), dst: parse(n.Dst, p.dst)}
}

// forwardingOff reads net.ipv4.conf.<iface>.forwarding (or ip_forward):
// ip_route_input_slow refuses to forward when the input device has
// forwarding off and drops the packet silently (ip_error sends no ICMP
// when forwarding is disabled).
func (tr *Tracer) forwardingOff(n *model.Node, name, iface string) (bool, Step) {
	if n.Sysctl == nil {
		return false, Step{}
	}
	for _, key := range []string{"net.ipv4.conf." + iface + ".forwarding", "net.ipv4.ip_forward"} {
		if v, ok := n.SysctlValue(key); ok {
			if strings.TrimSpace(v.Value) == "0" {
				return true, said(Step{At: "node/" + name, Component: "route", Decision: ActDrop,
					Evidence: ev("file", n.Path(model.FileSysctl), "line", v.Line)}, "fwd.off", key, iface)
			}
			return false, Step{}
		}
	}
	return false, Step{}
}

// routeOut routes a forwarded or locally sent packet and follows it.
func (tr *Tracer) routeOut(w *walk, n *model.Node, name string, p pkt, in arrival) {
	at := "node/" + name
	if !in.localOut {
		if off, s := tr.forwardingOff(n, name, tr.inIface(n, p, in)); off {
			s.Before = p.String()
			w.stop(s, outcome{verdict: Dropped, reason: "IP_FORWARD_DISABLED"})
			return
		}
	}
	if !n.HasFile(model.FileIPRoute) {
		w.needSaid(at, "route", n.Path(model.FileIPRoute), name, "need.routes")
		tr.leaveBlind(w, name, p)
		return
	}
	q := model.RouteQuery{Dst: p.dst.Addr()}
	if !in.localOut {
		q.Src, q.IIF = p.src.Addr(), tr.inIface(n, p, in)
	}
	r := n.Lookup(q)
	s := Step{At: at, Component: "route", Before: p.String(), Evidence: ev("file", n.Path(model.FileIPRoute), "line", r.Route.Line)}
	if r.Rule != nil && r.Rule.Priority != 0 && r.Rule.Table != "main" {
		s.say("rt.rule", r.Rule.String())
	}
	if r.Undecidable != "" {
		s.sayMore("rt.undecidable", r.Undecidable)
	}
	if !r.Found {
		switch r.Route.Type {
		case "blackhole":
			s.sayMore("rt.line", r.Route.String())
			s.Decision = ActDrop
			w.stop(s, outcome{verdict: Dropped, reason: "NODE_ROUTE_MISSING"})
		case "unreachable", "prohibit":
			s.sayMore("rt.line", r.Route.String())
			s.Decision = ActUnreachable
			w.stop(s, outcome{verdict: NoRoute, reason: "NODE_ROUTE_MISSING", symptom: "no-route-to-host"})
		default:
			s.sayMore("rt.none", p.dst.Addr())
			s.Decision = ActNoRoute
			s.Evidence = ev("file", n.Path(model.FileIPRoute))
			w.stop(s, outcome{verdict: NoRoute, reason: "NODE_ROUTE_MISSING"})
		}
		return
	}
	rt := r.Route
	s.sayMore("rt.line", rt.String())
	switch rt.Type {
	case "unreachable", "prohibit":
		s.Decision = ActUnreachable
		w.stop(s, outcome{verdict: NoRoute, reason: "NODE_ROUTE_MISSING", symptom: "no-route-to-host"})
		return
	case "blackhole":
		s.Decision = ActDrop
		w.stop(s, outcome{verdict: Dropped, reason: "NODE_ROUTE_MISSING"})
		return
	case "local":
		s.Decision = ActLocal
		w.add(s)
		tr.deliverNode(w, name, p)
		return
	}
	s.Decision, s.Via = ActDev, rt.Dev
	w.add(s)
	// A pod of this node: the route leads to the pod bridge or its veth.
	if tr.podRoute(n, rt) {
		tr.deliverPod(w, name, p)
		return
	}
	tr.vpc(w, name, p)
}

// podRoute says a route leads to a pod of this node: the pod bridge
// (cbr0 in GlobalRouter mode, cni0 with the bridge plugin), or a
// directly connected host route to a veth (VPC-CNI and ipvlan CNIs add
// "<pod-ip> dev <veth> scope link" per pod).
func (tr *Tracer) podRoute(n *model.Node, rt netlink.Route) bool {
	if rt.Gateway.IsValid() || rt.Dev == "" {
		return false
	}
	if br := n.PodBridge(); br != nil {
		return br.Name == rt.Dev
	}
	if rt.Dev == "cbr0" || rt.Dev == "cni0" {
		return true
	}
	return rt.Dst.IsSingleIP() && rt.Dev != "lo"
}

func (tr *Tracer) podOnNode(node string, ip netip.Addr) bool {
	if ps := tr.c.Kube.PodsByIP(ip); len(ps) > 0 {
		return ps[0].Spec.NodeName == node && !ps[0].Spec.HostNetwork
	}
	if kn := tr.c.Kube.Node(node); kn != nil {
		for _, p := range kn.PodCIDRs {
			if p.Contains(ip) {
				return true
			}
		}
	}
	return false
}

// blind continues past a node whose netfilter the bundle lacks, using
// what the model says: kube-proxy DNATs a Service address to its ready
// endpoints, ip-masq-agent decides SNAT, and the packet goes where its
// destination lives.
func (tr *Tracer) blind(w *walk, name string, p pkt, in arrival) {
	if sv := tr.c.Kube.ServiceByIP(p.dst.Addr()); sv != nil {
		e, err := tr.c.ResolveFrom(fmt.Sprintf("svc:%s:%d", sv.Key(), p.dst.Port()), sv.Namespace)
		if err == nil {
			tr.serviceByModel(w, name, p, in, e)
			return
		}
	}
	tr.leaveBlind(w, name, p)
}

// serviceByModel forks to a Service's ready endpoints as kube-proxy would.
func (tr *Tracer) serviceByModel(w *walk, name string, p pkt, in arrival, e model.Endpoint) {
	at := "node/" + name
	var ready []model.Backend
	for _, b := range e.Backends {
		if b.Ready {
			ready = append(ready, b)
		}
	}
	if len(ready) == 0 {
		w.stop(said(Step{At: e.Service.Ref(), Component: "kube", Before: p.String(), Decision: ActReject,
			Evidence: srcEv(e.Service.Source)}, "svc.noready", e.Service.Key(), e.Port),
			outcome{verdict: Rejected, reason: "SVC_NO_ENDPOINTS"})
		return
	}
	w.add(said(Step{At: at, Component: "kube", Before: p.String(), Decision: ActFork, Tags: []string{TagStatistic},
		Evidence: srcEv(e.Service.Source)}, "svc.assume", len(ready), e.Service.Key()))
	for _, b := range ready {
		np := pkt{proto: p.proto, src: p.src, dst: netip.AddrPortFrom(b.IP, uint16(b.Port))}
		bw := w.fork("to.ep", endpointName(tr.c, np.dst.String()))
		bw.add(said(Step{At: at, Component: "kube", Before: p.String(), After: np.String(), Evidence: srcEv(b.Source)}, "svc.dnat"))
		tr.leaveBlind(bw, name, np)
	}
}

// leaveBlind sends a packet on without the node's routing table: to a pod
// of the same node, the node itself, or the VPC.
func (tr *Tracer) leaveBlind(w *walk, name string, p pkt) {
	switch {
	case tr.isNodeIP(name, p.dst.Addr()):
		tr.deliverNode(w, name, p)
	case tr.podOnNode(name, p.dst.Addr()) || tr.nodeOwning(p.dst.Addr()) == name:
		tr.deliverPod(w, name, p)
	default:
		tr.vpc(w, name, p)
	}
}
