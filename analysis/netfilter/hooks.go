package netfilter

import (
	"net/netip"
	"strconv"
	"strings"
	"tkesnap/analysis/finding"
)

// state is one path's view of the packet while it crosses the hooks.
type state struct {
	proto            uint8
	protoName        string
	src, dst         netip.AddrPort
	origSrc, origDst netip.AddrPort
	in, out          string // interfaces visible in the current hook
	inIface          string // the arrival interface
	pktOut           string // Packet.OutIface: the egress when Options.Route is nil
	mark, ctmark     uint32
	ct               string // NEW, ESTABLISHED, RELATED, INVALID, UNTRACKED
	dnatDone         bool   // DST manip initialised (nat PREROUTING/OUTPUT ran)
	snatDone         bool   // SRC manip initialised (nat INPUT/POSTROUTING ran)
	dnat, snat       bool   // an address was rewritten
	randomFully      bool
	// srcAddrOf/dstAddrOf: MASQUERADE/REDIRECT used the address of an
	// interface the options do not give; addrAssumed says which
	// --local-ip stood in for it instead.
	srcAddrOf, dstAddrOf string
	addrAssumed          string
	ipvs                 *ipvsInfo
	hook                 string
	localOut             bool
	tcpFlags             uint8
	icmpType             int
	icmpCode             int
	bridged              bool
	physIn, physOut      string
	prob                 float64
	steps                []Step
	assumptions          []string
	delivered            string
	reason               string
	why                  finding.Phrase // reason, worded per language
	unknown              bool           // an assumption or undecidable target on this path
}

// because sets the reason of a verdict that is not from a rule.
func (st *state) because(p finding.Phrase) {
	st.why, st.reason = p, p.In(finding.EN)
}

func init() {
	finding.RegisterPhrases(finding.EN, map[string]string{
		"nf.budget":    "evaluation stopped after visiting too many rules",
		"nf.branches":  "too many undecidable branches",
		"nf.nesting":   "chain nesting deeper than 64 (loop?) at %[1]s",
		"nf.target":    "target -j %[1]s cannot be simulated",
		"nf.nochain":   "jump to chain %[1]s that is not in the dump",
		"nf.targeterr": "target -j %[1]s: %[2]s",
		"nf.hairpin":   "bridge hairpin: %[1]s has hairpin_mode off, the bridge drops a frame that must leave by the port it came in on",
		"nf.ipvs.nors": "IPVS virtual service has no real server",
	})
	finding.RegisterPhrases(finding.ZH, map[string]string{
		"nf.budget":    "访问的规则过多，模拟已停止",
		"nf.branches":  "无法判定的分支过多",
		"nf.nesting":   "在 %[1]s 处链的嵌套超过 64 层（可能有环）",
		"nf.target":    "无法模拟目标 `-j %[1]s`",
		"nf.nochain":   "跳转到导出规则中不存在的链 %[1]s",
		"nf.targeterr": "目标 `-j %[1]s`：“%[2]s”",
		"nf.hairpin":   "网桥 hairpin：%[1]s 的 hairpin_mode 为关闭，网桥丢弃必须从进入端口发回的帧",
		"nf.ipvs.nors": "IPVS 虚拟服务没有可用的后端",
	})
}

type ipvsInfo struct {
	vaddr netip.AddrPort
	proto string
	fwd   string
}

func (st *state) clone() *state {
	c := *st
	c.steps = append([]Step(nil), st.steps...)
	c.assumptions = append([]string(nil), st.assumptions...)
	return &c
}

// run is one simulation: the ruleset plus the paths found so far.
type run struct {
	s         *Sim
	paths     int
	truncated bool
	unknown   []string
	seenUnk   map[string]bool
	visits    int
}

func (r *run) noteUnknown(s string) {
	if !r.seenUnk[s] {
		r.seenUnk[s] = true
		r.unknown = append(r.unknown, s)
	}
}

