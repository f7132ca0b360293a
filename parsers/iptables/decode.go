package iptables

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// Typed forms of the match modules and targets that kube-proxy, CNIs and
// ip-masq-agent use (iptables-extensions(8)). A module the package does not
// list here keeps Decoded == nil and is evaluated as "unknown" by whoever
// simulates it.

// PortRange is an inclusive port range.
type PortRange struct{ Lo, Hi uint16 }

// Ports is --sport/--dport (one range) or multiport's list.
type Ports struct {
	Neg    bool
	Ranges []PortRange
}

// Contains reports whether port p is in the list (ignoring Neg).
func (ps *Ports) Contains(p uint16) bool {
	for _, r := range ps.Ranges {
		if p >= r.Lo && p <= r.Hi {
			return true
		}
	}
	return false
}

// ProtoMatch is the tcp/udp/sctp/udplite/dccp match.
type ProtoMatch struct {
	Sport, Dport *Ports
	// TCPFlags is --tcp-flags mask comp (or --syn = SYN,RST,ACK,FIN SYN).
	TCPFlags *TCPFlags
	Other    []Option // --tcp-option, --chunk-types, ... (undecidable)
}

// TCPFlags bits: FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32.
type TCPFlags struct {
	Neg        bool
	Mask, Comp uint8
}

// Multiport is -m multiport.
type Multiport struct {
	Sports, Dports, Ports *Ports // Ports: either source or destination
}

// Addrtype is -m addrtype.
type Addrtype struct {
	Src, Dst       []string // UNICAST, LOCAL, BROADCAST, ...
	SrcNeg, DstNeg bool
	LimitIn        bool // --limit-iface-in
	LimitOut       bool
}

// Conntrack is -m conntrack or -m state.
type Conntrack struct {
	State    []string // NEW, ESTABLISHED, RELATED, INVALID, UNTRACKED, SNAT, DNAT
	StateNeg bool
	Status   []string // NONE, EXPECTED, SEEN_REPLY, ASSURED, CONFIRMED
	// StatusNeg negates Status.
	StatusNeg bool
	// OrigDst etc. are the --ctorigdst/--ctorigsrc/--ctrepldst/--ctreplsrc
	// address filters.
	OrigSrc, OrigDst, ReplSrc, ReplDst *Addr
	OrigSrcPort, OrigDstPort           *Ports
	ReplSrcPort, ReplDstPort           *Ports
	Proto                              *Proto
	Dir                                string // ORIGINAL or REPLY
	Other                              []Option
}

// MarkMatch is -m mark / -m connmark: (mark & Mask) == Value.
type MarkMatch struct {
	Neg         bool
	Value, Mask uint32
}

// Comment is -m comment.
type Comment struct{ Text string }

// Statistic is -m statistic.
type Statistic struct {
	Neg         bool
	Mode        string  // random or nth
	Probability float64 // random
	Every       uint32  // nth
	Packet      uint32  // nth
}

// Recent is -m recent.
type Recent struct {
	Name    string
	Command string // set, rcheck, update, remove
	Neg     bool
	Seconds int
	Hits    int
	RSource bool // default; false with --rdest
	Reap    bool
}

// SetMatch is -m set --match-set NAME FLAGS.
type SetMatch struct {
	Neg           bool
	Name          string
	Flags         []string // src/dst per dimension
	ReturnNomatch bool
	Other         []Option // counters conditions, --update-counters ...
}

// Physdev is -m physdev.
type Physdev struct {
	In, Out                       *Iface
	IsIn, IsOut, IsBridged        bool
	IsInNeg, IsOutNeg, BridgedNeg bool
}

// ICMPMatch is -m icmp --icmp-type (or icmp6 --icmpv6-type).
type ICMPMatch struct {
	Neg  bool
	Any  bool // "any"
	Type int
	Code int // -1: any code
}

// IPRange is -m iprange.
type IPRange struct {
	Src, Dst       *[2]netip.Addr
	SrcNeg, DstNeg bool
}

// PktType is -m pkttype --pkt-type unicast|broadcast|multicast.
type PktType struct {
	Neg  bool
	Type string
}

