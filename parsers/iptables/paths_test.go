package iptables

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"tkesnap/lab/netfilter/kubeproxygen"
)

// Every way to parse a dump gives the same Ruleset: the stream parser,
// the in-memory parser with its parallel pre-pass, and both again through
// one Interner shared by all dumps (where a rule already seen in another
// dump reuses that dump's spec).
func TestParsePathsAgree(t *testing.T) {
	var files []string
	for _, root := range []string{"../../testdata/netfilter", "../../testdata/bundles"} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.Contains(d.Name(), "tables") && strings.HasSuffix(d.Name(), ".txt") || strings.HasSuffix(d.Name(), ".rules")) {
				files = append(files, p)
			}
			return nil
		})
	}
	if len(files) < 20 {
		t.Fatalf("found only %d dumps under testdata", len(files))
	}
	// Broken input too: every problem must be reported the same way.
	files = append(files, "")
	broken := wrap("-A X -m comment --comment \"oops -j ACCEPT") + "[1:2 -A X\n[a:b] -A X -j ACCEPT\n-A Y -j NOPE\n-A X -p tcp --dport 99999 -j DNAT --to-destination 1.2.3.4:80 -j ACCEPT\n"
	old := preParseMin
	preParseMin = 1 // the parallel pre-pass on every dump, however small
	defer func() { preParseMin = old }()
	in := NewInterner()
	for _, f := range files {
		data := []byte(broken)
		if f != "" {
			var err error
			if data, err = os.ReadFile(f); err != nil {
				t.Fatal(err)
			}
		}
		want, err := Parse(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for name, parse := range map[string]func() (*Ruleset, error){
			"ParseString": func() (*Ruleset, error) { return ParseString(string(data), Options{Limits: DefaultLimits()}) },
			"ParseWith interned": func() (*Ruleset, error) {
				return ParseWith(bytes.NewReader(data), Options{Limits: DefaultLimits(), Interner: in})
			},
			"ParseString interned": func() (*Ruleset, error) {
				return ParseString(string(data), Options{Limits: DefaultLimits(), Interner: in})
			},
		} {
			got, err := parse()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(byContent(t, got), byContent(t, want)) {
				t.Errorf("%s: %s differs from Parse", f, name)
			}
		}
	}
	if in.Held() == 0 {
		t.Error("the interner holds nothing")
	}
}

// Identical rule lines share one spec through an Interner, and parsing
// the same text twice gives rules that point at the same specs.
func TestInternerSharesSpecs(t *testing.T) {
	in := NewInterner()
	dump := wrap("-A X -s 10.0.0.1/32 -p tcp -m tcp --dport 80 -j ACCEPT")
	a, _ := ParseWith(strings.NewReader(dump), Options{Limits: DefaultLimits(), Interner: in})
	b, _ := ParseWith(strings.NewReader(dump), Options{Limits: DefaultLimits(), Interner: in})
	ra := a.Table("filter").Chain("X").Rules[0]
	rb := b.Table("filter").Chain("X").Rules[0]
	if ra.RuleSpec != rb.RuleSpec {
		t.Error("the same rule text was parsed twice")
	}
	c, _ := ParseWith(strings.NewReader(wrap("[7:9] -A X -s 10.0.0.1/32 -p tcp -m tcp --dport 80 -j ACCEPT")), Options{Limits: DefaultLimits(), Interner: in})
	rc := c.Table("filter").Chain("X").Rules[0]
	if rc.RuleSpec != ra.RuleSpec || rc.Counters == nil || rc.Counters.Packets != 7 || ra.Counters != nil {
		t.Errorf("counters are per dump: %+v %+v", rc.Counters, ra.Counters)
	}
}

