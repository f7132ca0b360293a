// Package resolvconf reads resolv.conf(5): nameserver, search/domain and
// options lines. Like the glibc resolver, the last "search" or "domain"
// line wins, at most 3 nameservers are used (MAXNS) and unknown lines are
// ignored — they are kept as problems so a typo is visible.
package resolvconf

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"tkesnap/parsers/lines"
)

// MaxNS is glibc's MAXNS: later nameservers are ignored by the resolver.
const MaxNS = 3

// Problem is a line that could not be read.
type Problem struct {
	Line    int
	Message string
}

func (p Problem) Error() string { return "line " + strconv.Itoa(p.Line) + ": " + p.Message }

// Nameserver is one "nameserver" line.
type Nameserver struct {
	Addr netip.Addr
	Line int
	// Ignored is set for the 4th and later nameservers (beyond MaxNS).
	Ignored bool
}

// Config is a parsed resolv.conf.
type Config struct {
	Nameservers []Nameserver
	Search      []string
	SearchLine  int
	Options     map[string]string // "ndots" -> "5", "rotate" -> ""
	OptionLines map[string]int
	Problems    []Problem
}

// Ndots returns options ndots (default 1, capped at 15 as in glibc).
func (c *Config) Ndots() int {
	v, ok := c.Options["ndots"]
	if !ok {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 1
	}
	if n > 15 {
		return 15
	}
	return n
}

// Parse reads a resolv.conf.
func Parse(r io.Reader) *Config {
	c := &Config{Options: map[string]string{}, OptionLines: map[string]int{}}
	lr := lines.New(r, 0)
	for lr.Next() {
		n := lr.Line()
		s := strings.TrimSpace(lr.Text())
		if s == "" || s[0] == '#' || s[0] == ';' {
			continue
		}
		f := strings.Fields(s)
		switch f[0] {
		case "nameserver":
			if len(f) < 2 {
				c.problem(n, "nameserver without an address")
				continue
			}
			a, err := netip.ParseAddr(strings.SplitN(f[1], "%", 2)[0])
			if err != nil {
				c.problem(n, "nameserver %q: %v", f[1], err)
				continue
			}
			c.Nameservers = append(c.Nameservers, Nameserver{Addr: a, Line: n, Ignored: len(c.Nameservers) >= MaxNS})
		case "search", "domain":
			c.Search, c.SearchLine = append([]string(nil), f[1:]...), n
		case "options":
			for _, o := range f[1:] {
				k, v, _ := strings.Cut(o, ":")
				c.Options[k], c.OptionLines[k] = v, n
			}
		case "sortlist":
		default:
			c.problem(n, "unknown keyword %q (ignored by the resolver)", f[0])
		}
	}
	if err := lr.Err(); err != nil {
		c.problem(lr.Line()+1, "read error: %v", err)
	}
	return c
}

func (c *Config) problem(line int, format string, a ...any) {
	if len(c.Problems) < 100 {
		c.Problems = append(c.Problems, Problem{Line: line, Message: fmt.Sprintf(format, a...)})
	}
}
