package iptables

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// budgetDump is a filter table whose rules are lines[i] in order.
func budgetDump(lines []string) string {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:X - [0:0]\n")
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// budgetRules are n distinct rule lines; salt makes another set.
func budgetRules(salt, n int) []string {
	var ls []string
	for i := range n {
		ls = append(ls, fmt.Sprintf("[%d:%d] -A X -s 10.%d.%d.%d/32 -p tcp -m tcp --dport %d -m comment --comment \"r %d/%d\" -j ACCEPT", i, 60*i, salt%250, i>>8&255, i&255, 1+i%65535, salt, i))
	}
	return ls
}

// internedTexts is the set of texts the Interner holds.
func internedTexts(in *Interner) map[string]*internEntry {
	m := map[string]*internEntry{}
	for i := range in.shards {
		for t, e := range in.shards[i].m {
			m[t] = e
		}
	}
	return m
}

// checkHeld asserts what a budgeted Interner must hold between parses:
// Held is the charge of exactly the specs in its map, and no entry links
// to an entry that left the map.
func checkHeld(t *testing.T, in *Interner, when string) {
	t.Helper()
	m := internedTexts(in)
	var sum int64
	for txt, e := range m {
		sum += charge(txt)
		if n := e.next.Load(); n != nil && m[n.spec.Text] != n {
			t.Errorf("%s: %q links to %q, which the Interner no longer holds", when, txt, n.spec.Text)
		}
	}
	if in.Held() != sum {
		t.Errorf("%s: held %d, the specs in the map charge %d", when, in.Held(), sum)
	}
}

// parsePaths are the ways a dump reaches a budgeted Interner.
var parsePaths = []struct {
	name  string
	parse func(s string, in *Interner) (*Ruleset, error)
}{
	{"stream", func(s string, in *Interner) (*Ruleset, error) {
		return ParseWith(strings.NewReader(s), Options{Limits: DefaultLimits(), Interner: in})
	}},
	{"in memory, parsed ahead on every core", func(s string, in *Interner) (*Ruleset, error) {
		return ParseString(s, Options{Limits: DefaultLimits(), Interner: in})
	}},
	{"reserved, then streamed", func(s string, in *Interner) (*Ruleset, error) {
		res, err := in.Reserve(strings.NewReader(s), DefaultLimits())
		if err != nil {
			return nil, err
		}
		return ParseWith(strings.NewReader(s), Options{Limits: DefaultLimits(), Interner: in, Reservation: res})
	}},
}

// A dump the budget refuses leaves the Interner as it was before that
// dump: Held, the specs it holds, the links between them; and dumps
// parsed later share and charge as if the refused one had never come.
func TestRefusedDumpLeavesTheInternerAsItWas(t *testing.T) {
	defer func(n int) { preParseMin = n }(preParseMin)
	preParseMin = 16 // the parallel pass on small dumps too
	a := budgetRules(1, 300)
	bNew := budgetRules(2, 600)
	// b repeats a's first 100 lines (linked entries of a), then new ones,
	// then a's next 100 (new entries linking to old ones)
	b := append(append(append([]string{}, a[:100]...), bNew...), a[100:200]...)
	for _, path := range parsePaths {
		t.Run(path.name, func(t *testing.T) {
			in := NewInterner()
			in.Budget = 1 << 40
			ra, err := path.parse(budgetDump(a), in)
			if err != nil {
				t.Fatal(err)
			}
			checkHeld(t, in, "after a")
			before, texts := in.Held(), internedTexts(in)
			// room for a third of b's new rules
			var newCharge int64
			for _, l := range bNew {
				newCharge += charge(l[strings.IndexByte(l, ']')+2:])
			}
			in.Budget = before + newCharge/3
			rb, err := path.parse(budgetDump(b), in)
			if err != ErrBudget {
				t.Fatalf("b: err %v, want ErrBudget", err)
			}
			if in.Held() != before {
				t.Errorf("held %d after the refused dump, %d before it", in.Held(), before)
			}
			after := internedTexts(in)
			if len(after) != len(texts) {
				t.Errorf("the Interner holds %d specs after the refused dump, %d before it", len(after), len(texts))
			}
			for txt, e := range texts {
				if after[txt] != e {
					t.Errorf("spec %q changed", txt)
				}
			}
			checkHeld(t, in, "after the refused b")
			if rb != nil && rb.NumRules() >= len(b) {
				t.Errorf("the refused dump has all its %d rules parsed", rb.NumRules())
			}
			// a again shares every spec and costs nothing
			ra2, err := path.parse(budgetDump(a), in)
			if err != nil || in.Held() != before {
				t.Fatalf("a again: err %v, held %d -> %d", err, before, in.Held())
			}
			x, y := ra.Table("filter").Chain("X").Rules, ra2.Table("filter").Chain("X").Rules
			for i := range x {
				if x[i].RuleSpec != y[i].RuleSpec {
					t.Fatalf("rule %d of a parsed again has its own spec", i)
				}
			}
			// with room, b is held for what it adds, as if refused never
			in.Budget = 1 << 40
			if _, err := path.parse(budgetDump(b), in); err != nil {
				t.Fatal(err)
			}
			if got := in.Held() - before; got != newCharge {
				t.Errorf("b then adds %d, its new rules charge %d", got, newCharge)
			}
			checkHeld(t, in, "after b admitted")
		})
	}
}

// Property: whatever the budget and however dumps overlap, after every
// parse Held is the charge of the specs the Interner holds, a dump is
// either held whole or adds nothing, and a refused dump changes nothing.
func TestInternerBudgetProperty(t *testing.T) {
	defer func(n int) { preParseMin = n }(preParseMin)
	preParseMin = 16
	rng := rand.New(rand.NewPCG(16, 16))
	pool := budgetRules(3, 400)
	for round := range 30 {
		path := parsePaths[round%len(parsePaths)]
		in := NewInterner()
		in.Budget = int64(20000 + rng.IntN(200000))
		for d := range 6 {
			lo := rng.IntN(len(pool))
			hi := lo + rng.IntN(len(pool)-lo+1)
			lines := pool[lo:hi]
			before, texts := in.Held(), len(internedTexts(in))
			rs, err := path.parse(budgetDump(lines), in)
			switch err {
			case nil:
				if rs.NumRules() != len(lines) {
					t.Errorf("round %d dump %d (%s): %d rules of %d", round, d, path.name, rs.NumRules(), len(lines))
				}
				for _, l := range lines {
					if internedTexts(in)[l[strings.IndexByte(l, ']')+2:]] == nil {
						t.Fatalf("round %d dump %d (%s): an admitted rule's spec is not held", round, d, path.name)
					}
				}
			case ErrBudget:
				if in.Held() != before || len(internedTexts(in)) != texts {
					t.Errorf("round %d dump %d (%s): refused, but held %d -> %d, specs %d -> %d", round, d, path.name, before, in.Held(), texts, len(internedTexts(in)))
				}
			default:
				t.Fatal(err)
			}
			if in.Held() > in.Budget {
				t.Errorf("round %d dump %d: held %d over the budget %d", round, d, in.Held(), in.Budget)
			}
			checkHeld(t, in, fmt.Sprintf("round %d dump %d (%s)", round, d, path.name))
		}
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// The budget refuses a dump before its rules are parsed: Reserve reads
// no further than where the dump stops fitting, parses and holds none of
// it; the parse of a dump over what is left stops there too, with fewer
// than its rules parsed.
func TestBudgetRefusesADumpBeforeItsRulesAreParsed(t *testing.T) {
	lines := budgetRules(4, 4000)
	dump := budgetDump(lines)
	in := NewInterner()
	var all int64
	for _, l := range lines {
		all += charge(l[strings.IndexByte(l, ']')+2:])
	}
	in.Budget = all / 10
	cr := &countingReader{r: strings.NewReader(dump)}
	res, err := in.Reserve(cr, DefaultLimits())
	if err != ErrBudget || res != nil {
		t.Fatalf("Reserve: %v, want ErrBudget", err)
	}
	if in.Held() != 0 || len(internedTexts(in)) != 0 {
		t.Errorf("a refused reservation holds %d bytes, %d specs", in.Held(), len(internedTexts(in)))
	}
	// a tenth of the dump fits: reading stops a read buffer past that
	if cr.n > len(dump)/10+64<<10 {
		t.Errorf("Reserve read %d bytes of %d to refuse a dump of which a tenth fits", cr.n, len(dump))
	}
	// No rule is parsed: Reserve allocates as much for a dump of 4000
	// rules as for one of 400 (a parse allocates per rule).
	allocs := func(s string) float64 {
		return testing.AllocsPerRun(3, func() {
			if _, err := in.Reserve(strings.NewReader(s), DefaultLimits()); err != ErrBudget {
				t.Fatal(err)
			}
		})
	}
	in.Budget = 1000 // not one rule fits
	small, big := allocs(budgetDump(lines[:400])), allocs(dump)
	if big > small+2 {
		t.Errorf("Reserve of a refused dump allocates %v for 4000 rules, %v for 400", big, small)
	}
	perRule := testing.AllocsPerRun(1, func() { Parse(strings.NewReader(dump)) }) / float64(len(lines))
	if perRule < 1 {
		t.Fatalf("a parse allocates %v per rule: the comparison above proves nothing", perRule)
	}
	// without a reservation, the parse stops where the budget is spent
	in.Budget = all / 10
	rs, err := ParseWith(strings.NewReader(dump), Options{Limits: DefaultLimits(), Interner: in})
	if err != ErrBudget {
		t.Fatalf("parse: %v, want ErrBudget", err)
	}
	if n := rs.NumRules(); n > len(lines)/10+1 {
		t.Errorf("the parse refused had %d rules of %d parsed; a tenth fits", n, len(lines))
	}
	if in.Held() != 0 {
		t.Errorf("held %d after the refused parse", in.Held())
	}
}

// A reservation is given back: what the parse did not spend when it
// ends (a dump repeating a line reserves it twice), all of it on Cancel.
func TestReservationIsGivenBack(t *testing.T) {
	lines := budgetRules(5, 50)
	lines = append(lines, lines[:20]...) // repeated: reserved twice, held once
	dump := budgetDump(lines)
	in := NewInterner()
	in.Budget = 1 << 30
	res, err := in.Reserve(strings.NewReader(dump), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	var reserved int64
	for _, l := range lines {
		reserved += charge(l[strings.IndexByte(l, ']')+2:])
	}
	if in.Held() != reserved {
		t.Errorf("Reserve set aside %d, the dump's 70 rule lines charge %d", in.Held(), reserved)
	}
	res.Cancel()
	res.Cancel()
	if in.Held() != 0 {
		t.Fatalf("held %d after Cancel", in.Held())
	}
	res, err = in.Reserve(strings.NewReader(dump), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseWith(strings.NewReader(dump), Options{Limits: DefaultLimits(), Interner: in, Reservation: res}); err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, l := range lines[:50] {
		want += charge(l[strings.IndexByte(l, ']')+2:])
	}
	if in.Held() != want {
		t.Errorf("held %d, the dump's 50 distinct rules charge %d", in.Held(), want)
	}
	checkHeld(t, in, "after the reserved parse")
	// the same dump again reserves nothing and holds nothing more
	res, err = in.Reserve(strings.NewReader(dump), DefaultLimits())
	if err != nil || res.left.Load() != 0 {
		t.Fatalf("a dump held whole reserves %d (%v)", res.left.Load(), err)
	}
}

// Reserve grows the Interner's maps ahead of a large dump: what they
// held stays (the specs of an earlier dump are still found, shared), and
// the dump's own specs are added.
func TestReserveGrowsTheMapsKeepingWhatTheyHold(t *testing.T) {
	in := NewInterner()
	in.Budget = 1 << 40
	a := budgetDump(budgetRules(6, 2000))
	ra, err := ParseWith(strings.NewReader(a), Options{Limits: DefaultLimits(), Interner: in})
	if err != nil {
		t.Fatal(err)
	}
	big := budgetRules(7, 40000) // over 1024 new entries per shard: the maps grow
	res, err := in.Reserve(strings.NewReader(budgetDump(big)), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(internedTexts(in)); n != 2000 {
		t.Fatalf("after growing, the Interner holds %d specs, 2000 before", n)
	}
	if _, err := ParseWith(strings.NewReader(budgetDump(big)), Options{Limits: DefaultLimits(), Interner: in, Reservation: res}); err != nil {
		t.Fatal(err)
	}
	if n := len(internedTexts(in)); n != 42000 {
		t.Errorf("the Interner holds %d specs, want 42000", n)
	}
	checkHeld(t, in, "after the big dump")
	ra2, _ := ParseWith(strings.NewReader(a), Options{Limits: DefaultLimits(), Interner: in})
	x, y := ra.Table("filter").Chain("X").Rules, ra2.Table("filter").Chain("X").Rules
	for i := range x {
		if x[i].RuleSpec != y[i].RuleSpec {
			t.Fatalf("rule %d of the first dump parsed again has its own spec", i)
		}
	}
}

// Fits is a bound: no rule line is charged more than Fits counts for it,
// so a dump that fits is never refused when nothing else is parsed.
func TestFitsBoundsTheCharge(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 16))
	for range 2000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = " \t-Aa\"x"[rng.IntN(7)]
		}
		line := string(b)
		if c, bound := charge(strings.TrimSpace(line)), 9*int64(len(line))+specFixed+8; c > bound {
			t.Fatalf("%q is charged %d, over its bound %d", line, c, bound)
		}
	}
	for _, path := range parsePaths {
		dump := budgetDump(append(budgetRules(8, 300), "-A X", "-A X -j  A", "  -A X  -p  tcp  "))
		in := NewInterner()
		in.Budget = 1
		for {
			fits, err := in.Fits(strings.NewReader(dump))
			if err != nil {
				t.Fatal(err)
			}
			if fits {
				break
			}
			in.Budget += 1000
		}
		if _, err := path.parse(dump, in); err != nil {
			t.Errorf("%s: a dump that fits is refused: %v", path.name, err)
		}
	}
}

// chunks keeps every element in order however many blocks it takes (a
// 64 MiB dump adds ~500k entries: ~120 blocks).
func TestChunksHoldWhatIsAdded(t *testing.T) {
	var c chunks[int]
	const n = 600_000
	for i := range n {
		c.add(i)
	}
	next := 0
	c.each(func(x int) {
		if x != next {
			t.Fatalf("element %d is %d", next, x)
		}
		next++
	})
	if next != n {
		t.Fatalf("%d elements of %d", next, n)
	}
	for _, b := range c.blocks[:len(c.blocks)-1] {
		if len(b) != cap(b) || cap(b) > 4096 {
			t.Fatalf("a block of %d/%d", len(b), cap(b))
		}
	}
}
