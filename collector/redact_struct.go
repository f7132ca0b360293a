package collector

import "strings"

// The structural half of the redaction (the script's redact() has the same
// code in awk, function for function, so both collectors write the same
// bytes). It follows where a line sits in the YAML or JSON document that
// kubectl, tccli or a CNI config writes — the enclosing keys of block YAML
// by indentation, JSON and YAML flow collections ({...} [...]) token by
// token even across lines, block scalars, multi-line scalars — and
// replaces every scalar under a key that names a credential, however deep
// (auth: {token: x}, "password":\n "x", credentials:\n  user: x), the
// value of an env entry whose name names one, and a list element that
// follows a bare secret flag ("--token", "x"). An env entry that gives its
// value before its name (hand-written manifests) cannot wait for the name
// without holding lines back: its value is redacted whatever the name. A
// scalar under "auth" is a credential (docker's base64 user:password),
// a mapping under it is read as any other. A JSON string that holds JSON
// (last-applied-configuration in kubectl -o json, a YAML double-quoted
// scalar) is unescaped and read the same way, to any depth of escaping
// up to maxEmb. Only scalars change, in
// place: keys, quotes, brackets and line breaks stay, so the output parses
// as the input did with the same line count. The line patterns in
// redact.go run afterwards on every line (URLs, headers, JWTs, PEM, flags
// in command lines, JSON inside JSON strings).

// maxFlow bounds the tracked flow nesting; deeper brackets are counted only.
const maxFlow = 64

// maxEmb bounds the JSON-in-a-string levels read (each one unescaped once).
const maxEmb = 4

var (
	reSensKey  = re("^(" + sens + "|" + sensKeyOnly + ")$")
	reSensFlag = re("^--" + sens + "$")
	// a plain scalar that holds no secret even under a secret key
	reKeepScalar = re(`^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE|""|'')$`)
)

// sensKeyOnly: keys that name a credential only as a whole key (inside a
// longer word they do not: .dockerconfigjson, .dockercfg of an image pull
// Secret; "auth" is handled apart, see authKey).
const sensKeyOnly = `\.?[Dd][Oo][Cc][Kk][Ee][Rr]([Cc][Oo][Nn][Ff][Ii][Gg][Jj][Ss][Oo][Nn]|[Cc][Ff][Gg])`

func keep(t string) bool { return t == "" || reKeepScalar.MatchString(t) }

// authKey: a scalar under it is a credential (docker config's "auth":
// base64 of user:password); a mapping under it is not secret as a whole.
func authKey(k string) bool { return k == "auth" }

// nameKey: the member that names an env entry (Kubernetes "name", the
// CRI's "key" in crictl inspect's envs).
func nameKey(k string) bool { return k == "name" || k == "key" }

type structState struct {
	// flow collections, innermost last: type '{' or '[', every scalar
	// inside secret, '{': expecting a key, the current key is secret, the
	// current key is "name", a name member named a credential (its
	// "value" member is secret), the current key is "auth", the current
	// key is "env"; '[': the last element was a bare flag. fe: a '['
	// is an env list, a '{' an entry of one whose name is not seen yet.
	ftyp                                []byte
	fsec, fkey, fksec, fname, fenv, ffl []bool
	fauth, fkenv, fe                    []bool
	fover                               int
	// fbase: the depth where the flow being read started (above 0 while
	// JSON inside a string is read on top of the stack); emb: its level
	fbase, emb int
	// block mappings: column of the key, value secret, value a scalar
	// (deeper lines continue it; quote is its open quote if unclosed)
	bcol   []int
	bsec   []bool
	bscal  []bool
	bquote []byte
	// block scalar (| or >): content is deeper than bsCol
	bsOn, bsSec bool
	bsCol       int
	// benv: the key of the frame is "env" (its items are env entries)
	benv []bool
	// column of the mapping whose name: named a credential, -1 none;
	// envUn: column of an env entry whose name is not seen yet, -1 none
	envCol, envUn int
}

func newStructState() structState { return structState{envCol: -1, envUn: -1} }

func (s *structState) depth() int { return len(s.ftyp) + s.fover }

func (s *structState) flowReset() {
	s.ftyp = s.ftyp[:0]
	s.flowTrunc(0, 0)
}

