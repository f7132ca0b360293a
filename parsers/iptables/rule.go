package iptables

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"tkesnap/internal/bigmem"
)

type token struct {
	s      string
	quoted bool // any part was inside double quotes: never an option name
}

// tokenize splits a rule line the way iptables-restore does
// (iptables/xshared.c add_param_to_argv): whitespace separates words,
// double quotes group, and inside quotes a backslash escapes `"` or `\`.
// iptables-save writes comments with exactly that quoting
// (xtables_save_string). It returns ok=false for an unterminated quote.
func tokenize(s string) ([]token, bool) {
	return tokenizeInto(nil, s)
}

// tokenizeInto appends to toks (reused across lines). Words without quotes
// are substrings of s: no copy.
func tokenizeInto(toks []token, s string) ([]token, bool) {
	if strings.IndexByte(s, '"') < 0 {
		for i := 0; i < len(s); {
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			start := i
			for i < len(s) && !isSpace(s[i]) {
				i++
			}
			if i > start {
				toks = append(toks, token{s: s[start:i]})
			}
		}
		return toks, true
	}
	ok := true
	for i := 0; i < len(s); {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		// Fast paths: a plain word, or one fully quoted word without
		// escapes ("a b c") — both are substrings of the line.
		j := i
		for j < len(s) && !isSpace(s[j]) && s[j] != '"' {
			j++
		}
		if j == len(s) || isSpace(s[j]) {
			toks = append(toks, token{s: s[i:j]})
			i = j
			continue
		}
		if j == i {
			k := i + 1
			for k < len(s) && s[k] != '"' && s[k] != '\\' {
				k++
			}
			if k < len(s) && s[k] == '"' && (k+1 == len(s) || isSpace(s[k+1])) {
				toks = append(toks, token{s: s[i+1 : k], quoted: true})
				i = k + 1
				continue
			}
		}
		var t token
		t, i, ok = quotedWord(s, i)
		toks = append(toks, t)
		if !ok {
			break
		}
	}
	return toks, ok
}

