package netfilter

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"tkesnap/parsers/iptables"
)

// match decides whether rule matches the packet in st. ok=false: it does
// not. ok=true and no conds: it does. Otherwise the rule matches only if
// every cond holds (statistic draws, undecidable modules).
func (r *run) match(st *state, rule *iptables.Rule) (bool, []cond) {
	// Base match first (ip_packet_match): cheapest, and most rules of a
	// kube-proxy dump differ in -d.
	if rule.Dst.Set && !addrMatch(&rule.Dst, st.dst.Addr()) {
		return false, nil
	}
	if rule.Src.Set && !addrMatch(&rule.Src, st.src.Addr()) {
		return false, nil
	}
	var conds []cond
	if rule.Proto.Set && rule.Proto.Num < 0 {
		// a protocol name this tool does not know (and the dump's
		// /etc/protocols did): undecidable, not "never"
		conds = append(conds, cond{text: "-p " + rule.Proto.Name + " (unknown protocol name)"})
	} else if rule.Proto.Set && rule.Proto.Num != 0 {
		if (int(st.proto) == rule.Proto.Num) == rule.Proto.Neg {
			return false, nil
		}
	} else if rule.Proto.Set && rule.Proto.Num == 0 && rule.Proto.Neg {
		return false, nil // "! -p all" matches nothing
	}
	if rule.In.Set && ifaceMatch(rule.In.Name, st.in) == rule.In.Neg {
		return false, nil
	}
	if rule.Out.Set && ifaceMatch(rule.Out.Name, st.out) == rule.Out.Neg {
		return false, nil
	}
	if rule.Fragment == 1 {
		return false, nil // simulated packets are never non-first fragments
	}
	for _, m := range rule.Matches {
		v, c := r.module(st, rule, m)
		switch v {
		case no:
			return false, nil
		case maybe:
			conds = append(conds, c)
		}
	}
	return true, conds
}

type tri int

const (
	yes tri = iota
	no
	maybe
)

func b2t(b bool) tri {
	if b {
		return yes
	}
	return no
}

func addrMatch(a *iptables.Addr, ip netip.Addr) bool {
	in := a.Prefix.Contains(ip)
	for _, p := range a.Prefixes[min(1, len(a.Prefixes)):] {
		in = in || p.Contains(ip)
	}
	return in != a.Neg
}

// ifaceMatch compares like the kernel: "eth+" is a prefix, anything else
// the whole name; a missing device is "".
func ifaceMatch(pattern, name string) bool {
	if strings.HasSuffix(pattern, "+") {
		return strings.HasPrefix(name, pattern[:len(pattern)-1])
	}
	return pattern == name
}

func unknownCond(m *iptables.Match) cond {
	return cond{text: MatchText(m)}
}

// MatchText renders a match as iptables-save would: "-m owner --uid-owner 0".
func MatchText(m *iptables.Match) string {
	var b strings.Builder
	if !m.Implicit {
		b.WriteString("-m " + m.Name)
	}
	for _, o := range m.Opts {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if o.Neg {
			b.WriteString("! ")
		}
		b.WriteString("--" + o.Name)
		for _, a := range o.Args {
			if strings.ContainsAny(a, " \t\"") || a == "" {
				a = fmt.Sprintf("%q", a)
			}
			b.WriteString(" " + a)
		}
	}
	return b.String()
}

func portIn(ps *iptables.Ports, p uint16) bool {
	return ps.Contains(p) != ps.Neg
}