// Targets.

// Verdict targets: ACCEPT, DROP, RETURN, QUEUE have no options.

// MarkTarget is -j MARK / -j CONNMARK --set-xmark etc., normalised to
// mark = (mark & ^Mask) ^ Xor (the kernel's xt_MARK: --set-mark v/m is
// --set-xmark v/m; --and-mark a is --set-xmark 0/^a; --or-mark o is
// --set-xmark o/o; --xor-mark x is --set-xmark x/0).
type MarkTarget struct {
	Xor, Mask uint32
	// For CONNMARK: SaveMark copies the packet mark to the conntrack mark,
	// RestoreMark the other way (with NfMask/CtMask).
	SaveMark, RestoreMark bool
	NfMask, CtMask        uint32
}

// NATTarget is SNAT/DNAT/MASQUERADE/REDIRECT/NETMAP.
type NATTarget struct {
	// To is --to-destination/--to-source; empty for MASQUERADE/REDIRECT.
	To                  []NATRange
	Ports               *PortRange // --to-ports for MASQUERADE/REDIRECT
	Random, RandomFully bool
	Persistent          bool
	NetmapTo            netip.Prefix
}

// NATRange is one "[ip[-ip]][:port[-port]]".
type NATRange struct {
	Lo, Hi netip.Addr // invalid when only a port is given
	Ports  *PortRange
}

// Reject is -j REJECT [--reject-with type].
type Reject struct{ With string }

// Notrack is -j NOTRACK or -j CT --notrack.
type Notrack struct{}

// CT is -j CT without --notrack (zone, helper, ...): no effect on the
// simulated first packet except what Other says.
type CT struct{ Other []Option }

// builtinTarget reports the standard verdicts.
func builtinTarget(n string) bool {
	switch n {
	case "ACCEPT", "DROP", "RETURN", "QUEUE":
		return true
	}
	return false
}

// knownTarget lists extension targets (iptables-extensions(8)); a -j to
// any other name must be a user chain.
func knownTarget(n string) bool {
	switch n {
	case "REJECT", "LOG", "NFLOG", "ULOG", "TRACE", "MARK", "CONNMARK", "MASQUERADE", "SNAT", "DNAT",
		"REDIRECT", "NETMAP", "NOTRACK", "CT", "NFQUEUE", "TPROXY", "CLASSIFY", "DSCP", "TOS", "TCPMSS",
		"CHECKSUM", "TTL", "HL", "SECMARK", "CONNSECMARK", "AUDIT", "SET", "CLUSTERIP", "IDLETIMER",
		"LED", "RATEEST", "SYNPROXY", "TEE", "HMARK", "ECN", "TCPOPTSTRIP", "CONNTRACK", "MIRROR":
		return true
	}
	return false
}

// IsExtensionTarget reports whether -j name is a verdict or extension
// target rather than a user chain.
func IsExtensionTarget(n string) bool { return builtinTarget(n) || knownTarget(n) }

// matchOpts lists each known module's options, so that an option written
// after another module's options still finds its module.
var matchOpts = map[string][]string{
	"tcp":       {"sport", "source-port", "dport", "destination-port", "tcp-flags", "syn", "tcp-option"},
	"udp":       {"sport", "source-port", "dport", "destination-port"},
	"udplite":   {"sport", "source-port", "dport", "destination-port"},
	"sctp":      {"sport", "source-port", "dport", "destination-port", "chunk-types"},
	"dccp":      {"sport", "source-port", "dport", "destination-port", "dccp-types", "dccp-option"},
	"multiport": {"sports", "source-ports", "dports", "destination-ports", "ports", "port"},
	"addrtype":  {"src-type", "dst-type", "limit-iface-in", "limit-iface-out"},
	"conntrack": {"ctstate", "ctproto", "ctorigsrc", "ctorigdst", "ctreplsrc", "ctrepldst", "ctorigsrcport", "ctorigdstport", "ctreplsrcport", "ctrepldstport", "ctstatus", "ctexpire", "ctdir"},
	"state":     {"state"},
	"mark":      {"mark"},
	"connmark":  {"mark"},
	"comment":   {"comment"},
	"statistic": {"mode", "probability", "every", "packet"},
	"recent":    {"name", "set", "rcheck", "update", "remove", "seconds", "reap", "hitcount", "rttl", "rsource", "rdest", "mask"},
	"set":       {"match-set", "set", "return-nomatch", "update-counters", "update-subcounters", "packets-eq", "packets-lt", "packets-gt", "bytes-eq", "bytes-lt", "bytes-gt"},
	"physdev":   {"physdev-in", "physdev-out", "physdev-is-in", "physdev-is-out", "physdev-is-bridged"},
	"icmp":      {"icmp-type"},
	"icmp6":     {"icmpv6-type"},
	"icmpv6":    {"icmpv6-type"},
	"ipv6-icmp": {"icmpv6-type"},
	"iprange":   {"src-range", "dst-range"},
	"pkttype":   {"pkt-type"},
}

