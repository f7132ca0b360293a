// Package conntrack reads conntrack-tools output: the per-CPU statistics
// of `conntrack -S` and a bounded listing of `conntrack -L`, summarised
// (the listing itself can hold hundreds of thousands of entries; the
// summary keeps counts, constant memory).
package conntrack

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"tkesnap/parsers/lines"
)

// MaxProblems bounds the problems kept for one file.
const MaxProblems = 100

// Problem is a line that could not be read.
type Problem struct {
	Line    int
	Message string
}

func (p Problem) Error() string { return "line " + strconv.Itoa(p.Line) + ": " + p.Message }

// CPUStats is one "cpu=N ..." line of conntrack -S. Counters are keyed by
// the names conntrack prints (found, invalid, insert, insert_failed, drop,
// early_drop, error, search_restart, clash_resolve, chaintoolong); the set
// varies by kernel, so they are kept in a map.
type CPUStats struct {
	CPU      int
	Line     int
	Counters map[string]uint64
}

// Stats is a parsed `conntrack -S`.
type Stats struct {
	CPUs     []CPUStats
	Problems []Problem
	// Count is "entries" when the dump also holds `conntrack -C` or the
	// older single-line summary form "entries N"; -1 if absent.
	Count     int64
	CountLine int
}

// Total sums a counter over every CPU, and returns the lines of the CPUs
// where it is non-zero (for evidence).
func (s *Stats) Total(name string) (uint64, []int) {
	var sum uint64
	var at []int
	for _, c := range s.CPUs {
		if v := c.Counters[name]; v > 0 {
			sum += v
			at = append(at, c.Line)
		}
	}
	return sum, at
}

// ParseStats reads `conntrack -S` (one line per CPU) — optionally
// followed by `conntrack -C` (a single number).
func ParseStats(r io.Reader) *Stats {
	s := &Stats{Count: -1}
	lr := lines.New(r, 0)
	for lr.Next() {
		n := lr.Line()
		line := strings.TrimSpace(lr.Text())
		if line == "" {
			continue
		}
		if v, err := strconv.ParseInt(line, 10, 64); err == nil { // conntrack -C
			s.Count, s.CountLine = v, n
			continue
		}
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "entries" { // conntrack -S on old kernels: "entries 1234"
			if v, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				s.Count, s.CountLine = v, n
				continue
			}
		}
		if !strings.HasPrefix(f[0], "cpu=") {
			s.problem(n, "not a conntrack -S line: %q", clip(line))
			continue
		}
		c := CPUStats{Line: n, Counters: map[string]uint64{}}
		ok := true
		for i, kv := range f {
			k, v, found := strings.Cut(kv, "=")
			num, err := strconv.ParseUint(v, 10, 64)
			if !found || err != nil {
				s.problem(n, "field %q is not name=number", clip(kv))
				ok = false
				break
			}
			if i == 0 {
				c.CPU = int(num)
				continue
			}
			c.Counters[k] = num
		}
		if ok {
			s.CPUs = append(s.CPUs, c)
		}
	}
	if err := lr.Err(); err != nil {
		s.problem(lr.Line()+1, "read error: %v", err)
	}
	return s
}

func (s *Stats) problem(line int, format string, a ...any) {
	if len(s.Problems) < MaxProblems {
		s.Problems = append(s.Problems, Problem{Line: line, Message: fmt.Sprintf(format, a...)})
	}
}

// Summary is the digest of a `conntrack -L` listing.
type Summary struct {
	Entries   int
	ByProto   map[string]int // tcp, udp, icmp, ...
	ByState   map[string]int // ESTABLISHED, TIME_WAIT, SYN_SENT, ... (tcp)
	Unreplied int            // [UNREPLIED]: no packet came back
	// ReportedCount is the number conntrack printed to stderr
	// ("N flow entries have been shown."), when the collector kept it.
	ReportedCount int
	// ByDst counts entries per original destination "ip:port/proto", for
	// the top talkers; bounded to MaxDsts keys.
	ByDst    map[string]int
	Problems []Problem
}

// MaxDsts bounds the distinct destinations counted in a Summary.
const MaxDsts = 10000

// TopDsts returns the n destinations with the most entries.
func (s *Summary) TopDsts(n int) []string {
	keys := make([]string, 0, len(s.ByDst))
	for k := range s.ByDst {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if s.ByDst[keys[i]] != s.ByDst[keys[j]] {
			return s.ByDst[keys[i]] > s.ByDst[keys[j]]
		}
		return keys[i] < keys[j]
	})
	if len(keys) > n {
		keys = keys[:n]
	}
	return keys
}

// ParseList summarises `conntrack -L` output:
//
//	tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=... [ASSURED] mark=0 use=1
//	udp      17 29 src=10.0.0.1 dst=10.96.0.10 sport=5353 dport=53 [UNREPLIED] src=... mark=0 use=1
func ParseList(r io.Reader) *Summary {
	s := &Summary{ByProto: map[string]int{}, ByState: map[string]int{}, ByDst: map[string]int{}, ReportedCount: -1}
	lr := lines.New(r, 0)
	for lr.Next() {
		n := lr.Line()
		line := strings.TrimSpace(lr.Text())
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "conntrack v") && strings.Contains(line, "flow entries have been shown") {
			// conntrack v1.4.6 (conntrack-tools): 42 flow entries have been shown.
			if i := strings.Index(line, "): "); i >= 0 {
				if f := strings.Fields(line[i+3:]); len(f) > 0 {
					if v, err := strconv.Atoi(f[0]); err == nil {
						s.ReportedCount = v
					}
				}
			}
			continue
		}
		f := strings.Fields(line)
		// the optional leading "ipv4     2" of /proc/net/nf_conntrack form
		if len(f) > 2 && (f[0] == "ipv4" || f[0] == "ipv6") {
			f = f[2:]
		}
		if len(f) < 4 {
			s.problem(n, "not a conntrack entry: %q", clip(line))
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			s.problem(n, "not a conntrack entry: %q", clip(line))
			continue
		}
		s.Entries++
		s.ByProto[f[0]]++
		// a tcp entry's state is the word after the timeout, before the
		// first key=value (one per entry)
		if f[0] == "tcp" && !strings.Contains(f[3], "=") && !strings.HasPrefix(f[3], "[") {
			s.ByState[f[3]]++
		}
		var dst, dport string
		unreplied := false
		for _, tok := range f[3:] {
			switch {
			case tok == "[UNREPLIED]":
				unreplied = true
			case strings.HasPrefix(tok, "dst=") && dst == "":
				dst = tok[4:]
			case strings.HasPrefix(tok, "dport=") && dport == "":
				dport = tok[6:]
			}
		}
		if unreplied {
			s.Unreplied++
		}
		if dst != "" {
			k := dst
			if dport != "" {
				if strings.Contains(dst, ":") {
					k = "[" + dst + "]"
				}
				k += ":" + dport
			}
			k += "/" + f[0]
			if _, ok := s.ByDst[k]; ok || len(s.ByDst) < MaxDsts {
				s.ByDst[k]++
			}
		}
	}
	if err := lr.Err(); err != nil {
		s.problem(lr.Line()+1, "read error: %v", err)
	}
	return s
}

func (s *Summary) problem(line int, format string, a ...any) {
	if len(s.Problems) < MaxProblems {
		s.Problems = append(s.Problems, Problem{Line: line, Message: fmt.Sprintf(format, a...)})
	}
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
