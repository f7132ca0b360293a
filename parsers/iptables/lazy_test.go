package iptables

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"tkesnap/internal/bigmem"
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
	sparseAgrees(t, name, eager, lazy)
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
	// scanned in chunks of a few bytes on three other goroutines: the
	// same ruleset, and the same problems in the same order
	whole, err := ParseString(s, Options{Limits: lim, Lazy: true})
	if err != nil {
		t.Fatal(err)
	}
	skims := map[string]*DstIndex{} // skimmed whole, by table/chain
	for i, te := range eager.Tables {
		for _, ce := range te.Chains {
			skims[te.Name+"/"+ce.Name] = whole.Tables[i].Chain(ce.Name).Skim()
		}
	}
	defer func(c, m, k, procs int) {
		chunkBytes, scanParallelMin, skimSplitMin = c, m, k
		runtime.GOMAXPROCS(procs)
	}(chunkBytes, scanParallelMin, skimSplitMin, runtime.GOMAXPROCS(4))
	chunkBytes, scanParallelMin, skimSplitMin = 7, 0, 2
	cut, err := ParseString(s, Options{Limits: lim, Lazy: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cut.Problems, whole.Problems) {
		t.Fatalf("%s: problems scanned in chunks:\n%q\nin one piece:\n%q", name, cut.Problems, whole.Problems)
	}
	// skimmed in two halves: the same index
	for i, te := range eager.Tables {
		for _, ce := range te.Chains {
			a, b := skims[te.Name+"/"+ce.Name], cut.Tables[i].Chain(ce.Name).Skim()
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("%s: chain %s skimmed in halves: %v, whole: %v", name, ce.Name, b, a)
			}
		}
	}
	whole.LoadAll()
	cut.LoadAll()
	if d := diffRulesets(whole, cut); d != "" {
		t.Fatalf("%s: scanned in chunks, differs: %s", name, d)
	}
	if !reflect.DeepEqual(cut.Problems, whole.Problems) {
		t.Fatalf("%s: problems after loading, scanned in chunks:\n%q\nin one piece:\n%q", name, cut.Problems, whole.Problems)
	}
}

