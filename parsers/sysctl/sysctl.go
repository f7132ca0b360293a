// Package sysctl reads the output of `sysctl -a` (procps): one
// "key = value" per line. Keys keep the dotted form sysctl prints
// (net.ipv4.conf.eth0.rp_filter); interface names containing dots are
// printed with "/" by sysctl (net.ipv4.conf.eth0/100.rp_filter) and are
// kept as printed.
package sysctl

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"tkesnap/parsers/lines"
)

// MaxProblems bounds the problems kept for one file.
const MaxProblems = 100

// Value is one key's value and the line it was read from.
type Value struct {
	Value string
	Line  int
}

// Problem is a line that could not be read.
type Problem struct {
	Line    int
	Message string
}

func (p Problem) Error() string { return "line " + strconv.Itoa(p.Line) + ": " + p.Message }

// Table is a parsed sysctl dump.
type Table struct {
	Values   map[string]Value
	Problems []Problem
}

// Get returns a key's value.
func (t *Table) Get(key string) (Value, bool) {
	if t == nil {
		return Value{}, false
	}
	v, ok := t.Values[key]
	return v, ok
}

// Int returns a key's value as an integer (the first field: some keys
// hold several numbers, e.g. net.ipv4.ip_local_port_range).
func (t *Table) Int(key string) (int64, Value, bool) {
	v, ok := t.Get(key)
	if !ok {
		return 0, v, false
	}
	f := strings.Fields(v.Value)
	if len(f) == 0 {
		return 0, v, false
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	return n, v, err == nil
}

// Parse reads `sysctl -a` output. Lines sysctl prints for unreadable keys
// ("sysctl: permission denied on key ...", "sysctl: reading key ...") are
// skipped; they say nothing about the value.
func Parse(r io.Reader) *Table {
	t := &Table{Values: map[string]Value{}}
	lr := lines.New(r, 0)
	for lr.Next() {
		n := lr.Line()
		s := strings.TrimSpace(lr.Text())
		if s == "" || strings.HasPrefix(s, "#") || strings.HasPrefix(s, ";") || strings.HasPrefix(s, "sysctl:") {
			continue
		}
		if lr.Cut() {
			t.problem(n, "line longer than %d bytes, ignored", lines.MaxLine)
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			t.problem(n, "not a `key = value` line: %q", clip(s))
			continue
		}
		// `sysctl -a` prints keys once; if a collector concatenated two
		// dumps, the last value wins like it would in sysctl -p.
		t.Values[k] = Value{Value: strings.TrimSpace(v), Line: n}
	}
	if err := lr.Err(); err != nil {
		t.problem(lr.Line()+1, "read error: %v", err)
	}
	return t
}

func (t *Table) problem(line int, format string, a ...any) {
	if len(t.Problems) < MaxProblems {
		t.Problems = append(t.Problems, Problem{Line: line, Message: fmt.Sprintf(format, a...)})
	}
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
