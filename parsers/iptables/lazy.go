package iptables

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"unsafe"

	"tkesnap/internal/bigmem"
)

// Lazy parsing is for a caller that evaluates a few chains of a large
// dump (trace --iptables: one packet through a 10k-Service kube-proxy
// dump enters KUBE-SERVICES and a handful of the 40k chains). The text is
// read once, line by line, for its tables, chain declarations and each
// rule line's chain (parseLazy); a chain's rules are parsed when it is
// first used
// (Chain.Load), or one by one as a reader reaches them (Chain.Rule,
// guided by Chain.Skim's index of a long chain by destination). Every
// rule the caller reads is parsed exactly as the eager parse parses it,
// and every problem it finds is reported; lines never read are never
// parsed.

// lineRun is a run of consecutive rule lines of one chain: the offset of
// its first line in the dump, that line's number and how many lines. A
// dump lists each chain's rules together, so a chain has one run, rarely
// more.
type lineRun struct {
	off     int
	line, n int32
}

// chainRec is a chain of a lazy parse as the scan saw it: its name, its
// declaration and where its rule lines are. A kube-proxy dump declares
// ~50k chains and one packet enters a handful: a Chain is made only for
// the chains looked up (Table.Chain), from their record.
type chainRec struct {
	name string
	decl int     // offset of its ":NAME" line, when line > 0
	line int32   // of its declaration; 0: never declared
	n    int32   // rule lines
	run  lineRun // the last run of them
	// 1 + the index in lazyTable.earlier of the run before run; 0: none
	prev int32
}

// lazyTable is a table of a lazy parse: its chains' records in order,
// found by name, and the Chains made of them so far.
type lazyTable struct {
	st   *lazyState
	recs []chainRec
	set  chainSet
	// runs that are not their chain's last (a dump that interleaves
	// chains, as kube-proxy's restore input does), in blocks of
	// earlierBlock: never copied
	earlier [][]earlierRun
	nEarly  int32
	made    map[int32]*Chain
	// replaced by a later block of the same name: its jumps are never
	// followed, so not reported
	replaced bool
}

// earlierRun is a chain's run of rule lines that is not its last, and
// the chain's run before it (as chainRec.prev).
type earlierRun struct {
	run  lineRun
	prev int32
}

const earlierBlock = 1024

// push files r as a chain's earlier run after the one prev points to; it
// returns what the chain's prev becomes.
func (lt *lazyTable) push(r lineRun, prev int32) int32 {
	k := lt.nEarly
	if int(k)%earlierBlock == 0 {
		lt.earlier = append(lt.earlier, make([]earlierRun, 0, earlierBlock))
	}
	b := &lt.earlier[len(lt.earlier)-1]
	*b = append(*b, earlierRun{r, prev})
	lt.nEarly++
	return k + 1
}

// firstRun is r's first run of rule lines.
func (lt *lazyTable) firstRun(r *chainRec) lineRun {
	run := r.run
	for prev := r.prev; prev != 0; {
		e := lt.earlierAt(prev)
		run, prev = e.run, e.prev
	}
	return run
}

func (lt *lazyTable) earlierAt(prev int32) *earlierRun {
	k := int(prev - 1)
	return &lt.earlier[k/earlierBlock][k%earlierBlock]
}

func (st *lazyState) newTable(n int) *lazyTable {
	lt := &lazyTable{st: st, recs: bigmem.Make[chainRec](n)[:0], set: newChainSet(n)}
	// the parse fills both from here on: their pages are faulted in on
	// another core meanwhile
	bigmem.PrefaultAsync(lt.recs[:n])
	bigmem.PrefaultAsync(lt.set.slots)
	return lt
}

func (lt *lazyTable) nameAt(i int) string { return lt.recs[i].name }

// add records a chain not in lt yet; at: from set.getOrSlot, or the
// zero chainSlot.
func (lt *lazyTable) add(name string, at chainSlot) int32 {
	lt.recs = append(lt.recs, chainRec{name: name})
	k := len(lt.recs) - 1
	lt.set.add(lt.nameAt, k, at)
	return int32(k)
}

// chain returns t's chain named name, made on first use; nil when t has
// none. Safe for concurrent use.
func (lt *lazyTable) chain(t *Table, name string) *Chain {
	lt.st.mu.Lock()
	defer lt.st.mu.Unlock()
	return lt.chainLocked(t, name)
}

// chainLocked is chain for a caller holding st.mu, or the parse.
func (lt *lazyTable) chainLocked(t *Table, name string) *Chain {
	k := lt.set.get(lt.nameAt, name)
	if k < 0 {
		return nil
	}
	return lt.chainAt(t, int32(k))
}