// Read rule by rule before any Load (Chain.Rule, guided by Chain.Skim),
// a lazy chain is the eager one: every rule read is the eager rule, and
// the skim gives a rule the destination A only when the parse gives it the
// one destination A (not negated): skipping it for another destination
// is exact. The rules read here are the ones LoadAll keeps, once.
func sparseAgrees(t *testing.T, name string, eager, lazy *Ruleset) {
	t.Helper()
	for i, tl := range lazy.Tables {
		if tl.Chains != nil {
			t.Fatalf("%s: table %q: chains made before LoadAll", name, tl.Name)
		}
		if c := tl.Chain("NO-SUCH-CHAIN"); c != nil {
			t.Fatalf("%s: table %q: a chain never named found as %s", name, tl.Name, c.Name)
		}
		for _, ce := range eager.Tables[i].Chains {
			// found by name, made as the eager parse made it
			cl := tl.Chain(ce.Name)
			if cl == nil {
				t.Fatalf("%s: chain %s/%s not found", name, tl.Name, ce.Name)
			}
			if cl != tl.Chain(ce.Name) {
				t.Fatalf("%s: chain %s made twice", name, ce.Name)
			}
			if cl.Table != ce.Table || cl.Name != ce.Name || cl.Line != ce.Line || cl.Policy != ce.Policy || !reflect.DeepEqual(cl.Counters, ce.Counters) {
				t.Fatalf("%s: chain %s made as %+v, eager %+v", name, ce.Name, *cl, *ce)
			}
			if cl.Len() != len(ce.Rules) {
				t.Fatalf("%s: chain %s: Len %d, eager %d rules", name, cl.Name, cl.Len(), len(ce.Rules))
			}
			ix := cl.Skim()
			if ix == nil {
				continue
			}
			if len(ix.Dst) != cl.Len() {
				t.Fatalf("%s: chain %s: %d skimmed of %d rules", name, cl.Name, len(ix.Dst), cl.Len())
			}
			for k, a := range ix.Dst {
				if !a.IsValid() {
					continue
				}
				d := ce.Rules[k].Dst
				if !d.Set || d.Neg || d.Prefixes != nil || !d.Prefix.IsSingleIP() || d.Prefix.Addr() != a {
					t.Fatalf("%s: line %d skimmed as to %v, parsed as %+v", name, ce.Rules[k].Line, a, d)
				}
			}
			for k := 0; k < cl.Len(); k += 2 {
				rl, re := cl.Rule(k), ce.Rules[k]
				if rl.Pos != re.Pos || rl.Line != re.Line || !reflect.DeepEqual(rl.Counters, re.Counters) || !reflect.DeepEqual(rl.RuleSpec, re.RuleSpec) ||
					(rl.Jump == nil) != (re.Jump == nil) || rl.Jump != nil && rl.Jump.Name != re.Jump.Name {
					t.Fatalf("%s: line %d read alone differs from the eager parse", name, re.Line)
				}
				if cl.Rule(k) != rl {
					t.Fatalf("%s: line %d parsed twice", name, re.Line)
				}
			}
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
		// declared again (with and without a policy or counters), appended
		// to before its declaration, bad policies and counters, a
		// declaration outside a table, rules of one chain in three runs
		"*filter\n:X ACCEPT [1:2]\n:X\n:Y DROP [x]\n:Z BOGUS [3:4]\n-A W -j X\n:W - [5:6]\n:X DROP [7:8]\n:V ACCEPT [1:1]\n:V - [2:2]\n:U DROP\n:U ACCEPT [3:3]\n" +
			"-A X -j ACCEPT\n-A Y -j X\n-A X -j DROP\n-A Y -j RETURN\n-A X -j RETURN\n:\nCOMMIT\n:Q ACCEPT [9:9]\n-A Q -j Y\n",
		// destinations the skim must not take for one address, and the
		// ones it may
		"*nat\n:S - [0:0]\n-A S ! -d 10.0.0.1/32 -j RETURN\n-A S -d ! 10.0.0.2 -j RETURN\n-A S -d 10.0.0.3/32 -d 10.0.0.4/32 -j RETURN\n" +
			"-A S -d 10.0.0.5,10.0.0.6 -j RETURN\n-A S -m -d 10.0.0.7 -j RETURN\n-A S -d 10.0.0.0/8 -j RETURN\n-A S -m comment --comment \"-d 10.0.0.8\" -j RETURN\n" +
			"-A S \"-d\" 10.0.0.9 -j RETURN\n-A S --dst 10.0.0.10 -j RETURN\n-A S --destination ::ffff:10.0.0.11 -j RETURN\n-A S -d fe80::1/128 -j RETURN\n" +
			"-A S -p tcp --dport ! 80 -d 10.0.0.12/32 -j RETURN\n-A S -d 10.0.0.13/32 ! -p udp -j RETURN\n-A S -c 1 2 -d 10.0.0.14/32\n-A S -d host.example -j RETURN\n-A S -d\nCOMMIT\n",
	} {
		sameAsEager(t, strings.ReplaceAll(s, "\n", `\n`), s, DefaultLimits())
	}
}

// A mapped dump cut short while it is scanned faults in whichever
// goroutine reads past its new end; the parse raises that fault on the
// caller's goroutine, where trace --iptables turns it into "the file
// shrank", and leaves no scanning goroutine behind.
func TestScanFaultReachesTheCaller(t *testing.T) {
	b, path := mappedDump(t, "*nat\n:KUBE-SERVICES - [0:0]\n"+strings.Repeat("-A KUBE-SERVICES -d 10.0.0.1/32 -j ACCEPT\n", 40000)+"COMMIT\n")
	if err := os.Truncate(path, 4096); err != nil {
		t.Fatal(err)
	}
	defer func(c, m, procs int) { chunkBytes, scanParallelMin = c, m; runtime.GOMAXPROCS(procs) }(chunkBytes, scanParallelMin, runtime.GOMAXPROCS(4))
	chunkBytes, scanParallelMin = 4096, 0
	before := runtime.NumGoroutine()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	fault := func() (v any) {
		defer func() { v = recover() }()
		ParseString(unsafe.String(&b[0], len(b)), Options{Limits: DefaultLimits(), Lazy: true})
		return nil
	}()
	if _, ok := fault.(interface{ Addr() uintptr }); !ok {
		t.Fatalf("parse of a file cut short: recovered %v, want a memory fault", fault)
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left after the parse stopped (%d before)", runtime.NumGoroutine(), before)
		}
		runtime.Gosched()
	}
}

