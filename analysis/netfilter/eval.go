package netfilter

import (
	"fmt"
	"net/netip"
	"strings"

	"tkesnap/analysis/finding"
	"tkesnap/parsers/iptables"
)

// maxDepth bounds nested jumps; the kernel refuses loops, a hand-made dump
// may still hold one.
const maxDepth = 64

// maxVisits bounds the rules one simulation may evaluate (a 10k-Service
// kube-proxy dump needs a few hundred with the chain index).
const maxVisits = 250_000

type resKind int

const (
	kVerdict resKind = iota // verdict set
	kReturn                 // fell off the end or RETURN
)

type res struct {
	st      *state
	kind    resKind
	verdict string
}

// base runs a built-in chain: rules, then the policy when no rule decided.
func (r *run) base(st *state, c *iptables.Chain) []res {
	var out []res
	for _, x := range r.chain(st, c, 0, 0) {
		if x.kind == kReturn {
			x.st.steps = append(x.st.steps, Step{Table: c.Table, Chain: c.Name, Rule: 0, Line: c.Line, Target: c.Policy, Hook: x.st.hook})
			x = res{st: x.st, kind: kVerdict, verdict: c.Policy}
		}
		out = append(out, x)
	}
	return out
}

// chain evaluates rules of c from index i.
func (r *run) chain(st *state, c *iptables.Chain, i, depth int) []res {
	// a lazily parsed dump parses a rule when a packet reaches it
	ix := r.s.chainIndex(c)
	n := c.Len()
	for ; i < n; i++ {
		if ix != nil {
			if i = ix.next(i, st.dst.Addr(), n); i >= n {
				break
			}
		}
		if r.visits++; r.visits > maxVisits {
			// A legal dump can still call the same chain from many rules at
			// many levels: bound the work, say the answer is incomplete.
			r.truncated = true
			st.because(finding.Say("nf.budget"))
			st.unknown = true
			return []res{{st: st, kind: kVerdict, verdict: Ambiguous}}
		}
		rule := c.Rule(i)
		ok, conds := r.match(st, rule)
		if !ok {
			continue
		}
		if len(conds) == 0 {
			return r.target(st, c, i, depth)
		}
		return r.fork(st, c, i, depth, conds)
	}
	return []res{{st: st, kind: kReturn}}
}

// cond is a part of a rule the simulation cannot evaluate to one value.
type cond struct {
	stat bool    // -m statistic: matches with probability p
	p    float64 // for stat
	text string  // for unknown: what was assumed
}

func (r *run) fork(st *state, c *iptables.Chain, i, depth int, conds []cond) []res {
	rule := c.Rule(i)
	p := 1.0
	var unk []string
	for _, cd := range conds {
		if cd.stat {
			p *= cd.p
		} else {
			unk = append(unk, cd.text)
		}
	}
	if len(unk) == 0 {
		// xt_statistic: the kernel draws one outcome; keep both with their
		// share.
		switch {
		case p <= 0:
			return r.chain(st, c, i+1, depth)
		case p >= 1:
			return r.target(st, c, i, depth)
		}
	}
	if r.paths >= r.s.opts.MaxPaths {
		r.truncated = true
		st.because(finding.Say("nf.branches"))
		st.unknown = true
		return []res{{st: st, kind: kVerdict, verdict: Ambiguous}}
	}
	r.paths++ // count forks so that a pathological dump stays bounded
	yes, no := st.clone(), st
	where := fmt.Sprintf("%s/%s#%d line %d", c.Table, c.Name, rule.Pos, rule.Line)
	if len(unk) > 0 {
		for _, u := range unk {
			r.noteUnknown(fmt.Sprintf("%s: %s", where, u))
		}
		yes.assumptions = append(yes.assumptions, fmt.Sprintf("assumed %s matches (%s)", strings.Join(unk, " "), where))
		no.assumptions = append(no.assumptions, fmt.Sprintf("assumed %s does not match (%s)", strings.Join(unk, " "), where))
	}
	// Probabilities of a fork always sum to the parent's. A statistic
	// share is exact (xt_statistic draws it); an undecidable match has no
	// known share, so it splits the parent's probability in half — the
	// bundle says nothing about which way is likelier — and its paths are
	// marked Undecided: their probability is not a measured share.
	base := st.prob
	q := p
	if len(unk) > 0 {
		q = p / 2
	}
	yes.prob = base * q
	no.prob = base * (1 - q)
	out := r.target(yes, c, i, depth)
	return append(out, r.chain(no, c, i+1, depth)...)
}

