// Package netfilter evaluates one packet through a node's saved iptables
// ruleset the way the Linux kernel would, and says which rules matched,
// what NAT did and the verdict — or AMBIGUOUS when the dump cannot decide.
//
// Usage:
//
//	rs, _ := iptables.ParseFile("iptables-save.txt")
//	sim := netfilter.New(rs, netfilter.Options{
//		LocalAddrs: []netip.Addr{nodeIP},        // addrtype LOCAL, INPUT vs FORWARD
//		Sets:       netfilter.IPSets(ipsetSave), // -m set (nil: undecidable)
//		Balancer:   ipvs,                        // IPVS-mode kube-proxy (nil: none)
//	})
//	res := sim.Simulate(netfilter.Packet{Proto: "tcp",
//		Src: netip.MustParseAddrPort("10.0.0.5:40000"),
//		Dst: netip.MustParseAddrPort("172.16.255.10:80"), InIface: "eth0"})
//	// res.Verdict, res.Paths[i].Steps, res.Paths[i].NAT, res.UnknownMatches
//
// Hook order (kernel netfilter priorities, include/uapi/linux/netfilter_ipv4.h):
//
//	arriving:  PREROUTING raw → (conntrack) → mangle → nat(DNAT)
//	           routing: destination local (Options.LocalAddrs, 127/8, IPVS VIPs)?
//	             yes: INPUT mangle → filter → security → [IPVS LOCAL_IN] → nat(SNAT)
//	                  (iptables-nft: mangle → filter → [IPVS] → nat → security)
//	                  when IPVS picks a real server: OUTPUT raw → mangle → filter
//	                  → security → POSTROUTING mangle → nat
//	             no:  FORWARD mangle → filter → security → POSTROUTING mangle → nat
//	local-out: OUTPUT raw → mangle → nat(DNAT) → [IPVS LOCAL_OUT] → filter → security
//	           → POSTROUTING mangle → nat; a destination that is local loops
//	           through lo: PREROUTING raw → mangle (nat does not run again) →
//	           INPUT mangle → filter → security.
//
// NAT runs only for the first packet of a connection (CTState NEW): nat
// chains are skipped for ESTABLISHED/RELATED packets and for packets made
// UNTRACKED by -j NOTRACK / -j CT --notrack in raw. Each nat hook runs at
// most once per direction (DNAT at PREROUTING or OUTPUT, SNAT at INPUT or
// POSTROUTING), as nf_nat_inet_fn only consults the table while the
// conntrack entry's manip is not yet initialised.
//
// Matches are evaluated exactly when the packet and Options decide them.
// A match that depends on state the dump does not hold (owner, socket,
// cgroup, bpf, u32, string, limit, time, rpfilter, recent --rcheck, a set
// without ipset data, ...) forks the path: one path assumes it matched, one
// that it did not, both are kept, the module is listed in UnknownMatches
// and the verdict becomes AMBIGUOUS; the two paths share the parent's
// probability half and half and are marked Undecided. -m statistic forks
// into one path per outcome with its probability (the kernel picks one of
// them). Path probabilities always sum to 1.
//
// Verification: testdata/netfilter/kernel holds the real kernel's
// rule-by-rule traces (xtables-monitor / nft monitor trace / legacy TRACE
// via nfnetlink_log) of 551 probes over 21 recordings (kube-proxy 1.13/
// 1.28/IPVS mode/IPv6, ip-masq-agent, flannel+docker, Calico,
// node-local-dns, Istio, a bridge with br_netfilter, the real AKS dumps,
// both iptables backends), recorded by
// lab/netfilter/record.sh; kernel_test.go requires the same matched rules,
// verdict and NAT result for every one. Not modelled: a netns where nothing
// uses conntrack (the kernel then never runs nat chains; any kube-proxy
// node has conntrack users), routing decisions beyond local/forward
// (martians, multicast, rp_filter: the tracer's job), IPVS beyond the
// Balancer hook (no IPVS in the lab kernel).
package netfilter

import (
	"fmt"
	"net/netip"
	"sync"

	"tkesnap/analysis/finding"
	"tkesnap/parsers/iptables"
)

