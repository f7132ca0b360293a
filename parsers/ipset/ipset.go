// Package ipset parses `ipset save` and `ipset list` output into sets
// with their members, and answers membership tests the way xt_set does
// (ipset(8) "SET TYPES", --match-set flags picking src/dst per dimension).
//
// Like every tkesnap parser it never fails on content: unreadable lines
// become Problems with their line number and the rest is kept.
package ipset

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// Save is the parsed output.
type Save struct {
	Sets     []*Set
	Problems []Problem
	byName   map[string]*Set
}

// Problem is a line that could not be read.
type Problem struct {
	Line    int
	Message string
}

func (p Problem) String() string { return fmt.Sprintf("line %d: %s", p.Line, p.Message) }

// Set is one "create" (or "Name:" block).
type Set struct {
	Name    string
	Type    string   // "hash:ip,port"
	Dims    []string // "ip", "port", "net", "mark", "iface", "mac", "set"
	Family  int      // 4 or 6 (inet/inet6)
	Line    int
	Options map[string]string // hashsize, maxelem, timeout, comment, ...
	Members []*Member
}

// Member is one "add" line.
type Member struct {
	Line    int
	Raw     string
	Elems   []Elem
	Nomatch bool
	Comment string
	Timeout int // -1 when not given
}

// Elem is one dimension of a member.
type Elem struct {
	Prefix         netip.Prefix // ip/net (an ip is a full-length prefix)
	Lo, Hi         netip.Addr   // an ip range "a-b" (Prefix invalid then)
	Proto          uint8        // port dims: 6 tcp (default), 17 udp, 132 sctp, 136 udplite, 1 icmp, 0 any
	PortLo, PortHi uint16
	Text           string // iface, mac, mark, set name
}

// ParseFile parses a file on disk.
func ParseFile(path string) (*Save, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f)
}

// Set returns a set by name, or nil.
func (s *Save) Set(name string) *Set {
	if s == nil {
		return nil
	}
	return s.byName[name]
}

const maxLine = 1 << 20

// Parse reads `ipset save` or `ipset list` output.
func Parse(r io.Reader) (*Save, error) {
	s := &Save{byName: map[string]*Set{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4<<10), maxLine)
	line := 0
	var listSet *Set // current "Name:" block
	inMembers := false
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" {
			inMembers = false
			continue
		}
		if inMembers && listSet != nil {
			s.addMember(listSet, line, t)
			continue
		}
		f := fields(t)
		switch {
		case f[0] == "create" || f[0] == "-N" || f[0] == "n":
			if len(f) < 3 {
				s.problem(line, "create needs a name and a type")
				continue
			}
			listSet = nil
			s.create(line, f[1], f[2], f[3:])
		case f[0] == "add" || f[0] == "-A" || f[0] == "a":
			if len(f) < 3 {
				s.problem(line, "add needs a set and an element")
				continue
			}
			set := s.byName[f[1]]
			if set == nil {
				s.problem(line, "add to set %s that was not created", f[1])
				continue
			}
			s.addMember(set, line, strings.Join(f[2:], " "))
		case strings.HasPrefix(t, "Name:"):
			listSet = s.create(line, strings.TrimSpace(t[5:]), "", nil)
		case strings.HasPrefix(t, "Type:") && listSet != nil:
			listSet.setType(strings.TrimSpace(t[5:]))
		case strings.HasPrefix(t, "Header:") && listSet != nil:
			listSet.header(fields(strings.TrimSpace(t[7:])))
		case strings.HasPrefix(t, "Members:") && listSet != nil:
			inMembers = true
		case strings.HasPrefix(t, "Revision:"), strings.HasPrefix(t, "Size in memory:"),
			strings.HasPrefix(t, "References:"), strings.HasPrefix(t, "Number of entries:"):
		case strings.HasPrefix(t, "#"):
		default:
			s.problem(line, "not ipset save/list output: %q", clip(t))
		}
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			s.problem(line+1, "line longer than %d bytes; rest of the file skipped", maxLine)
			return s, nil
		}
		return s, err
	}
	return s, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// fields splits on spaces, keeping double-quoted comments together.