// A budget stops a parse with ErrBudget instead of growing without bound.
func TestInternerBudget(t *testing.T) {
	in := NewInterner()
	in.Budget = 2000
	var b strings.Builder
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n")
	for i := range 100 {
		b.WriteString("-A INPUT -s 10.0.0." + string(rune('0'+i%10)) + string(rune('0'+i/10)) + " -j ACCEPT\n")
	}
	b.WriteString("COMMIT\n")
	_, err := ParseWith(strings.NewReader(b.String()), Options{Limits: DefaultLimits(), Interner: in})
	if err != ErrBudget {
		t.Fatalf("err %v, want ErrBudget", err)
	}
	if in.Held() > in.Budget {
		t.Errorf("held %d over the budget %d", in.Held(), in.Budget)
	}
}

// ParseFile (the file read into a block advised for huge pages, every
// rule's spec, match and option taken from blocks sized to the dump) gives
// what the stream parser gives on a kube-proxy dump large enough for its
// blocks to be advised.
func TestParseFileAgreesOnAKubeProxyDump(t *testing.T) {
	var buf bytes.Buffer
	if _, err := kubeproxygen.Write(&buf, 3000); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "iptables-save.txt")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := got.NumRules(); n < 30000 {
		t.Fatalf("only %d rules: the dump is too small to test the blocks", n)
	}
	if !reflect.DeepEqual(byContent(t, got), byContent(t, want)) {
		t.Error("ParseFile differs from Parse")
	}
}

// Chains' rule lists are runs of shared blocks: rules of a chain that
// come back after another chain's, runs crossing a block's end and an
// append after the parse keep every chain's own rules in file order.
func TestChainRuleListsStayApart(t *testing.T) {
	var b strings.Builder
	b.WriteString("*filter\n:A - [0:0]\n:B - [0:0]\n:C - [0:0]\n")
	want := map[string][]string{}
	add := func(chain string, n int) {
		for range n {
			line := fmt.Sprintf("-A %s -s 10.%d.%d.%d/32 -j ACCEPT", chain, len(want[chain])%200, len(want[chain])/200%200, len(want[chain])/40000)
			want[chain] = append(want[chain], line[len("-A X "):])
			b.WriteString(line + "\n")
		}
	}
	add("A", 3)
	add("B", 4090) // the first block ends inside B's run
	add("A", 2)    // A comes back
	add("C", 5000)
	add("B", 1)
	b.WriteString("COMMIT\n")
	for _, parse := range []func() *Ruleset{
		func() *Ruleset { rs, _ := Parse(strings.NewReader(b.String())); return rs },
		func() *Ruleset { rs, _ := ParseString(b.String(), Options{Limits: DefaultLimits()}); return rs },
	} {
		rs := parse()
		ft := rs.Table("filter")
		a := ft.Chain("A")
		a.Rules = append(a.Rules, &Rule{}) // a reader's append
		for name, lines := range want {
			c := ft.Chain(name)
			n := len(c.Rules)
			if name == "A" {
				n--
			}
			if n != len(lines) {
				t.Fatalf("chain %s: %d rules, want %d", name, n, len(lines))
			}
			for i, l := range lines {
				r := c.Rules[i]
				if !strings.HasSuffix(r.Text, l) || r.Pos != i+1 || r.Chain != name {
					t.Fatalf("chain %s rule %d: %q (pos %d), want %q", name, i+1, r.Text, r.Pos, l)
				}
			}
		}
	}
}

// byContent checks that every chain of rs is found by its name, then
// drops the name index (its seed and size differ from parse to parse),
// so that reflect.DeepEqual compares what the parse says.
func byContent(t *testing.T, rs *Ruleset) *Ruleset {
	t.Helper()
	for _, tb := range rs.Tables {
		if tb.chains.slots == nil {
			continue // dropped already (or a table without chains)
		}
		for _, c := range tb.Chains {
			if tb.Chain(c.Name) != c {
				t.Fatalf("table %s: chain %s not found by its name", tb.Name, c.Name)
			}
		}
		tb.chains = chainSet{}
	}
	return rs
}
