package model

import (
	"os"
	"path/filepath"
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