// target applies the target of rule i of c to a packet that matched it.
func (r *run) target(st *state, c *iptables.Chain, i, depth int) []res {
	rule := c.Rule(i)
	t := &rule.Target
	step := Step{Table: c.Table, Chain: c.Name, Rule: rule.Pos, Line: rule.Line, Target: t.Name, Text: rule.Text, Hook: st.hook}
	if t.Name == "" {
		step.Target = ""
		st.steps = append(st.steps, step)
		return r.chain(st, c, i+1, depth)
	}
	tab := r.s.tables[c.Table]
	// A user chain wins over an extension target of the same name (iptables
	// looks the chain up first when it parses -j).
	if sub := tab.Chain(t.Name); sub != nil && !sub.Builtin() {
		st.steps = append(st.steps, step)
		if depth >= maxDepth {
			st.because(finding.Say("nf.nesting", sub.Name))
			st.unknown = true
			return []res{{st: st, kind: kVerdict, verdict: Ambiguous}}
		}
		var out []res
		for _, x := range r.chain(st, sub, 0, depth+1) {
			switch {
			case x.kind == kVerdict:
				out = append(out, x)
			case t.Goto:
				// -g: the called chain's end returns from this chain too
				// (iptables(8) --goto).
				out = append(out, res{st: x.st, kind: kReturn})
			default:
				out = append(out, r.chain(x.st, c, i+1, depth)...)
			}
		}
		return out
	}
	switch t.Name {
	case "ACCEPT", "DROP":
		st.steps = append(st.steps, step)
		return []res{{st: st, kind: kVerdict, verdict: t.Name}}
	case "REJECT":
		if rj, ok := t.Decoded.(*iptables.Reject); ok {
			step.Note = "reject-with " + rj.With
		}
		st.steps = append(st.steps, step)
		return []res{{st: st, kind: kVerdict, verdict: Reject}}
	case "RETURN":
		st.steps = append(st.steps, step)
		return []res{{st: st, kind: kReturn}}
	case "MARK":
		if mt, ok := t.Decoded.(*iptables.MarkTarget); ok {
			st.mark = st.mark&^mt.Mask ^ mt.Xor
			step.Note = fmt.Sprintf("mark now 0x%x", st.mark)
		} else {
			return r.undecidableTarget(st, c, i, step)
		}
		st.steps = append(st.steps, step)
		return r.chain(st, c, i+1, depth)
	case "CONNMARK":
		mt, ok := t.Decoded.(*iptables.MarkTarget)
		if !ok {
			return r.undecidableTarget(st, c, i, step)
		}
		if st.ct != "UNTRACKED" && st.ct != "INVALID" {
			switch {
			case mt.SaveMark:
				st.ctmark = st.ctmark&^mt.CtMask | st.mark&mt.NfMask&mt.CtMask
			case mt.RestoreMark:
				st.mark = st.mark&^mt.NfMask | st.ctmark&mt.CtMask&mt.NfMask
			default:
				st.ctmark = st.ctmark&^mt.Mask ^ mt.Xor
			}
		}
		st.steps = append(st.steps, step)
		return r.chain(st, c, i+1, depth)
	case "NOTRACK":
		st.ct = "UNTRACKED"
		st.steps = append(st.steps, step)
		return r.chain(st, c, i+1, depth)
	case "CT":
		if _, ok := t.Decoded.(*iptables.Notrack); ok {
			st.ct = "UNTRACKED"
			step.Note = "untracked: nat is skipped, --ctstate NEW no longer matches"
		}
		st.steps = append(st.steps, step)
		return r.chain(st, c, i+1, depth)
	case "DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP":
		if c.Table != "nat" {
			return r.undecidableTarget(st, c, i, step)
		}
		nt, ok := t.Decoded.(*iptables.NATTarget)
		if !ok {
			return r.undecidableTarget(st, c, i, step)
		}
		step.Note = r.nat(st, t.Name, nt)
		st.steps = append(st.steps, step)
		// NAT targets are terminal (NF_ACCEPT) in their nat chain.
		return []res{{st: st, kind: kVerdict, verdict: Accept}}
	case "LOG", "NFLOG", "ULOG", "TRACE", "AUDIT", "CLASSIFY", "DSCP", "TOS", "TCPMSS", "CHECKSUM",
		"TTL", "HL", "SECMARK", "CONNSECMARK", "SET", "IDLETIMER", "LED", "RATEEST", "ECN",
		"TCPOPTSTRIP", "TEE":
		// Non-terminating targets that change neither verdict, addresses
		// nor marks (iptables-extensions(8)).
		st.steps = append(st.steps, step)
		return r.chain(st, c, i+1, depth)
	}
	return r.undecidableTarget(st, c, i, step)
}