// Packet is the first packet of a flow (or a later one with CTState set).
type Packet struct {
	Proto    string         // "tcp", "udp", "icmp", "sctp" or a protocol number
	Src, Dst netip.AddrPort // ports are ignored for icmp
	// InIface is the interface the packet arrives on (ignored with LocalOut).
	InIface string
	// OutIface is the egress interface after routing; "" means "eth0" unless
	// Options.Route decides.
	OutIface string
	// LocalOut: the packet is sent by a process on the node (OUTPUT hook).
	LocalOut bool
	Mark     uint32
	// CTState is the conntrack state before the packet is seen: "" or "NEW"
	// (the default), "ESTABLISHED", "RELATED", "INVALID".
	CTState string
	// TCPFlags of the packet (FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32);
	// 0 means SYN for a NEW TCP packet and ACK otherwise.
	TCPFlags uint8
	// ICMPType/ICMPCode for icmp packets; ICMPType 0 with no code set means
	// echo-request (8/0), the usual probe.
	ICMPType, ICMPCode int
	// Bridged: the packet entered through a Linux bridge port and
	// br_netfilter passes it to iptables (a pod on cbr0/cni0 with
	// bridge-nf-call-iptables=1). PhysIn is that port (the pod's veth);
	// PhysOut is the output port when the bridge forwards the frame to
	// another port (pod to pod on the same bridge), "" when it is routed.
	// -m physdev follows xt_physdev on these.
	Bridged         bool
	PhysIn, PhysOut string
}

// Options describe the node the ruleset belongs to.
type Options struct {
	// LocalAddrs are the node's addresses: the routing decision (INPUT vs
	// FORWARD) and -m addrtype LOCAL. 127.0.0.0/8 and ::1 are always local.
	LocalAddrs []netip.Addr
	// IfaceAddrs gives the primary address of an interface, used by
	// MASQUERADE (the out interface's address) and REDIRECT (the in
	// interface's). When missing the first LocalAddrs entry is used and
	// the step says so.
	IfaceAddrs map[string]netip.Addr
	// IfaceAddrs6 is the same for IPv6 (dual-stack nodes); for IPv6
	// packets an IPv4 entry of IfaceAddrs is never used.
	IfaceAddrs6 map[string]netip.Addr
	// Sets holds ipset contents for -m set; nil makes set matches
	// undecidable.
	Sets Sets
	// Balancer is IPVS (kube-proxy IPVS mode); nil when the node has none.
	Balancer Balancer
	// Route returns the egress interface for a destination after NAT; nil
	// uses Packet.OutIface.
	Route func(dst netip.Addr, mark uint32) (oif string, ok bool)
	// BridgePort returns the bridge port (the pod's veth) that holds dst,
	// for a Bridged packet that stays on its bridge: br_netfilter then
	// passes it to FORWARD as a bridged frame with that physdev output.
	// nil: only Packet.PhysOut is used.
	BridgePort func(dst netip.Addr) (port string, ok bool)
	// HairpinMode of the bridge ports: "on", "off", or "" (unknown: a
	// frame that must leave by its input port forks both ways).
	HairpinMode string
	// RecentEmpty assumes every -m recent list is empty (a fresh node or the
	// client's first connection): --rcheck/--update/--remove do not match.
	// Without it they are undecidable (docs/design.md §6: session affinity
	// depends on state the bundle does not hold).
	RecentEmpty bool
	// Backend is "nf_tables" or "legacy"; "" takes it from the dump's
	// header (iptables-nft-save) and assumes legacy when the header does
	// not say. It decides where the security table runs on INPUT.
	Backend string
	// MaxPaths bounds forking (default 256); beyond it the result is
	// AMBIGUOUS with Truncated set.
	MaxPaths int
}

// Sets answers -m set --match-set NAME FLAGS for a packet.
type Sets interface {
	// MatchSet reports whether set name holds the tuple picked from the
	// packet by flags (one "src"/"dst" per set dimension). known is false
	// when the set is not in the data.
	MatchSet(name string, flags []string, t Tuple) (match, known bool)
}

// Tuple is the packet as a set match sees it.
type Tuple struct {
	Proto    uint8
	Src, Dst netip.AddrPort
}

