package iptables

import (
	"net/netip"
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

// lazyChain holds a chain's unparsed rule lines (one per chain of a
// dump: kept small).
type lazyChain struct {
	table  *Table // the chain's
	run    lineRun
	more   *[]lineRun // runs after the first, rarely any
	n      int32      // rule lines in the runs
	loaded bool
	read   *readRules // nil until a rule is read
}

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

// runs calls f with each run of lc in order until f returns false.
func (lc *lazyChain) runs(f func(lineRun) bool) {
	if lc.run.n == 0 || !f(lc.run) || lc.more == nil {
		return
	}
	for _, r := range *lc.more {
		if !f(r) {
			return
		}
	}
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
	// blocks the chains and rules are taken from
	chains []lazyChain
	rules  []Rule
}

// Load parses the chain's rules if the dump was parsed lazily and they
// are not parsed yet; it is a no-op otherwise. Safe for concurrent use.
func (c *Chain) Load() {
	if c.lazy != nil {
		c.lazyState.load(c)
	}
}

// LoadAll parses every chain not parsed yet: the ruleset is then what
// the eager parse makes (problems aside, which come in load order).
func (rs *Ruleset) LoadAll() {
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			c.Load()
		}
	}
}

// Lazy reports whether the ruleset was parsed with Options.Lazy: readers
// of Chain.Rules must Load the chain first, or read it with Len and Rule.
func (rs *Ruleset) Lazy() bool { return rs.lazy }

// Len is the number of c's rules, parsed or not.
func (c *Chain) Len() int {
	if c.lazy != nil {
		return int(c.lazy.n) // fixed once the parse returned
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
	sp := &st.p.sp
	for i, at := range rd.at {
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
	rd.skim = ix
	return ix
}

// reading returns what was read of lc, made on the first read: where
// each rule's line is; st.mu is held.
func (st *lazyState) reading(lc *lazyChain) *readRules {
	if lc.read != nil {
		return lc.read
	}
	rd := &readRules{parsed: make([]*Rule, lc.n), at: make([]ruleAt, 0, lc.n)}
	lc.runs(func(r lineRun) bool {
		off := r.off
		for k := int32(0); k < r.n; k++ {
			rd.at = append(rd.at, ruleAt{off, r.line + k})
			if k+1 < r.n {
				off += strings.IndexByte(st.text[off:], '\n') + 1
			}
		}
		return true
	})
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
	if strings.HasPrefix(t, "[") {
		if end := strings.IndexByte(t, ']'); end >= 0 {
			return strings.TrimSpace(t[end+1:])
		}
	}
	return t
}

// parseLazy is ParseString with Options.Lazy: one pass over the text,
// line by line, that keeps no line but the runs of each chain's rule
// lines. Rules are parsed on their own, never through an Interner, so
// no budget can stop it.
func parseLazy(s string, o Options) (*Ruleset, error) {
	p := newParser(o)
	p.lazy = &lazyState{p: p, text: s}
	p.rs.lazy = true
	lim := o.Limits
	for off := 0; off < len(s); {
		next := len(s)
		line := s[off:]
		if i := strings.IndexByte(line, '\n'); i >= 0 {
			line, next = line[:i], off+i+1
		}
		p.line++
		p.off = off
		switch {
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
		off = next
	}
	p.finish()
	return p.rs, nil
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
	body := t
	if strings.HasPrefix(body, "[") {
		end := strings.IndexByte(body, ']')
		if end < 0 {
			p.problem("unterminated counters %q", clip(t))
			return
		}
		body = strings.TrimSpace(body[end+1:])
	}
	name, ok := quickChain(body)
	off := p.off
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
		p.lazy.early[off] = spec
	}
	tab := p.cur()
	c := p.chainOf(tab, name)
	if c == nil {
		if p.table != nil {
			p.problem("rule appended to chain %s that is not declared in table %s", name, tab.Name)
		}
		c = p.newChain(tab.Name, name)
		tab.addChain(c, chainSlot{})
	}
	p.last, p.lastTab = c, tab
	lc := c.lazy
	if lc == nil {
		lc = p.lazy.newChain(tab)
		c.lazy = lc
		c.lazyState = p.lazy
	}
	lc.n++
	last := &lc.run
	if lc.more != nil {
		last = &(*lc.more)[len(*lc.more)-1]
	}
	run := lineRun{off: off, line: int32(p.line), n: 1}
	switch {
	case last.n == 0:
		*last = run
	case last.line+last.n == run.line:
		last.n++
	case lc.more == nil:
		lc.more = &[]lineRun{run}
	default:
		*lc.more = append(*lc.more, run)
	}
}

// newChain hands out a lazyChain from a block (a kube-proxy dump has
// ~40k chains).
func (st *lazyState) newChain(t *Table) *lazyChain {
	if len(st.chains) == 0 {
		st.chains = bigmem.Make[lazyChain](max(1024, len(t.Chains)))
	}
	c := &st.chains[0]
	st.chains = st.chains[1:]
	c.table = t
	return c
}

// quickChain returns NAME of a rule text "-A NAME ..." that names no
// other chain option: what the full parse would take as its chain.
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
	// a later word that may be -A/-I again (even inside quotes: then the
	// full parse decides): every word that starts with a dash is looked
	// at, found by a vectorized search for the dash
	rest := t[j:]
	for k := 0; ; {
		i := strings.IndexByte(rest[k:], '-')
		if i < 0 {
			break
		}
		d := k + i
		k = d + 1
		if d == 0 || !isSpace(rest[d-1]) {
			continue
		}
		w := rest[d:]
		if len(w) >= 2 && (w[1] == 'A' || w[1] == 'I') && (len(w) == 2 || isSpace(w[2])) {
			return "", false
		}
		if len(w) >= 8 && (w[:8] == "--append" || w[:8] == "--insert") && (len(w) == 8 || isSpace(w[8])) {
			return "", false
		}
		// the rest of the word: no second look at its dashes
		for k < len(rest) && !isSpace(rest[k]) {
			k++
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
		r.Jump = t.Chain(r.Target.Name)
		if r.Jump == nil && t.Line != 0 {
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
	refs := make([]*Rule, lc.n)
	rules := make([]Rule, lc.n)
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
