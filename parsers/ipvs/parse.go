package ipvs

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"tkesnap/parsers/lines"
)

// MaxProblems bounds the problems kept for one file; a file of garbage
// should not cost memory proportional to its size twice.
const MaxProblems = 100

type parser struct {
	t       *Table
	cur     *Service // service the following "  ->" lines belong to
	columns Format   // which columns the list-style lines carry
	conns   bool     // inside "IPVS connection entries"
}

// Parse reads any ipvsadm output described in the package comment. The
// format is recognised per line, so a file may hold several of them
// (e.g. -Ln followed by -Lnc).
func Parse(r io.Reader) *Table {
	p := &parser{t: &Table{}}
	lr := lines.New(r, 0)
	for lr.Next() {
		if lr.Cut() {
			p.problem(lr.Line(), "line longer than %d bytes, ignored", lines.MaxLine)
			continue
		}
		p.line(lr.Line(), lr.Text())
	}
	if err := lr.Err(); err != nil {
		p.problem(lr.Line()+1, "read error: %v", err)
	}
	if p.t.index == nil {
		p.t.reindex()
	}
	return p.t
}

// ParseString is Parse on a string.
func ParseString(s string) *Table { return Parse(strings.NewReader(s)) }

func (p *parser) problem(line int, format string, a ...any) {
	if len(p.t.Problems) < MaxProblems {
		p.t.Problems = append(p.t.Problems, Problem{Line: line, Message: fmt.Sprintf(format, a...)})
	}
}

func (p *parser) setFormat(f Format) {
	if p.t.Format == "" {
		p.t.Format = f
	}
}

func (p *parser) line(n int, s string) {
	trimmed := strings.TrimSpace(s)
	switch {
	case trimmed == "":
		return
	case strings.HasPrefix(trimmed, "-A ") || strings.HasPrefix(trimmed, "-a ") ||
		strings.HasPrefix(trimmed, "--add-service ") || strings.HasPrefix(trimmed, "--add-server "):
		p.setFormat(FormatSave)
		p.saveLine(n, trimmed)
	case strings.HasPrefix(trimmed, "IP Virtual Server version"):
		p.conns = false
		p.cur = nil
		p.header(n, trimmed)
	case trimmed == "IPVS connection entries":
		p.setFormat(FormatConns)
		p.conns = true
		p.cur = nil
	case strings.HasPrefix(trimmed, "pro expire"):
		p.conns = true
	case isTitle(trimmed):
		p.title(trimmed)
	case strings.HasPrefix(trimmed, "->"):
		p.destLine(n, strings.TrimSpace(trimmed[2:]))
	case p.conns:
		p.connLine(n, trimmed)
	case strings.Contains(trimmed, "ipvsadm ") && (strings.Contains(trimmed, "$ ") || strings.Contains(trimmed, "# ")):
		// an echoed shell prompt and command, as in pasted dumps
	default:
		p.serviceLine(n, trimmed)
	}
}

// isTitle recognises print_title's first line. KEP-265's dump spells it
// "Port LocalAddress:Port" (a typo in the KEP): accept any word before
// "LocalAddress:Port".
func isTitle(s string) bool {
	f := strings.Fields(s)
	return len(f) >= 2 && f[1] == "LocalAddress:Port"
}

func (p *parser) header(n int, s string) {
	// IP Virtual Server version 1.2.1 (size=4096)
	f := strings.Fields(s)
	if len(f) >= 5 {
		p.t.Version = f[4]
	}
	if i := strings.Index(s, "(size="); i >= 0 {
		rest := s[i+len("(size="):]
		if j := strings.IndexByte(rest, ')'); j >= 0 {
			if v, err := strconv.Atoi(rest[:j]); err == nil {
				p.t.Size = v
			}
		}
	}
}

func (p *parser) title(s string) {
	p.conns = false
	switch {
	case strings.Contains(s, "InPkts"):
		p.columns = FormatStats
	case strings.Contains(s, "CPS"):
		p.columns = FormatRate
	case strings.Contains(s, "Uthreshold"):
		p.columns = "thresholds"
	case strings.Contains(s, "PersistConn"):
		p.columns = "persistconn"
	default:
		p.columns = FormatList
	}
	if p.columns == FormatList || p.columns == FormatStats || p.columns == FormatRate {
		p.setFormat(p.columns)
	} else {
		p.setFormat(FormatList)
	}
}