// chainAt makes the Chain of record k, as the eager parse would have made
// it from the same lines (its declaration's problems were reported by
// the scan); st.mu is held, or the parse is running.
func (lt *lazyTable) chainAt(t *Table, k int32) *Chain {
	if c := lt.made[k]; c != nil {
		return c
	}
	r := &lt.recs[k]
	c := &Chain{Table: t.Name, Name: r.name, Line: int(r.line), seq: int(k),
		lazy: &lazyChain{table: t, rec: k}, lazyState: lt.st}
	if r.line != 0 {
		var buf [3]string
		readDecl(fields3(lt.st.lineAt(r.decl)[1:], buf[:0])).apply(c, new(Counters))
	}
	if lt.made == nil {
		lt.made = map[int32]*Chain{}
	}
	lt.made[k] = c
	return c
}

// lazyChain is what a Chain made from a record keeps of it.
type lazyChain struct {
	table  *Table // the chain's
	rec    int32  // its record in table.lz
	loaded bool
	read   *readRules // nil until a rule is read
}

func (lc *lazyChain) record() *chainRec { return &lc.table.lz.recs[lc.rec] }

// ruleAt is where a rule line is: its offset in the dump and number.
type ruleAt struct {
	off  int
	line int32
}

// readRules are what was read of a lazy chain.
type readRules struct {
	parsed []*Rule  // by position - 1, nil: not parsed yet
	at     []ruleAt // each rule's line, by position - 1
	skim   *DstIndex
}

// lazyState is shared by the chains of one lazy parse: the dump's text
// and the parser, whose problem list, limits and blocks loads keep using,
// behind one lock.
type lazyState struct {
	mu   sync.Mutex
	p    *parser
	text string
	// rule lines parsed while scanning (their chain could not be told
	// without parsing them), by the offset of their line
	early map[int]*RuleSpec
	// block the rules are taken from
	rules []Rule
}

// Load parses the chain's rules if the dump was parsed lazily and they
// are not parsed yet; it is a no-op otherwise. Safe for concurrent use.
func (c *Chain) Load() {
	if c.lazy != nil {
		c.lazyState.load(c)
	}
}

// LoadAll parses every chain not parsed yet: the ruleset is then what
// the eager parse makes (problems aside, which come in load order). Not
// for use while other goroutines read the ruleset.
func (rs *Ruleset) LoadAll() {
	for _, t := range rs.Tables {
		t.LoadAll()
	}
}

// LoadAll makes every chain of a lazily parsed table (its Chains, in
// order) and parses their rules; of an eager one, it does nothing. Not
// for use while other goroutines read the table.
func (t *Table) LoadAll() {
	if t.lz == nil {
		return
	}
	if len(t.Chains) != len(t.lz.recs) {
		t.Chains = t.lz.makeAll(t)
	}
	for _, c := range t.Chains {
		c.Load()
	}
}

// makeAll makes every chain of lt's table t, in order.
func (lt *lazyTable) makeAll(t *Table) []*Chain {
	lt.st.mu.Lock()
	defer lt.st.mu.Unlock() // a mapped dump cut short faults in chainAt
	cs := make([]*Chain, len(lt.recs))
	for k := range cs {
		cs[k] = lt.chainAt(t, int32(k))
	}
	return cs
}

// Lazy reports whether the ruleset was parsed with Options.Lazy: its
// chains are found with Table.Chain (or all made by LoadAll), and readers
// of Chain.Rules must Load the chain first, or read it with Len and Rule.
func (rs *Ruleset) Lazy() bool { return rs.lazy }

// Len is the number of c's rules, parsed or not.
func (c *Chain) Len() int {
	if c.lazy != nil {
		return int(c.lazy.record().n) // fixed once the parse returned
	}
	return len(c.Rules)
}

// Rule returns c's rule at 0-based position i. A lazily parsed chain's
// rule is parsed when first read, exactly as Load parses it, and its
// problems are reported. Safe for concurrent use.
func (c *Chain) Rule(i int) *Rule {
	if c.lazy == nil {
		return c.Rules[i]
	}
	st := c.lazyState
	st.mu.Lock()
	defer st.mu.Unlock()
	rd := st.reading(c.lazy)
	if r := rd.parsed[i]; r != nil {
		return r
	}
	if len(st.rules) == 0 {
		st.rules = make([]Rule, 256)
	}
	r := &st.rules[0]
	st.rules = st.rules[1:]
	st.parseRule(c, i, rd.at[i], r)
	rd.parsed[i] = r
	return r
}