func fields(t string) []string {
	var out []string
	var b strings.Builder
	q, in := false, false
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '"':
			q = !q
			in = true
			b.WriteByte(c)
		case !q && (c == ' ' || c == '\t'):
			if in {
				out = append(out, b.String())
				b.Reset()
				in = false
			}
		default:
			b.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, b.String())
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}

func (s *Save) problem(line int, format string, a ...any) {
	if len(s.Problems) < 1000 {
		s.Problems = append(s.Problems, Problem{Line: line, Message: fmt.Sprintf(format, a...)})
	}
}

func (s *Save) create(line int, name, typ string, opts []string) *Set {
	if old := s.byName[name]; old != nil {
		s.problem(line, "set %s created again (first at line %d)", name, old.Line)
	}
	set := &Set{Name: name, Line: line, Family: 4, Options: map[string]string{}}
	if typ != "" {
		if !set.setType(typ) {
			s.problem(line, "unknown set type %q", typ)
		}
	}
	set.header(opts)
	s.Sets = append(s.Sets, set)
	s.byName[name] = set
	return set
}

func (set *Set) setType(typ string) bool {
	set.Type = typ
	_, dims, ok := strings.Cut(typ, ":")
	if !ok {
		return false
	}
	set.Dims = strings.Split(dims, ",")
	for _, d := range set.Dims {
		switch d {
		case "ip", "net", "port", "mark", "iface", "mac", "set":
		default:
			return false
		}
	}
	return true
}

func (set *Set) header(opts []string) {
	for i := 0; i < len(opts); i++ {
		k := opts[i]
		switch k {
		case "comment", "counters", "skbinfo", "forceadd":
			set.Options[k] = ""
			continue
		}
		if i+1 < len(opts) {
			set.Options[k] = opts[i+1]
			i++
		}
	}
	if set.Options["family"] == "inet6" {
		set.Family = 6
	}
}

func (s *Save) addMember(set *Set, line int, t string) {
	f := fields(t)
	m := &Member{Line: line, Raw: t, Timeout: -1}
	for i := 1; i < len(f); i++ {
		switch f[i] {
		case "nomatch":
			m.Nomatch = true
		case "comment":
			if i+1 < len(f) {
				m.Comment = strings.Trim(f[i+1], `"`)
				i++
			}
		case "timeout":
			if i+1 < len(f) {
				m.Timeout, _ = strconv.Atoi(f[i+1])
				i++
			}
		default:
			// packets/bytes/skbmark/... take a value
			i++
		}
	}
	parts := strings.Split(f[0], ",")
	if set.Dims != nil && len(parts) != len(set.Dims) {
		s.problem(line, "element %q has %d parts, set %s (%s) has %d", f[0], len(parts), set.Name, set.Type, len(set.Dims))
		return
	}
	for i, p := range parts {
		dim := "ip"
		if set.Dims != nil {
			dim = set.Dims[i]
		}
		e, err := parseElem(dim, p)
		if err != "" {
			s.problem(line, "element %q: %s", f[0], err)
			return
		}
		m.Elems = append(m.Elems, e)
	}
	set.Members = append(set.Members, m)
}