// quotedWord reads one word with quotes and escapes from s[i:]; ok is false
// when a quote is not closed.
func quotedWord(s string, i int) (token, int, bool) {
	// grown as the word is read: sized by the rest of the line, a line
	// of many such words took time and memory quadratic in its length
	var buf [64]byte
	b := buf[:0]
	open := false
	for ; i < len(s); i++ {
		c := s[i]
		if open {
			switch {
			case c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
				b = append(b, s[i+1])
				i++
			case c == '"':
				open = false
			default:
				b = append(b, c)
			}
			continue
		}
		if isSpace(c) {
			break
		}
		if c == '"' {
			open = true
			continue
		}
		b = append(b, c)
	}
	return token{s: string(b), quoted: true}, i, !open
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

// isOptName reports whether a token is an option name rather than a value.
func isOptName(t token) bool {
	if t.quoted || len(t.s) < 2 || t.s[0] != '-' {
		return false
	}
	c := t.s[1]
	// "-1" or "-0x10" are values (negative numbers), not options.
	return !(c >= '0' && c <= '9')
}

// rule adds the rule line t (trimmed; "[p:b] -A CHAIN opts..."). tmp: t
// aliases a read buffer, so whatever is kept is copied first.
func (p *parser) rule(t string, tmp bool) {
	r := p.newRule()
	r.Line = p.line
	if strings.HasPrefix(t, "[") {
		// iptables-save -c prints "[pkts:bytes] -A ...".
		end := strings.IndexByte(t, ']')
		if end < 0 {
			p.problem("unterminated counters %q", clip(t))
			return
		}
		ct, ok := parseCountersInto(t[:end+1], p.newCounters())
		if !ok {
			p.problem("bad counters %q", t[:end+1])
		}
		r.Counters = ct
		t = strings.TrimSpace(t[end+1:])
	}
	spec := p.spec(t, tmp)
	if spec == nil {
		p.overBudget = true
		return
	}
	r.RuleSpec = spec
	if spec.counters != nil {
		r.Counters = spec.counters
	}
	for _, msg := range spec.problems {
		p.problemAt(p.line, "%s", msg)
	}
	if spec.Chain == "" {
		p.problem("rule without -A CHAIN: %s", clip(spec.Text))
		return
	}
	tab := p.cur()
	r.Table = tab.Name
	c := p.chainOf(tab, spec.Chain)
	if c == nil {
		if p.table != nil {
			// iptables-restore: "Couldn't load rule: No such file or directory".
			p.problem("rule appended to chain %s that is not declared in table %s", spec.Chain, tab.Name)
		}
		c = p.newChain(tab.Name, spec.Chain)
		tab.addChain(c, chainSlot{})
	}
	p.last, p.lastTab = c, tab
	p.appendRule(c, r)
	r.Pos = len(c.Rules)
	if r.Target.Name != "" && !builtinTarget(r.Target.Name) && !knownTarget(r.Target.Name) {
		p.jumps = append(p.jumps, jump{r, tab})
	}
	if r.Src.Set && r.Src.Prefix.Addr().Is6() || r.Dst.Set && r.Dst.Prefix.Addr().Is6() {
		p.rs.Family = 6
	}
}

// chainOf returns the chain of tab a rule line names, nil when it is not
// there. A dump lists a chain's rules together, chains in the order they
// were declared: a line goes to the chain of the line before or to one
// declared shortly after it (a kube-proxy dump switches chain every
// second line, among ~40k), before the map is asked.
func (p *parser) chainOf(tab *Table, name string) *Chain {
	c := p.last
	if c != nil && p.lastTab == tab {
		if c.Name == name {
			return c
		}
		for k := c.seq + 1; k < len(tab.Chains) && k <= c.seq+4; k++ {
			if n := tab.Chains[k]; n.Name == name {
				return n
			}
		}
	}
	return tab.eagerChain(name)
}

// spec returns what the rule text t says: parsed ahead (ParseString),
// shared through the Interner, or parsed now. Nil when the Interner's
// budget does not allow one more spec.
func (p *parser) spec(t string, tmp bool) *RuleSpec {
	if p.pre != nil {
		if s := p.pre[p.line-1]; s != nil {
			return s
		}
	}
	if p.in != nil {
		e := p.in.spec(t, tmp, &p.sp, p.prevSpec, p.cl)
		p.prevSpec = e
		if e == nil {
			return nil
		}
		return e.spec
	}
	if tmp {
		t = strings.Clone(t)
	}
	return p.sp.parse(t)
}

// appendRule appends r to c.Rules. A dump lists each chain's rules
// together, so the rule lists of all chains are consecutive runs of one
// block (no slice per chain grown by doubling: a kube-proxy dump has
// ~40k chains of one to a few rules).
func (p *parser) appendRule(c *Chain, r *Rule) {
	c.Rules = p.ruleRefs.add(c, c.Rules, r)
}

// runBlock hands out the lists of many owners (chains) as consecutive
// runs of one block: the owner whose run ends at the block's end grows in
// place. Each list is capped at its length, so a list whose elements come
// back later, or any append after the parse, copies instead of writing
// into a neighbour's run.
type runBlock[O comparable, T any] struct {
	block []T
	run   O // the owner whose run ends at len(block)
	start int
	first int // the first block's size (a count known ahead), 0: 4096
}

// add appends x to owner's list and returns the list.
func (b *runBlock[O, T]) add(owner O, list []T, x T) []T {
	var none O
	switch {
	case owner == b.run && len(b.block) < cap(b.block):
	case len(list) == 0 || owner == b.run:
		if len(b.block)+len(list) >= cap(b.block) {
			b.block = bigmem.Make[T](max(b.first, 4096, 2*len(list)+1))[:0]
			b.first = 0
		}
		b.run, b.start = owner, len(b.block)
		b.block = append(b.block, list...)
	default:
		b.run = none
		return append(list, x)
	}
	b.block = append(b.block, x)
	return b.block[b.start:len(b.block):len(b.block)]
}

// newRule and newCounters hand out rules from blocks: one allocation per
// thousand rules instead of one per rule.
func (p *parser) newRule() *Rule {
	if len(p.rules) == 0 {
		p.rules = make([]Rule, 1024)
	}
	r := &p.rules[0]
	p.rules = p.rules[1:]
	return r
}

func (p *parser) newCounters() *Counters {
	if len(p.counters) == 0 {
		p.counters = make([]Counters, 1024)
	}
	c := &p.counters[0]
	p.counters = p.counters[1:]
	return c
}

// specParser parses rule texts into RuleSpecs. It keeps scratch space and
// blocks to allocate from; one per goroutine.
type specParser struct {
	toks    []token
	specs   []RuleSpec
	matches []Match
	mptrs   []*Match
	strs    []string
	opts    []Option
	// per rule: every option in order, with the match it belongs to
	// (nil: the target), grouped into the matches' slices at the end
	pend []pendOpt
	ms   []*Match
	// block is the number of elements of the blocks matches, options and
	// arguments are taken from (0: small blocks)
	block int
}

// blockOf is the size of the next block of a kind: at least min, and for
// a large dump about two per rule (kube-proxy rules have two matches,
// two options and two option arguments on average), so that one block
// holds them all.
func (sp *specParser) blockOf(min, need int) int { return max(min, need, 2*sp.block) }

type pendOpt struct {
	m *Match
	o Option
}

// parse reads one rule text (counters prefix removed) into a new spec;
// the spec's strings are substrings of t.
func (sp *specParser) parse(t string) *RuleSpec {
	if len(sp.specs) == 0 {
		sp.specs = bigmem.Make[RuleSpec](256)
	}
	spec := &sp.specs[0]
	sp.specs = sp.specs[1:]
	spec.Text = t
	toks, ok := tokenizeInto(sp.toks[:0], t)
	sp.toks = toks
	if !ok {
		spec.problems = append(spec.problems, "unterminated quote; rule kept up to the end of the line")
	}
	if len(sp.strs) < len(toks) {
		sp.strs = bigmem.Make[string](sp.blockOf(4096, len(toks)))
	}
	rp := ruleParser{sp: sp, r: spec, toks: toks, argBuf: sp.strs[:0:len(toks)]}
	spec.Chain = rp.parse()
	sp.strs = sp.strs[len(rp.argBuf):]
	return spec
}

// newMatch hands out a match from a block.
func (sp *specParser) newMatch(name string, implicit bool) *Match {
	if len(sp.matches) == 0 {
		sp.matches = bigmem.Make[Match](sp.blockOf(512, 1))
	}
	m := &sp.matches[0]
	sp.matches = sp.matches[1:]
	m.Name, m.Implicit = name, implicit
	sp.ms = append(sp.ms, m)
	return m
}

// finish gives the rule its matches and every match and the target its
// options, as slices of shared blocks (capacity capped, so an append by a
// reader never writes into a neighbour).
func (sp *specParser) finish(r *RuleSpec) {
	if n := len(sp.ms); n > 0 {
		if len(sp.mptrs) < n {
			sp.mptrs = bigmem.Make[*Match](sp.blockOf(1024, n))
		}
		r.Matches = sp.mptrs[:n:n]
		copy(r.Matches, sp.ms)
		sp.mptrs = sp.mptrs[n:]
	}
	if len(sp.pend) > 0 {
		if len(sp.opts) < len(sp.pend) {
			sp.opts = bigmem.Make[Option](sp.blockOf(1024, len(sp.pend)))
		}
		take := func(m *Match) []Option {
			n := 0
			for _, po := range sp.pend {
				if po.m == m {
					sp.opts[n] = po.o
					n++
				}
			}
			if n == 0 {
				return nil
			}
			out := sp.opts[:n:n]
			sp.opts = sp.opts[n:]
			return out
		}
		for _, m := range r.Matches {
			m.Opts = take(m)
		}
		r.Target.Opts = take(nil)
	}
	sp.ms = sp.ms[:0]
	sp.pend = sp.pend[:0]
}

func (sp *specParser) dropTargetOpts() {
	k := 0
	for _, po := range sp.pend {
		if po.m != nil {
			sp.pend[k] = po
			k++
		}
	}
	sp.pend = sp.pend[:k]
}

type ruleParser struct {
	sp   *specParser
	r    *RuleSpec
	toks []token
	i    int
	// context: where "--opt" goes
	cur      *Match // last -m module, nil before any
	inTarget bool   // after -j/-g
	chain    string
	argBuf   []string
}

func (rp *ruleParser) problem(format string, a ...any) {
	rp.r.problems = append(rp.r.problems, fmt.Sprintf(format, a...))
}

func (rp *ruleParser) next() (token, bool) {
	if rp.i >= len(rp.toks) {
		return token{}, false
	}
	t := rp.toks[rp.i]
	rp.i++
	return t, true
}

// value reads the single argument of a base option, honouring the old
// "-s ! addr" negation form.
func (rp *ruleParser) value(opt string, neg *bool) (string, bool) {
	t, ok := rp.next()
	if ok && !t.quoted && t.s == "!" {
		*neg = !*neg
		t, ok = rp.next()
	}
	if !ok {
		rp.problem("option %s needs a value", opt)
		return "", false
	}
	return t.s, true
}

// args collects the arguments of an extension option: every token up to
// the next option name or "!" that negates the next option.
func (rp *ruleParser) args(neg *bool) []string {
	// One backing array (a block of the specParser) holds every option's
	// arguments of the rule.
	start := len(rp.argBuf)
	a := rp.argBuf[start:start:cap(rp.argBuf)]
	for rp.i < len(rp.toks) {
		t := rp.toks[rp.i]
		if isOptName(t) {
			break
		}
		if !t.quoted && t.s == "!" {
			// "--dport ! 80" (old syntax) negates this option; "! --x"
			// negates the next one.
			if len(a) == 0 && rp.i+1 < len(rp.toks) && !isOptName(rp.toks[rp.i+1]) {
				*neg = !*neg
				rp.i++
				continue
			}
			break
		}
		a = append(a, t.s)
		rp.i++
	}
	if len(a) == 0 {
		return nil
	}
	rp.argBuf = rp.argBuf[:start+len(a)]
	return a[:len(a):len(a)]
}

func (rp *ruleParser) parse() string {
	r := rp.r
	neg := false
	for {
		t, ok := rp.next()
		if !ok {
			break
		}
		if !t.quoted && t.s == "!" {
			neg = !neg
			continue
		}
		if !isOptName(t) {
			rp.problem("unexpected word %q", t.s)
			neg = false
			continue
		}
		name := t.s
		switch name {
		case "-A", "--append", "-I", "--insert":
			v, _ := rp.value(name, &neg)
			if name == "-I" || name == "--insert" {
				rp.problem("%s in a dump: treated as -A", name)
				// "-I CHAIN [rulenum]"
				if rp.i < len(rp.toks) {
					if _, err := strconv.Atoi(rp.toks[rp.i].s); err == nil {
						rp.i++
					}
				}
			}
			// iptables refuses a second command; the first one names the
			// rule's chain (what a reader of the line's start sees)
			if rp.chain != "" {
				rp.problem("more than one -A in a rule: the first one (-A %s) is kept", rp.chain)
			} else {
				rp.chain = v
			}
			neg = false
			continue
		case "-s", "--source", "--src", "-d", "--destination", "--dst":
			v, ok := rp.value(name, &neg)
			if !ok {
				continue
			}
			a := &r.Src
			if name == "-d" || name == "--destination" || name == "--dst" {
				a = &r.Dst
			}
			if a.Set {
				rp.problem("%s given twice", name)
			}
			if err := parseAddr(v, a); err != "" {
				rp.problem("%s %q: %s", name, v, err)
			}
			a.Neg = neg
		case "-i", "--in-interface", "-o", "--out-interface":
			v, ok := rp.value(name, &neg)
			if !ok {
				continue
			}
			f := &r.In
			if name == "-o" || name == "--out-interface" {
				f = &r.Out
			}
			*f = Iface{Set: true, Neg: neg, Name: v}
		case "-p", "--protocol":
			v, ok := rp.value(name, &neg)
			if !ok {
				continue
			}
			r.Proto = Proto{Set: true, Neg: neg, Name: strings.ToLower(v), Num: protoNum(v)}
			if r.Proto.Num < 0 {
				rp.problem("unknown protocol %q", v)
			}
		case "-f", "--fragment":
			r.Fragment = 1
			if neg {
				r.Fragment = -1
			}
		case "-m", "--match":
			v, ok := rp.value(name, &neg)
			if !ok {
				continue
			}
			rp.cur = rp.sp.newMatch(v, false)
			rp.inTarget = false
		case "-j", "--jump", "-g", "--goto":
			v, ok := rp.value(name, &neg)
			if !ok {
				continue
			}
			if r.Target.Name != "" {
				rp.problem("more than one target (-j %s, then %s %s)", r.Target.Name, name, v)
			}
			r.Target = Target{Name: v, Goto: name == "-g" || name == "--goto"}
			rp.sp.dropTargetOpts() // a later -j replaces the target with its options
			rp.inTarget = true
		case "-c", "--set-counters":
			// "-c pkts bytes" inside the rule (iptables-restore -c input).
			a := rp.args(&neg)
			if len(a) == 2 {
				pk, e1 := strconv.ParseUint(a[0], 10, 64)
				by, e2 := strconv.ParseUint(a[1], 10, 64)
				if e1 == nil && e2 == nil {
					r.counters = &Counters{Packets: pk, Bytes: by}
					break
				}
			}
			rp.problem("bad -c counters %q", strings.Join(a, " "))
		case "-4", "--ipv4", "-6", "--ipv6":
			// ip/ip6tables-restore accept and skip these.
		default:
			if !strings.HasPrefix(name, "--") {
				rp.problem("unknown option %s", name)
				rp.args(&neg)
				break
			}
			rp.extOpt(name[2:], neg)
		}
		neg = false
	}
	if neg {
		rp.problem("\"!\" at the end of the rule negates nothing")
	}
	rp.sp.finish(r)
	decodeRule(r, rp.problem)
	return rp.chain
}

// extOpt files "--name args" under the target, the match module that
// defines it, or the implicit protocol match.
func (rp *ruleParser) extOpt(name string, neg bool) {
	o := Option{Name: name, Neg: neg}
	o.Args = rp.args(&o.Neg)
	if rp.inTarget {
		rp.sp.pend = append(rp.sp.pend, pendOpt{nil, o})
		return
	}
	r := rp.r
	m := rp.cur
	if m == nil || (knownMatch(m.Name) && !matchHasOpt(m.Name, name)) {
		// iptables offers an option to every loaded match (xtables
		// command_default); find the one that knows it.
		var found *Match
		ms := rp.sp.ms
		for i := len(ms) - 1; i >= 0; i-- {
			if matchHasOpt(ms[i].Name, name) {
				found = ms[i]
				break
			}
		}
		if found == nil && r.Proto.Set && matchHasOpt(r.Proto.Name, name) {
			// "-p tcp --dport 80" loads the tcp match implicitly.
			found = rp.sp.newMatch(r.Proto.Name, true)
		}
		if found != nil {
			m = found
		}
	}
	if m == nil {
		rp.problem("option --%s before any -m module and not a protocol option", name)
		m = rp.sp.newMatch("?", false)
		rp.cur = m
	}
	rp.sp.pend = append(rp.sp.pend, pendOpt{m, o})
}

// parseAddr reads "a.b.c.d", "a.b.c.d/len", "a.b.c.d/mask", an IPv6 form,
// or a comma-separated list of them.
func parseAddr(v string, a *Addr) string {
	a.Set = true
	for _, part := range strings.Split(v, ",") {
		pf, err := parsePrefix(part)
		if err != "" {
			return err
		}
		a.Prefixes = append(a.Prefixes, pf)
	}
	a.Prefix = a.Prefixes[0]
	if len(a.Prefixes) == 1 {
		a.Prefixes = nil
	}
	return ""
}

func parsePrefix(s string) (netip.Prefix, string) {
	addr, bits, hasBits := strings.Cut(s, "/")
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Prefix{}, "not an IP address (host names are resolved by iptables at load time and never appear in a dump)"
	}
	ip = ip.Unmap()
	if !hasBits {
		return netip.PrefixFrom(ip, ip.BitLen()), ""
	}
	if n, err := strconv.Atoi(bits); err == nil {
		pf, err := ip.Prefix(n)
		if err != nil {
			return netip.Prefix{}, "bad prefix length"
		}
		// iptables masks the address (10.1.2.3/8 is stored as 10.0.0.0/8).
		return pf, ""
	}
	mask, err := netip.ParseAddr(bits)
	if err != nil || mask.BitLen() != ip.BitLen() {
		return netip.Prefix{}, "bad netmask"
	}
	n, ok := maskLen(mask.AsSlice())
	if !ok {
		return netip.Prefix{}, "non-contiguous netmask is not supported"
	}
	pf, _ := ip.Prefix(n)
	return pf, ""
}

