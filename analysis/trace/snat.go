package trace

import (
	"net/netip"
	"slices"
	"strings"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/netfilter"
)

// The source-NAT side of two iptables backends on one node (rivalNAT is
// the destination side). Both nat tables' POSTROUTING chains are entries
// of the one SNAT lookup hook at NF_IP_PRI_NAT_SRC (100), and
// nf_nat_inet_fn (net/netfilter/nf_nat_core.c) runs them, for a new
// connection whose SRC manip is not set up, in priority order until one
// binds it; a table whose chain ends in ACCEPT or RETURN without a NAT
// target binds nothing and the next entry runs, and only after every entry
// does nf_nat_alloc_null_binding bind "no change". So:
//   - an exemption in one backend (ip-masq-agent's RETURN for a
//     NonMasqueradeCIDR, a script's ACCEPT) never stops the other
//     backend's MASQUERADE: the backend that SNATs decides, in either
//     order;
//   - both SNAT, to different addresses: the entry registered last runs
//     first (nf_hook_entries_grow inserts before an equal priority), which
//     no dump says — each order is a branch.
// lab/netfilter/backends.sh measures both in network namespaces
// (TestKernelBackendsNAT, on Linux 6.18). This is the nat core of Linux
// 4.18 and later; before it each nat table had a hook of its own that
// null-bound the connection when its chain did not NAT it, so the first
// table to run decided even by exempting. Nodes with both backends
// populated run iptables >= 1.8 (the nft backend), as distributions on
// newer kernels ship it; a node's kernel version is not consulted, so an
// older kernel is not modelled.

// snatRule is the rule of a path that bound the SRC manip (SNAT or
// MASQUERADE in nat POSTROUTING, or nat INPUT for a local delivery) and
// the path's entry into it from the built-in chain.
func snatRule(path netfilter.Path) (rule, entry *netfilter.Step) {
	for i := range path.Steps {
		st := &path.Steps[i]
		if st.Table != "nat" || (st.Hook != "POSTROUTING" && st.Hook != "INPUT") || st.Rule == 0 {
			continue
		}
		if entry == nil && st.Chain == st.Hook {
			entry = st
		}
		if st.Target == "SNAT" || st.Target == "MASQUERADE" {
			rule = st
		}
	}
	return rule, entry
}

// snatSide is one backend's answer for the flow's source.
type snatSide struct {
	ns   *nodeSim
	path netfilter.Path
	rule *netfilter.Step // nil: this backend binds no SNAT
	src  netip.AddrPort  // the source it leaves with
}

// sourceAfter is the source a path gives p: its SNAT, with MASQUERADE to
// an interface the bundle has no address of read as the node's address
// (as afterNetfilter does).
func (tr *Tracer) sourceAfter(name string, p pkt, path netfilter.Path) netip.AddrPort {
	if path.NAT == nil {
		return p.src
	}
	np := natted(p, path.NAT)
	if path.NAT.SrcAddrOf != "" {
		if ips := tr.nodeIPs(name); len(ips) > 0 {
			np.src = netip.AddrPortFrom(ips[0], np.src.Port())
		}
	}
	return np.src
}

// keepSource says whether the cluster's configuration wants the pod's
// source kept to dst: ip-masq-agent's NonMasqueradeCIDRs (ok false when
// the bundle has no ip-masq-agent configuration, or the source is no pod).
func (tr *Tracer) keepSource(p pkt, dst netip.Addr) (keep bool, cidr netip.Prefix, ok bool) {
	m := tr.c.Kube.Masq
	if m == nil || !tr.isPodIP(p.src.Addr()) {
		return false, netip.Prefix{}, false
	}
	keep, cidr = m.NonMasq(dst)
	return keep, cidr, true
}