func knownMatch(n string) bool { _, ok := matchOpts[n]; return ok }

func matchHasOpt(module, opt string) bool {
	for _, o := range matchOpts[module] {
		if o == opt {
			return true
		}
	}
	return false
}

type decodeError string

func (e decodeError) Error() string { return string(e) }

func errf(format string, a ...any) error { return decodeError(fmt.Sprintf(format, a...)) }

// decodeRule fills Decoded for every known match and the target; a value
// that does not parse is a problem on the rule's line and leaves the
// module undecoded (an unknown match to the simulator).
func decodeRule(r *RuleSpec, problem func(format string, a ...any)) {
	for _, m := range r.Matches {
		if !knownMatch(m.Name) {
			continue
		}
		d, err := decodeMatch(m)
		if err != nil {
			m.DecodeErr = err.Error()
			problem("-m %s: %v", m.Name, err)
			continue
		}
		m.Decoded = d
	}
	if r.Target.Name != "" {
		d, err := decodeTarget(&r.Target)
		if err != nil {
			r.Target.DecodeErr = err.Error()
			problem("-j %s: %v", r.Target.Name, err)
		} else {
			r.Target.Decoded = d
		}
	}
}

func oneArg(o Option) (string, error) {
	if len(o.Args) != 1 {
		return "", errf("--%s takes one value, got %d", o.Name, len(o.Args))
	}
	return o.Args[0], nil
}

