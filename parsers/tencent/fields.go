package tencent

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Protocol of a security group policy, normalised to lower case:
// "tcp", "udp", "icmp", "icmpv6", "gre" or "all". The API accepts any
// case ("TCP", "tcp", "Tcp"); an empty protocol with a ServiceTemplate is
// "" (the template names the protocol).
func ParseProtocol(s string) (string, error) {
	p := strings.ToLower(strings.TrimSpace(s))
	switch p {
	case "", "tcp", "udp", "icmp", "icmpv6", "gre", "all":
		return p, nil
	case "-1":
		return "all", nil
	}
	return "", fmt.Errorf("unknown protocol %q", s)
}

// PortRange is an inclusive range of ports.
type PortRange struct{ From, To int }

// AllPorts is what "ALL" (or an empty Port) means.
var AllPorts = PortRange{0, 65535}

func (r PortRange) Contains(p int) bool { return p >= r.From && p <= r.To }

func (r PortRange) String() string {
	if r == AllPorts {
		return "ALL"
	}
	if r.From == r.To {
		return strconv.Itoa(r.From)
	}
	return fmt.Sprintf("%d-%d", r.From, r.To)
}

// ParsePorts parses the Port of a policy: "ALL", "" (all), "80",
// "80,443", "3000-32768" or a mix "22,80-90". Ports are 0..65535.
func ParsePorts(s string) ([]PortRange, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "ALL") || s == "-1" {
		return []PortRange{AllPorts}, nil
	}
	var out []PortRange
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := port(lo)
		if err != nil {
			return nil, fmt.Errorf("port %q: %v", part, err)
		}
		b := a
		if isRange {
			if b, err = port(hi); err != nil {
				return nil, fmt.Errorf("port %q: %v", part, err)
			}
			if b < a {
				return nil, fmt.Errorf("port range %q is reversed", part)
			}
		}
		out = append(out, PortRange{a, b})
	}
	return out, nil
}

func port(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("not a port number")
	}
	return n, nil
}

// Service is one entry of a service template: a protocol and its ports.
type Service struct {
	Proto string // as ParseProtocol
	Ports []PortRange
}

// ParseService parses a service template entry: "tcp:80", "udp:53,54",
// "tcp:3000-32768", "icmp", "ALL", "tcp:all", "gre".
func ParseService(s string) (Service, error) {
	proto, ports, has := strings.Cut(strings.TrimSpace(s), ":")
	p, err := ParseProtocol(proto)
	if err != nil || p == "" {
		return Service{}, fmt.Errorf("service %q: unknown protocol", s)
	}
	if !has {
		return Service{Proto: p, Ports: []PortRange{AllPorts}}, nil
	}
	pr, err := ParsePorts(ports)
	if err != nil {
		return Service{}, fmt.Errorf("service %q: %v", s, err)
	}
	return Service{Proto: p, Ports: pr}, nil
}

// AddrRange is an inclusive range of addresses of one family.
type AddrRange struct{ From, To netip.Addr }

func (r AddrRange) Contains(a netip.Addr) bool {
	return r.From.IsValid() && a.BitLen() == r.From.BitLen() && r.From.Compare(a) <= 0 && a.Compare(r.To) <= 0
}

func (r AddrRange) String() string {
	if r.From == r.To {
		return r.From.String()
	}
	if p, ok := r.Prefix(); ok {
		return p.String()
	}
	return r.From.String() + "-" + r.To.String()
}

// Prefix returns the range as a CIDR when it is exactly one.
func (r AddrRange) Prefix() (netip.Prefix, bool) {
	for bits := 0; bits <= r.From.BitLen(); bits++ {
		p := netip.PrefixFrom(r.From, bits).Masked()
		if p.Addr() == r.From && PrefixRange(p).To == r.To {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// PrefixRange returns the first and last address of a prefix.
func PrefixRange(p netip.Prefix) AddrRange {
	p = p.Masked()
	first := p.Addr()
	b := first.AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	last, _ := netip.AddrFromSlice(b)
	if first.Is4() {
		last = last.Unmap()
	}
	return AddrRange{first, last}
}

// ParseAddress parses a CidrBlock or address template entry: an IP
// ("10.0.0.1"), a CIDR ("10.0.0.0/16", host bits allowed as the console
// accepts "192.128.8.8/17"), or a range "10.0.0.1-10.0.0.100".
func ParseAddress(s string) (AddrRange, error) {
	s = strings.TrimSpace(s)
	if a, b, ok := strings.Cut(s, "-"); ok && !strings.Contains(s, "/") {
		x, err1 := netip.ParseAddr(strings.TrimSpace(a))
		y, err2 := netip.ParseAddr(strings.TrimSpace(b))
		if err1 != nil || err2 != nil || x.BitLen() != y.BitLen() || y.Less(x) {
			return AddrRange{}, fmt.Errorf("bad address range %q", s)
		}
		return AddrRange{x.Unmap(), y.Unmap()}, nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return AddrRange{}, fmt.Errorf("bad CIDR %q", s)
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return AddrRange{}, fmt.Errorf("bad CIDR %q", s)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return PrefixRange(p), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return AddrRange{}, fmt.Errorf("bad address %q", s)
	}
	a = a.Unmap()
	return AddrRange{a, a}, nil
}