// rivalSNAT settles the flow's source between the node's iptables
// backends once the primary backend's path is known (np is the packet as
// that path leaves it). It returns the packet to continue with, or
// done=true when it forked the walk (each branch continued by then).
func (tr *Tracer) rivalSNAT(w *walk, n *model.Node, name string, p, np pkt, in arrival, ns *nodeSim, path netfilter.Path) (pkt, bool) {
	mine := snatSide{ns: ns, path: path, src: np.src}
	mine.rule, _ = snatRule(path)
	for _, other := range tr.otherDumps(n, ns) {
		r2 := other.sim.Simulate(tr.backendPacket(n, p, np.dst, in))
		theirs := snatSide{ns: other, src: p.src}
		accepted := false
		for _, q := range r2.Paths {
			if q.Verdict != netfilter.Accept {
				continue
			}
			if !accepted {
				theirs.path, accepted = q, true
			}
			if r, _ := snatRule(q); r != nil {
				theirs.path, theirs.rule = q, r
				theirs.src = tr.sourceAfter(name, p, q)
				break
			}
		}
		if !accepted || mine.rule != nil && theirs.rule != nil && theirs.src.Addr() == mine.src.Addr() {
			// (the other's drops are otherBackend's), or both bind the
			// same source
			continue
		}
		// which side is wrong: against ip-masq-agent's configuration when
		// the bundle has it, else the node's default backend (what
		// `iptables` writes today: kube-proxy's and the agent's current
		// rules) is taken as meant and the other as stale
		keep, cidr, cfg := tr.keepSource(p, np.dst.Addr())
		wrong := func(s snatSide) bool {
			if cfg {
				return keep == (s.rule != nil)
			}
			return s.ns != tr.sim(n)
		}
		at := "node/" + name
		if theirs.rule == nil {
			if mine.rule == nil {
				continue
			}
			if !wrong(mine) || wrong(theirs) {
				// the other binds nothing: it cannot stop mine. An
				// exemption it holds for this flow (a RETURN or ACCEPT
				// added with the other iptables binary, the classic
				// "I excluded it and it is still SNATed") is said
				if k := keepRule(theirs.path); k != nil {
					w.add(said(Step{At: at, Component: "iptables", Before: p.String(), Decision: ActBothBackends,
						Evidence: stepEv(other.file, k)}, "both.snatkept", backendName(other), strings.TrimSpace(k.Text), k.Line, backendName(ns)))
				}
				continue
			}
			// mine binds against the configuration while the other keeps
			// the source as configured: the other's exemption cannot stop
			// mine (the traced dump is the stale one)
			s := Step{At: at, Component: "iptables", Before: p.String(), After: np.String(),
				Decision: ActBothBackends, Evidence: stepEv(ns.file, mine.rule)}
			s.say("both.snatother", backendName(ns), mine.src.Addr(), backendName(other))
			tr.snatSplit(w, n, name, p, s, mine, theirs, cidr, cfg && keep)
			return np, false
		}
		if mine.rule == nil {
			// only the other binds: it decides whatever the order
			s := Step{At: at, Component: "iptables", Before: p.String(), After: pkt{proto: p.proto, src: theirs.src, dst: np.dst}.String(),
				Decision: ActBothBackends, Evidence: stepEv(other.file, theirs.rule)}
			s.say("both.snatother", backendName(other), theirs.src.Addr(), backendName(ns))
			np.src = theirs.src
			if !wrong(theirs) {
				w.add(s)
				return np, false
			}
			tr.snatSplit(w, n, name, p, s, theirs, mine, cidr, cfg && keep)
			return np, false
		}
		if !wrong(mine) && !wrong(theirs) {
			continue
		}
		s := Step{At: at, Component: "iptables", Before: p.String(), Decision: ActAmbiguous, Evidence: ev("file", ns.file)}
		s.say("both.snatorder", backendName(ns), mine.src.Addr(), backendName(other), theirs.src.Addr())
		w.add(s)
		for _, side := range []struct{ win, lose snatSide }{{mine, theirs}, {theirs, mine}} {
			b := w.fork(srcLabel(side.win.src.Addr()) + " (" + backendName(side.win.ns) + ")")
			bp := np
			bp.src = side.win.src
			if wrong(side.win) {
				bs := Step{At: at, Component: "iptables", Before: p.String(), After: bp.String(), Decision: ActNAT,
					Evidence: stepEv(side.win.ns.file, side.win.rule)}
				bs.say("both.snatfirst", backendName(side.win.ns), side.win.src.Addr())
				tr.snatSplit(b, n, name, p, bs, side.win, side.lose, cidr, cfg && keep)
			}
			tr.afterSNAT(b, n, name, p, bp, in, ns, path)
		}
		return np, true
	}
	return np, false
}

