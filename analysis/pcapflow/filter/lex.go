// Package filter compiles a subset of Wireshark's display filter
// language (wireshark-filter(4)) and evaluates it on decoded packets:
// field existence, == != < > <= >= (and eq ne lt gt le ge), contains,
// matches (~), in {…} with ranges, and/or/not (&& || !), parentheses, CIDR
// on address fields (ip.addr == 10.0.0.0/8), strings, numbers, byte
// strings (aa:bb:cc) and booleans.
//
// The guide's filters `tcp contains "lbtest"` and
// `http.request.uri == "/mytest"` both work. Errors name the 1-based
// column of the offending token.
package filter

import (
	"fmt"
	"strings"
)

type tokKind int

const (
	tEOF  tokKind = iota
	tWord         // field names, bare values, keywords
	tString
	tOp // == != < > <= >= ~ ! && ||
	tLParen
	tRParen
	tLBrace
	tRBrace
	tComma
)

type token struct {
	kind tokKind
	text string // for tString: the unescaped value
	col  int    // 1-based
}

// Error is a filter syntax or type error at a column of the expression.
type Error struct {
	Col int
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("filter: column %d: %s", e.Col, e.Msg) }

func errAt(col int, format string, a ...any) *Error {
	return &Error{Col: col, Msg: fmt.Sprintf(format, a...)}
}

func lex(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		c := s[i]
		col := i + 1
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			out = append(out, token{tLParen, "(", col})
			i++
		case c == ')':
			out = append(out, token{tRParen, ")", col})
			i++
		case c == '{':
			out = append(out, token{tLBrace, "{", col})
			i++
		case c == '}':
			out = append(out, token{tRBrace, "}", col})
			i++
		case c == ',':
			out = append(out, token{tComma, ",", col})
			i++
		case c == '"':
			v, n, err := lexString(s[i:], col)
			if err != nil {
				return nil, err
			}
			out = append(out, token{tString, v, col})
			i += n
		case strings.HasPrefix(s[i:], "=="), strings.HasPrefix(s[i:], "!="), strings.HasPrefix(s[i:], "<="),
			strings.HasPrefix(s[i:], ">="), strings.HasPrefix(s[i:], "&&"), strings.HasPrefix(s[i:], "||"):
			out = append(out, token{tOp, s[i : i+2], col})
			i += 2
		case c == '<' || c == '>' || c == '~' || c == '!':
			out = append(out, token{tOp, s[i : i+1], col})
			i++
		case c == '=':
			return nil, errAt(col, `"=" is not an operator: use "=="`)
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			out = append(out, token{tWord, s[i:j], col})
			i = j
		default:
			return nil, errAt(col, "unexpected character %q", c)
		}
	}
	out = append(out, token{tEOF, "", len(s) + 1})
	return out, nil
}

// Word bytes cover field names (ip.src), numbers, addresses (10.0.0.0/8,
// fe80::1), byte strings (aa:bb) and ranges (1..5).
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-' || c == ':' || c == '/' || c == '+'
}

func lexString(s string, col int) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 >= len(s) {
				return "", 0, errAt(col+i, "unfinished escape")
			}
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'x':
				if i+2 >= len(s) {
					return "", 0, errAt(col+i, `\x needs two hex digits`)
				}
				var v byte
				for _, h := range s[i+1 : i+3] {
					d, ok := hexVal(byte(h))
					if !ok {
						return "", 0, errAt(col+i, `\x needs two hex digits`)
					}
					v = v<<4 | d
				}
				b.WriteByte(v)
				i += 2
			default:
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errAt(col, "string is not closed")
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