// serviceLine reads a virtual service line of the list formats:
//
//	TCP  10.96.0.1:443 rr persistent 10800 mask 0.0.0.0
//	FWM  100 IPv6 wlc (sh-fallback)
//	TCP  10.96.0.1:443        12   345   678   9000   12000   (--stats)
func (p *parser) serviceLine(n int, s string) {
	f := strings.Fields(s)
	if len(f) < 2 {
		p.problem(n, "not an ipvsadm line: %q", clip(s))
		return
	}
	svc := &Service{Line: n}
	i := 0
	switch strings.ToUpper(f[0]) {
	case "TCP", "UDP", "SCTP":
		svc.Proto = Proto(strings.ToUpper(f[0]))
		ap, err := parseAddrPort(f[1])
		if err != nil {
			p.problem(n, "virtual service address %q: %v", f[1], err)
			return
		}
		svc.Addr = ap
		i = 2
	case "FWM":
		svc.Proto = FWMark
		m, err := strconv.ParseUint(f[1], 10, 32)
		if err != nil {
			p.problem(n, "fwmark %q: %v", f[1], err)
			return
		}
		svc.Mark = uint32(m)
		i = 2
		if i < len(f) && f[i] == "IPv6" {
			svc.IPv6 = true
			i++
		}
	default:
		p.problem(n, "not an ipvsadm line: %q", clip(s))
		return
	}
	switch p.columns {
	case FormatStats, FormatRate:
		c, ok := counters(f[i:])
		if !ok {
			p.problem(n, "expected 5 counters after %s", svc.Key)
			return
		}
		if p.columns == FormatStats {
			svc.Stats = c
		} else {
			svc.Rate = c
		}
	default:
		if i >= len(f) {
			p.problem(n, "virtual service %s has no scheduler", svc.Key)
			return
		}
		svc.Scheduler = f[i]
		i++
		for ; i < len(f); i++ {
			switch tok := f[i]; {
			case strings.HasPrefix(tok, "("):
				svc.SchedFlags = splitFlags(strings.Trim(tok, "()"))
			case tok == "persistent" && i+1 < len(f):
				svc.Persistent = true
				v, err := strconv.ParseUint(f[i+1], 10, 32)
				if err != nil {
					p.problem(n, "persistent timeout %q: %v", f[i+1], err)
				}
				svc.Timeout = uint32(v)
				i++
			case tok == "mask" && i+1 < len(f):
				svc.Netmask = f[i+1]
				i++
			case tok == "pe" && i+1 < len(f):
				svc.PE = f[i+1]
				i++
			case tok == "ops":
				svc.OnePacket = true
			default:
				p.problem(n, "unknown flag %q of %s", tok, svc.Key)
			}
		}
	}
	p.addService(n, svc)
}

func (p *parser) addService(n int, svc *Service) {
	if p.t.index == nil {
		p.t.index = map[Key]*Service{}
	}
	if old, dup := p.t.index[svc.Key]; dup {
		p.problem(n, "virtual service %s listed twice (first at line %d)", svc.Key, old.Line)
		p.cur = nil
		return
	}
	p.t.index[svc.Key] = svc
	p.t.Services = append(p.t.Services, svc)
	p.cur = svc
}