// flowTrunc cuts the flow stack back to n frames and over deeper ones.
func (s *structState) flowTrunc(n, over int) {
	s.ftyp = s.ftyp[:n]
	s.fsec, s.fkey, s.fksec, s.fname, s.fenv, s.ffl = s.fsec[:n], s.fkey[:n], s.fksec[:n], s.fname[:n], s.fenv[:n], s.ffl[:n]
	s.fauth, s.fkenv, s.fe = s.fauth[:n], s.fkenv[:n], s.fe[:n]
	s.fover = over
}

func (s *structState) blockPop() {
	n := len(s.bcol) - 1
	s.bcol, s.bsec, s.bscal, s.bquote, s.benv = s.bcol[:n], s.bsec[:n], s.bscal[:n], s.bquote[:n], s.benv[:n]
}

func (s *structState) blockPush(col int, sec, scal bool, quote byte, env bool) {
	s.bcol = append(s.bcol, col)
	s.bsec = append(s.bsec, sec)
	s.bscal = append(s.bscal, scal)
	s.bquote = append(s.bquote, quote)
	s.benv = append(s.benv, env)
}

func isItem(p string) bool { return p == "-" || strings.HasPrefix(p, "- ") }

// line returns l with the scalars its position makes secret redacted.
func (s *structState) line(l string) string {
	ind := 0
	for ind < len(l) && l[ind] == ' ' {
		ind++
	}
	rest := strings.TrimLeft(l[ind:], " \t")
	if s.bsOn {
		if rest == "" {
			return l
		}
		if ind > s.bsCol {
			if s.bsSec {
				return l[:ind] + "<redacted>"
			}
			// a block scalar's text may be JSON or YAML itself (the
			// last-applied annotation, a kubeconfig in a ConfigMap): it is
			// read like the document, its frames deeper than bsCol
		} else {
			s.bsOn = false
			s.flowReset()
		}
	}
	if s.depth() > 0 {
		return s.flow(l, 0, false, 0)
	}
	if rest == "" || rest[0] == '#' {
		return l
	}
	rest = l[ind:]
	if ind == 0 && (rest == "---" || rest == "..." || strings.HasPrefix(rest, "--- ") || strings.HasPrefix(rest, "... ")) {
		for len(s.bcol) > 0 {
			s.blockPop()
		}
		s.envCol, s.envUn = -1, -1
		return l
	}
	for n := len(s.bcol); n > 0; n = len(s.bcol) {
		if ind > s.bcol[n-1] || (ind == s.bcol[n-1] && !s.bscal[n-1] && isItem(rest)) {
			break
		}
		s.blockPop()
	}
	if ind < s.envCol {
		s.envCol = -1
	}
	if ind < s.envUn {
		s.envUn = -1
	}
	n := len(s.bcol)
	envList := n > 0 && s.benv[n-1]
	sec := n > 0 && s.bsec[n-1]
	if n > 0 && s.bscal[n-1] {
		// the next line of a multi-line scalar
		q := s.bquote[n-1]
		if !sec {
			return l
		}
		if q != 0 {
			if e := quoteEnd(l, ind, q); e > 0 {
				s.bquote[n-1] = 0
				return l[:ind] + "<redacted>" + l[e-1:]
			}
		}
		return l[:ind] + "<redacted>"
	}
	c, p, item := ind, rest, false
	for isItem(p) {
		item = true
		k := 1
		for k < len(p) && p[k] == ' ' {
			k++
		}
		c += k
		p = p[k:]
	}
	if p == "" {
		return l
	}
	key, after := splitKey(p)
	if after < 0 {
		// a scalar or collection without a key: a list item, or the value
		// of the key above on its own line
		switch p[0] {
		case '|', '>':
			s.bsOn, s.bsCol, s.bsSec = true, ind, sec
			return l
		case '{', '[':
			ctx := 0
			if item && envList {
				ctx = 2
			}
			return s.flow(l, c, sec, ctx)
		}
		if sec && !keep(p) {
			return l[:c] + redactScalar(p, false)
		}
		if p[0] == '"' {
			if e := quoteEnd(p, 1, '"'); e > 0 {
				return l[:c] + s.embedded(p[:e]) + p[e:]
			}
		}
		return l
	}
	if item && envList {
		// an entry of an env list: secret "value" until its name is seen
		s.envUn = c
	}
	keysec := reSensKey.MatchString(key) || (key == "value" && (c == s.envCol || c == s.envUn))
	if nameKey(key) {
		s.envCol = -1
		if c == s.envUn {
			s.envUn = -1
		}
		if reSensKey.MatchString(unquote(strings.Trim(p[after:], " \t\r"))) {
			s.envCol = c
		}
	} else if item || c < s.envCol {
		s.envCol = -1
	}
	esec := sec || keysec
	v := c + after
	for v < len(l) && (l[v] == ' ' || l[v] == '\t') {
		v++
	}
	// node properties before the value: &anchor !tag
	for v < len(l) && (l[v] == '&' || l[v] == '!') {
		for v < len(l) && l[v] != ' ' {
			v++
		}
		for v < len(l) && l[v] == ' ' {
			v++
		}
	}
	if v == len(l) || l[v] == '#' {
		s.blockPush(c, esec, false, 0, key == "env")
		return l
	}
	switch l[v] {
	case '|', '>':
		s.bsOn, s.bsCol, s.bsSec = true, c, esec || authKey(key)
		return l
	case '{', '[':
		ctx := 0
		if key == "env" {
			ctx = 1
		}
		return s.flow(l, v, esec, ctx)
	}
	// a scalar under auth is secret (a mapping under it is read as any other)
	esec = esec || authKey(key)
	var q byte
	if (l[v] == '"' || l[v] == '\'') && quoteEnd(l, v+1, l[v]) < 0 {
		q = l[v]
	}
	s.blockPush(c, esec, true, q, false)
	if esec && !keep(l[v:]) {
		return l[:v] + redactScalar(l[v:], false)
	}
	// JSON escaped in a double-quoted scalar on one line
	if l[v] == '"' {
		if e := quoteEnd(l, v+1, '"'); e > 0 {
			return l[:v] + s.embedded(l[v:e]) + l[e:]
		}
	}
	// JSON in a single-quoted scalar on one line (an annotation such as
	// last-applied-configuration without its final newline): read as a
	// flow collection of its own
	if l[v] == '\'' && v+1 < len(l) && (l[v+1] == '{' || l[v+1] == '[') {
		if e := quoteEnd(l, v+1, '\''); e > 0 {
			inner := s.flow(l[v+1:e-1], 0, false, 0)
			s.flowReset()
			return l[:v+1] + inner + l[e-1:]
		}
	}
	return l
}