func decodeMatch(m *Match) (any, error) {
	switch m.Name {
	case "tcp", "udp", "udplite", "sctp", "dccp":
		pm := &ProtoMatch{}
		for _, o := range m.Opts {
			switch o.Name {
			case "sport", "source-port", "dport", "destination-port":
				ps, err := onePortRange(o)
				if err != nil {
					return nil, err
				}
				if o.Name[0] == 's' {
					pm.Sport = ps
				} else {
					pm.Dport = ps
				}
			case "syn":
				pm.TCPFlags = &TCPFlags{Neg: o.Neg, Mask: 0x17, Comp: 0x02}
			case "tcp-flags":
				if len(o.Args) != 2 {
					return nil, errf("--tcp-flags takes mask and comp")
				}
				mask, err1 := tcpFlags(o.Args[0])
				comp, err2 := tcpFlags(o.Args[1])
				if err1 != nil || err2 != nil {
					return nil, errf("bad --tcp-flags %q", strings.Join(o.Args, " "))
				}
				pm.TCPFlags = &TCPFlags{Neg: o.Neg, Mask: mask, Comp: comp}
			default:
				pm.Other = append(pm.Other, o)
			}
		}
		return pm, nil
	case "multiport":
		mp := &Multiport{}
		for _, o := range m.Opts {
			v, err := oneArg(o)
			if err != nil {
				return nil, err
			}
			ps := &Ports{Neg: o.Neg}
			for _, part := range strings.Split(v, ",") {
				pr, err := parsePortRange(part)
				if err != nil {
					return nil, err
				}
				ps.Ranges = append(ps.Ranges, pr)
			}
			switch o.Name {
			case "sports", "source-ports":
				mp.Sports = ps
			case "dports", "destination-ports":
				mp.Dports = ps
			default:
				mp.Ports = ps
			}
		}
		return mp, nil
	case "addrtype":
		at := &Addrtype{}
		for _, o := range m.Opts {
			switch o.Name {
			case "src-type", "dst-type":
				v, err := oneArg(o)
				if err != nil {
					return nil, err
				}
				types := strings.Split(strings.ToUpper(v), ",")
				for _, t := range types {
					if !addrTypes[t] {
						return nil, errf("unknown address type %q", t)
					}
				}
				if o.Name == "src-type" {
					at.Src, at.SrcNeg = types, o.Neg
				} else {
					at.Dst, at.DstNeg = types, o.Neg
				}
			case "limit-iface-in":
				at.LimitIn = true
			case "limit-iface-out":
				at.LimitOut = true
			}
		}
		return at, nil
	case "conntrack", "state":
		ct := &Conntrack{}
		for _, o := range m.Opts {
			switch o.Name {
			case "ctstate", "state":
				v, err := oneArg(o)
				if err != nil {
					return nil, err
				}
				ct.State = strings.Split(strings.ToUpper(v), ",")
				ct.StateNeg = o.Neg
				for _, s := range ct.State {
					switch s {
					case "NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED", "SNAT", "DNAT":
					default:
						return nil, errf("unknown conntrack state %q", s)
					}
				}
			case "ctstatus":
				v, err := oneArg(o)
				if err != nil {
					return nil, err
				}
				ct.Status = strings.Split(strings.ToUpper(v), ",")
				ct.StatusNeg = o.Neg
			case "ctorigsrc", "ctorigdst", "ctreplsrc", "ctrepldst":
				v, err := oneArg(o)
				if err != nil {
					return nil, err
				}
				a := &Addr{}
				if e := parseAddr(v, a); e != "" {
					return nil, errf("--%s %q: %s", o.Name, v, e)
				}
				a.Neg = o.Neg
				switch o.Name {
				case "ctorigsrc":
					ct.OrigSrc = a
				case "ctorigdst":
					ct.OrigDst = a
				case "ctreplsrc":
					ct.ReplSrc = a
				default:
					ct.ReplDst = a
				}
			case "ctorigsrcport", "ctorigdstport", "ctreplsrcport", "ctrepldstport":
				ps, err := onePortRange(o)
				if err != nil {
					return nil, err
				}
				switch o.Name {
				case "ctorigsrcport":
					ct.OrigSrcPort = ps
				case "ctorigdstport":
					ct.OrigDstPort = ps
				case "ctreplsrcport":
					ct.ReplSrcPort = ps
				default:
					ct.ReplDstPort = ps
				}
			case "ctproto":
				v, err := oneArg(o)
				if err != nil {
					return nil, err
				}
				ct.Proto = &Proto{Set: true, Neg: o.Neg, Name: strings.ToLower(v), Num: protoNum(v)}
			case "ctdir":
				v, err := oneArg(o)
				if err != nil {
					return nil, err
				}
				ct.Dir = strings.ToUpper(v)
			default:
				ct.Other = append(ct.Other, o)
			}
		}
		return ct, nil
	case "mark", "connmark":
		o, ok := m.Opt("mark")
		if !ok {
			return nil, errf("missing --mark")
		}
		v, err := oneArg(o)
		if err != nil {
			return nil, err
		}
		val, mask, err := parseMark(v)
		if err != nil {
			return nil, err
		}
		return &MarkMatch{Neg: o.Neg, Value: val, Mask: mask}, nil
	case "comment":
		o, ok := m.Opt("comment")
		if !ok {
			return &Comment{}, nil
		}
		return &Comment{Text: strings.Join(o.Args, " ")}, nil
	case "statistic":
		st := &Statistic{}
		for _, o := range m.Opts {
			v, err := oneArg(o)
			if err != nil {
				return nil, err
			}
			switch o.Name {
			case "mode":
				st.Mode = v
			case "probability":
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || f < 0 || f > 1 || math.IsNaN(f) {
					return nil, errf("bad --probability %q", v)
				}
				st.Probability, st.Neg = f, st.Neg != o.Neg
			case "every", "packet":
				n, err := strconv.ParseUint(v, 10, 32)
				if err != nil {
					return nil, errf("bad --%s %q", o.Name, v)
				}
				if o.Name == "every" {
					st.Every, st.Neg = uint32(n), st.Neg != o.Neg
				} else {
					st.Packet = uint32(n)
				}
			}
		}
		switch st.Mode {
		case "random":
		case "nth":
			if st.Every == 0 {
				return nil, errf("--mode nth needs --every")
			}
		default:
			return nil, errf("unknown --mode %q", st.Mode)
		}
		return st, nil
	case "recent":
		rc := &Recent{Name: "DEFAULT", RSource: true}
		for _, o := range m.Opts {
			switch o.Name {
			case "name":
				if v, err := oneArg(o); err == nil {
					rc.Name = v
				}
			case "set", "rcheck", "update", "remove":
				rc.Command, rc.Neg = o.Name, o.Neg
			case "seconds":
				v, _ := oneArg(o)
				rc.Seconds, _ = strconv.Atoi(v)
			case "hitcount":
				v, _ := oneArg(o)
				rc.Hits, _ = strconv.Atoi(v)
			case "rdest":
				rc.RSource = false
			case "reap":
				rc.Reap = true
			}
		}
		if rc.Command == "" {
			return nil, errf("needs one of --set, --rcheck, --update, --remove")
		}
		return rc, nil
	case "set":
		sm := &SetMatch{}
		for _, o := range m.Opts {
			switch o.Name {
			case "match-set", "set":
				if len(o.Args) != 2 {
					return nil, errf("--match-set takes a set name and flags")
				}
				sm.Name, sm.Neg = o.Args[0], o.Neg
				sm.Flags = strings.Split(o.Args[1], ",")
				for _, f := range sm.Flags {
					if f != "src" && f != "dst" {
						return nil, errf("--match-set flag %q is not src or dst", f)
					}
				}
			case "return-nomatch":
				sm.ReturnNomatch = true
			default:
				sm.Other = append(sm.Other, o)
			}
		}
		if sm.Name == "" {
			return nil, errf("missing --match-set")
		}
		return sm, nil
	case "physdev":
		pd := &Physdev{}
		for _, o := range m.Opts {
			switch o.Name {
			case "physdev-in", "physdev-out":
				v, err := oneArg(o)
				if err != nil {
					return nil, err
				}
				f := &Iface{Set: true, Neg: o.Neg, Name: v}
				if o.Name == "physdev-in" {
					pd.In = f
				} else {
					pd.Out = f
				}
			case "physdev-is-in":
				pd.IsIn, pd.IsInNeg = true, o.Neg
			case "physdev-is-out":
				pd.IsOut, pd.IsOutNeg = true, o.Neg
			case "physdev-is-bridged":
				pd.IsBridged, pd.BridgedNeg = true, o.Neg
			}
		}
		return pd, nil
	case "icmp", "icmp6", "icmpv6", "ipv6-icmp":
		var o Option
		var ok bool
		if o, ok = m.Opt("icmp-type"); !ok {
			if o, ok = m.Opt("icmpv6-type"); !ok {
				return &ICMPMatch{Any: true}, nil
			}
		}
		v, err := oneArg(o)
		if err != nil {
			return nil, err
		}
		im, err := parseICMP(v, m.Name != "icmp")
		if err != nil {
			return nil, err
		}
		im.Neg = o.Neg
		return im, nil
	case "iprange":
		ir := &IPRange{}
		for _, o := range m.Opts {
			v, err := oneArg(o)
			if err != nil {
				return nil, err
			}
			a, b, _ := strings.Cut(v, "-")
			lo, err1 := netip.ParseAddr(a)
			hi := lo
			var err2 error
			if b != "" {
				hi, err2 = netip.ParseAddr(b)
			}
			if err1 != nil || err2 != nil {
				return nil, errf("bad range %q", v)
			}
			rg := &[2]netip.Addr{lo.Unmap(), hi.Unmap()}
			if o.Name == "src-range" {
				ir.Src, ir.SrcNeg = rg, o.Neg
			} else {
				ir.Dst, ir.DstNeg = rg, o.Neg
			}
		}
		return ir, nil
	case "pkttype":
		o, ok := m.Opt("pkt-type")
		if !ok {
			return nil, errf("missing --pkt-type")
		}
		v, err := oneArg(o)
		if err != nil {
			return nil, err
		}
		return &PktType{Neg: o.Neg, Type: strings.ToLower(v)}, nil
	}
	return nil, nil
}

