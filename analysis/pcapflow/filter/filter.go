package filter

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Filter is a compiled display filter. Match is safe for one goroutine.
type Filter struct {
	src  string
	root node
}

// String is the source expression.
func (f *Filter) String() string { return f.src }

// Match evaluates the filter on one packet.
func (f *Filter) Match(e *Env) bool { return f.root.eval(e) }

type node interface{ eval(e *Env) bool }

// Compile parses and type-checks an expression.
func Compile(src string) (*Filter, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if p.peek().kind == tEOF {
		return nil, errAt(1, "empty filter")
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, errAt(t.col, "unexpected %q: expected and, or or the end of the filter", t.text)
	}
	return &Filter{src: src, root: n}, nil
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) isWord(words ...string) bool {
	t := p.peek()
	if t.kind == tWord {
		for _, w := range words {
			if strings.EqualFold(t.text, w) {
				return true
			}
		}
	}
	return false
}

func (p *parser) isOp(ops ...string) bool {
	t := p.peek()
	if t.kind == tOp {
		for _, o := range ops {
			if t.text == o {
				return true
			}
		}
	}
	return false
}

type orNode struct{ a, b node }
type andNode struct{ a, b node }
type notNode struct{ a node }

func (n orNode) eval(e *Env) bool  { return n.a.eval(e) || n.b.eval(e) }
func (n andNode) eval(e *Env) bool { return n.a.eval(e) && n.b.eval(e) }
func (n notNode) eval(e *Env) bool { return !n.a.eval(e) }

func (p *parser) or() (node, error) {
	a, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isWord("or") || p.isOp("||") {
		p.next()
		b, err := p.and()
		if err != nil {
			return nil, err
		}
		a = orNode{a, b}
	}
	return a, nil
}

func (p *parser) and() (node, error) {
	a, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.isWord("and") || p.isOp("&&") {
		p.next()
		b, err := p.not()
		if err != nil {
			return nil, err
		}
		a = andNode{a, b}
	}
	return a, nil
}

func (p *parser) not() (node, error) {
	if p.isWord("not") || p.isOp("!") {
		p.next()
		a, err := p.not()
		if err != nil {
			return nil, err
		}
		return notNode{a}, nil
	}
	return p.primary()
}

func (p *parser) primary() (node, error) {
	t := p.peek()
	switch t.kind {
	case tLParen:
		p.next()
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, errAt(c.col, "expected \")\" to close the \"(\" at column %d", t.col)
		}
		return n, nil
	case tWord:
		return p.comparison()
	case tEOF:
		return nil, errAt(t.col, "the filter ends where a field was expected")
	}
	return nil, errAt(t.col, "unexpected %q: expected a field name", t.text)
}

// Comparison operators, Wireshark spelling and C-like spelling.
var opNames = map[string]string{"==": "==", "eq": "==", "!=": "!=", "ne": "!=", "<": "<", "lt": "<",
	">": ">", "gt": ">", "<=": "<=", "le": "<=", ">=": ">=", "ge": ">=", "~": "matches", "matches": "matches",
	"contains": "contains", "in": "in"}

func (p *parser) comparison() (node, error) {
	ft := p.next()
	f, ok := fields[strings.ToLower(ft.text)]
	if !ok {
		return nil, errAt(ft.col, "unknown field %q", ft.text)
	}
	t := p.peek()
	op, isOp := "", false
	if t.kind == tOp || t.kind == tWord {
		op, isOp = opNames[strings.ToLower(t.text)]
	}
	if !isOp {
		return &exists{f: f}, nil
	}
	p.next()
	c := &cmp{f: f, op: op, col: t.col}
	switch op {
	case "contains":
		v, err := p.value(f, true)
		if err != nil {
			return nil, err
		}
		c.vals = []rhs{v}
	case "matches":
		vt := p.next()
		if vt.kind != tString {
			return nil, errAt(vt.col, "matches needs a quoted regular expression")
		}
		if f.kind != kString && f.kind != kProto {
			return nil, errAt(t.col, "%s is a %s: matches applies to strings and protocols", f.name, f.kind)
		}
		re, err := regexp.Compile(vt.text)
		if err != nil {
			return nil, errAt(vt.col, "bad regular expression: %v", err)
		}
		c.re = re
	case "in":
		if b := p.next(); b.kind != tLBrace {
			return nil, errAt(b.col, "in needs a set: { value value ... }")
		}
		for {
			if p.peek().kind == tComma {
				p.next()
				continue
			}
			if p.peek().kind == tRBrace {
				p.next()
				break
			}
			if p.peek().kind == tEOF {
				return nil, errAt(p.peek().col, "set is not closed with \"}\"")
			}
			v, err := p.value(f, false)
			if err != nil {
				return nil, err
			}
			c.vals = append(c.vals, v)
		}
		if len(c.vals) == 0 {
			return nil, errAt(t.col, "empty set")
		}
	default:
		if f.kind == kProto {
			return nil, errAt(t.col, "%s is a protocol: use it alone, or with contains/matches", f.name)
		}
		if (op != "==" && op != "!=") && f.kind == kString {
			// Wireshark orders strings too; keep it.
		}
		v, err := p.value(f, false)
		if err != nil {
			return nil, err
		}
		if v.isRange {
			return nil, errAt(v.col, "a range is only allowed inside in { }")
		}
		c.vals = []rhs{v}
	}
	return c, nil
}

// rhs is one right-hand value, already converted to the field's type.
type rhs struct {
	v       value
	hi      value // isRange: v..hi
	isRange bool
	prefix  netip.Prefix
	isNet   bool
	col     int
}

