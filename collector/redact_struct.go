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
// follows a bare secret flag ("--token", "x"). Only scalars change, in
// place: keys, quotes, brackets and line breaks stay, so the output parses
// as the input did with the same line count. The line patterns in
// redact.go run afterwards on every line (URLs, headers, JWTs, PEM, flags
// in command lines, JSON inside JSON strings).

// maxFlow bounds the tracked flow nesting; deeper brackets are counted only.
const maxFlow = 64

var (
	reSensKey  = re("^" + sens + "$")
	reSensFlag = re("^--" + sens + "$")
	// a plain scalar that holds no secret even under a secret key
	reKeepScalar = re(`^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE|""|'')$`)
)

func keep(t string) bool { return t == "" || reKeepScalar.MatchString(t) }

type structState struct {
	// flow collections, innermost last: type '{' or '[', every scalar
	// inside secret, '{': expecting a key, the current key is secret, the
	// current key is "name", a name member named a credential (its
	// "value" member is secret); '[': the last element was a bare flag.
	ftyp                                []byte
	fsec, fkey, fksec, fname, fenv, ffl []bool
	fover                               int
	// block mappings: column of the key, value secret, value a scalar
	// (deeper lines continue it; quote is its open quote if unclosed)
	bcol   []int
	bsec   []bool
	bscal  []bool
	bquote []byte
	// block scalar (| or >): content is deeper than bsCol
	bsOn, bsSec bool
	bsCol       int
	// column of the mapping whose name: named a credential, -1 none
	envCol int
}

func newStructState() structState { return structState{envCol: -1} }

func (s *structState) depth() int { return len(s.ftyp) + s.fover }

func (s *structState) flowReset() {
	s.ftyp = s.ftyp[:0]
	s.fsec, s.fkey, s.fksec, s.fname, s.fenv, s.ffl = s.fsec[:0], s.fkey[:0], s.fksec[:0], s.fname[:0], s.fenv[:0], s.ffl[:0]
	s.fover = 0
}

func (s *structState) blockPop() {
	n := len(s.bcol) - 1
	s.bcol, s.bsec, s.bscal, s.bquote = s.bcol[:n], s.bsec[:n], s.bscal[:n], s.bquote[:n]
}

func (s *structState) blockPush(col int, sec, scal bool, quote byte) {
	s.bcol = append(s.bcol, col)
	s.bsec = append(s.bsec, sec)
	s.bscal = append(s.bscal, scal)
	s.bquote = append(s.bquote, quote)
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
		return s.flow(l, 0, false)
	}
	if rest == "" || rest[0] == '#' {
		return l
	}
	rest = l[ind:]
	if ind == 0 && (rest == "---" || rest == "..." || strings.HasPrefix(rest, "--- ") || strings.HasPrefix(rest, "... ")) {
		for len(s.bcol) > 0 {
			s.blockPop()
		}
		s.envCol = -1
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
	n := len(s.bcol)
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
			return s.flow(l, c, sec)
		}
		if sec && !keep(p) {
			return l[:c] + redactScalar(p, false)
		}
		return l
	}
	keysec := reSensKey.MatchString(key) || (key == "value" && c == s.envCol)
	if key == "name" {
		s.envCol = -1
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
		s.blockPush(c, esec, false, 0)
		return l
	}
	switch l[v] {
	case '|', '>':
		s.bsOn, s.bsCol, s.bsSec = true, c, esec
		return l
	case '{', '[':
		return s.flow(l, v, esec)
	}
	var q byte
	if (l[v] == '"' || l[v] == '\'') && quoteEnd(l, v+1, l[v]) < 0 {
		q = l[v]
	}
	s.blockPush(c, esec, true, q)
	if esec && !keep(l[v:]) {
		return l[:v] + redactScalar(l[v:], false)
	}
	// JSON in a single-quoted scalar on one line (an annotation such as
	// last-applied-configuration without its final newline): read as a
	// flow collection of its own
	if l[v] == '\'' && v+1 < len(l) && (l[v+1] == '{' || l[v+1] == '[') {
		if e := quoteEnd(l, v+1, '\''); e > 0 {
			inner := s.flow(l[v+1:e-1], 0, false)
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
// opened at the top level is secret. It returns l with secret scalars
// replaced; the rest of the line after the outermost collection closes is
// kept as it is.
func (s *structState) flow(l string, i int, base bool) string {
	var out strings.Builder
	out.WriteString(l[:i])
	for i < len(l) {
		ch := l[i]
		if s.depth() == 0 && ch != '{' && ch != '[' {
			break
		}
		switch ch {
		case ' ', '\t', '\r':
			out.WriteByte(ch)
			i++
			continue
		case '{', '[':
			sec := base
			if s.depth() > 0 {
				sec = s.valueSecret()
				s.valueDone("")
			}
			s.flowPush(ch, sec)
			out.WriteByte(ch)
			i++
			continue
		case '}', ']':
			s.flowPop()
			out.WriteByte(ch)
			i++
			if s.depth() == 0 {
				out.WriteString(l[i:])
				return out.String()
			}
			continue
		case ',':
			if n := len(s.ftyp) - 1; s.fover == 0 && s.ftyp[n] == '{' {
				s.fkey[n], s.fksec[n], s.fname[n] = true, false, false
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
				case ',', '[', ']', '{', '}':
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

func (s *structState) flowPush(t byte, sec bool) {
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
	s.ftyp = s.ftyp[:n]
	s.fsec, s.fkey, s.fksec, s.fname, s.fenv, s.ffl = s.fsec[:n], s.fkey[:n], s.fksec[:n], s.fname[:n], s.fenv[:n], s.ffl[:n]
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
		s.fksec[n] = reSensKey.MatchString(text) || (text == "value" && s.fenv[n])
		s.fname[n] = text == "name"
		return tok
	}
	sec := s.valueSecret()
	s.valueDone(text)
	if sec && !keep(tok) {
		return redactScalar(tok, true)
	}
	return tok
}