// splitKey finds "key:" at the start of p (plain or quoted key, the colon
// followed by a blank or the end); after is the index past the colon, -1
// when p is no mapping entry.
func splitKey(p string) (key string, after int) {
	switch p[0] {
	case '"', '\'':
		e := quoteEnd(p, 1, p[0])
		if e < 0 {
			return "", -1
		}
		k := e
		for k < len(p) && p[k] == ' ' {
			k++
		}
		if k < len(p) && p[k] == ':' && (k+1 == len(p) || p[k+1] == ' ' || p[k+1] == '\t') {
			return p[1 : e-1], k + 1
		}
		return "", -1
	case '{', '[', '&', '*', '!', '|', '>', '%', '@', '`', '#':
		return "", -1
	}
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case ':':
			if i+1 == len(p) || p[i+1] == ' ' || p[i+1] == '\t' {
				return p[:i], i + 1
			}
		case '#':
			if p[i-1] == ' ' || p[i-1] == '\t' {
				return "", -1
			}
		}
	}
	return "", -1
}

// quoteEnd is the index just past the quote q closing a scalar whose text
// starts at i (” is an escaped ' and \" an escaped "), -1 if the line
// ends first.
func quoteEnd(l string, i int, q byte) int {
	for ; i < len(l); i++ {
		switch {
		case q == '"' && l[i] == '\\':
			i++
		case l[i] == q:
			if q == '\'' && i+1 < len(l) && l[i+1] == '\'' {
				i++
				continue
			}
			return i + 1
		}
	}
	return -1
}

func unquote(t string) string {
	if len(t) >= 2 && (t[0] == '"' || t[0] == '\'') && t[len(t)-1] == t[0] {
		return t[1 : len(t)-1]
	}
	return t
}

