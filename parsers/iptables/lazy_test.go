package iptables

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// A lazily parsed dump, every chain loaded, is the eager parse: the same
// tables, chains, rules (position, line, counters, jump, spec) and
// problems (in load order, so compared as sets).
func sameAsEager(t *testing.T, name, s string, lim Limits) {
	t.Helper()
	eager, err := ParseString(s, Options{Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	lazy, err := ParseString(s, Options{Limits: lim, Lazy: true})
	if err != nil {
		t.Fatal(err)
	}
	if n, m := eager.NumRules(), lazy.NumRules(); n != m {
		t.Fatalf("%s: %d rules eager, %d lazy before loading", name, n, m)
	}
	lazy.LoadAll()
	if d := diffRulesets(eager, lazy); d != "" {
		t.Fatalf("%s: lazy differs from eager: %s", name, d)
	}
	if len(eager.Problems) <= lim.Problems && len(lazy.Problems) <= lim.Problems {
		pe, pl := problemSet(eager), problemSet(lazy)
		if !slices.Equal(pe, pl) {
			t.Fatalf("%s: problems differ:\neager %q\nlazy  %q", name, pe, pl)
		}
	}
}

func problemSet(rs *Ruleset) []string {
	var out []string
	for _, p := range rs.Problems {
		out = append(out, p.String())
	}
	slices.Sort(out)
	return out
}

func diffRulesets(a, b *Ruleset) string {
	if a.Version != b.Version || a.Backend != b.Backend || a.Family != b.Family || a.Lines != b.Lines || !reflect.DeepEqual(a.Warnings, b.Warnings) {
		return fmt.Sprintf("header %v/%v/%d/%d vs %v/%v/%d/%d", a.Version, a.Backend, a.Family, a.Lines, b.Version, b.Backend, b.Family, b.Lines)
	}
	if len(a.Tables) != len(b.Tables) {
		return fmt.Sprintf("%d tables vs %d", len(a.Tables), len(b.Tables))
	}
	for i, ta := range a.Tables {
		tb := b.Tables[i]
		if ta.Name != tb.Name || ta.Line != tb.Line || ta.CommitLine != tb.CommitLine || len(ta.Chains) != len(tb.Chains) {
			return fmt.Sprintf("table %q", ta.Name)
		}
		for j, ca := range ta.Chains {
			cb := tb.Chains[j]
			if ca.Table != cb.Table || ca.Name != cb.Name || ca.Line != cb.Line || ca.Policy != cb.Policy || !reflect.DeepEqual(ca.Counters, cb.Counters) || len(ca.Rules) != len(cb.Rules) {
				return fmt.Sprintf("chain %s/%s: %d rules vs %d", ta.Name, ca.Name, len(ca.Rules), len(cb.Rules))
			}
			for k, ra := range ca.Rules {
				rb := cb.Rules[k]
				if ra.Table != rb.Table || ra.Pos != rb.Pos || ra.Line != rb.Line || !reflect.DeepEqual(ra.Counters, rb.Counters) {
					return fmt.Sprintf("rule %s/%s#%d (line %d vs %d)", ta.Name, ca.Name, k+1, ra.Line, rb.Line)
				}
				if (ra.Jump == nil) != (rb.Jump == nil) || ra.Jump != nil && (ra.Jump.Name != rb.Jump.Name || ra.Jump.Table != rb.Jump.Table) {
					return fmt.Sprintf("rule line %d: jump %v vs %v", ra.Line, ra.Jump, rb.Jump)
				}
				if !reflect.DeepEqual(ra.RuleSpec, rb.RuleSpec) {
					return fmt.Sprintf("rule line %d: spec\n%#v\nvs\n%#v", ra.Line, *ra.RuleSpec, *rb.RuleSpec)
				}
			}
		}
	}
	return ""
}

func TestLazyParseIsTheEagerParse(t *testing.T) {
	var files []string
	for _, glob := range []string{
		filepath.Join(realDir, "*.txt"),
		"../../testdata/*/*/nodes/*/ip*tables*save*.txt",
		"../../testdata/*/*/*/nodes/*/ip*tables*save*.txt",
		"../../testdata/*/*/*/*/nodes/*/ip*tables*save*.txt",
	} {
		m, _ := filepath.Glob(glob)
		files = append(files, m...)
	}
	t.Logf("%d dumps", len(files))
	if len(files) < 20 {
		t.Fatalf("only %d dumps found", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sameAsEager(t, f, string(data), DefaultLimits())
	}
	// what the cheap chain test must hand to the full parse
	for _, s := range []string{
		"*nat\n:X - [0:0]\n:Y - [0:0]\n-A X -j ACCEPT -A Y\nCOMMIT\n",
		"*nat\n:X - [0:0]\n-A \"X\" -j ACCEPT\n-A X -m comment --comment \"-A Y\" -j DROP\nCOMMIT\n",
		"*nat\n:X - [0:0]\n[1:2] -A X -j Y\n[3:x] -A X -j ACCEPT\n-A Z -s ::1 -j RETURN\n-j ACCEPT\n-I X 1 -j DROP\n\v-A X -c 1 2\nCOMMIT\n",
		"-A KUBE-SERVICES -d 10.0.0.1/32 -j KUBE-SVC-A\n:KUBE-SVC-A - [0:0]\n",
		"*filter\n-A INPUT -j X\nCOMMIT\n*filter\n:X - [0:0]\n-A X -j Y\nCOMMIT\n",
		"*filter\n:INPUT ACCEPT\n-A INPUT -j Z\nCOMMIT\n*filter\n:Y - [0:0]\nCOMMIT\n",
	} {
		sameAsEager(t, strings.ReplaceAll(s, "\n", `\n`), s, DefaultLimits())
	}
}