// DstIndex is a long chain's rules by destination, read from their text
// without parsing them: Dst[i] is the one address of rule i's one
// destination option, not negated (what the parse makes "-d A/32"); the
// zero Addr for every other rule. A reader looking for the rules a packet
// to D may match scans it: cheaper, for one packet, than a map.
type DstIndex struct {
	Dst []netip.Addr
}

// Skim returns c's destination index when the dump was parsed lazily,
// nil otherwise. A rule with Dst[i] valid and not D matches no packet to
// D, so a reader may skip it without parsing it.
func (c *Chain) Skim() *DstIndex {
	if c.lazy == nil {
		return nil
	}
	st := c.lazyState
	st.mu.Lock()
	defer st.mu.Unlock()
	lc := c.lazy
	rd := st.reading(lc)
	if rd.skim != nil {
		return rd.skim
	}
	ix := &DstIndex{Dst: make([]netip.Addr, len(rd.at))}
	skim := func(sp *specParser, from, to int) {
		for i := from; i < to; i++ {
			at := rd.at[i]
			if spec := st.early[at.off]; spec != nil {
				if d := spec.Dst; d.Set && !d.Neg && d.Prefixes == nil && d.Prefix.IsSingleIP() {
					ix.Dst[i] = d.Prefix.Addr()
				}
				continue
			}
			if a, ok := sp.skimDst(ruleBody(st.lineAt(at.off))); ok {
				ix.Dst[i] = a
			}
		}
	}
	// KUBE-SERVICES of 10k Services: the second half on another core
	n, half := len(rd.at), len(rd.at)
	if n >= skimSplitMin && runtime.GOMAXPROCS(0) > 1 {
		half = n / 2
	}
	wait := goSafe(func() {
		var sp specParser
		skim(&sp, half, n)
	}, half < n)
	skim(&st.p.sp, 0, half)
	wait()
	rd.skim = ix
	return ix
}

// skimSplitMin: a chain this long is skimmed on two goroutines.
var skimSplitMin = 4096

// goSafe runs f on another goroutine (when async; else now), a memory
// fault in it a panic (a mapped dump cut short), and returns what waits
// for f and raises again any panic it met, on the caller's goroutine.
func goSafe(f func(), async bool) (wait func()) {
	if !async {
		f()
		return func() {}
	}
	done := make(chan any, 1)
	go func() {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() { done <- recover() }()
		f()
	}()
	return func() {
		if v := <-done; v != nil {
			panic(v)
		}
	}
}

// reading returns what was read of lc, made on the first read: where
// each rule's line is; st.mu is held.
func (st *lazyState) reading(lc *lazyChain) *readRules {
	if lc.read != nil {
		return lc.read
	}
	rec := lc.record()
	rd := &readRules{parsed: make([]*Rule, rec.n), at: make([]ruleAt, 0, rec.n)}
	add := func(r lineRun) {
		off := r.off
		for k := int32(0); k < r.n; k++ {
			rd.at = append(rd.at, ruleAt{off, r.line + k})
			if k+1 < r.n {
				off += strings.IndexByte(st.text[off:], '\n') + 1
			}
		}
	}
	var runs []lineRun // the earlier ones, last first
	for prev := rec.prev; prev != 0; {
		e := lc.table.lz.earlierAt(prev)
		runs = append(runs, e.run)
		prev = e.prev
	}
	for i := len(runs) - 1; i >= 0; i-- {
		add(runs[i])
	}
	if rec.run.n > 0 {
		add(rec.run)
	}
	lc.read = rd
	return rd
}

// lineAt is the trimmed line at offset off.
func (st *lazyState) lineAt(off int) string {
	l := st.text[off:]
	if i := strings.IndexByte(l, '\n'); i >= 0 {
		l = l[:i]
	}
	return strings.TrimSpace(l)
}

// ruleBody is a rule line without its "[pkts:bytes]" prefix.
func ruleBody(t string) string {
	if body, ok := ruleLineBody(t); ok {
		return body
	}
	return t
}

// parseLazy is ParseString with Options.Lazy: one pass over the text
// (scanLines) that keeps no line but the runs of each chain's rule lines.
// Rules are parsed on their own, never through an Interner, so no budget
// can stop it.
func parseLazy(s string, o Options) (*Ruleset, error) {
	if len(s) > math.MaxInt32 {
		return nil, errors.New(tooLargeForLazy(int64(len(s))))
	}
	p := newParser(o)
	p.lazy = &lazyState{p: p, text: s}
	p.rs.lazy = true
	scanLines(s, o.Limits, func(evs []scanned) {
		for _, e := range evs {
			p.line++
			p.off = e.off
			name := s[e.off+int(e.name) : e.off+int(e.name+e.nameLen)]
			switch {
			case e.n > 0:
				p.fileRun(name, int(e.n))
				p.line += int(e.n) - 1
			case e.n == decl && p.plainDeclare(name):
			default:
				end := e.off + int(e.lineLen)
				p.lazyLine(s, s[e.off:end], min(end+1, len(s)))
			}
		}
	})
	p.finish()
	return p.rs, nil
}

