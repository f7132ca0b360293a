// Package netlink reads the JSON that iproute2 prints with `ip -j`
// (`ip -j addr`, `ip -j route show table all`, `ip -j rule`,
// `ip -j neigh`, `ip -j -d link`) into plain values.
//
// iproute2 omits fields at their default: a route without "table" is in
// the main table and one without "type" is unicast (ip/iproute.c
// print_route); a rule's "src":"all" has no "srclen". The types here fill
// those defaults in so readers need not know them.
//
// The arrays are decoded element by element (constant memory besides the
// result); an element that cannot be read becomes a Problem with its line
// and the rest is still read. `ip -j` prints everything on one line, so
// each value also keeps a short excerpt for evidence.
package netlink

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// MaxProblems bounds the problems kept per file.
const MaxProblems = 100

// MaxElements bounds the elements read from one file (a VPC-CNI node has
// thousands of routes, not millions).
const MaxElements = 1 << 20

// Problem is an element (or the file) that could not be read.
type Problem struct {
	Line    int
	Message string
}

func (p Problem) Error() string { return "line " + strconv.Itoa(p.Line) + ": " + p.Message }

// lineCounter remembers where newlines are so a decoder offset can be
// turned into a 1-based line number.
type lineCounter struct {
	r   io.Reader
	off int64
	nls []int64
}

func (l *lineCounter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == '\n' {
			l.nls = append(l.nls, l.off+int64(i))
		}
	}
	l.off += int64(n)
	return n, err
}

func (l *lineCounter) line(off int64) int {
	return sort.Search(len(l.nls), func(i int) bool { return l.nls[i] >= off }) + 1
}

// decodeArray calls fn for each element of the top-level JSON array of r.
// iproute2 prints one array; an empty input is an empty array.
func decodeArray(r io.Reader, fn func(line int, raw json.RawMessage) error) []Problem {
	lc := &lineCounter{r: bufio.NewReader(r)}
	dec := json.NewDecoder(lc)
	var probs []Problem
	add := func(line int, format string, a ...any) {
		if len(probs) < MaxProblems {
			probs = append(probs, Problem{Line: line, Message: fmt.Sprintf(format, a...)})
		}
	}
	tok, err := dec.Token()
	if err == io.EOF {
		return nil
	}
	if err != nil || tok != json.Delim('[') {
		add(1, "not the JSON array `ip -j` prints (was it collected without -j?)")
		return probs
	}
	for n := 0; dec.More(); n++ {
		if n >= MaxElements {
			add(lc.line(dec.InputOffset()), "more than %d elements, the rest is ignored", MaxElements)
			return probs
		}
		start := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			add(lc.line(start+1), "element %d: %v", n+1, err)
			return probs // the decoder cannot resynchronise
		}
		// RawMessage holds the value's exact bytes, so it starts len(raw)
		// before where the decoder stopped
		line := lc.line(dec.InputOffset() - int64(len(raw)))
		if err := fn(line, raw); err != nil {
			add(line, "element %d: %v", n+1, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		add(lc.line(dec.InputOffset()), "unterminated array: %v", err)
	}
	return probs
}

// flexString accepts a JSON string or number (iproute2 prints table ids
// as names or numbers, marks as "0x4000" strings or integers by version).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number, got %s", clip(string(b)))
	}
	*f = flexString(n.String())
	return nil
}

// parsePrefix reads "default", "10.0.0.0/24", "10.0.0.5" (a host) or
// "fe80::/64"; family 6 makes "default" ::/0.
func parsePrefix(s string, v6 bool) (netip.Prefix, error) {
	switch s {
	case "", "all":
		return netip.Prefix{}, nil
	case "default":
		if v6 {
			return netip.PrefixFrom(netip.IPv6Unspecified(), 0), nil
		}
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0), nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func excerpt(raw []byte) string {
	s := strings.TrimSpace(string(raw))
	return clip(s)
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