// destLine reads a real server line ("  -> " already removed).
func (p *parser) destLine(n int, s string) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return
	}
	if f[0] == "RemoteAddress:Port" { // second title line
		return
	}
	if p.cur == nil {
		p.problem(n, "real server line outside a virtual service")
		return
	}
	ap, err := parseAddrPort(f[0])
	if err != nil {
		p.problem(n, "real server address %q: %v", f[0], err)
		return
	}
	d := &Dest{Line: n, Addr: ap}
	rest := f[1:]
	bad := func() { p.problem(n, "real server %s of %s: unexpected columns %q", f[0], p.cur.Key, clip(s)) }
	switch p.columns {
	case FormatStats, FormatRate:
		c, ok := counters(rest)
		if !ok {
			bad()
			return
		}
		if p.columns == FormatStats {
			d.Stats = c
		} else {
			d.Rate = c
		}
	case "thresholds": // Uthreshold Lthreshold ActiveConn InActConn
		v, ok := uints(rest, 4)
		if !ok {
			bad()
			return
		}
		d.UThreshold, d.LThreshold = uint32(v[0]), uint32(v[1])
		d.ActiveConn, d.InActConn, d.hasConnCount = v[2], v[3], true
		d.Weight = -1
	case "persistconn": // Weight PersistConn ActiveConn InActConn
		v, ok := uints(rest, 4)
		if !ok {
			bad()
			return
		}
		d.Weight = int(v[0])
		d.ActiveConn, d.InActConn, d.hasConnCount = v[2], v[3], true
	default: // Forward [TunInfo] Weight ActiveConn InActConn
		if len(rest) == 5 { // --tun-info adds a column after Forward
			d.TunnelOpts = rest[1]
			rest = append(rest[:1:1], rest[2:]...)
		}
		if len(rest) != 4 {
			bad()
			return
		}
		fw, ok := parseForward(rest[0])
		if !ok {
			p.problem(n, "unknown forwarding method %q", rest[0])
			return
		}
		d.Forward = fw
		w, err := strconv.Atoi(rest[1])
		if err != nil {
			bad()
			return
		}
		v, ok := uints(rest[2:], 2)
		if !ok {
			bad()
			return
		}
		d.Weight, d.ActiveConn, d.InActConn, d.hasConnCount = w, v[0], v[1], true
	}
	p.cur.Dests = append(p.cur.Dests, d)
}

// splitFlags splits "sh-fallback,sh-port", dropping empty names.
func splitFlags(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseForward(s string) (Forward, bool) {
	switch Forward(s) {
	case Masq, Route, Tunnel, Local:
		return Forward(s), true
	}
	return "", false
}

// connLine reads one line of -Lnc:
//
//	TCP 14:59  ESTABLISHED 10.0.0.1:5555      10.96.0.1:443      10.0.0.2:6443
func (p *parser) connLine(n int, s string) {
	f := strings.Fields(s)
	if len(f) < 6 {
		p.problem(n, "connection entry with %d columns, want 6", len(f))
		return
	}
	c := Conn{Line: n, Proto: f[0], Expire: f[1], State: f[2]}
	var err error
	for i, dst := range []*netip.AddrPort{&c.Client, &c.Virtual, &c.Dest} {
		if *dst, err = parseAddrPort(f[3+i]); err != nil {
			p.problem(n, "connection address %q: %v", f[3+i], err)
			return
		}
	}
	p.t.Conns = append(p.t.Conns, c)
}

func parseAddrPort(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		if strings.ContainsAny(strings.ToLower(s), "ghijklmnopqrstuvwxyz") {
			return ap, fmt.Errorf("not numeric (collect with ipvsadm -n)")
		}
		return ap, err
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// counters reads five print_largenum values: plain, or rounded with a
// K/M/G/T suffix (ipvsadm without --exact).
func counters(f []string) (*Counters, bool) {
	if len(f) != 5 {
		return nil, false
	}
	c := &Counters{}
	dst := []*uint64{&c.Conns, &c.InPkts, &c.OutPkts, &c.InBytes, &c.OutBytes}
	for i, s := range f {
		mult := uint64(1)
		switch s[len(s)-1] {
		case 'K':
			mult = 1e3
		case 'M':
			mult = 1e6
		case 'G':
			mult = 1e9
		case 'T':
			mult = 1e12
		}
		if mult != 1 {
			s = s[:len(s)-1]
			c.Approx = true
		}
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, false
		}
		*dst[i] = v * mult
	}
	return c, true
}

func uints(f []string, want int) ([]uint64, bool) {
	if len(f) != want {
		return nil, false
	}
	out := make([]uint64, want)
	for i, s := range f {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, false
		}
		out[i] = v
	}
	return out, true
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
