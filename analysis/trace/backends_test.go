package trace

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/analysis/model"
)

// TestBothBackendsNAT pins the kernel's NAT across two iptables backends
// on one node (rivalNAT): both nat tables are entries of the one nat hook
// at priority -100, the first that binds a new connection decides
// (nf_nat_inet_fn), and the order of two entries of equal priority is
// their registration order, which no dump tells. The cases edit the
// hand-made bundle backend-stale-legacy (node 10.1.0.10: current rules in
// nft, default/web → 172.18.0.70:8080; stale legacy rules → 172.18.0.99:8080).
func TestBothBackendsNAT(t *testing.T) {
	const base = "../../testdata/handmade/backend-stale-legacy"
	node := filepath.Join("nodes", "10.1.0.10")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(base, node, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	nft, legacy := read(model.FileIPTablesNft), read(model.FileIPTablesLegacy)
	// without default/web's entry in KUBE-SERVICES: that backend's nat
	// does not bind the ClusterIP
	noWeb := func(s string) string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.Contains(l, "-A KUBE-SERVICES -d 172.18.252.10/32") {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n")
	}
	asLegacy := func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s, " (nf_tables)", ""), "iptables-nft-save", "iptables-save")
	}
	type want struct {
		verdict Verdict
		reason  string
		// fork: the hop is AMBIGUOUS between the backends, one branch per order
		fork bool
		// stale: the backend named stale in the finding ("" none)
		stale string
	}
	for _, tc := range []struct {
		name  string
		files map[string]string // node file → content ("" removes it)
		drop  []string          // bundle files removed
		want  want
	}{
		{"nft current, legacy stale: the order decides", nil, nil,
			want{Dropped, "IPTABLES_BACKEND_SPLIT", true, "iptables-legacy"}},
		{"both backends send to the same endpoint", map[string]string{model.FileIPTablesLegacy: asLegacy(nft)}, nil,
			want{Delivered, "", false, ""}},
		{"only the stale legacy binds: it decides in either order",
			map[string]string{model.FileIPTables: noWeb(nft), model.FileIPTablesNft: noWeb(nft)}, nil,
			want{Dropped, "IPTABLES_BACKEND_SPLIT", false, "iptables-legacy"}},
		{"only legacy binds, to the current endpoint",
			map[string]string{model.FileIPTables: noWeb(nft), model.FileIPTablesNft: noWeb(nft), model.FileIPTablesLegacy: asLegacy(nft)}, nil,
			want{Delivered, "", false, ""}},
		{"the default dump is the stale legacy one, nft current",
			map[string]string{model.FileIPTables: legacy, model.FileIPTablesLegacy: ""}, nil,
			want{Dropped, "IPTABLES_BACKEND_SPLIT", true, "iptables"}},
		{"no legacy rules for the ClusterIP: nft alone",
			map[string]string{model.FileIPTablesLegacy: noWeb(legacy)}, nil,
			want{Delivered, "", false, ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
				t.Fatal(err)
			}
			for name, content := range tc.files {
				p := filepath.Join(dir, node, name)
				if content == "" {
					if err := os.Remove(p); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c := load(t, dir)
			tr := Run(c, c.Flows[0])
			if tr.Verdict != tc.want.verdict || tr.Reason != tc.want.reason {
				t.Fatalf("verdict %s %s, want %s %s\n%s", tr.Verdict, tr.Reason, tc.want.verdict, tc.want.reason, dump(tr))
			}
			fork := false
			for _, s := range tr.Steps {
				if s.At == "node/10.1.0.10" && s.Decision == ActAmbiguous {
					fork = true
				}
			}
			if fork != tc.want.fork || fork && len(tr.Branches) != 2 {
				t.Fatalf("AMBIGUOUS fork between the backends: %v with %d branches, want %v\n%s", fork, len(tr.Branches), tc.want.fork, dump(tr))
			}
			if fork {
				// one order delivers, the other dies at the stale DNAT
				var got []string
				for _, b := range tr.Branches {
					got = append(got, b.To+"="+string(b.Verdict))
				}
				if tr.FailingBranches != 1 || tr.BranchCount != 2 {
					t.Errorf("branches %v: %d of %d fail, want 1 of 2", got, tr.FailingBranches, tr.BranchCount)
				}
			}
			var stale string
			for _, f := range Findings([]Trace{tr}, nil) {
				if f.ID == "IPTABLES_BACKEND_SPLIT" {
					stale = f.Args["stale"]
					if f.Args["endpoint"] != "172.18.0.99:8080" || f.Args["service"] != "default/web" || !strings.HasPrefix(f.Args["text"], "-A KUBE-SERVICES -d 172.18.252.10/32") {
						t.Errorf("finding args %v: want the stale endpoint, the Service and its KUBE-SERVICES entry", f.Args)
					}
				}
			}
			if stale != tc.want.stale {
				t.Errorf("stale backend %q, want %q\n%s", stale, tc.want.stale, dump(tr))
			}
		})
	}
}

func dump(t Trace) string {
	var b strings.Builder
	var walk func(t Trace, indent string)
	walk = func(t Trace, indent string) {
		b.WriteString(indent + t.To + ": " + string(t.Verdict) + " " + t.Reason + "\n")
		for _, s := range t.Steps {
			b.WriteString(indent + "  " + s.At + " " + string(s.Decision) + " " + s.Detail + "\n")
		}
		for _, br := range t.Branches {
			walk(br, indent+"    ")
		}
	}
	walk(t, "")
	return b.String()
}