// redactScalar replaces scalar token t keeping its quotes; a plain scalar
// becomes "<redacted>" in a flow collection (valid JSON) and <redacted>
// in block YAML.
func redactScalar(t string, flow bool) string {
	switch t[0] {
	case '"', '\'':
		if e := quoteEnd(t, 1, t[0]); e > 0 {
			return t[:1] + "<redacted>" + t[:1] + t[e:]
		}
		return t[:1] + "<redacted>"
	}
	if flow {
		return `"<redacted>"`
	}
	return "<redacted>"
}

// flow reads l from i on in flow context; base says whether a collection
// opened at the top level is secret, ctx where it sits: 1 the value of a
// block key "env", 2 an item of a block env list. It returns l with secret
// scalars replaced; the rest of the line after the outermost collection
// closes is kept as it is. In JSON unescaped from a string (embedded),
// \x01 and the byte after it are an escape that was not a quote or a
// backslash (\n between tokens): blank.
func (s *structState) flow(l string, i int, base bool, ctx int) string {
	var out strings.Builder
	out.WriteString(l[:i])
	for i < len(l) {
		ch := l[i]
		if s.depth() == s.fbase && ch != '{' && ch != '[' {
			break
		}
		switch ch {
		case ' ', '\t', '\r':
			out.WriteByte(ch)
			i++
			continue
		case 1:
			e := min(i+2, len(l))
			out.WriteString(l[i:e])
			i = e
			continue
		case '{', '[':
			sec, env := base, (ctx == 1 && ch == '[') || (ctx == 2 && ch == '{')
			if s.depth() > s.fbase {
				sec = s.valueSecret()
				env = s.openEnv(ch)
				s.valueDone("")
			}
			s.flowPush(ch, sec, env)
			out.WriteByte(ch)
			i++
			continue
		case '}', ']':
			s.flowPop()
			out.WriteByte(ch)
			i++
			if s.depth() == s.fbase {
				out.WriteString(l[i:])
				return out.String()
			}
			continue
		case ',':
			if n := len(s.ftyp) - 1; s.fover == 0 && s.ftyp[n] == '{' {
				s.fkey[n], s.fksec[n], s.fname[n], s.fauth[n], s.fkenv[n] = true, false, false, false, false
			}
			out.WriteByte(ch)
			i++
			continue
		case ':':
			if n := len(s.ftyp) - 1; s.fover == 0 && s.ftyp[n] == '{' {
				s.fkey[n] = false
			}
			out.WriteByte(ch)
			i++
			continue
		case '#':
			if i == 0 || l[i-1] == ' ' || l[i-1] == '\t' {
				out.WriteString(l[i:])
				return out.String()
			}
		}
		j := i
		if ch == '"' || ch == '\'' {
			if j = quoteEnd(l, i+1, ch); j < 0 {
				j = len(l)
			}
		} else {
		plain:
			for ; j < len(l); j++ {
				switch l[j] {
				case ',', '[', ']', '{', '}', 1:
					break plain
				case ':':
					if j+1 == len(l) || strings.IndexByte(" \t,[]{}", l[j+1]) >= 0 {
						break plain
					}
				case '#':
					if l[j-1] == ' ' || l[j-1] == '\t' {
						break plain
					}
				}
			}
			for j > i && (l[j-1] == ' ' || l[j-1] == '\t') {
				j--
			}
		}
		tok := l[i:j]
		out.WriteString(s.flowScalar(tok))
		i = j
	}
	out.WriteString(l[i:])
	return out.String()
}

func (s *structState) flowPush(t byte, sec, env bool) {
	if len(s.ftyp) >= maxFlow {
		s.fover++
		return
	}
	s.ftyp = append(s.ftyp, t)
	s.fsec = append(s.fsec, sec)
	s.fkey = append(s.fkey, t == '{')
	s.fksec = append(s.fksec, false)
	s.fname = append(s.fname, false)
	s.fenv = append(s.fenv, false)
	s.ffl = append(s.ffl, false)
	s.fauth = append(s.fauth, false)
	s.fkenv = append(s.fkenv, false)
	s.fe = append(s.fe, env)
}