// Simulate evaluates one packet.
func (s *Sim) Simulate(p Packet) Result {
	r := &run{s: s, seenUnk: map[string]bool{}}
	st := s.initial(p)
	var paths []Path
	if p.LocalOut {
		st.out = s.route(st)
		paths = r.output(st)
	} else {
		st.in = p.InIface
		paths = r.prerouting(st)
	}
	if s.loose != "" {
		// A fragment (no *table header): its rules belong to some table
		// and hook the dump does not say, so no verdict can be trusted.
		r.noteUnknown(s.loose)
		for i := range paths {
			paths[i].Assumptions = append(paths[i].Assumptions, "assumed the rules outside any table do not apply")
		}
	}
	res := Result{Paths: paths, UnknownMatches: r.unknown, Truncated: r.truncated}
	if res.UnknownMatches == nil {
		res.UnknownMatches = []string{}
	}
	res.Verdict = verdictOf(res)
	return res
}

func verdictOf(res Result) string {
	if res.Truncated || len(res.Paths) == 0 {
		return Ambiguous
	}
	v := ""
	for _, p := range res.Paths {
		if len(p.Assumptions) > 0 || p.Verdict == Ambiguous {
			return Ambiguous
		}
		if v == "" {
			v = p.Verdict
		} else if v != p.Verdict {
			return Ambiguous
		}
	}
	return v
}

func (s *Sim) initial(p Packet) *state {
	st := &state{prob: 1, mark: p.Mark, localOut: p.LocalOut, inIface: p.InIface, pktOut: p.OutIface,
		src: p.Src, dst: p.Dst, bridged: p.Bridged, physIn: p.PhysIn, physOut: p.PhysOut}
	st.src = netip.AddrPortFrom(p.Src.Addr().Unmap(), p.Src.Port())
	st.dst = netip.AddrPortFrom(p.Dst.Addr().Unmap(), p.Dst.Port())
	st.protoName = strings.ToLower(p.Proto)
	if st.protoName == "icmp" && st.dst.Addr().Is6() {
		st.protoName = "icmpv6" // ip6tables: -p icmpv6 / -m icmp6
	}
	st.proto = protoNumber(st.protoName)
	if st.proto == 1 || st.proto == 58 {
		st.src = netip.AddrPortFrom(st.src.Addr(), 0)
		st.dst = netip.AddrPortFrom(st.dst.Addr(), 0)
		st.icmpType, st.icmpCode = p.ICMPType, p.ICMPCode
		if p.ICMPType == 0 && p.ICMPCode == 0 {
			st.icmpType = 8
			if st.proto == 58 {
				st.icmpType = 128
			}
		}
	}
	st.origSrc, st.origDst = st.src, st.dst
	st.ct = strings.ToUpper(p.CTState)
	if st.ct == "" {
		st.ct = "NEW"
	}
	st.tcpFlags = p.TCPFlags
	if st.tcpFlags == 0 {
		st.tcpFlags = 0x02 // SYN
		if st.ct != "NEW" {
			st.tcpFlags = 0x10 // ACK
		}
	}
	return st
}

func protoNumber(n string) uint8 {
	switch n {
	case "tcp":
		return 6
	case "udp":
		return 17
	case "icmp":
		return 1
	case "icmpv6", "ipv6-icmp":
		return 58
	case "sctp":
		return 132
	case "udplite":
		return 136
	}
	if v, err := strconv.Atoi(n); err == nil && v >= 0 && v < 256 {
		return uint8(v)
	}
	return 0
}

// route picks the egress interface for the current destination.
func (s *Sim) route(st *state) string {
	if s.IsLocal(st.dst.Addr()) {
		return "lo"
	}
	if s.opts.Route != nil {
		if oif, ok := s.opts.Route(st.dst.Addr(), st.mark); ok {
			return oif
		}
	}
	if st.pktOut != "" {
		return st.pktOut
	}
	return "eth0"
}

// cont is what happens to a packet after the tables of one hook accepted it.
type cont func(*state) []Path

