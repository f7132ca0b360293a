package netlink

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// Route is one route of `ip -j route show table all` (IPv4 or IPv6).
type Route struct {
	Line int
	// Type is unicast (the default iproute2 omits), local, broadcast,
	// blackhole, unreachable, prohibit, throw, multicast, anycast, nat.
	Type     string
	Dst      netip.Prefix
	Gateway  netip.Addr // zero when directly connected
	Dev      string
	Table    string // main when omitted; local, default, or a number
	Protocol string // kernel, boot, static, bird, ...
	Scope    string
	PrefSrc  netip.Addr
	Metric   int
	Flags    []string // onlink, linkdown, dead, ...
	Nexthops []Nexthop
	Excerpt  string
}

// Nexthop is one path of a multipath (ECMP) route.
type Nexthop struct {
	Gateway netip.Addr
	Dev     string
	Weight  int
}

func (r Route) String() string {
	var b strings.Builder
	if r.Type != "unicast" {
		b.WriteString(r.Type + " ")
	}
	if r.Dst.Bits() == 0 {
		b.WriteString("default")
	} else {
		b.WriteString(r.Dst.String())
	}
	if r.Gateway.IsValid() {
		b.WriteString(" via " + r.Gateway.String())
	}
	if r.Dev != "" {
		b.WriteString(" dev " + r.Dev)
	}
	for _, nh := range r.Nexthops {
		b.WriteString(" nexthop via " + nh.Gateway.String() + " dev " + nh.Dev)
	}
	if r.Table != "main" {
		b.WriteString(" table " + r.Table)
	}
	return b.String()
}

// Delivers says a lookup hitting the route sends the packet somewhere
// (rather than dropping it: blackhole/unreachable/prohibit, or throw,
// which continues with the next rule).
func (r Route) Delivers() bool {
	switch r.Type {
	case "blackhole", "unreachable", "prohibit", "throw":
		return false
	}
	return true
}

type rawRoute struct {
	Type    string    `json:"type"`
	Dst     string    `json:"dst"`
	Gateway string    `json:"gateway"`
	Via     *struct { // "via": {"family":"inet6","host":"fe80::1"} (RTA_VIA)
		Host string `json:"host"`
	} `json:"via"`
	Dev      string     `json:"dev"`
	Table    flexString `json:"table"`
	Protocol flexString `json:"protocol"`
	Scope    flexString `json:"scope"`
	PrefSrc  string     `json:"prefsrc"`
	Metric   *int       `json:"metric"`
	Flags    []string   `json:"flags"`
	Pref     string     `json:"pref"` // IPv6 router preference: printed for IPv6 routes only
	Nexthops []struct {
		Gateway string `json:"gateway"`
		Dev     string `json:"dev"`
		Weight  int    `json:"weight"`
	} `json:"nexthops"`
}

// ParseRoutes reads `ip -j route show table all` (and `ip -j -6 route ...`;
// both families may be concatenated by the collector as two arrays — only
// the first array of a file is read, so collect them into separate files
// or one `ip -j route show table all` which holds IPv4 only).
func ParseRoutes(r io.Reader) ([]Route, []Problem) {
	var out []Route
	probs := decodeArray(r, func(line int, raw json.RawMessage) error {
		var rr rawRoute
		if err := json.Unmarshal(raw, &rr); err != nil {
			return err
		}
		// "default" is 0.0.0.0/0 or ::/0: the family shows in the gateway,
		// or in "pref", which iproute2 prints for IPv6 routes only
		v6 := strings.Contains(rr.Dst, ":") || strings.Contains(rr.Gateway, ":") || rr.Pref != "" ||
			(rr.Via != nil && strings.Contains(rr.Via.Host, ":"))
		dst, err := parsePrefix(rr.Dst, v6)
		if err != nil || !dst.IsValid() {
			return fmt.Errorf("route destination %q: %v", rr.Dst, err)
		}
		rt := Route{Line: line, Type: rr.Type, Dst: dst, Dev: rr.Dev, Table: string(rr.Table),
			Protocol: string(rr.Protocol), Scope: string(rr.Scope), Flags: rr.Flags, Excerpt: excerpt(raw)}
		if rt.Type == "" {
			rt.Type = "unicast"
		}
		if rt.Table == "" {
			rt.Table = "main"
		}
		if rt.Table == "254" {
			rt.Table = "main"
		} else if rt.Table == "255" {
			rt.Table = "local"
		} else if rt.Table == "253" {
			rt.Table = "default"
		}
		if rr.Metric != nil {
			rt.Metric = *rr.Metric
		}
		gw := rr.Gateway
		if gw == "" && rr.Via != nil {
			gw = rr.Via.Host
		}
		if gw != "" {
			if rt.Gateway, err = netip.ParseAddr(gw); err != nil {
				return fmt.Errorf("route %s gateway %q: %v", rr.Dst, gw, err)
			}
		}
		if rr.PrefSrc != "" {
			if rt.PrefSrc, err = netip.ParseAddr(rr.PrefSrc); err != nil {
				return fmt.Errorf("route %s prefsrc %q: %v", rr.Dst, rr.PrefSrc, err)
			}
		}
		for _, nh := range rr.Nexthops {
			g, err := netip.ParseAddr(nh.Gateway)
			if err != nil && nh.Gateway != "" {
				return fmt.Errorf("route %s nexthop %q: %v", rr.Dst, nh.Gateway, err)
			}
			rt.Nexthops = append(rt.Nexthops, Nexthop{Gateway: g, Dev: nh.Dev, Weight: nh.Weight})
		}
		out = append(out, rt)
		return nil
	})
	return out, probs
}