func (s *structState) flowPop() {
	if s.fover > 0 {
		s.fover--
		return
	}
	n := len(s.ftyp) - 1
	if n < 0 {
		return
	}
	s.flowTrunc(n, 0)
}

// openEnv: is a collection opened here (ch) an env list (the value of
// key "env") or an entry of one?
func (s *structState) openEnv(ch byte) bool {
	n := len(s.ftyp) - 1
	if s.fover > 0 || n < 0 {
		return false
	}
	if s.ftyp[n] == '{' {
		return ch == '[' && s.fkenv[n]
	}
	return ch == '{' && s.fe[n]
}

// valueSecret: is the value at the current position secret?
func (s *structState) valueSecret() bool {
	n := len(s.ftyp) - 1
	if s.ftyp[n] == '{' {
		return s.fsec[n] || s.fksec[n]
	}
	return s.fsec[n] || s.ffl[n]
}

// valueDone records a value (text of a scalar, "" for a collection) in
// the innermost collection: a name member's value, a list element that is
// a bare secret flag.
func (s *structState) valueDone(text string) {
	n := len(s.ftyp) - 1
	if s.ftyp[n] == '{' {
		if s.fname[n] {
			s.fenv[n] = reSensKey.MatchString(text)
		}
		return
	}
	s.ffl[n] = !s.fsec[n] && !s.ffl[n] && reSensFlag.MatchString(text)
}

func (s *structState) flowScalar(tok string) string {
	n := len(s.ftyp) - 1
	text := unquote(tok)
	if s.ftyp[n] == '{' && s.fkey[n] {
		s.fksec[n] = reSensKey.MatchString(text) || (text == "value" && (s.fenv[n] || s.fe[n]))
		s.fname[n] = nameKey(text)
		if s.fname[n] {
			s.fe[n] = false
		}
		s.fauth[n] = authKey(text)
		s.fkenv[n] = text == "env"
		return tok
	}
	sec := s.valueSecret() || (s.ftyp[n] == '{' && s.fauth[n])
	s.valueDone(text)
	if sec && !keep(tok) {
		return redactScalar(tok, true)
	}
	if tok[0] == '"' {
		return s.embedded(tok)
	}
	return tok
}

// embedded reads JSON held in the double-quoted token tok ("{\"a\":1}")
// as a flow collection of its own, on top of the stack, and returns tok
// with the secrets in it redacted and escaped as they were. The content is
// unescaped only for quotes and backslashes; any other escape becomes
// \x01 and its letter (blank between tokens), so escaping it again gives
// the same bytes. Content that holds \x01 or \x02 itself is left alone.
func (s *structState) embedded(tok string) string {
	if s.emb >= maxEmb || len(tok) < 3 || tok[len(tok)-1] != '"' || strings.ContainsAny(tok, "\x01\x02") {
		return tok
	}
	c := tok[1 : len(tok)-1]
	var b strings.Builder
	for i := 0; i < len(c); i++ {
		if c[i] == '\\' {
			if i+1 < len(c) && (c[i+1] == '\\' || c[i+1] == '"') {
				i++
				b.WriteByte(c[i])
			} else {
				b.WriteByte(1)
			}
			continue
		}
		b.WriteByte(c[i])
	}
	in := b.String()
	k := 0
	for k < len(in) && (in[k] == ' ' || in[k] == '\t' || in[k] == 1) {
		if in[k] == 1 {
			k++
		}
		k++
	}
	if k >= len(in) || (in[k] != '{' && in[k] != '[') {
		return tok
	}
	n, over, base := len(s.ftyp), s.fover, s.fbase
	s.fbase = s.depth()
	s.emb++
	out := s.flow(in, k, false, 0)
	s.emb--
	s.flowTrunc(n, over)
	s.fbase = base
	if out == in {
		return tok
	}
	var e strings.Builder
	e.WriteByte('"')
	for i := 0; i < len(out); i++ {
		switch out[i] {
		case '\\':
			e.WriteString(`\\`)
		case '"':
			e.WriteString(`\"`)
		case 1:
			e.WriteByte('\\')
		default:
			e.WriteByte(out[i])
		}
	}
	e.WriteByte('"')
	return e.String()
}