// Chunks start at line starts, in order, and cover the text; a line
// longer than many chunks makes one chunk (its search resumes after it,
// never reading it again for the next chunk).
func TestChunkStartsAreLineStarts(t *testing.T) {
	defer func(c int) { chunkBytes = c }(chunkBytes)
	chunkBytes = 16
	for _, s := range []string{"", "a", "\n", "a\nb\n", strings.Repeat("x", 200) + "\n" + strings.Repeat("ab\n", 40) + strings.Repeat("y", 100),
		strings.Repeat("-A X -j ACCEPT\n", 30), strings.Repeat("\n", 50)} {
		starts := chunkStarts(s)
		if want := (len(s)+chunkBytes-1)/chunkBytes + 1; len(starts) != want {
			t.Fatalf("%q: %d starts, want %d", s, len(starts), want)
		}
		if starts[0] != 0 || starts[len(starts)-1] != len(s) {
			t.Fatalf("%q: starts %v do not cover the text", s, starts)
		}
		for i := 1; i < len(starts)-1; i++ {
			at := starts[i]
			if at < starts[i-1] || at > len(s) || at > 0 && at < len(s) && s[at-1] != '\n' {
				t.Fatalf("%q: start %d at %d is not a line start after %d", s, i, at, starts[i-1])
			}
			// the first line start at or after both the chunk's place and
			// the previous start
			from := max(i*chunkBytes, starts[i-1]+1)
			for k := from; k < at; k++ {
				if s[k-1] == '\n' {
					t.Fatalf("%q: start %d at %d, but a line starts at %d", s, i, at, k)
				}
			}
		}
	}
}

// A fault while LoadAll makes a table's chains (the mapped dump was cut
// short) leaves the parse's lock free: the caller recovers, and other
// chains can still be looked up.
func TestLoadAllFaultLeavesTheLockFree(t *testing.T) {
	text := "*nat\n:A - [0:0]\n-A A -j ACCEPT\nCOMMIT\n*filter\n" + strings.Repeat("#\n", 8192)
	for i := 0; i < 200; i++ {
		text += fmt.Sprintf(":C%d - [0:0]\n", i)
	}
	b, path := mappedDump(t, text+"COMMIT\n")
	rs, err := ParseString(unsafe.String(&b[0], len(b)), Options{Limits: DefaultLimits(), Lazy: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 4096); err != nil {
		t.Fatal(err)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	v := func() (v any) {
		defer func() { v = recover() }()
		rs.Table("filter").LoadAll() // reads declarations past 4096
		return nil
	}()
	if _, ok := v.(interface{ Addr() uintptr }); !ok {
		t.Fatalf("LoadAll of a file cut short: recovered %v, want a memory fault", v)
	}
	done := make(chan *Chain)
	go func() { done <- rs.Table("nat").Chain("A") }()
	select {
	case c := <-done:
		if c == nil {
			t.Fatal("chain A not found after the fault")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Table.Chain still blocked 10 s after a recovered fault in LoadAll: the lock was left held")
	}
}

// A line of many quoted words costs memory in proportion to its length
// (each word was given a buffer the size of the rest of the line).
func TestQuotedWordsCostTheirLength(t *testing.T) {
	line := "-A PREROUTING" + strings.Repeat(` x""`, 20000) + " -j ACCEPT"
	text := "*nat\n:PREROUTING ACCEPT [0:0]\n" + line + "\nCOMMIT\n"
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rs, err := ParseString(text, Options{Limits: DefaultLimits()})
	runtime.ReadMemStats(&after)
	if err != nil || len(rs.Table("nat").Chain("PREROUTING").Rules) != 1 {
		t.Fatalf("parse: %v", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 200*uint64(len(text)) {
		t.Fatalf("%d bytes allocated for a %d-byte dump", got, len(text))
	}
}

// mappedDump writes text to a file and maps it (bigmem.MapFile, as
// trace --iptables reads a dump): the mapping and the file's path, for a
// test to cut the file short under it.
func mappedDump(t *testing.T, text string) ([]byte, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dump")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	b, ok := bigmem.MapFile(f, int64(len(text)))
	if !ok {
		t.Skipf("MapFile: not on %s", runtime.GOOS)
	}
	return b, path
}
