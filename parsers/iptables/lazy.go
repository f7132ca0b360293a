package iptables

import (
	"strings"
	"sync"

	"tkesnap/internal/bigmem"
)

// Lazy parsing is for a caller that evaluates a few chains of a large
// dump (trace --iptables: one packet through a 10k-Service kube-proxy
// dump enters KUBE-SERVICES and a handful of the 40k chains). The file is
// split into lines, tables, chain declarations and each rule line's
// chain at once; a chain's rules are parsed when it is first used
// (Chain.Load). Every rule the caller reads is parsed exactly as the
// eager parse parses it, and every problem it finds is reported; lines of
// chains never loaded are never read further.

// lazyRule is a rule line not parsed yet.
type lazyRule struct {
	text string // the line, trimmed, counters prefix included
	line int
	spec *RuleSpec // parsed already when the chain could not be told cheaply
}

// lazyChain holds a chain's unparsed rule lines until Load.
type lazyChain struct {
	once  sync.Once
	table *Table // the chain's
	rules []lazyRule
}

// lazyState is shared by the chains of one lazy parse: the parser, whose
// problem list, limits and blocks loads keep using, behind one lock.
type lazyState struct {
	mu sync.Mutex
	p  *parser
	// blocks the lines and chains are taken from while scanning
	lines  runBlock[*lazyChain, lazyRule]
	chains []lazyChain
}

// Load parses the chain's rules if the dump was parsed lazily and they
// are not parsed yet; it is a no-op otherwise. Safe for concurrent use.
func (c *Chain) Load() {
	if c.lazy != nil {
		c.lazy.once.Do(func() { c.lazyState.load(c) })
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
// of Chain.Rules must Load the chain first.
func (rs *Ruleset) Lazy() bool { return rs.lazy }

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
	var spec *RuleSpec
	if !ok {
		spec = p.sp.parse(body)
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
	}
	tab := p.cur()
	c := p.chainOf(tab, name)
	if c == nil {
		if p.table != nil {
			p.problem("rule appended to chain %s that is not declared in table %s", name, tab.Name)
		}
		c = p.newChain(tab.Name, name)
		tab.chains[name] = c
		c.seq = len(tab.Chains)
		tab.Chains = append(tab.Chains, c)
	}
	p.last, p.lastTab = c, tab
	if c.lazy == nil {
		c.lazy = p.lazy.newChain(tab)
		c.lazyState = p.lazy
	}
	// a dump lists each chain's rules together: the lines of all chains
	// are runs of one block, as parsed rules are (appendRule)
	c.lazy.rules = p.lazy.lines.add(c.lazy, c.lazy.rules, lazyRule{text: t, line: p.line, spec: spec})
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
	// full parse decides): found by the letter after its dashes with
	// IndexByte, rather than byte by byte.
	rest := t[j:]
	for _, w := range [...]string{"-A", "-I", "--append", "--insert"} {
		dashes := strings.LastIndexByte(w, '-') + 1
		c := w[dashes]
		for k := 0; ; {
			i := strings.IndexByte(rest[k:], c)
			if i < 0 {
				break
			}
			i += k
			k = i + 1
			d := i - dashes // where w would start
			if d >= 1 && isSpace(rest[d-1]) && strings.HasPrefix(rest[d:], w) && (d+len(w) == len(rest) || isSpace(rest[d+len(w)])) {
				return "", false
			}
		}
	}
	return name, true
}

// load parses c's pending rule lines as the eager parse would have.
func (st *lazyState) load(c *Chain) {
	st.mu.Lock()
	defer st.mu.Unlock()
	p := st.p
	pend := c.lazy.rules
	c.lazy.rules = nil
	rules := make([]Rule, len(pend))
	refs := make([]*Rule, len(pend))
	for i, lr := range pend {
		r := &rules[i]
		refs[i] = r
		r.Pos = i + 1
		r.Line = lr.line
		r.Table = c.Table
		t := lr.text
		if strings.HasPrefix(t, "[") {
			end := strings.IndexByte(t, ']')
			ct, ok := parseCounters(t[:end+1])
			if !ok {
				p.problemAt(lr.line, "bad counters %q", t[:end+1])
			}
			r.Counters = ct
			t = strings.TrimSpace(t[end+1:])
		}
		spec := lr.spec
		if spec == nil {
			spec = p.sp.parse(t)
		}
		r.RuleSpec = spec
		if spec.counters != nil {
			r.Counters = spec.counters
		}
		for _, msg := range spec.problems {
			p.problemAt(lr.line, "%s", msg)
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
	c.Rules = refs
}