// Rule is one policy routing rule of `ip -j rule`.
type Rule struct {
	Line     int
	Priority int
	Not      bool         // "not": the selector is inverted
	Src, Dst netip.Prefix // invalid (zero) = all
	FwMark   uint32
	FwMask   uint32 // 0xffffffff when a mark is given without a mask
	HasMark  bool
	IIF, OIF string
	// Other selectors the lookup cannot evaluate without more context
	// (tos, ipproto, sport, dport, uidrange, l3mdev).
	Other []string
	// Table is the table looked up; Action is set for the other actions
	// (unreachable, prohibit, blackhole, goto, nop).
	Table   string
	Action  string
	Excerpt string
}

func (r Rule) String() string { return strconv.Itoa(r.Priority) + ": " + r.Excerpt }

// ParseRules reads `ip -j rule`.
func ParseRules(r io.Reader) ([]Rule, []Problem) {
	var out []Rule
	probs := decodeArray(r, func(line int, raw json.RawMessage) error {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		str := func(k string) string {
			var f flexString
			if v, ok := m[k]; ok {
				_ = json.Unmarshal(v, &f)
			}
			return string(f)
		}
		num := func(k string) (int, bool) {
			s := str(k)
			if s == "" {
				return 0, false
			}
			v, err := strconv.ParseInt(s, 0, 64)
			return int(v), err == nil
		}
		ru := Rule{Line: line, Table: str("table"), Action: str("action"), IIF: str("iif"), OIF: str("oif"), Excerpt: excerpt(raw)}
		ru.Priority, _ = num("priority")
		_, ru.Not = m["not"]
		for _, side := range []struct {
			key, lenKey string
			dst         *netip.Prefix
		}{{"src", "srclen", &ru.Src}, {"dst", "dstlen", &ru.Dst}} {
			s := str(side.key)
			if s == "" || s == "all" {
				continue
			}
			if l, ok := num(side.lenKey); ok {
				s += "/" + strconv.Itoa(l)
			}
			p, err := parsePrefix(s, strings.Contains(s, ":"))
			if err != nil {
				return fmt.Errorf("rule %d %s %q: %v", ru.Priority, side.key, s, err)
			}
			*side.dst = p
		}
		if s := str("fwmark"); s != "" {
			v, err := strconv.ParseUint(s, 0, 32)
			if err != nil {
				return fmt.Errorf("rule %d fwmark %q: %v", ru.Priority, s, err)
			}
			ru.FwMark, ru.FwMask, ru.HasMark = uint32(v), 0xffffffff, true
			if s := str("fwmask"); s != "" {
				v, err := strconv.ParseUint(s, 0, 32)
				if err != nil {
					return fmt.Errorf("rule %d fwmask %q: %v", ru.Priority, s, err)
				}
				ru.FwMask = uint32(v)
			}
		}
		for _, k := range []string{"tos", "dsfield", "ipproto", "sport", "dport", "uid_start", "l3mdev", "suppress_prefixlen", "suppress_ifgroup"} {
			if _, ok := m[k]; ok {
				ru.Other = append(ru.Other, k)
			}
		}
		if ru.Table == "" && ru.Action == "" {
			ru.Action = "unknown"
		}
		switch ru.Table {
		case "254":
			ru.Table = "main"
		case "255":
			ru.Table = "local"
		case "253":
			ru.Table = "default"
		}
		out = append(out, ru)
		return nil
	})
	return out, probs
}
