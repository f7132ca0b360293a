package kube

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// fastJSON converts the block-style YAML kubectl writes (go-yaml's
// emitter: block mappings and sequences, plain and single-line quoted
// scalars, literal block scalars, "{}" and "[]") straight to JSON,
// several times faster than building a yaml.v3 tree. Anything outside
// that subset — flow collections, anchors, tags, comments, multi-line
// plain or quoted scalars, folded scalars, tabs, duplicate keys — makes it
// give up (ok == false) and the caller uses the full yaml.v3 path, so the
// result is always what yaml.v3 would give (checked by FuzzFastJSON).
// Scalars are resolved with yaml.v3's own rules.
func fastJSON(text []byte, lim Limits, out *bytes.Buffer) (ok bool) {
	if !fastSafe(text) {
		return false
	}
	p := &fastParser{lim: lim, out: out}
	// private copy: "- key: v" lines are rewritten in place
	p.lines = bytes.Split(append([]byte(nil), text...), []byte("\n"))
	// drop a final empty line left by the trailing newline
	i := p.skipBlank(0)
	if i >= len(p.lines) {
		return false
	}
	ind := indentOf(p.lines[i])
	if ind < 0 {
		return false
	}
	p.i = i
	if !p.block(ind, 0) {
		return false
	}
	return p.skipBlank(p.i) >= len(p.lines)
}

// fastSafe rejects input yaml.v3 would refuse or treat specially: invalid
// UTF-8, control characters other than newline, tabs, CR, a BOM.
func fastSafe(text []byte) bool {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '\n' {
			continue
		}
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c >= 0x80 {
			r, size := utf8.DecodeRune(text[i:])
			if r == utf8.RuneError || r == 0xFEFF || r < 0xA0 && r != 0x85 || r >= 0xD800 && r < 0xE000 || r == 0xFFFE || r == 0xFFFF {
				return false
			}
			if r == 0x85 || r == 0x2028 || r == 0x2029 {
				return false // YAML line breaks
			}
			i += size - 1
		}
	}
	return true
}

type fastParser struct {
	lim   Limits
	out   *bytes.Buffer
	lines [][]byte
	i     int
	keys  [][]byte // scratch for duplicate detection
}

// indentOf counts leading spaces; -1 when the line is blank.
func indentOf(l []byte) int {
	for i, c := range l {
		if c != ' ' {
			return i
		}
	}
	return -1
}

func (p *fastParser) skipBlank(i int) int {
	for i < len(p.lines) && indentOf(p.lines[i]) < 0 {
		i++
	}
	return i
}

func isSeqLine(c []byte) bool {
	return len(c) == 1 && c[0] == '-' || len(c) > 1 && c[0] == '-' && c[1] == ' '
}

// block parses the node starting at line p.i, indented ind.
func (p *fastParser) block(ind, depth int) bool {
	if depth > p.lim.Depth {
		return false
	}
	c := p.lines[p.i][ind:]
	if isSeqLine(c) {
		return p.sequence(ind, depth)
	}
	return p.mapping(ind, depth)
}

func (p *fastParser) mapping(ind, depth int) bool {
	p.out.WriteByte('{')
	start := len(p.keys)
	defer func() { p.keys = p.keys[:start] }()
	first := true
	var seen map[string]bool
	for {
		p.i = p.skipBlank(p.i)
		if p.i >= len(p.lines) {
			break
		}
		l := p.lines[p.i]
		li := indentOf(l)
		if li < ind {
			break
		}
		if li > ind {
			return false
		}
		c := l[ind:]
		if isSeqLine(c) {
			break // the parent's sequence (key:\n- a) or an error: the caller decides
		}
		key, rest, ok := splitKey(c)
		if !ok {
			return false
		}
		if len(p.keys)-start < 32 {
			for _, k := range p.keys[start:] {
				if bytes.Equal(k, key) {
					return false // yaml.v3: mapping key already defined
				}
			}
		} else {
			if seen == nil {
				seen = map[string]bool{}
				for _, k := range p.keys[start:] {
					seen[string(k)] = true
				}
			}
			if seen[string(key)] {
				return false
			}
			seen[string(key)] = true
		}
		p.keys = append(p.keys, key)
		if !first {
			p.out.WriteByte(',')
		}
		first = false
		writeJSONString(p.out, key)
		p.out.WriteByte(':')
		p.i++
		if !p.value(rest, ind, depth+1, false) {
			return false
		}
	}
	p.out.WriteByte('}')
	return true
}

