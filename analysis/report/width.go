package report

import (
	"strings"
	"unicode/utf8"
)

// isWide reports whether r takes two terminal columns (East Asian Wide and
// Fullwidth, UAX #11), enough for the Chinese report and CJK object names.
func isWide(r rune) bool {
	switch {
	case r < 0x1100:
		return false
	case r <= 0x115F, r >= 0x2E80 && r <= 0x303E, r >= 0x3041 && r <= 0x33FF,
		r >= 0x3400 && r <= 0x4DBF, r >= 0x4E00 && r <= 0x9FFF, r >= 0xA000 && r <= 0xA4CF,
		r >= 0xAC00 && r <= 0xD7A3, r >= 0xF900 && r <= 0xFAFF, r >= 0xFE30 && r <= 0xFE4F,
		r >= 0xFF00 && r <= 0xFF60, r >= 0xFFE0 && r <= 0xFFE6, r >= 0x1F300 && r <= 0x1F64F,
		r >= 0x20000 && r <= 0x3FFFD:
		return true
	}
	return false
}

// runeWidth is the number of terminal columns r takes.
func runeWidth(r rune) int {
	switch {
	case isWide(r):
		return 2
	case r >= 0x20:
		return 1
	}
	return 0
}

// width is the number of terminal columns s takes (no escape sequences).
func width(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

// wrap breaks s into lines of at most max columns, at spaces and between
// wide characters (Chinese has no spaces between words). A word longer
// than max is cut.
func wrap(s string, max int) []string { return wrapAt(s, max, "") }

// wrapAt is wrap that may also break after any rune of breakAfter (used
// in narrow table cells for "/", "→" and ",").
func wrapAt(s string, max int, breakAfter string) []string {
	if max < 4 {
		max = 4
	}
	var lines []string
	var cur strings.Builder
	curW := 0
	flush := func() {
		lines = append(lines, strings.TrimRight(cur.String(), " "))
		cur.Reset()
		curW = 0
	}
	for _, tok := range tokens(s, breakAfter) {
		tw := width(tok)
		if tok == " " {
			if curW > 0 && curW < max {
				cur.WriteString(" ")
				curW++
			}
			continue
		}
		if curW+tw > max && curW > 0 {
			flush()
		}
		for tw > max { // a single overlong token: cut it
			cut, cw := cutWidth(tok, max)
			cur.WriteString(cut)
			curW = cw
			flush()
			tok = tok[len(cut):]
			// subtract rather than re-measure the rest: re-measuring made
			// a 3 MB token (a hostile flows.json) quadratic
			tw -= cw
		}
		cur.WriteString(tok)
		curW += tw
	}
	if curW > 0 || len(lines) == 0 {
		flush()
	}
	return lines
}

// tokens splits s into words, single spaces and single wide runes; a word
// also ends after a rune of breakAfter. Every token but " " is a substring
// of s, and gluing punctuation to the previous token re-slices s (from
// that token's start in starts) instead of concatenating, which would be
// quadratic in a long run of such punctuation.
func tokens(s string, breakAfter string) []string {
	var out []string
	var starts []int // byte offset in s of each token ( -1 for " ")
	add := func(tok string, at int) {
		out = append(out, tok)
		starts = append(starts, at)
	}
	start := -1
	for i, r := range s {
		switch {
		case r == ' ' || r == '\t' || r == '\n':
			if start >= 0 {
				add(s[start:i], start)
				start = -1
			}
			add(" ", -1)
		case isWide(r):
			if start >= 0 {
				add(s[start:i], start)
				start = -1
			}
			end := i + utf8.RuneLen(r)
			// Kinsoku: a line never starts with closing punctuation nor
			// ends with opening punctuation (JIS X 4051 / GB/T 15834).
			// The previous token ends at i (it was added just before).
			if n := len(out); n > 0 && strings.ContainsRune(noLineStart, r) && out[n-1] != " " {
				out[n-1] = s[starts[n-1]:end]
				continue
			}
			if n := len(out); n > 0 && strings.ContainsRune(noLineEnd, lastRune(out[n-1])) {
				out[n-1] = s[starts[n-1]:end]
				continue
			}
			add(s[i:end], i)
		default:
			if start < 0 {
				start = i
				// glue a word to a preceding opening bracket "（"
				if n := len(out); n > 0 && strings.ContainsRune(noLineEnd, lastRune(out[n-1])) {
					start = starts[n-1]
					out, starts = out[:n-1], starts[:n-1]
				}
			}
			if breakAfter != "" && strings.ContainsRune(breakAfter, r) {
				end := i + utf8.RuneLen(r)
				add(s[start:end], start)
				start = -1
			}
		}
	}
	if start >= 0 {
		add(s[start:], start)
	}
	return out
}

func cutWidth(s string, max int) (string, int) {
	w := 0
	for i, r := range s {
		rw := runeWidth(r) // as width counts, so wrapAt may subtract
		if w+rw > max {
			if i == 0 { // never return an empty cut
				return s[:utf8.RuneLen(r)], rw
			}
			return s[:i], w
		}
		w += rw
	}
	return s, w
}

const (
	noLineStart = "。，、：；！？）」』】〉》”’…"
	noLineEnd   = "（「『【〈《“‘"
)

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}