func (r *run) module(st *state, rule *iptables.Rule, m *iptables.Match) (tri, cond) {
	switch d := m.Decoded.(type) {
	case nil:
		return maybe, unknownCond(m)
	case *iptables.Comment:
		return yes, cond{}
	case *iptables.ProtoMatch:
		// The tcp/udp match only sees packets of its protocol (xt_tcpudp
		// is registered per protocol and iptables requires -p).
		want := protoNumber(m.Name)
		if st.proto != want {
			return no, cond{}
		}
		if d.Sport != nil && !portIn(d.Sport, st.src.Port()) {
			return no, cond{}
		}
		if d.Dport != nil && !portIn(d.Dport, st.dst.Port()) {
			return no, cond{}
		}
		if d.TCPFlags != nil && ((st.tcpFlags&d.TCPFlags.Mask == d.TCPFlags.Comp) == d.TCPFlags.Neg) {
			return no, cond{}
		}
		if len(d.Other) > 0 {
			return maybe, unknownCond(m)
		}
		return yes, cond{}
	case *iptables.Multiport:
		switch st.proto {
		case 6, 17, 132, 136, 33:
		default:
			return no, cond{}
		}
		if d.Sports != nil && !portIn(d.Sports, st.src.Port()) {
			return no, cond{}
		}
		if d.Dports != nil && !portIn(d.Dports, st.dst.Port()) {
			return no, cond{}
		}
		if d.Ports != nil && (d.Ports.Contains(st.src.Port()) || d.Ports.Contains(st.dst.Port())) == d.Ports.Neg {
			return no, cond{}
		}
		return yes, cond{}
	case *iptables.Addrtype:
		if d.LimitIn || d.LimitOut {
			return maybe, unknownCond(m)
		}
		for _, side := range []struct {
			types []string
			neg   bool
			a     netip.Addr
		}{{d.Src, d.SrcNeg, st.src.Addr()}, {d.Dst, d.DstNeg, st.dst.Addr()}} {
			if side.types == nil {
				continue
			}
			v := r.addrType(side.a, side.types)
			if v == maybe {
				return maybe, unknownCond(m)
			}
			if (v == yes) == side.neg {
				return no, cond{}
			}
		}
		return yes, cond{}
	case *iptables.Conntrack:
		return r.conntrack(st, d, m)
	case *iptables.MarkMatch:
		v := st.mark
		if m.Name == "connmark" {
			if st.ct == "UNTRACKED" || st.ct == "INVALID" {
				return no, cond{}
			}
			if st.ct != "NEW" {
				return maybe, unknownCond(m)
			}
			v = st.ctmark
		}
		return b2t((v&d.Mask == d.Value) != d.Neg), cond{}
	case *iptables.Statistic:
		p := d.Probability
		if d.Mode == "nth" {
			// Every n-th packet, counted per rule since it was loaded: which
			// one this is depends on earlier traffic.
			p = 1 / float64(d.Every)
		}
		if d.Neg {
			p = 1 - p
		}
		return maybe, cond{stat: true, p: p}
	case *iptables.Recent:
		switch d.Command {
		case "set":
			// --set records the source and always matches.
			return b2t(!d.Neg), cond{}
		default:
			if r.s.opts.RecentEmpty {
				return b2t(d.Neg), cond{}
			}
			return maybe, cond{text: MatchText(m) + " (recent list contents are not in the dump)"}
		}
	case *iptables.SetMatch:
		if r.s.opts.Sets == nil {
			return maybe, cond{text: MatchText(m) + " (no ipset data)"}
		}
		hit, known := r.s.opts.Sets.MatchSet(d.Name, d.Flags, Tuple{Proto: st.proto, Src: st.src, Dst: st.dst})
		if !known {
			return maybe, cond{text: MatchText(m) + " (set " + d.Name + " not in the ipset data)"}
		}
		if len(d.Other) > 0 && !onlyCounterUpdates(d.Other) {
			return maybe, unknownCond(m)
		}
		return b2t(hit != d.Neg), cond{}
	case *iptables.Physdev:
		return b2t(physdev(st, d)), cond{}
	case *iptables.ICMPMatch:
		want := uint8(1)
		if m.Name != "icmp" {
			want = 58
		}
		if st.proto != want {
			return no, cond{}
		}
		hit := d.Any || (st.icmpType == d.Type && (d.Code < 0 || st.icmpCode == d.Code))
		return b2t(hit != d.Neg), cond{}
	case *iptables.IPRange:
		if d.Src != nil && inRange(d.Src, st.src.Addr()) == d.SrcNeg {
			return no, cond{}
		}
		if d.Dst != nil && inRange(d.Dst, st.dst.Addr()) == d.DstNeg {
			return no, cond{}
		}
		return yes, cond{}
	case *iptables.PktType:
		t := "unicast"
		a := st.dst.Addr()
		switch {
		case a.IsMulticast():
			t = "multicast"
		case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			t = "broadcast"
		}
		return b2t((t == d.Type) != d.Neg), cond{}
	}
	return maybe, unknownCond(m)
}

func onlyCounterUpdates(opts []iptables.Option) bool {
	for _, o := range opts {
		if o.Name != "update-counters" && o.Name != "update-subcounters" {
			return false
		}
	}
	return true
}

func inRange(rg *[2]netip.Addr, a netip.Addr) bool {
	return a.Compare(rg[0]) >= 0 && a.Compare(rg[1]) <= 0
}

// addrType decides whether address a has one of the route types (xt_addrtype
// looks the address up in the local routing table).
func (r *run) addrType(a netip.Addr, types []string) tri {
	t := "UNICAST"
	switch {
	case r.s.IsLocal(a):
		t = "LOCAL"
	case a.IsMulticast():
		t = "MULTICAST"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		t = "BROADCAST"
	case a.IsUnspecified():
		// 0.0.0.0 has no route of its own; only the routing table decides.
		return maybe
	}
	if slices.Contains(types, t) {
		return yes
	}
	if t == "UNICAST" {
		// A non-local unicast address could still be a subnet broadcast,
		// blackhole, unreachable or prohibit route: only the routing table
		// knows.
		for _, x := range types {
			switch x {
			case "BROADCAST", "BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW", "ANYCAST", "NAT", "XRESOLVE", "UNSPEC":
				return maybe
			}
		}
	}
	return no
}