var addrTypes = map[string]bool{"UNSPEC": true, "UNICAST": true, "LOCAL": true, "BROADCAST": true, "ANYCAST": true,
	"MULTICAST": true, "BLACKHOLE": true, "UNREACHABLE": true, "PROHIBIT": true, "THROW": true, "NAT": true, "XRESOLVE": true}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 0, 16)
	if err != nil {
		if p, ok := servicePorts[strings.ToLower(s)]; ok {
			return p, nil
		}
		return 0, errf("bad port %q", s)
	}
	return uint16(n), nil
}

// servicePorts are /etc/services names iptables-save may print for
// hand-written rules (it prints numbers for rules it saves itself).
var servicePorts = map[string]uint16{"http": 80, "https": 443, "ssh": 22, "domain": 53, "ntp": 123, "smtp": 25, "ftp": 21, "telnet": 23, "bgp": 179, "dns": 53}

// parsePortRange reads "80", "1000:2000", ":2000", "1000:" (iptables(8)
// --dport port[:port]; multiport uses the same form).
// onePortRange reads an option with a single port or range argument
// (--dport 80, --ctorigdstport 30000:32767), keeping its negation.
func onePortRange(o Option) (*Ports, error) {
	v, err := oneArg(o)
	if err != nil {
		return nil, err
	}
	pr, err := parsePortRange(v)
	if err != nil {
		return nil, err
	}
	return &Ports{Neg: o.Neg, Ranges: []PortRange{pr}}, nil
}

