package kube

import (
	"strings"
	"testing"

	"tkesnap/internal/hostile"
)

// The alias budget is one per file: neither a new document nor a new List
// item gets a fresh one (issue 16 item 2). Each hostile file must stop
// with a problem naming the budget, after spending at most the file's
// budget (plus one item's overshoot), and keep the objects before it.
func TestAliasBudgetIsPerFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"8,000 billion-laughs documents (3.3 MB)", hostile.LaughsStream(8000)},
		{"14 KB List, every item aliasing one big anchor", hostile.AliasList(400, 120_000)},
		{"1.2 MB List, every item aliasing one big anchor", hostile.AliasList(30_000, 120_000)},
		{"List of aliases of one long scalar", hostile.ScalarAliases(200_000, 5_000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := 0
			ps, b := decodeBudget(tc.data, DefaultLimits(), func(Object) { objs++ })
			var text []string
			for _, p := range ps {
				text = append(text, p.Message)
			}
			all := strings.Join(text, "\n")
			if !strings.Contains(all, "alias expansion exceeds this file's budget") {
				t.Errorf("no budget problem in:\n%.2000s", all)
			}
			if len(ps) > 4 {
				t.Errorf("%d problems: the rest of the file is one problem, not one per document or item:\n%.2000s", len(ps), all)
			}
			// bounded work: what was expanded stays within the file's
			// budget (one conversion may overshoot by the node or the
			// scalar that crossed it)
			if n := b.nodes.Load(); n > b.maxNodes+1 {
				t.Errorf("expanded %d nodes, budget %d", n, b.maxNodes)
			}
			if n := b.bytes.Load(); n > b.maxBytes+int64(len(tc.data)) {
				t.Errorf("wrote %d bytes of JSON, budget %d", n, b.maxBytes)
			}
			if b.maxNodes > aliasNodes || b.maxBytes > aliasBytes {
				t.Errorf("budget %d nodes, %d bytes grows with the %d-byte file", b.maxNodes, b.maxBytes, len(tc.data))
			}
		})
	}
}

// An honest file far larger than the alias budget decodes whole: only
// what aliases add is counted.
func TestAliasBudgetKeepsHonestFiles(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	const n = 30_000 // 1.5 million YAML nodes, more than the alias allowance
	for i := range n {
		b.WriteString("- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString("\n    namespace: default\n  data: {a: \"1\", b: \"2\", c: xyz}\n")
	}
	b.WriteString("---\n" + strings.Repeat("apiVersion: v1\nkind: Namespace\nmetadata: {name: ns, labels: &l {a: b}, annotations: *l}\n---\n", 500))
	objs := 0
	ps := Decode([]byte(b.String()), DefaultLimits(), func(Object) { objs++ })
	if len(ps) != 0 || objs != n+500 {
		t.Errorf("%d objects, want %d; %d problems, first %v", objs, n+500, len(ps), ps[:min(len(ps), 3)])
	}
}