// tables runs the built-in chain hook of each table in order; a packet a
// table accepts goes on to the next table, then to next.
func (r *run) tables(st *state, hook string, names []string, next cont) []Path {
	if len(names) == 0 {
		return next(st)
	}
	name := names[0]
	rest := names[1:]
	if name == "nat" {
		if !r.natRuns(st, hook) {
			return r.tables(st, hook, rest, next)
		}
		// nf_nat_inet_fn consults the table once per manip type; later
		// hooks of the same type use the binding made now (even a null one).
		if hook == "PREROUTING" || hook == "OUTPUT" {
			st.dnatDone = true
		} else {
			st.snatDone = true
		}
	}
	t := r.s.tables[name]
	c := t.Chain(hook)
	if c == nil || !c.Builtin() {
		// iptables-nft registers only the chains the dump declares; for
		// legacy an undeclared built-in chain is empty with policy ACCEPT.
		return r.tables(st, hook, rest, next)
	}
	st.hook = hook
	st.in, st.out = ifacesFor(st, hook)
	var paths []Path
	for _, res := range r.base(st, c) {
		if res.verdict == Accept {
			paths = append(paths, r.tables(res.st, hook, rest, next)...)
		} else {
			paths = append(paths, r.final(res.st, res.verdict))
		}
	}
	return paths
}

// ifacesFor returns what -i/-o see in a hook: the kernel passes no input
// device to LOCAL_OUT/POST_ROUTING and no output device to
// PRE_ROUTING/LOCAL_IN, and iptables compares a missing device as "".
func ifacesFor(st *state, hook string) (string, string) {
	in, out := st.in, st.out
	switch hook {
	case "PREROUTING", "INPUT":
		out = ""
	case "OUTPUT", "POSTROUTING":
		in = ""
	}
	return in, out
}

func (r *run) natRuns(st *state, hook string) bool {
	if st.ct != "NEW" {
		// NAT happens on the first packet; later packets reuse the binding,
		// and untracked/invalid packets have no conntrack entry at all.
		return false
	}
	if hook == "PREROUTING" || hook == "OUTPUT" {
		return !st.dnatDone
	}
	return !st.snatDone
}

func (r *run) final(st *state, verdict string) Path {
	p := Path{Probability: st.prob, Verdict: verdict, Steps: st.steps, Delivered: st.delivered,
		Assumptions: st.assumptions, Reason: st.reason, Why: st.why, Mark: st.mark, Undecided: len(st.assumptions) > 0}
	if p.Steps == nil {
		p.Steps = []Step{}
	}
	if verdict == Accept {
		p.OutIface = st.out
		if st.bridged && st.hook != "INPUT" {
			p.BridgePort = st.physOut
		}
		if st.delivered == "local" {
			p.OutIface = ""
		}
	}
	if st.unknown && verdict != Ambiguous && len(p.Assumptions) == 0 {
		p.Verdict = Ambiguous
	}
	n := &NAT{Src: st.src.String(), Dst: st.dst.String(), RandomFully: st.randomFully}
	if st.proto == 1 || st.proto == 58 {
		n.Src, n.Dst = st.src.Addr().String(), st.dst.Addr().String()
	}
	// never a made-up address: an interface address the input does not
	// give is named as such
	if st.srcAddrOf != "" {
		n.SrcAddrOf = st.srcAddrOf
		n.Src = "<address of " + st.srcAddrOf + ">"
		if st.proto != 1 && st.proto != 58 {
			n.Src += ":" + strconv.Itoa(int(st.src.Port()))
		}
	}
	if st.dstAddrOf != "" {
		n.DstAddrOf = st.dstAddrOf
		n.Dst = "<address of " + st.dstAddrOf + ">"
		if st.proto != 1 && st.proto != 58 {
			n.Dst += ":" + strconv.Itoa(int(st.dst.Port()))
		}
	}
	n.AddrAssumed = st.addrAssumed
	if st.dnat || st.dst != st.origDst {
		n.Changed = append(n.Changed, "dst")
	}
	if st.snat || st.src != st.origSrc {
		n.Changed = append(n.Changed, "src")
	}
	p.NAT = n
	r.paths++
	return p
}