func parsePortRange(s string) (PortRange, error) {
	a, b, isRange := strings.Cut(s, ":")
	if !isRange {
		p, err := parsePort(s)
		return PortRange{p, p}, err
	}
	lo, hi := uint16(0), uint16(65535)
	var err error
	if a != "" {
		if lo, err = parsePort(a); err != nil {
			return PortRange{}, err
		}
	}
	if b != "" {
		if hi, err = parsePort(b); err != nil {
			return PortRange{}, err
		}
	}
	if lo > hi {
		// xt_tcpudp swaps an inverted range (tcp_parse_ports).
		lo, hi = hi, lo
	}
	return PortRange{lo, hi}, nil
}

var tcpFlagBits = map[string]uint8{"FIN": 1, "SYN": 2, "RST": 4, "PSH": 8, "ACK": 16, "URG": 32, "ALL": 63, "NONE": 0}

func tcpFlags(s string) (uint8, error) {
	var f uint8
	for _, n := range strings.Split(strings.ToUpper(s), ",") {
		b, ok := tcpFlagBits[n]
		if !ok {
			return 0, errf("unknown tcp flag %q", n)
		}
		f |= b
	}
	return f, nil
}

// parseMark reads "value[/mask]"; without a mask it is 0xffffffff.
func parseMark(s string) (uint32, uint32, error) {
	a, b, hasMask := strings.Cut(s, "/")
	v, err := strconv.ParseUint(a, 0, 32)
	if err != nil {
		return 0, 0, errf("bad mark %q", s)
	}
	mask := uint64(0xffffffff)
	if hasMask {
		if mask, err = strconv.ParseUint(b, 0, 32); err != nil {
			return 0, 0, errf("bad mask %q", s)
		}
	}
	return uint32(v), uint32(mask), nil
}