func (p *parser) value(f field, forContains bool) (rhs, error) {
	t := p.next()
	r := rhs{col: t.col}
	if t.kind != tWord && t.kind != tString {
		return r, errAt(t.col, "unexpected %q: expected a value for %s", t.text, f.name)
	}
	k := f.kind
	if forContains {
		if k != kString && k != kProto {
			return r, errAt(t.col, "%s is a %s: contains applies to strings and protocols", f.name, k)
		}
		k = kString
	}
	switch k {
	case kString, kProto:
		if t.kind == tString {
			r.v = sv([]byte(t.text))
			return r, nil
		}
		// bare bytes aa:bb:cc (Wireshark byte strings) or a bare word
		if b, ok := byteString(t.text); ok {
			r.v = sv(b)
		} else {
			r.v = sv([]byte(t.text))
		}
		return r, nil
	case kUint:
		if lo, hi, ok := strings.Cut(t.text, ".."); ok && t.kind == tWord {
			a, err1 := parseUint(lo)
			b, err2 := parseUint(hi)
			if err1 != nil || err2 != nil {
				return r, errAt(t.col, "bad range %q", t.text)
			}
			r.v, r.hi, r.isRange = u(a), u(b), true
			return r, nil
		}
		n, err := parseUint(t.text)
		if err != nil {
			return r, errAt(t.col, "%s is a number: %q is not", f.name, t.text)
		}
		r.v = u(n)
	case kFloat:
		x, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return r, errAt(t.col, "%s is a number: %q is not", f.name, t.text)
		}
		r.v = value{f: x}
	case kIP:
		if strings.Contains(t.text, "/") {
			pf, err := netip.ParsePrefix(t.text)
			if err != nil {
				return r, errAt(t.col, "%s is an address: %q is not an address or CIDR", f.name, t.text)
			}
			r.prefix, r.isNet = pf.Masked(), true
			return r, nil
		}
		a, err := netip.ParseAddr(t.text)
		if err != nil {
			return r, errAt(t.col, "%s is an address: %q is not an address or CIDR", f.name, t.text)
		}
		r.v = ipv(a)
	}
	return r, nil
}

func parseUint(s string) (uint64, error) {
	switch strings.ToLower(s) {
	case "true":
		return 1, nil
	case "false":
		return 0, nil
	}
	return strconv.ParseUint(s, 0, 64)
}

// byteString reads aa:bb:cc (also aa-bb or aa.bb) as bytes.
func byteString(s string) ([]byte, bool) {
	if len(s) < 5 || (s[2] != ':' && s[2] != '-' && s[2] != '.') {
		return nil, false
	}
	sep := s[2]
	parts := strings.Split(s, string(sep))
	out := make([]byte, 0, len(parts))
	for _, x := range parts {
		if len(x) != 2 {
			return nil, false
		}
		b, err := hex.DecodeString(x)
		if err != nil {
			return nil, false
		}
		out = append(out, b[0])
	}
	return out, true
}

type exists struct {
	f   field
	buf []value
}

func (n *exists) eval(e *Env) bool {
	n.buf = n.f.get(e, n.buf[:0])
	return len(n.buf) > 0
}

type cmp struct {
	f    field
	op   string
	vals []rhs
	re   *regexp.Regexp
	col  int
	buf  []value
}

func (c *cmp) eval(e *Env) bool {
	c.buf = c.f.get(e, c.buf[:0])
	if len(c.buf) == 0 {
		return false
	}
	switch c.op {
	case "!=":
		// Wireshark ≥ 3.6: a != b is !(a == b), "all not equal".
		for _, v := range c.buf {
			if c.equal(v, c.vals[0]) {
				return false
			}
		}
		return true
	case "contains":
		for _, v := range c.buf {
			if bytes.Contains(v.s, c.vals[0].v.s) {
				return true
			}
		}
		return false
	case "matches":
		for _, v := range c.buf {
			if c.re.Match(v.s) {
				return true
			}
		}
		return false
	case "in":
		for _, v := range c.buf {
			for _, r := range c.vals {
				if r.isRange {
					if c.order(v, r.v) >= 0 && c.order(v, r.hi) <= 0 {
						return true
					}
				} else if c.equal(v, r) {
					return true
				}
			}
		}
		return false
	}
	for _, v := range c.buf {
		r := c.vals[0]
		if r.isNet {
			// ordering against a network compares with its first address
			if c.op == "==" && r.prefix.Contains(v.ip) {
				return true
			}
			continue
		}
		o := c.order(v, r.v)
		switch c.op {
		case "==":
			if o == 0 {
				return true
			}
		case "<":
			if o < 0 {
				return true
			}
		case ">":
			if o > 0 {
				return true
			}
		case "<=":
			if o <= 0 {
				return true
			}
		case ">=":
			if o >= 0 {
				return true
			}
		}
	}
	return false
}

func (c *cmp) equal(v value, r rhs) bool {
	if r.isNet {
		return r.prefix.Contains(v.ip)
	}
	return c.order(v, r.v) == 0
}

func (c *cmp) order(a, b value) int {
	switch c.f.kind {
	case kUint:
		switch {
		case a.u < b.u:
			return -1
		case a.u > b.u:
			return 1
		}
		return 0
	case kFloat:
		switch {
		case a.f < b.f:
			return -1
		case a.f > b.f:
			return 1
		}
		return 0
	case kIP:
		return a.ip.Unmap().Compare(b.ip.Unmap())
	}
	return bytes.Compare(a.s, b.s)
}