// undecidableTarget ends a path whose target the simulation cannot apply:
// NFQUEUE (a userspace program decides), TPROXY, HMARK, a jump to a chain
// missing from the dump, or a target whose options did not parse.
func (r *run) undecidableTarget(st *state, c *iptables.Chain, i int, step Step) []res {
	rule := c.Rule(i)
	say := finding.Say("nf.target", rule.Target.Name)
	if r.s.tables[c.Table].Chain(rule.Target.Name) == nil && !iptables.IsExtensionTarget(rule.Target.Name) {
		say = finding.Say("nf.nochain", rule.Target.Name)
	} else if rule.Target.DecodeErr != "" {
		say = finding.Say("nf.targeterr", rule.Target.Name, rule.Target.DecodeErr)
	}
	why := say.In(finding.EN)
	r.noteUnknown(fmt.Sprintf("%s/%s#%d line %d: %s", c.Table, c.Name, rule.Pos, rule.Line, why))
	step.Note = why
	st.steps = append(st.steps, step)
	st.because(say)
	st.unknown = true
	return []res{{st: st, kind: kVerdict, verdict: Ambiguous}}
}

// nat applies a NAT target on the first packet and returns a note.
func (r *run) nat(st *state, name string, nt *iptables.NATTarget) string {
	dstHook := st.hook == "PREROUTING" || st.hook == "OUTPUT"
	var notes []string
	switch name {
	case "DNAT", "SNAT":
		to := nt.To[0]
		if len(nt.To) > 1 {
			notes = append(notes, "several --to ranges: the kernel uses the first")
		}
		ap := st.src
		if name == "DNAT" {
			ap = st.dst
		}
		addr := ap.Addr()
		if to.Lo.IsValid() {
			addr = to.Lo
			if to.Hi != to.Lo {
				notes = append(notes, fmt.Sprintf("address range %s-%s: the kernel hashes the connection onto one; %s shown", to.Lo, to.Hi, to.Lo))
			}
		}
		port := ap.Port()
		if to.Ports != nil && (name == "DNAT" || port < to.Ports.Lo || port > to.Ports.Hi) {
			if to.Ports.Lo != to.Ports.Hi {
				notes = append(notes, fmt.Sprintf("port range %d-%d: the kernel picks one; %d shown", to.Ports.Lo, to.Ports.Hi, to.Ports.Lo))
			}
			port = to.Ports.Lo
		}
		if st.proto != 6 && st.proto != 17 && st.proto != 132 && st.proto != 136 {
			port = ap.Port()
		}
		np := netip.AddrPortFrom(addr, port)
		if name == "DNAT" {
			st.dst, st.dnat = np, true
		} else {
			st.src, st.snat = np, true
		}
	case "MASQUERADE":
		a, note := r.ifaceAddr(st.out, st.src.Addr().Is6())
		if note != "" {
			notes = append(notes, note)
		}
		st.srcAddrOf = ""
		if !a.IsValid() {
			st.srcAddrOf = st.out
		} else if note != "" {
			st.addrAssumed = note
		}
		port := st.src.Port()
		if nt.Ports != nil && (port < nt.Ports.Lo || port > nt.Ports.Hi) {
			port = nt.Ports.Lo
			notes = append(notes, fmt.Sprintf("source port mapped into %d-%d", nt.Ports.Lo, nt.Ports.Hi))
		}
		st.src, st.snat = netip.AddrPortFrom(a, port), true
	case "REDIRECT":
		var a netip.Addr
		if st.hook == "OUTPUT" {
			// nf_nat_redirect_ipv4: locally generated packets go to 127.0.0.1.
			a = netip.MustParseAddr("127.0.0.1")
			if st.dst.Addr().Is6() {
				a = netip.IPv6Loopback()
			}
		} else {
			var note string
			a, note = r.ifaceAddr(st.in, st.dst.Addr().Is6())
			if note != "" {
				notes = append(notes, note)
			}
			st.dstAddrOf = ""
			if !a.IsValid() {
				st.dstAddrOf = st.in
			} else if note != "" {
				st.addrAssumed = note
			}
		}
		port := st.dst.Port()
		if nt.Ports != nil {
			port = nt.Ports.Lo
		}
		st.dst, st.dnat = netip.AddrPortFrom(a, port), true
	case "NETMAP":
		pf := nt.NetmapTo
		ap := &st.src
		if dstHook {
			ap = &st.dst
		}
		b := ap.Addr().AsSlice()
		to := pf.Addr().AsSlice()
		bits := pf.Bits()
		for k := range b {
			m := byte(0)
			if bits >= 8 {
				m = 0xff
			} else if bits > 0 {
				m = byte(0xff << (8 - bits))
			}
			bits -= 8
			b[k] = b[k]&^m | to[k]&m
		}
		na, _ := netip.AddrFromSlice(b)
		*ap = netip.AddrPortFrom(na, ap.Port())
		if dstHook {
			st.dnat = true
		} else {
			st.snat = true
		}
	}
	if nt.RandomFully {
		st.randomFully = true
		notes = append(notes, "--random-fully: the source port is chosen at random")
	} else if nt.Random && (name == "SNAT" || name == "MASQUERADE") {
		st.randomFully = true
		notes = append(notes, "--random: the source port is randomised")
	}
	shown := func(ap netip.AddrPort, of string) string {
		if of != "" {
			return fmt.Sprintf("<address of %s>:%d", of, ap.Port())
		}
		return ap.String()
	}
	if dstHook || name == "REDIRECT" {
		notes = append([]string{"dst now " + shown(st.dst, st.dstAddrOf)}, notes...)
	} else {
		notes = append([]string{"src now " + shown(st.src, st.srcAddrOf)}, notes...)
	}
	return strings.Join(notes, "; ")
}

// ifaceAddr is the primary address of an interface (MASQUERADE picks the
// out interface's address, REDIRECT the in interface's).
func (r *run) ifaceAddr(iface string, v6 bool) (netip.Addr, string) {
	m := r.s.opts.IfaceAddrs
	if v6 {
		m = r.s.opts.IfaceAddrs6
	}
	if a, ok := m[iface]; ok && a.Is6() == v6 {
		return a, ""
	}
	if a, ok := r.s.opts.IfaceAddrs[iface]; ok && a.Is6() == v6 {
		return a, ""
	}
	for _, a := range r.s.opts.LocalAddrs {
		if a.Is6() == v6 && !a.IsLoopback() {
			return a, fmt.Sprintf("address of %s not given: assumed %s (the first --local-ip)", iface, a)
		}
	}
	// unknown: an invalid address, which the result names as
	// "<address of IFACE>" (never 0.0.0.0, which no packet carries)
	return netip.Addr{}, "address of " + iface + " unknown (give --local-ip " + iface + "=IP or the node's addresses)"
}