// tooLargeForLazy says why a dump of size bytes is not read lazily: its
// line numbers and lengths are kept in 32 bits.
func tooLargeForLazy(size int64) string {
	return fmt.Sprintf("%d bytes: a dump read lazily must be under 2 GiB", size)
}

// lazyLine reads one line the scan did not file (line, the text's next
// line at next).
func (p *parser) lazyLine(s, line string, next int) {
	switch lim := p.lim; {
	case lim.LineBytes > 0 && len(line) > lim.LineBytes+1:
		p.problem("line longer than %d bytes; skipped", lim.LineBytes)
	case isRuleLine(unsafe.Slice(unsafe.StringData(line), len(line))):
		p.lazyRuleLine(strings.TrimSpace(line))
	default:
		line = strings.TrimSuffix(line, "\r")
		if t := strings.TrimLeft(line, " \t"); t != "" && t[0] == '*' {
			// its chains, to size the table's index once
			p.decls = map[int]int{p.line - 1: countDeclsAt(s[next:])}
		}
		p.parseLine(line)
	}
}

// countDeclsAt counts the chain declarations at the start of s: the
// lines after a table header that start with ':' (as countDecls counts
// them, up to the first other line).
func countDeclsAt(s string) int {
	n := 0
	for len(s) > 0 {
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		line = strings.TrimLeft(line, " \t")
		if line == "" {
			continue
		}
		if line[0] != ':' {
			break
		}
		n++
	}
	return n
}

// lazyRuleLine files the rule line t (trimmed) under its chain without
// parsing it, when its chain can be told without parsing it: the line
// starts (after counters) with "-A NAME" and says no other -A/-I. Any
// other line is parsed now, as the eager parse does.
func (p *parser) lazyRuleLine(t string) {
	body, ok := ruleLineBody(t)
	if !ok {
		p.problem("unterminated counters %q", clip(t))
		return
	}
	name, ok := quickChain(body)
	if !ok {
		spec := p.sp.parse(body)
		name = spec.Chain
		if name == "" {
			// problems in the order the eager parse gives them
			if strings.HasPrefix(t, "[") {
				end := strings.IndexByte(t, ']')
				if _, ok := parseCounters(t[:end+1]); !ok {
					p.problem("bad counters %q", t[:end+1])
				}
			}
			for _, msg := range spec.problems {
				p.problem("%s", msg)
			}
			p.problem("rule without -A CHAIN: %s", clip(spec.Text))
			return
		}
		if p.lazy.early == nil {
			p.lazy.early = map[int]*RuleSpec{}
		}
		p.lazy.early[p.off] = spec
	}
	p.fileRun(name, 1)
}

// fileRun files n rule lines of chain name, the first at p.off and line
// p.line, under their chain's record without parsing them.
func (p *parser) fileRun(name string, n int) {
	tab := p.cur()
	lt := tab.lz
	k := p.recOf(tab, name)
	if k < 0 {
		if p.table != nil {
			p.problem("rule appended to chain %s that is not declared in table %s", name, tab.Name)
		}
		k = lt.add(name, chainSlot{})
	}
	p.lastRec, p.lastTab = k, tab
	r := &lt.recs[k]
	r.n += int32(n)
	run := lineRun{off: p.off, line: int32(p.line), n: int32(n)}
	switch {
	case r.run.line+r.run.n == run.line && r.run.n > 0:
		r.run.n += run.n
	case r.run.n == 0:
		r.run = run
	default:
		r.prev = lt.push(r.run, r.prev)
		r.run = run
	}
}

// recOf is chainOf for a lazy table: the record of tab's chain name, or
// -1.
func (p *parser) recOf(tab *Table, name string) int32 {
	lt := tab.lz
	if k := p.lastRec; p.lastTab == tab {
		if lt.recs[k].name == name {
			return k
		}
		// the chains declared near the last rule's: a dump in the
		// kernel's order moves on to the next one, kube-proxy's restore
		// input goes back and forth between a service chain and its
		// endpoints' (declared after it)
		for j := max(0, k-4); int(j) < len(lt.recs) && j <= k+4; j++ {
			if lt.recs[j].name == name {
				return j
			}
		}
	}
	return int32(lt.set.get(lt.nameAt, name))
}