// conntrack evaluates -m conntrack / -m state for a packet whose connection
// is described by st (xt_conntrack conntrack_mt).
func (r *run) conntrack(st *state, d *iptables.Conntrack, m *iptables.Match) (tri, cond) {
	tracked := st.ct != "UNTRACKED" && st.ct != "INVALID"
	if d.State != nil {
		hit := false
		for _, s := range d.State {
			switch s {
			case "SNAT":
				hit = hit || (tracked && st.snat)
			case "DNAT":
				hit = hit || (tracked && st.dnat && st.dnatDone)
			default:
				hit = hit || s == st.ct
			}
		}
		if hit == d.StateNeg {
			return no, cond{}
		}
	}
	if !tracked {
		// Without a conntrack entry only the state test can succeed.
		if d.Status != nil || d.OrigSrc != nil || d.OrigDst != nil || d.ReplSrc != nil || d.ReplDst != nil ||
			d.Proto != nil || d.OrigSrcPort != nil || d.OrigDstPort != nil || d.ReplSrcPort != nil || d.ReplDstPort != nil {
			return no, cond{}
		}
		return yes, cond{}
	}
	if st.ct != "NEW" && (d.Status != nil || d.ReplSrc != nil || d.ReplDst != nil || d.ReplSrcPort != nil || d.ReplDstPort != nil) {
		// An existing connection's status and reply tuple are not in the
		// dump (they are in conntrack -L).
		return maybe, unknownCond(m)
	}
	if d.Status != nil {
		// A new, unconfirmed entry has none of EXPECTED, SEEN_REPLY,
		// ASSURED, CONFIRMED set.
		hit := false
		for _, s := range d.Status {
			if s == "NONE" {
				hit = true
			}
		}
		if hit == d.StatusNeg {
			return no, cond{}
		}
	}
	// The reply tuple of a new connection: reply src is the (DNATed)
	// destination, reply dst the (SNATed) source.
	checks := []struct {
		a  *iptables.Addr
		ip netip.Addr
	}{{d.OrigSrc, st.origSrc.Addr()}, {d.OrigDst, st.origDst.Addr()}, {d.ReplSrc, st.dst.Addr()}, {d.ReplDst, st.src.Addr()}}
	for _, c := range checks {
		if c.a != nil && !addrMatch(c.a, c.ip) {
			return no, cond{}
		}
	}
	ports := []struct {
		ps *iptables.Ports
		p  uint16
	}{{d.OrigSrcPort, st.origSrc.Port()}, {d.OrigDstPort, st.origDst.Port()}, {d.ReplSrcPort, st.dst.Port()}, {d.ReplDstPort, st.src.Port()}}
	for _, c := range ports {
		if c.ps != nil && !portIn(c.ps, c.p) {
			return no, cond{}
		}
	}
	if d.Proto != nil && (int(st.proto) == d.Proto.Num) == d.Proto.Neg {
		return no, cond{}
	}
	if d.Dir == "REPLY" { // the simulated packet is in the original direction
		return no, cond{}
	}
	if len(d.Other) > 0 {
		return maybe, unknownCond(m)
	}
	return yes, cond{}
}

// physdev follows xt_physdev: a packet that did not cross a bridge matches
// only when every option used is negated.
func physdev(st *state, d *iptables.Physdev) bool {
	if !st.bridged {
		if d.IsBridged && !d.BridgedNeg || d.IsIn && !d.IsInNeg || d.IsOut && !d.IsOutNeg ||
			d.In != nil && !d.In.Neg || d.Out != nil && !d.Out.Neg {
			return false
		}
		return true
	}
	// The bridge output port is chosen after PREROUTING: br_netfilter
	// sets physoutdev only for the FORWARD/POSTROUTING passes of a frame
	// the bridge forwards between its ports ("is-bridged").
	physOut := ""
	if st.hook == "FORWARD" || st.hook == "POSTROUTING" {
		physOut = st.physOut
	}
	if d.IsBridged && (physOut != "") == d.BridgedNeg {
		return false
	}
	if d.IsIn && (st.physIn != "") == d.IsInNeg {
		return false
	}
	if d.IsOut && (physOut != "") == d.IsOutNeg {
		return false
	}
	if d.In != nil && ifaceMatch(d.In.Name, st.physIn) == d.In.Neg {
		return false
	}
	if d.Out != nil && ifaceMatch(d.Out.Name, physOut) == d.Out.Neg {
		return false
	}
	return true
}