var icmpNames = map[string][2]int{
	"any": {-1, -1}, "echo-reply": {0, -1}, "pong": {0, -1}, "destination-unreachable": {3, -1},
	"network-unreachable": {3, 0}, "host-unreachable": {3, 1}, "protocol-unreachable": {3, 2},
	"port-unreachable": {3, 3}, "fragmentation-needed": {3, 4}, "source-route-failed": {3, 5},
	"network-unknown": {3, 6}, "host-unknown": {3, 7}, "network-prohibited": {3, 9}, "host-prohibited": {3, 10},
	"TOS-network-unreachable": {3, 11}, "TOS-host-unreachable": {3, 12}, "communication-prohibited": {3, 13},
	"host-precedence-violation": {3, 14}, "precedence-cutoff": {3, 15}, "source-quench": {4, -1},
	"redirect": {5, -1}, "echo-request": {8, -1}, "ping": {8, -1}, "router-advertisement": {9, -1},
	"router-solicitation": {10, -1}, "time-exceeded": {11, -1}, "ttl-exceeded": {11, -1},
	"ttl-zero-during-transit": {11, 0}, "ttl-zero-during-reassembly": {11, 1}, "parameter-problem": {12, -1},
	"ip-header-bad": {12, 0}, "required-option-missing": {12, 1}, "timestamp-request": {13, -1},
	"timestamp-reply": {14, -1}, "address-mask-request": {17, -1}, "address-mask-reply": {18, -1},
}

var icmp6Names = map[string][2]int{
	"destination-unreachable": {1, -1}, "no-route": {1, 0}, "communication-prohibited": {1, 1},
	"address-unreachable": {1, 3}, "port-unreachable": {1, 4}, "packet-too-big": {2, -1},
	"time-exceeded": {3, -1}, "ttl-exceeded": {3, -1}, "parameter-problem": {4, -1},
	"echo-request": {128, -1}, "ping": {128, -1}, "echo-reply": {129, -1}, "pong": {129, -1},
	"router-solicitation": {133, -1}, "router-advertisement": {134, -1},
	"neighbour-solicitation": {135, -1}, "neighbor-solicitation": {135, -1},
	"neighbour-advertisement": {136, -1}, "neighbor-advertisement": {136, -1}, "redirect": {137, -1},
}

// parseICMP reads "type[/code]" or a name (iptables -p icmp -h).
func parseICMP(s string, v6 bool) (*ICMPMatch, error) {
	names := icmpNames
	if v6 {
		names = icmp6Names
	}
	if tc, ok := names[s]; ok {
		if s == "any" {
			return &ICMPMatch{Any: true}, nil
		}
		return &ICMPMatch{Type: tc[0], Code: tc[1]}, nil
	}
	a, b, hasCode := strings.Cut(s, "/")
	t, err := strconv.ParseUint(a, 10, 8)
	if err != nil {
		return nil, errf("unknown icmp type %q", s)
	}
	im := &ICMPMatch{Type: int(t), Code: -1}
	if hasCode {
		c, err := strconv.ParseUint(b, 10, 8)
		if err != nil {
			return nil, errf("bad icmp code %q", s)
		}
		im.Code = int(c)
	}
	return im, nil
}