// plainDeclare records the chain a declaration in which the scan found
// nothing to report (scanLine) declares, when it is new and in a table;
// false leaves the line to declareChain.
func (p *parser) plainDeclare(name string) bool {
	if p.table == nil {
		return false
	}
	lt := p.table.lz
	k, at := lt.set.getOrSlot(lt.nameAt, name)
	if k >= 0 {
		return false
	}
	r := &lt.recs[lt.add(name, at)]
	r.decl, r.line = p.off, int32(p.line)
	return true
}

// lazyDeclare is declareChain's lookup in a lazy table, for the
// declaration fields f of table t. A new chain is recorded, its policy
// and counters checked as declareChain checks them, and nil returned. A
// chain recorded before (declared again, or appended to first) is made
// now and returned, for declareChain to declare as the eager parse does.
func (p *parser) lazyDeclare(t *Table, f []string) *Chain {
	lt := t.lz
	k, at := lt.set.getOrSlot(lt.nameAt, f[0])
	if k >= 0 {
		return lt.chainAt(t, int32(k))
	}
	p.declProblems(f, readDecl(f)) // the Chain is made from the line when looked up
	k32 := lt.add(f[0], at)
	r := &lt.recs[k32]
	r.decl, r.line = p.off, int32(p.line)
	return nil
}

// quickChain returns NAME of a rule text "-A NAME ...": what the full
// parse takes as its chain (the first -A names it), read without
// tokenizing the line; false when only the tokenizer can tell (quotes,
// escapes, a name that is not one).
func quickChain(t string) (string, bool) {
	if len(t) < 4 || t[0] != '-' || t[1] != 'A' || !isSpace(t[2]) {
		return "", false
	}
	i := 3
	for i < len(t) && isSpace(t[i]) {
		i++
	}
	j := i
	for j < len(t) && !isSpace(t[j]) {
		j++
	}
	name := t[i:j]
	if name == "" || name[0] == '!' || name[0] == '-' {
		return "", false
	}
	for k := 0; k < len(name); k++ {
		if c := name[k]; c == '"' || c == '\'' || c == '\\' {
			return "", false // quoting: the tokenizer decides
		}
	}
	return name, true
}

// parseRule parses into r the chain's rule at position i (0-based) from
// its line at, as the eager parse would have; st.mu is held.
func (st *lazyState) parseRule(c *Chain, i int, at ruleAt, r *Rule) {
	p := st.p
	line := int(at.line)
	r.Pos = i + 1
	r.Line = line
	r.Table = c.Table
	t := st.lineAt(at.off)
	if strings.HasPrefix(t, "[") {
		end := strings.IndexByte(t, ']')
		ct, ok := parseCounters(t[:end+1])
		if !ok {
			p.problemAt(line, "bad counters %q", t[:end+1])
		}
		r.Counters = ct
		t = strings.TrimSpace(t[end+1:])
	}
	spec := st.early[at.off]
	if spec == nil {
		spec = p.sp.parse(t)
	}
	r.RuleSpec = spec
	if spec.counters != nil {
		r.Counters = spec.counters
	}
	for _, msg := range spec.problems {
		p.problemAt(line, "%s", msg)
	}
	if r.Target.Name != "" && !builtinTarget(r.Target.Name) && !knownTarget(r.Target.Name) {
		t := c.lazy.table
		r.Jump = t.lz.chainLocked(t, r.Target.Name)
		if r.Jump == nil && t.Line != 0 && !t.lz.replaced {
			p.problemAt(r.Line, "jump to chain %s that is not declared in table %s", r.Target.Name, r.Table)
		}
	}
	if r.Src.Set && r.Src.Prefix.Addr().Is6() || r.Dst.Set && r.Dst.Prefix.Addr().Is6() {
		p.rs.Family = 6
	}
}

// load parses c's rules not parsed yet.
func (st *lazyState) load(c *Chain) {
	st.mu.Lock()
	defer st.mu.Unlock()
	lc := c.lazy
	if lc.loaded {
		return
	}
	lc.loaded = true
	rd := st.reading(lc)
	n := lc.record().n
	refs := make([]*Rule, n)
	rules := make([]Rule, n)
	for i, at := range rd.at {
		if r := rd.parsed[i]; r != nil {
			refs[i] = r
			continue
		}
		refs[i] = &rules[i]
		st.parseRule(c, i, at, refs[i])
	}
	// Rule(i) after Load reads the loaded rules
	rd.parsed = refs
	c.Rules = refs
}