// prerouting: a packet arriving on st.in.
func (r *run) prerouting(st *state) []Path {
	return r.tables(st, "PREROUTING", []string{"raw", "mangle", "nat"}, r.routing)
}

// routing is the input routing decision after PREROUTING (DNAT done).
func (r *run) routing(st *state) []Path {
	// REDIRECT to an interface whose address is not given still goes
	// to a local socket
	if r.s.IsLocal(st.dst.Addr()) || st.dstAddrOf != "" {
		return r.input(st)
	}
	st.out = r.s.route(st)
	forward := func(st *state) []Path {
		return r.tables(st, "FORWARD", []string{"mangle", "filter", "security"}, func(st *state) []Path {
			st.delivered = "forward"
			return r.postrouting(st)
		})
	}
	if st.bridged && st.out == st.inIface && st.physOut == "" && r.s.opts.BridgePort != nil {
		// br_netfilter: a frame that stays on its bridge is bridged to the
		// port that holds the (DNATed) destination, not routed.
		if port, ok := r.s.opts.BridgePort(st.dst.Addr()); ok {
			st.physOut = port
		}
	}
	if st.bridged && st.physOut != "" && st.physOut == st.physIn {
		return r.hairpin(st, forward)
	}
	return forward(st)
}

// hairpin: the bridge must send the frame back out of the port it came in
// on (a pod reaching a Service whose endpoint is itself). A bridge port
// does that only with hairpin_mode on (kubelet --hairpin-mode=hairpin-veth
// sets it; `bridge -d link` shows it); otherwise br_forward drops the frame
// after PREROUTING, without a netfilter verdict (seen in the kernel lab).
func (r *run) hairpin(st *state, forward cont) []Path {
	drop := func(st *state) []Path {
		st.because(finding.Say("nf.hairpin", st.physIn))
		st.steps = append(st.steps, Step{Table: "bridge", Chain: "FORWARD", Target: "DROP", Hook: "FORWARD", Note: st.reason})
		return []Path{r.final(st, Drop)}
	}
	switch r.s.opts.HairpinMode {
	case "on":
		return forward(st)
	case "off":
		return drop(st)
	}
	r.noteUnknown("hairpin_mode of bridge port " + st.physIn + " (collect `bridge -d link show`)")
	on := st.clone()
	on.assumptions = append(on.assumptions, "assumed hairpin_mode on for "+st.physIn)
	st.assumptions = append(st.assumptions, "assumed hairpin_mode off for "+st.physIn)
	return append(forward(on), drop(st)...)
}

func (r *run) input(st *state) []Path {
	st.out = ""
	deliver := func(st *state) []Path {
		st.delivered = "local"
		return []Path{r.final(st, Accept)}
	}
	if r.s.nftSecurity {
		// iptables-nft registers the security table's chains at priority
		// 150 (iptables/nft.c), not NF_IP_PRI_SECURITY (50): on LOCAL_IN
		// the nat chain (100) runs before security (seen in kernel traces).
		return r.tables(st, "INPUT", []string{"mangle", "filter"}, func(st *state) []Path {
			if paths, ok := r.ipvsIn(st); ok {
				return paths
			}
			return r.tables(st, "INPUT", []string{"nat", "security"}, deliver)
		})
	}
	return r.tables(st, "INPUT", []string{"mangle", "filter", "security"}, func(st *state) []Path {
		if paths, ok := r.ipvsIn(st); ok {
			return paths
		}
		return r.tables(st, "INPUT", []string{"nat"}, deliver)
	})
}

// ipvsIn hands a packet to IPVS at LOCAL_IN when a Balancer knows its
// destination.
func (r *run) ipvsIn(st *state) ([]Path, bool) {
	if r.s.opts.Balancer == nil || st.ipvs != nil || st.localOut {
		return nil, false
	}
	return r.ipvs(st, "LOCAL_IN")
}

