package model

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/parsers/bundle"
)

func TestNodeIptablesDumpsAreLoadedWithBundlePathsAndLineNumberedProblems(t *testing.T) {
	dir := t.TempDir()
	n1 := filepath.Join(dir, "nodes", "n1")
	if err := os.MkdirAll(n1, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(n1, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(FileIPTables, "# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 10.0.0.300 -j DROP\n-A INPUT -j ACCEPT\nCOMMIT\n")
	write(FileIPTablesLegacy, "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j DNAT --to-destination 10.1.1.1\nCOMMIT\n")
	write(FileIPSet, "create S hash:ip family inet\nadd S 10.1.1.1\nadd S nope\n")
	b, err := bundle.Open(dir, bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := Load(b)
	n := c.Node("n1")
	if n == nil || len(n.IPTables) != 2 {
		t.Fatalf("node %+v", n)
	}
	d := n.IPv4()
	if d.File != "nodes/n1/iptables-save.txt" || d.Rules.NumRules() != 2 || len(d.Rules.Warnings) != 1 {
		t.Errorf("dump %+v", d)
	}
	if n.Dump(FileIPTablesLegacy) == nil || n.IPSets == nil || n.IPSets.Set("S") == nil {
		t.Error("legacy dump or ipsets missing")
	}
	want := map[string]int{"nodes/n1/iptables-save.txt": 4, "nodes/n1/ipset.txt": 3}
	for _, p := range c.Problems {
		if want[p.File] == p.Line {
			delete(want, p.File)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing problems %v in %+v", want, c.Problems)
	}
}

// A dump over the rules budget is not analysed and says so ("counts as
// not collected"): the node has no ruleset for it, the dumps before it
// are kept whole, and the Interner holds what it held before that dump.
func TestDumpOverTheRulesBudgetCountsAsNotCollected(t *testing.T) {
	rules := func(salt, n int) string {
		var b strings.Builder
		b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n")
		for i := range n {
			fmt.Fprintf(&b, "-A INPUT -s 10.%d.%d.%d/32 -j ACCEPT\n", salt, i>>8, i&255)
		}
		b.WriteString("COMMIT\n")
		return b.String()
	}
	open := func(files map[string]string) *bundle.Bundle {
		dir := t.TempDir()
		for name, data := range files {
			p := filepath.Join(dir, "nodes", "n1", name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		b, err := bundle.Open(dir, bundle.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
	small, big := rules(1, 50), rules(2, 500)
	// what the first dump alone holds, under no real bound
	c := &Cluster{Bundle: open(map[string]string{FileIPTables: small}), RulesBudget: 1 << 30}
	c.loadNodes()
	held := c.rules.Held()
	if held == 0 || len(c.Nodes) != 1 || len(c.Nodes[0].IPTables) != 1 {
		t.Fatalf("the small dump alone: held %d, nodes %d", held, len(c.Nodes))
	}
	// room for the small dump and a tenth of the big one
	c = &Cluster{Bundle: open(map[string]string{FileIPTables: small, FileIPTablesLegacy: big}), RulesBudget: 2 * held}
	c.loadNodes()
	n := c.Nodes[0]
	if d := n.Netfilter.Dump(FileIPTablesLegacy); d != nil {
		t.Errorf("the dump over the budget was loaded (%d rules)", d.Rules.NumRules())
	}
	if d := n.Netfilter.Dump(FileIPTables); d == nil || d.Rules.NumRules() != 50 {
		t.Errorf("the dump within the budget is not whole: %+v", d)
	}
	found := false
	for _, p := range c.Problems {
		if p.File == "nodes/n1/"+FileIPTablesLegacy && strings.HasPrefix(p.Message, "not analysed") && strings.Contains(p.Message, "counts as not collected") {
			found = true
		}
	}
	if !found {
		t.Errorf("no 'not analysed … counts as not collected' problem for the refused dump: %+v", c.Problems)
	}
	if c.rules.Held() != held {
		t.Errorf("held %d after the refused dump, %d before it", c.rules.Held(), held)
	}
}