func decodeTarget(t *Target) (any, error) {
	switch t.Name {
	case "MARK", "CONNMARK":
		mt := &MarkTarget{NfMask: 0xffffffff, CtMask: 0xffffffff}
		set := false
		for _, o := range t.Opts {
			switch o.Name {
			case "set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark":
				v, err := oneArg(o)
				if err != nil {
					return nil, err
				}
				val, mask, err := parseMark(v)
				if err != nil {
					return nil, err
				}
				switch o.Name {
				case "set-xmark":
					mt.Xor, mt.Mask = val, mask
				case "set-mark":
					// libxt_MARK: --set-mark v/m is --set-xmark v/(m|v).
					mt.Xor, mt.Mask = val, mask|val
				case "and-mark":
					mt.Xor, mt.Mask = 0, ^val
				case "or-mark":
					mt.Xor, mt.Mask = val, val
				case "xor-mark":
					mt.Xor, mt.Mask = val, 0
				}
				set = true
			case "save-mark":
				mt.SaveMark, set = true, true
			case "restore-mark":
				mt.RestoreMark, set = true, true
			case "nfmask", "mask":
				v, err := oneArg(o)
				if err != nil {
					return nil, err
				}
				n, err := strconv.ParseUint(v, 0, 32)
				if err != nil {
					return nil, errf("bad --%s %q", o.Name, v)
				}
				mt.NfMask = uint32(n)
				if o.Name == "mask" {
					mt.CtMask = uint32(n)
				}
			case "ctmask":
				v, err := oneArg(o)
				if err != nil {
					return nil, err
				}
				n, err := strconv.ParseUint(v, 0, 32)
				if err != nil {
					return nil, errf("bad --ctmask %q", v)
				}
				mt.CtMask = uint32(n)
			}
		}
		if !set {
			return nil, errf("no mark operation")
		}
		return mt, nil
	case "DNAT", "SNAT":
		nt := &NATTarget{}
		for _, o := range t.Opts {
			switch o.Name {
			case "to-destination", "to-source", "to":
				v, err := oneArg(o)
				if err != nil {
					return nil, err
				}
				nr, err := parseNATRange(v)
				if err != nil {
					return nil, err
				}
				nt.To = append(nt.To, nr)
			case "random":
				nt.Random = true
			case "random-fully":
				nt.RandomFully = true
			case "persistent":
				nt.Persistent = true
			}
		}
		if len(nt.To) == 0 {
			return nil, errf("needs --to-%s", map[bool]string{true: "destination", false: "source"}[t.Name == "DNAT"])
		}
		return nt, nil
	case "MASQUERADE", "REDIRECT":
		nt := &NATTarget{}
		for _, o := range t.Opts {
			switch o.Name {
			case "to-ports", "to-port":
				v, err := oneArg(o)
				if err != nil {
					return nil, err
				}
				pr, err := parsePortRange(strings.Replace(v, "-", ":", 1))
				if err != nil {
					return nil, err
				}
				nt.Ports = &pr
			case "random":
				nt.Random = true
			case "random-fully":
				nt.RandomFully = true
			}
		}
		return nt, nil
	case "NETMAP":
		o, ok := t.Opt("to")
		if !ok {
			return nil, errf("needs --to")
		}
		v, err := oneArg(o)
		if err != nil {
			return nil, err
		}
		pf, e := parsePrefix(v)
		if e != "" {
			return nil, errf("--to %q: %s", v, e)
		}
		return &NATTarget{NetmapTo: pf}, nil
	case "REJECT":
		rj := &Reject{With: "icmp-port-unreachable"}
		if o, ok := t.Opt("reject-with"); ok {
			v, err := oneArg(o)
			if err != nil {
				return nil, err
			}
			rj.With = v
		}
		return rj, nil
	case "NOTRACK":
		return &Notrack{}, nil
	case "CT":
		if _, ok := t.Opt("notrack"); ok {
			return &Notrack{}, nil
		}
		return &CT{Other: t.Opts}, nil
	}
	return nil, nil
}

// parseNATRange reads "[ip[-ip]][:port[-port]]" (IPv6: "[ip]:port").
func parseNATRange(s string) (NATRange, error) {
	var nr NATRange
	addr, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return nr, errf("bad address %q", s)
		}
		addr, port = s[1:end], strings.TrimPrefix(s[end+1:], ":")
	} else if strings.Count(s, ":") == 1 {
		addr, port, _ = strings.Cut(s, ":")
	}
	if addr != "" {
		a, b, isRange := strings.Cut(addr, "-")
		lo, err := netip.ParseAddr(a)
		if err != nil {
			return nr, errf("bad address %q", s)
		}
		hi := lo
		if isRange {
			if hi, err = netip.ParseAddr(b); err != nil {
				return nr, errf("bad address %q", s)
			}
		}
		nr.Lo, nr.Hi = lo.Unmap(), hi.Unmap()
	}
	if port != "" {
		pr, err := parsePortRange(strings.Replace(port, "-", ":", 1))
		if err != nil {
			return nr, err
		}
		nr.Ports = &pr
	}
	return nr, nil
}