// Balancer is IPVS: virtual services and their real servers.
// analysis/netfilter/ipvs.go (datapath) implements it from ipvsadm output.
type Balancer interface {
	// Pick returns the real servers of the virtual service proto/dst
	// (proto "tcp", "udp", "sctp"); ok is false when dst is no virtual
	// service. Backends with Weight 0 receive no new connections.
	Pick(proto string, dst netip.AddrPort) (backends []Backend, ok bool)
}

// VIPLister is implemented by a Balancer whose virtual addresses are bound
// to a local dummy interface (kube-ipvs0): they are local addresses, so a
// packet to them goes to INPUT rather than FORWARD.
type VIPLister interface {
	VIPs() []netip.Addr
}

// Backend is one IPVS real server.
type Backend struct {
	Addr   netip.AddrPort
	Weight int
	// Forward is the IPVS forwarding method: "masq" (default), "route",
	// "tunnel".
	Forward string
}

// Verdicts.
const (
	Accept    = "ACCEPT"
	Drop      = "DROP"
	Reject    = "REJECT"
	Ambiguous = "AMBIGUOUS"
)

// Result of one simulation.
type Result struct {
	Verdict string `json:"verdict"` // ACCEPT, DROP, REJECT or AMBIGUOUS
	Paths   []Path `json:"paths"`
	// UnknownMatches are the rules whose matches or targets could not be
	// decided, as "table/chain#rule (line L): -m owner --uid-owner 0".
	UnknownMatches []string `json:"unknown_matches"`
	// Truncated: more forks than Options.MaxPaths; some paths are missing.
	Truncated bool `json:"truncated,omitempty"`
}

// Path is one outcome: a statistic branch or an assumption about an
// undecidable match.
type Path struct {
	// Probability is the share of packets that take this path: products
	// of -m statistic shares and IPVS weights, exact. A fork on an
	// undecidable match splits its parent's probability in half (the
	// bundle does not say which way is likelier) and sets Undecided, so
	// the probabilities of all paths always sum to 1.
	Probability float64 `json:"probability"`
	// Undecided: the path rests on an assumption (Assumptions), so its
	// Probability is an even split, not a measured share (an extension
	// of docs/design.md §3).
	Undecided bool   `json:"undecided,omitempty"`
	Verdict   string `json:"verdict"`
	Steps     []Step `json:"steps"`
	NAT       *NAT   `json:"nat,omitempty"`
	// Delivered says where an accepted packet goes: "local" (a socket on
	// the node), "forward" (routed out), "ipvs" (to an IPVS real server).
	Delivered string `json:"delivered,omitempty"`
	OutIface  string `json:"out_iface,omitempty"`
	// BridgePort is the bridge port a bridged frame leaves by (physdev out).
	BridgePort string `json:"bridge_port,omitempty"`
	Mark       uint32 `json:"mark,omitempty"`
	// Assumptions are the undecidable matches this path assumed, e.g.
	// "assumed -m owner --uid-owner 0 matches (filter/OUTPUT#3 line 40)".
	Assumptions []string `json:"assumptions,omitempty"`
	// Reason explains a verdict that is not from a rule: "IPVS virtual
	// service has no real server", "chain loop", ...
	Reason string `json:"reason,omitempty"`
	// Why is Reason as a phrase, worded in the report's language.
	Why finding.Phrase `json:"-"`
}

// Step is one rule that matched (or a chain policy, Rule 0).
type Step struct {
	Table  string `json:"table"`
	Chain  string `json:"chain"`
	Rule   int    `json:"rule"`
	Line   int    `json:"line"`
	Target string `json:"target"`
	Text   string `json:"text,omitempty"`
	// Hook is the built-in chain the packet entered (PREROUTING, ...).
	Hook string `json:"hook,omitempty"`
	Note string `json:"note,omitempty"`
}