func parseElem(dim, p string) (Elem, string) {
	var e Elem
	switch dim {
	case "ip", "net":
		if a, b, ok := strings.Cut(p, "-"); ok {
			lo, err1 := netip.ParseAddr(a)
			hi, err2 := netip.ParseAddr(b)
			if err1 != nil || err2 != nil {
				return e, "bad address range"
			}
			e.Lo, e.Hi = lo.Unmap(), hi.Unmap()
			return e, ""
		}
		if strings.Contains(p, "/") {
			pf, err := netip.ParsePrefix(p)
			if err != nil {
				return e, "bad prefix"
			}
			e.Prefix = pf.Masked()
			return e, ""
		}
		a, err := netip.ParseAddr(p)
		if err != nil {
			return e, "bad address"
		}
		a = a.Unmap()
		e.Prefix = netip.PrefixFrom(a, a.BitLen())
	case "port":
		proto, port, ok := strings.Cut(p, ":")
		if !ok {
			proto, port = "tcp", p // ipset(8): the protocol defaults to TCP
		}
		switch strings.ToLower(proto) {
		case "tcp":
			e.Proto = 6
		case "udp":
			e.Proto = 17
		case "sctp":
			e.Proto = 132
		case "udplite":
			e.Proto = 136
		case "icmp":
			e.Proto = 1
		case "icmpv6":
			e.Proto = 58
		default:
			n, err := strconv.Atoi(proto)
			if err != nil || n < 0 || n > 255 {
				return e, "unknown protocol " + proto
			}
			e.Proto = uint8(n)
		}
		if e.Proto == 1 || e.Proto == 58 {
			e.Text = port // icmp type name or type/code
			return e, ""
		}
		lo, hi, isRange := strings.Cut(port, "-")
		l, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return e, "bad port " + port
		}
		h := l
		if isRange {
			if h, err = strconv.ParseUint(hi, 10, 16); err != nil {
				return e, "bad port " + port
			}
		}
		e.PortLo, e.PortHi = uint16(l), uint16(h)
	default:
		e.Text = p
	}
	return e, ""
}

// Match reports whether set name holds the packet tuple picked by flags
// (xt_set: one "src"/"dst" per dimension; a set with more dimensions than
// flags never matches). known is false when the set is missing or has a
// dimension that a packet tuple cannot decide (iface, mac, mark).
func (s *Save) Match(name string, flags []string, proto uint8, src, dst netip.AddrPort) (match, known bool) {
	set := s.Set(name)
	if set == nil {
		return false, false
	}
	return s.match(set, flags, proto, src, dst, map[*Set]bool{})
}

func (s *Save) match(set *Set, flags []string, proto uint8, src, dst netip.AddrPort, seen map[*Set]bool) (bool, bool) {
	if set.Dims == nil {
		return false, false
	}
	if set.Dims[0] == "set" {
		// list:set matches when any member set matches.
		// The kernel refuses a list:set holding itself; a dump may not.
		if seen[set] {
			return false, false
		}
		seen[set] = true
		defer delete(seen, set)
		for _, m := range set.Members {
			sub := s.Set(m.Elems[0].Text)
			if sub == nil {
				return false, false
			}
			hit, known := s.match(sub, flags, proto, src, dst, seen)
			if !known {
				return false, false
			}
			if hit {
				return true, true
			}
		}
		return false, true
	}
	if len(flags) < len(set.Dims) {
		return false, true
	}
	v6 := src.Addr().Is6()
	if (set.Family == 6) != v6 {
		return false, true
	}
	for _, d := range set.Dims {
		if d != "ip" && d != "net" && d != "port" {
			return false, false
		}
	}
	best, bestLen := (*Member)(nil), -1
	for _, m := range set.Members {
		ok, plen := true, 0
		for i, d := range set.Dims {
			ap := src
			if flags[i] == "dst" {
				ap = dst
			}
			e := m.Elems[i]
			switch d {
			case "ip", "net":
				a := ap.Addr()
				if e.Prefix.IsValid() {
					ok = ok && e.Prefix.Contains(a)
					plen += e.Prefix.Bits()
				} else {
					ok = ok && a.Compare(e.Lo) >= 0 && a.Compare(e.Hi) <= 0
					plen += a.BitLen()
				}
			case "port":
				switch proto {
				case 6, 17, 132, 136:
				default:
					// ip_set_get_ip_port: other protocols carry no port; icmp
					// entries compare type/code, which the tuple does not hold.
					return false, proto == 1 || proto == 58
				}
				if set.Type == "bitmap:port" {
					ok = ok && ap.Port() >= e.PortLo && ap.Port() <= e.PortHi
				} else {
					ok = ok && e.Proto == proto && ap.Port() >= e.PortLo && ap.Port() <= e.PortHi
				}
			}
		}
		if ok && plen > bestLen {
			best, bestLen = m, plen
		}
	}
	if best == nil {
		return false, true
	}
	// hash:net "nomatch" entries exclude their (more specific) range.
	return !best.Nomatch, true
}