// srcLabel names a branch by its source (an identifier: not translated).
func srcLabel(a netip.Addr) string { return "source " + a.String() }

// snatSplit adds the step where a stale backend's SNAT decides the
// flow's source — the failing hop: the flow still leaves, with a source
// the peer does not expect (wrong-source-ip) — and its finding,
// IPTABLES_BACKEND_SPLIT naming the rule (manip snat).
func (tr *Tracer) snatSplit(w *walk, n *model.Node, name string, p pkt, s Step, stale, current snatSide, cidr netip.Prefix, byConfig bool) {
	s.Failed, s.Finding, s.Tags = true, "IPTABLES_BACKEND_SPLIT", []string{TagStale}
	w.add(s)
	legacy, nft := n.Backends()
	args := finding.Args{"node": name, "flow": p.String(), "manip": "snat", "stale": backendName(stale.ns), "file": stale.ns.file,
		"source": stale.src.Addr().String(), "current": backendName(current.ns), "peer": p.dst.Addr().String()}
	if legacy != nil && legacy.Rules != nil {
		args["legacy"] = itoa(legacy.Rules.NumRules())
	}
	if nft != nil && nft.Rules != nil {
		args["nft"] = itoa(nft.Rules.NumRules())
	}
	if current.rule != nil {
		args["current_src"] = current.src.Addr().String()
	}
	if byConfig && cidr.IsValid() {
		args["nonmasq"] = cidr.String()
	}
	r := stale.rule
	args["table"], args["chain"], args["rule"], args["line"] = r.Table, r.Chain, itoa(r.Rule), itoa(r.Line)
	args["text"] = strings.TrimSpace(r.Text)
	if spec, ok := strings.CutPrefix(args["text"], "-A "); ok {
		args["spec"] = spec
	}
	evs := []finding.Evidence{{File: stale.ns.file, Line: r.Line, Excerpt: "*nat " + strings.TrimSpace(r.Text)}}
	if _, entry := snatRule(stale.path); entry != nil && entry != r {
		evs = append(evs, finding.Evidence{File: stale.ns.file, Line: entry.Line, Excerpt: "*nat " + strings.TrimSpace(entry.Text)})
	}
	if current.rule != nil {
		evs = append(evs, finding.Evidence{File: current.ns.file, Line: current.rule.Line, Excerpt: "*nat " + strings.TrimSpace(current.rule.Text)})
	} else if step := keepRule(current.path); step != nil {
		evs = append(evs, finding.Evidence{File: current.ns.file, Line: step.Line, Excerpt: "*nat " + strings.TrimSpace(step.Text)})
	}
	w.noteReason, w.noteSymptom = "IPTABLES_BACKEND_SPLIT", "wrong-source-ip"
	w.noteFinding = newFinding("IPTABLES_BACKEND_SPLIT", args, []string{"node/" + name}, evs...)
}

// keepRule is the rule of a path that kept the source in nat POSTROUTING
// (ip-masq-agent's RETURN for a NonMasqueradeCIDR, an ACCEPT), if one did.
func keepRule(path netfilter.Path) *netfilter.Step {
	var keep *netfilter.Step
	for i := range path.Steps {
		st := &path.Steps[i]
		if st.Table == "nat" && st.Hook == "POSTROUTING" && st.Rule > 0 && slices.Contains([]string{"RETURN", "ACCEPT"}, st.Target) {
			keep = st
		}
	}
	return keep
}