// splitKey cuts "key: rest" or "key:"; the key must be a plain scalar
// that cannot mean anything else.
func splitKey(c []byte) (key, rest []byte, ok bool) {
	if len(c) == 0 || !plainStart(c[0]) {
		return nil, nil, false
	}
	for i := 0; i < len(c); i++ {
		switch c[i] {
		case ':':
			if i+1 == len(c) {
				key, rest = c[:i], nil
			} else if c[i+1] == ' ' {
				key, rest = c[:i], bytes.TrimLeft(c[i+2:], " ")
			} else {
				continue
			}
			// YAML 1.2 §7.4: an implicit key is at most 1024 characters
			// (yaml.v3 rejects longer ones); stay well below
			if len(key) == 0 || len(key) > 1000 || key[len(key)-1] == ' ' || bytes.Contains(key, []byte(" #")) || string(key) == "<<" {
				return nil, nil, false
			}
			return key, rest, true
		case '#':
			if i > 0 && c[i-1] == ' ' {
				return nil, nil, false
			}
		}
	}
	return nil, nil, false
}

// plainStart: a plain scalar may not start with an indicator.
func plainStart(c byte) bool {
	switch c {
	case '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ':
		return false
	}
	return true
}

// value parses what follows "key:" (or "- "): rest of the line, or a
// nested block on the next lines. ind is the key's (or dash's) indent.
func (p *fastParser) value(rest []byte, ind, depth int, inSeq bool) bool {
	if depth > p.lim.Depth {
		return false
	}
	if len(rest) == 0 {
		j := p.skipBlank(p.i)
		if j >= len(p.lines) {
			p.out.WriteString("null")
			return true
		}
		li := indentOf(p.lines[j])
		c := p.lines[j][li:]
		switch {
		case li > ind:
			p.i = j
			return p.block(li, depth)
		case li == ind && isSeqLine(c) && !inSeq:
			p.i = j
			return p.sequence(ind, depth)
		}
		p.out.WriteString("null")
		return true
	}
	if rest[0] == '|' {
		return p.literal(rest, ind)
	}
	if !p.noContinuation(ind) {
		return false
	}
	switch rest[0] {
	case '\'':
		return p.single(rest)
	case '"':
		return p.double(rest)
	case '{', '[':
		if s := string(bytes.TrimRight(rest, " ")); s == "{}" || s == "[]" {
			p.out.WriteString(s)
			return true
		}
		return false
	}
	if !plainStart(rest[0]) && !(rest[0] == '-' && len(rest) > 1 && rest[1] != ' ') {
		return false
	}
	if bytes.Contains(rest, []byte(": ")) || bytes.Contains(rest, []byte(" #")) || rest[len(rest)-1] == ':' {
		return false
	}
	v := bytes.TrimRight(rest, " ")
	if len(v) == 0 {
		return false
	}
	return p.scalarOut(string(v), 0)
}

// noContinuation: a scalar on the key's line must not continue on the
// next lines (a multi-line scalar is left to yaml.v3).
func (p *fastParser) noContinuation(ind int) bool {
	j := p.skipBlank(p.i)
	if j >= len(p.lines) {
		return true
	}
	return indentOf(p.lines[j]) <= ind
}

func (p *fastParser) scalarOut(v string, style yaml.Style) bool {
	return writeScalar(p.out, &yaml.Node{Kind: yaml.ScalarNode, Value: v, Style: style}) == nil
}

func (p *fastParser) sequence(ind, depth int) bool {
	p.out.WriteByte('[')
	first := true
	for {
		p.i = p.skipBlank(p.i)
		if p.i >= len(p.lines) {
			break
		}
		l := p.lines[p.i]
		li := indentOf(l)
		if li != ind || !isSeqLine(l[li:]) {
			if li > ind {
				return false
			}
			break
		}
		if !first {
			p.out.WriteByte(',')
		}
		first = false
		c := l[li:]
		if len(c) == 1 { // "-" alone: the item is on the next lines
			p.i++
			if !p.value(nil, ind, depth+1, true) {
				return false
			}
			continue
		}
		rest := c[2:]
		if len(rest) == 0 || rest[0] == ' ' || isSeqLine(rest) {
			return false
		}
		if _, _, isKey := splitKey(rest); isKey {
			// "- key: v": a mapping whose keys sit two columns in
			l[li] = ' '
			if !p.mapping(ind+2, depth+1) {
				return false
			}
			continue
		}
		p.i++
		if !p.value(rest, ind, depth+1, true) {
			return false
		}
	}
	p.out.WriteByte(']')
	return true
}