// output: a packet sent by a local process.
func (r *run) output(st *state) []Path {
	return r.tables(st, "OUTPUT", []string{"raw", "mangle", "nat"}, func(st *state) []Path {
		// nf_nat_ipv4_local_fn re-routes after DNAT.
		st.out = r.s.route(st)
		if r.s.opts.Balancer != nil && st.ipvs == nil {
			if paths, ok := r.ipvsLocalOut(st); ok {
				return paths
			}
		}
		return r.outputFilter(st)
	})
}

func (r *run) outputFilter(st *state) []Path {
	return r.tables(st, "OUTPUT", []string{"filter", "security"}, r.postrouting)
}

func (r *run) postrouting(st *state) []Path {
	return r.tables(st, "POSTROUTING", []string{"mangle", "nat"}, func(st *state) []Path {
		if st.out == "lo" && st.localOut {
			// The packet loops back: raw and mangle PREROUTING run again
			// (nat does not: the DST manip is already set), -i is now lo.
			st.in, st.out = "lo", ""
			st.localOut = false
			return r.tables(st, "PREROUTING", []string{"raw", "mangle", "nat"}, func(st *state) []Path {
				return r.input(st)
			})
		}
		if st.delivered == "" {
			st.delivered = "forward"
			if st.ipvs != nil {
				st.delivered = "ipvs"
			}
		}
		return []Path{r.final(st, Accept)}
	})
}

// ipvs handles a packet IPVS sees at LOCAL_IN (ip_vs_remote_request4,
// priority NF_IP_PRI_NAT_SRC-2: after filter INPUT, before nat INPUT).
func (r *run) ipvs(st *state, hook string) ([]Path, bool) {
	vs := st.dst
	backends, ok := r.s.opts.Balancer.Pick(st.protoName, vs)
	if !ok {
		return nil, false
	}
	var live []Backend
	total := 0
	for _, b := range backends {
		if b.Weight > 0 {
			live = append(live, b)
			total += b.Weight
		}
	}
	if len(live) == 0 {
		// ip_vs_schedule finds no destination: ip_vs_leave answers with ICMP
		// port unreachable and drops the packet.
		st.steps = append(st.steps, Step{Table: "ipvs", Chain: hook, Target: "no real server", Hook: hook,
			Note: "IPVS virtual service " + st.protoName + " " + vs.String() + " has no real server with weight > 0"})
		st.because(finding.Say("nf.ipvs.nors"))
		return []Path{r.final(st, Reject)}, true
	}
	var paths []Path
	for i, b := range live {
		bs := st
		if i < len(live)-1 {
			bs = st.clone()
		}
		bs.prob *= float64(b.Weight) / float64(total)
		bs.ipvs = &ipvsInfo{vaddr: vs, proto: st.protoName, fwd: b.Forward}
		bs.steps = append(bs.steps, Step{Table: "ipvs", Chain: hook, Target: b.Addr.String(), Hook: hook,
			Note: "IPVS " + st.protoName + " " + vs.String() + " -> " + b.Addr.String() + " weight " + strconv.Itoa(b.Weight)})
		if b.Forward == "" || b.Forward == "masq" {
			bs.dst = b.Addr
			bs.dnat = true
		}
		if hook == "LOCAL_IN" {
			// The rewritten packet is sent like a local one: LOCAL_OUT
			// (nat OUTPUT does not run: the DST manip is set) and
			// POSTROUTING, where kube-proxy's MASQUERADE applies.
			bs.in = ""
			bs.out = r.s.route(bs)
			paths = append(paths, r.tables(bs, "OUTPUT", []string{"raw", "mangle", "nat", "filter", "security"}, r.postrouting)...)
		} else {
			bs.out = r.s.route(bs)
			paths = append(paths, r.outputFilter(bs)...)
		}
	}
	return paths, true
}

// ipvsLocalOut: ip_vs_local_request4 at LOCAL_OUT (NF_IP_PRI_NAT_DST+1),
// after nat OUTPUT and before filter OUTPUT.
func (r *run) ipvsLocalOut(st *state) ([]Path, bool) {
	return r.ipvs(st, "LOCAL_OUT")
}
