package trace

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/analysis/model"
	"tkesnap/internal/testenv"
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
	read := func(name string) string { return readFile(t, filepath.Join(base, node, name)) }
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
		want  want
	}{
		{"nft current, legacy stale: the order decides", nil,
			want{Dropped, "IPTABLES_BACKEND_SPLIT", true, "iptables-legacy"}},
		{"both backends send to the same endpoint", map[string]string{model.FileIPTablesLegacy: asLegacy(nft)},
			want{Delivered, "", false, ""}},
		{"only the stale legacy binds: it decides in either order",
			map[string]string{model.FileIPTables: noWeb(nft), model.FileIPTablesNft: noWeb(nft)},
			want{Dropped, "IPTABLES_BACKEND_SPLIT", false, "iptables-legacy"}},
		{"only legacy binds, to the current endpoint",
			map[string]string{model.FileIPTables: noWeb(nft), model.FileIPTablesNft: noWeb(nft), model.FileIPTablesLegacy: asLegacy(nft)},
			want{Delivered, "", false, ""}},
		{"the default dump is the stale legacy one, nft current",
			map[string]string{model.FileIPTables: legacy, model.FileIPTablesLegacy: ""},
			want{Dropped, "IPTABLES_BACKEND_SPLIT", true, "iptables"}},
		{"no legacy rules for the ClusterIP: nft alone",
			map[string]string{model.FileIPTablesLegacy: noWeb(legacy)},
			want{Delivered, "", false, ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := load(t, edited(t, base, node, tc.files))
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

// TestBothBackendsSNAT is the source-NAT side (rivalSNAT): both
// backends' nat POSTROUTING chains are entries of the one nat hook at
// priority 100; a table that binds no SNAT (RETURN, ACCEPT) leaves the
// connection to the next, so the backend that SNATs decides in either
// order, and two different SNATs are decided by registration order
// (measured by lab/netfilter/backends.sh, TestKernelBackendsNAT). The
// cases edit the hand-made bundle backend-snat-split (node 10.1.0.10:
// ip-masq-agent's current chain in nft keeps the IDC 192.168.50.0/24, as
// the configmap asks; the stale legacy chain masquerades it; flow
// pod default/client 172.18.0.5 → 192.168.50.10:443).
func TestBothBackendsSNAT(t *testing.T) {
	const base = "../../testdata/handmade/backend-snat-split"
	node := filepath.Join("nodes", "10.1.0.10")
	read := func(name string) string { return readFile(t, filepath.Join(base, node, name)) }
	nft, legacy := read(model.FileIPTablesNft), read(model.FileIPTablesLegacy)
	asNft := func(s string) string {
		return strings.ReplaceAll(s, "iptables-save v1.8.7 on", "iptables-save v1.8.7 (nf_tables) on")
	}
	const masq = `-j MASQUERADE` + "\n"
	if !strings.Contains(legacy, "(must be last in chain)\" "+masq) {
		t.Fatal("the stale legacy chain lost its MASQUERADE")
	}
	// snat99: the stale legacy rule SNATs to an address of its own
	snat99 := strings.Replace(legacy, "(must be last in chain)\" "+masq, "(must be last in chain)\" -j SNAT --to-source 10.1.0.99\n", 1)
	nodeFile := func(name string) string { return filepath.Join(node, name) }
	const cm = "cluster/configmaps-kube-system.yaml"
	type want struct {
		verdict Verdict
		reason  string
		fork    bool
		stale   string // backend named stale ("" no finding)
		source  string // the stale backend's source
		nonmasq string // the NonMasqueradeCIDR the finding names
		// kept: a step says the other backend's exemption has no effect
		kept bool
	}
	for _, tc := range []struct {
		name  string
		files map[string]string // bundle file → content ("" removes it)
		want  want
	}{
		{"stale legacy MASQUERADE, nft exempts the IDC: legacy decides in either order", nil,
			want{Delivered, "IPTABLES_BACKEND_SPLIT", false, "iptables-legacy", "10.1.0.10", "192.168.50.0/24", false}},
		{"both backends exempt the IDC", map[string]string{nodeFile(model.FileIPTablesLegacy): asLegacy(nft)},
			want{Undetermined, "NEEDS_DATA", false, "", "", "", false}},
		{"the opposite: legacy exempts, nft masquerades: the exemption cannot stop nft",
			map[string]string{nodeFile(model.FileIPTables): asNft(legacy), nodeFile(model.FileIPTablesNft): asNft(legacy), nodeFile(model.FileIPTablesLegacy): asLegacy(nft)},
			want{Delivered, "IPTABLES_BACKEND_SPLIT", false, "iptables-nft", "10.1.0.10", "192.168.50.0/24", false}},
		{"the default dump is the stale legacy one, nft current",
			map[string]string{nodeFile(model.FileIPTables): legacy, nodeFile(model.FileIPTablesLegacy): ""},
			want{Delivered, "IPTABLES_BACKEND_SPLIT", false, "iptables", "10.1.0.10", "192.168.50.0/24", false}},
		{"no ip-masq-agent configuration: the default backend is taken as meant", map[string]string{cm: ""},
			want{Delivered, "IPTABLES_BACKEND_SPLIT", false, "iptables-legacy", "10.1.0.10", "", false}},
		{"no configuration: nft masquerades, the RETURN only legacy holds has no effect",
			map[string]string{cm: "", nodeFile(model.FileIPTables): asNft(legacy), nodeFile(model.FileIPTablesNft): asNft(legacy), nodeFile(model.FileIPTablesLegacy): asLegacy(nft)},
			want{Delivered, "MASQ_HIDES_SOURCE", false, "", "", "", true}},
		{"both SNAT to different sources: the order decides",
			map[string]string{cm: "", nodeFile(model.FileIPTables): asNft(legacy), nodeFile(model.FileIPTablesNft): asNft(legacy), nodeFile(model.FileIPTablesLegacy): snat99},
			want{Delivered, "IPTABLES_BACKEND_SPLIT", true, "iptables-legacy", "10.1.0.99", "", false}},
		{"both SNAT, the configuration asks for it: no fault of the split",
			map[string]string{nodeFile(model.FileIPTables): asNft(legacy), nodeFile(model.FileIPTablesNft): asNft(legacy), nodeFile(model.FileIPTablesLegacy): snat99,
				cm: strings.Replace(readFile(t, filepath.Join(base, cm)), "      - 192.168.50.0/24\n", "", 1)},
			want{Delivered, "MASQ_HIDES_SOURCE", false, "", "", "", false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := load(t, edited(t, base, "", tc.files))
			tr := Run(c, c.Flows[0])
			if tr.Verdict != tc.want.verdict || tr.Reason != tc.want.reason {
				t.Fatalf("verdict %s %s, want %s %s\n%s", tr.Verdict, tr.Reason, tc.want.verdict, tc.want.reason, dump(tr))
			}
			fork := false
			for _, s := range tr.Steps {
				fork = fork || s.At == "node/10.1.0.10" && s.Decision == ActAmbiguous
			}
			if fork != tc.want.fork || fork && len(tr.Branches) != 2 {
				t.Fatalf("AMBIGUOUS fork between the backends: %v with %d branches, want %v\n%s", fork, len(tr.Branches), tc.want.fork, dump(tr))
			}
			if fork {
				// one order keeps the default backend's source, the other
				// leaves with the stale one: the second branch fails at
				// the node
				var failed []string
				for _, b := range tr.Branches {
					if failingStep(b) != nil {
						failed = append(failed, b.To)
					}
				}
				if len(failed) != 1 || !strings.Contains(failed[0], tc.want.source) {
					t.Errorf("branches failing at the node %v, want the one with source %s\n%s", failed, tc.want.source, dump(tr))
				}
				if tr.FailingBranches != 1 || tr.BranchCount != 2 {
					t.Errorf("%d of %d branches fail, want 1 of 2", tr.FailingBranches, tr.BranchCount)
				}
			} else if s := failingStep(tr); (s != nil) != (tc.want.stale != "") || s != nil && s.At != "node/10.1.0.10" {
				t.Errorf("failing step %v, want one at node/10.1.0.10: %v\n%s", s, tc.want.stale != "", dump(tr))
			}
			kept := false
			for _, s := range tr.Steps {
				kept = kept || s.Decision == ActBothBackends && strings.Contains(s.Detail, "-d 192.168.50.0/24") && !s.Failed
			}
			if kept != tc.want.kept {
				t.Errorf("step on the other backend's exemption: %v, want %v\n%s", kept, tc.want.kept, dump(tr))
			}
			var stale string
			for _, f := range Findings([]Trace{tr}, nil) {
				if f.ID != "IPTABLES_BACKEND_SPLIT" {
					continue
				}
				stale = f.Args["stale"]
				if f.Args["manip"] != "snat" || f.Args["source"] != tc.want.source || f.Args["nonmasq"] != tc.want.nonmasq || f.Args["table"] != "nat" {
					t.Errorf("finding args %v: want manip snat, source %s, nonmasq %q", f.Args, tc.want.source, tc.want.nonmasq)
				}
				// the exact rule that binds, cited by file and line
				txt := f.Args["text"]
				if !strings.Contains(txt, "-j MASQUERADE") && !strings.Contains(txt, "-j SNAT") || f.Args["line"] == "" || f.Args["line"] == "0" {
					t.Errorf("finding names rule %q line %s: want the SNAT/MASQUERADE rule and its line", txt, f.Args["line"])
				}
			}
			if stale != tc.want.stale {
				t.Errorf("stale backend %q, want %q\n%s", stale, tc.want.stale, dump(tr))
			}
		})
	}
}

// TestKernelBackendsNAT runs lab/netfilter/backends.sh: the kernel's NAT
// with iptables-legacy and iptables-nft rules for one flow, in fresh
// network namespaces per case and load order — the semantics rivalNAT and
// rivalSNAT follow (an exemption in one backend never stops the other's
// MASQUERADE; of two different bindings the backend registered last
// decides). Every case must agree in both orders.
func TestKernelBackendsNAT(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Skip(t, "not root: network namespaces needed (run lab/netfilter/backends.sh as root)")
	}
	for _, tool := range []string{"ip", "iptables-legacy", "iptables-nft", "conntrack", "ping"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skipf(t, "%s not installed (apt-get install iproute2 iptables conntrack iputils-ping)", tool)
		}
	}
	out, err := exec.Command("../../lab/netfilter/backends.sh").CombinedOutput()
	if err != nil {
		t.Fatalf("backends.sh: %v\n%s", err, out)
	}
	// the cases and the source or destination each order must give
	want := map[string][2]string{ // case → {legacy loaded first, nft loaded first}
		"snat-legacy-masq-nft-exempt": {"192.168.50.1", "192.168.50.1"},
		"snat-nft-masq-legacy-exempt": {"192.168.50.1", "192.168.50.1"},
		"snat-legacy-masq-nft-accept": {"192.168.50.1", "192.168.50.1"},
		"snat-both-exempt":            {"10.244.0.5", "10.244.0.5"},
		"snat-legacy-snat2-nft-masq":  {"192.168.50.1", "192.168.50.2"},
		"dnat-legacy-10-nft-11":       {"192.168.50.11", "192.168.50.10"},
	}
	seen := 0
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) != 5 {
			t.Fatalf("backends.sh line %q: want case order observed expected ok", l)
		}
		w, ok := want[f[0]]
		if !ok {
			t.Errorf("unknown case %q", f[0])
			continue
		}
		i := 0
		if strings.HasPrefix(f[1], "nft-first") {
			i = 1
		}
		if f[2] != w[i] {
			t.Errorf("%s %s: the kernel gave %s, want %s", f[0], f[1], f[2], w[i])
		}
		seen++
	}
	if seen != 2*len(want) {
		t.Errorf("%d results, want %d (every case in both orders)\n%s", seen, 2*len(want), out)
	}
}

// asLegacy is an iptables-nft dump saved again as iptables-legacy would
// print it (same rules, the legacy header).
func asLegacy(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, " (nf_tables)", ""), "iptables-nft-save", "iptables-save")
}

// edited copies the bundle base into a temporary folder and writes files
// into its folder sub (name → content; "" removes the file).
func edited(t *testing.T, base, sub string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		p := filepath.Join(dir, sub, name)
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
	return dir
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
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