func maskLen(b []byte) (int, bool) {
	n, done := 0, false
	for _, x := range b {
		for i := 7; i >= 0; i-- {
			if x&(1<<i) != 0 {
				if done {
					return 0, false
				}
				n++
			} else {
				done = true
			}
		}
	}
	return n, true
}

// protoNum maps a -p value to its IANA number (/etc/protocols names that
// iptables accepts), -1 if unknown. "all" is 0.
func protoNum(v string) int {
	switch strings.ToLower(v) {
	case "all", "0":
		return 0
	case "icmp":
		return 1
	case "igmp":
		return 2
	case "ipip", "ipencap", "ipv4":
		return 4
	case "tcp":
		return 6
	case "udp":
		return 17
	case "ipv6":
		return 41
	case "gre":
		return 47
	case "esp":
		return 50
	case "ah":
		return 51
	case "icmpv6", "ipv6-icmp":
		return 58
	case "ospf":
		return 89
	case "vrrp":
		return 112
	case "sctp":
		return 132
	case "udplite":
		return 136
	case "mh", "ipv6-mh":
		return 135
	case "dccp":
		return 33
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 255 {
		return n
	}
	return -1
}

// skimDst reads rule text t (no counters prefix) as ruleParser.parse
// reads it, keeping only its destination: the address when the rule has
// exactly one destination option, not negated, naming one address — the
// rule the parse gives Dst "A/32" (or /128). Every token is consumed by
// the same next, value and args as the parse's; only what they are is
// not built. ok false: anything else, including any doubt.
func (sp *specParser) skimDst(t string) (a netip.Addr, ok bool) {
	toks, whole := tokenizeInto(sp.toks[:0], t)
	sp.toks = toks
	if !whole {
		return a, false
	}
	var scratch RuleSpec
	var argBuf [64]string
	if len(toks) > len(argBuf) {
		return a, false
	}
	rp := ruleParser{sp: sp, r: &scratch, toks: toks, argBuf: argBuf[:0:len(toks)]}
	var dst string
	n, dneg := 0, false
	neg := false
	for {
		tk, more := rp.next()
		if !more {
			break
		}
		if !tk.quoted && tk.s == "!" {
			neg = !neg
			continue
		}
		if !isOptName(tk) {
			neg = false
			continue
		}
		switch name := tk.s; name {
		case "-A", "--append", "-I", "--insert":
			rp.value(name, &neg)
			if name == "-I" || name == "--insert" {
				if rp.i < len(rp.toks) {
					if _, err := strconv.Atoi(rp.toks[rp.i].s); err == nil {
						rp.i++
					}
				}
			}
		case "-d", "--destination", "--dst":
			v, ok := rp.value(name, &neg)
			if !ok {
				continue
			}
			n++
			dst, dneg = v, neg
		case "-s", "--source", "--src", "-i", "--in-interface", "-o", "--out-interface",
			"-p", "--protocol", "-m", "--match", "-j", "--jump", "-g", "--goto":
			if _, ok := rp.value(name, &neg); !ok {
				continue
			}
		case "-f", "--fragment", "-4", "--ipv4", "-6", "--ipv6":
		case "-c", "--set-counters":
			rp.args(&neg)
		default:
			if !strings.HasPrefix(name, "--") {
				rp.args(&neg)
				break
			}
			o := neg // extOpt's own copy: the option's negation
			rp.args(&o)
		}
		rp.argBuf = rp.argBuf[:0]
		neg = false
	}
	if n != 1 || dneg || strings.IndexByte(dst, ',') >= 0 {
		return a, false
	}
	pf, err := parsePrefix(dst)
	if err != "" || !pf.IsSingleIP() {
		return a, false
	}
	return pf.Addr(), true
}