// single: a one-line 'quoted' scalar (” is a quote).
func (p *fastParser) single(rest []byte) bool {
	var b []byte
	i := 1
	for ; i < len(rest); i++ {
		if rest[i] == '\'' {
			if i+1 < len(rest) && rest[i+1] == '\'' {
				b = append(b, '\'')
				i++
				continue
			}
			break
		}
		b = append(b, rest[i])
	}
	if i >= len(rest) || len(bytes.TrimRight(rest[i+1:], " ")) > 0 {
		return false // multi-line, or something after the closing quote
	}
	writeJSONString(p.out, b)
	return true
}

// double: a one-line "quoted" scalar with the common escapes.
func (p *fastParser) double(rest []byte) bool {
	var b []byte
	i := 1
	for ; i < len(rest); i++ {
		c := rest[i]
		if c == '"' {
			break
		}
		if c != '\\' {
			b = append(b, c)
			continue
		}
		i++
		if i >= len(rest) {
			return false // escaped line break: multi-line
		}
		switch rest[i] {
		case '"', '\\', '/':
			b = append(b, rest[i])
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case 'r':
			b = append(b, '\r')
		case '0':
			b = append(b, 0)
		case ' ':
			b = append(b, ' ')
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[rest[i]]
			if i+n >= len(rest) {
				return false
			}
			v, err := strconv.ParseUint(string(rest[i+1:i+1+n]), 16, 32)
			if err != nil || !utf8.ValidRune(rune(v)) {
				return false
			}
			b = utf8.AppendRune(b, rune(v))
			i += n
		default:
			return false
		}
	}
	if i >= len(rest) || len(bytes.TrimRight(rest[i+1:], " ")) > 0 {
		return false
	}
	writeJSONString(p.out, b)
	return true
}

// literal: "|", "|-" or "|+" with the indentation of its first line.
func (p *fastParser) literal(rest []byte, ind int) bool {
	h := string(bytes.TrimRight(rest, " "))
	if h != "|" && h != "|-" && h != "|+" {
		return false
	}
	// content: following lines indented more than ind, or blank
	var content [][]byte
	j := p.i
	ci := -1
	for ; j < len(p.lines); j++ {
		l := p.lines[j]
		li := indentOf(l)
		if li < 0 {
			if ci >= 0 && len(l) > ci {
				content = append(content, l[ci:])
			} else {
				if ci < 0 && len(l) > ind+1 {
					return false // leading blank lines longer than the indent: leave it to yaml.v3
				}
				content = append(content, nil)
			}
			continue
		}
		if li <= ind {
			break
		}
		if ci < 0 {
			ci = li
		}
		if li < ci {
			return false
		}
		content = append(content, l[ci:])
	}
	if ci < 0 {
		return false
	}
	// trailing blank lines belong to chomping
	end := len(content)
	for end > 0 && len(content[end-1]) == 0 {
		end--
	}
	var b []byte
	for k := 0; k < end; k++ {
		b = append(b, content[k]...)
		b = append(b, '\n')
	}
	if j >= len(p.lines) {
		return false // at the end of input chomping depends on the final newline: yaml.v3 decides
	}
	switch h {
	case "|-":
		b = bytes.TrimSuffix(b, []byte("\n"))
	case "|+":
		for k := end; k < len(content); k++ {
			b = append(b, '\n')
		}
	}
	p.i = j
	writeJSONString(p.out, b)
	return true
}

func writeJSONString(out *bytes.Buffer, s []byte) {
	out.WriteByte('"')
	for _, r := range string(s) {
		switch {
		case r == '"':
			out.WriteString(`\"`)
		case r == '\\':
			out.WriteString(`\\`)
		case r < 0x20:
			out.WriteString(`\u00`)
			out.WriteByte("0123456789abcdef"[r>>4])
			out.WriteByte("0123456789abcdef"[r&0xf])
		default:
			out.WriteRune(r)
		}
	}
	out.WriteByte('"')
}