// NAT is the packet's tuple after all rewrites.
type NAT struct {
	Src string `json:"src"`
	Dst string `json:"dst"`
	// RandomFully: MASQUERADE/SNAT --random-fully picks the source port at
	// random, so the port in Src is not what leaves the node.
	RandomFully bool `json:"random_fully,omitempty"`
	// SrcAddrOf (DstAddrOf): MASQUERADE (REDIRECT) took the primary
	// address of this interface, which the input did not give
	// (--local-ip IFACE=IP, the node's ip addr); Src (Dst) then reads
	// "<address of IFACE>:PORT" instead of an address. Extensions of
	// docs/design.md §3.
	SrcAddrOf string `json:"src_addr_of,omitempty"`
	DstAddrOf string `json:"dst_addr_of,omitempty"`
	// AddrAssumed says which local address stood in for an interface's
	// unknown address ("eth0 not given: assumed 10.0.0.4 (--local-ip)").
	AddrAssumed string `json:"addr_assumed,omitempty"`
	// Changed lists what was rewritten: "dst", "src".
	Changed []string `json:"changed,omitempty"`
}

// Sim is a ruleset indexed for simulation. It is safe for concurrent use.
type Sim struct {
	rs     *iptables.Ruleset
	opts   Options
	tables map[string]*iptables.Table
	local  map[netip.Addr]bool
	// nftSecurity: security INPUT runs after nat INPUT (iptables-nft).
	nftSecurity bool
	index       map[*iptables.Chain]*chainIndex
	loose       string // why a fragment cannot be trusted, "" for a full dump
	// indexes of a lazily parsed dump's chains, built when first entered
	lazyMu    sync.Mutex
	lazyIndex map[*iptables.Chain]*chainIndex
}

// chainIndex returns c's index, nil for a short chain.
func (s *Sim) chainIndex(c *iptables.Chain) *chainIndex {
	if !s.rs.Lazy() {
		return s.index[c]
	}
	s.lazyMu.Lock()
	defer s.lazyMu.Unlock()
	ix, ok := s.lazyIndex[c]
	if !ok {
		var sk *iptables.DstIndex
		if c.Len() >= indexMin {
			// indexed from the rules' text: a rule is parsed when the
			// packet reaches it (KUBE-SERVICES of 10k Services is read
			// for the few rules to the packet's destination)
			sk = c.Skim()
		}
		if sk != nil {
			ix = &chainIndex{dst: sk.Dst}
		} else {
			// a short chain is parsed whole: its problems are reported
			c.Load()
		}
		s.lazyIndex[c] = ix
	}
	return ix
}

// New indexes rs for simulation.
func New(rs *iptables.Ruleset, opts Options) *Sim {
	if opts.MaxPaths <= 0 {
		opts.MaxPaths = 256
	}
	s := &Sim{rs: rs, opts: opts, tables: map[string]*iptables.Table{}, local: map[netip.Addr]bool{}}
	s.index = map[*iptables.Chain]*chainIndex{}
	s.lazyIndex = map[*iptables.Chain]*chainIndex{}
	for _, t := range rs.Tables {
		if t.Name == "" {
			t.LoadAll()
			n, first := 0, 0
			for _, c := range t.Chains {
				n += len(c.Rules)
				if len(c.Rules) > 0 && (first == 0 || c.Rules[0].Line < first) {
					first = c.Rules[0].Line
				}
			}
			if n > 0 {
				s.loose = fmt.Sprintf("%d rules outside any *table block (from line %d): the dump is a fragment, their table and hook are unknown", n, first)
			}
			continue
		}
		s.tables[t.Name] = t
		for _, c := range t.Chains {
			if len(c.Rules) >= indexMin && !rs.Lazy() {
				s.index[c] = buildIndex(c)
			}
		}
	}
	backend := opts.Backend
	if backend == "" {
		backend = rs.Backend
	}
	s.nftSecurity = backend == "nf_tables"
	for _, a := range opts.LocalAddrs {
		s.local[a.Unmap()] = true
	}
	if vl, ok := opts.Balancer.(VIPLister); ok {
		for _, a := range vl.VIPs() {
			s.local[a.Unmap()] = true
		}
	}
	return s
}

// IsLocal reports whether the node owns addr (routing type RTN_LOCAL).
func (s *Sim) IsLocal(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() {
		return true
	}
	return s.local[a]
}

func (st Step) String() string {
	if st.Rule == 0 {
		return fmt.Sprintf("%s/%s policy %s", st.Table, st.Chain, st.Target)
	}
	return fmt.Sprintf("%s/%s#%d (line %d) -j %s", st.Table, st.Chain, st.Rule, st.Line, st.Target)
}
