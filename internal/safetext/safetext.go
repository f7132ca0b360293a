// Package safetext is the one sanitizer for every text tkesnap prints:
// terminal output of every command, Markdown and HTML reports, error
// messages. Bundle content comes from strangers, and a control sequence in
// an object name, a capture's DNS name or an iptables comment could rewrite
// the support engineer's screen (OSC, cursor movement, clearing), ring the
// bell, or hide and reorder text (bidi overrides, CVE-2021-42574 "Trojan
// Source"; invisible characters that make two names look equal).
//
// Unsafe characters are not dropped but made visible as a JSON-style
// escape (ESC → `\u001b`, RLO → `\u202e`, a character above U+FFFF as a
// surrogate pair) and an invalid UTF-8 byte as `\xff`. The escapes are
// plain ASCII, so they survive copy-paste and show in HTML too, and a JSON
// document passed through the Writer stays valid JSON that decodes to the
// same values (encoding/json never emits raw C0 or invalid UTF-8; C1, bidi
// and format characters it emits raw become `\uXXXX` escapes of
// themselves).
package safetext

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Unsafe reports whether r must not reach a terminal or a document raw:
// C0 controls except tab and newline, DEL, C1 controls, the line and
// paragraph separators U+2028/U+2029, every format character (Unicode
// category Cf: bidi marks, embeddings, overrides and isolates incl. U+061C,
// zero-width space/joiners, word joiner, BOM U+FEFF, soft hyphen, tag
// characters), the Hangul fillers that render as nothing, and U+FFFD
// (what a decoder makes of invalid input).
func Unsafe(r rune) bool {
	switch {
	case r == '\t' || r == '\n':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r < 0xad:
		return false
	case r == 0x2028, r == 0x2029, r == 0xfffd:
		return true
	case r == 0x115f, r == 0x1160, r == 0x3164, r == 0xffa0:
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

// escape appends the visible form of an unsafe rune.
func escape(b *strings.Builder, r rune) {
	if r > 0xffff {
		r1, r2 := utf16Pair(r)
		fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
		return
	}
	fmt.Fprintf(b, `\u%04x`, r)
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

// String returns s with every unsafe character and invalid byte escaped.
// Tab and newline are kept (see Line for one-line fields).
func String(s string) string { return clean(s, false) }

// Line is String that also escapes newline and tab, for a value printed
// on one line (a file name, an object name, a table cell): a newline in a
// capture's file name must not start a line of its own.
func Line(s string) string { return clean(s, true) }

func clean(s string, oneLine bool) string {
	i := firstUnsafe(s, oneLine)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case Unsafe(r) || oneLine && (r == '\n' || r == '\t'):
			escape(&b, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// firstUnsafe is the byte offset of the first character clean must
// change, or -1.
func firstUnsafe(s string, oneLine bool) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && (oneLine || c != '\t' && c != '\n') || c == 0x7f {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || Unsafe(r) {
			return i
		}
		i += n
	}
	return -1
}

// Writer sanitizes a byte stream on its way to w: what String does to a
// string, for output written piecewise (a UTF-8 sequence split across two
// writes is joined first). Call Flush at the end so a sequence cut by the
// end of the output is shown as bytes rather than lost.
type Writer struct {
	w       io.Writer
	pending []byte // an incomplete UTF-8 sequence from the last Write
	buf     []byte
}

// NewWriter returns a sanitizing writer on w. Wrapping a *Writer again
// returns it unchanged.
func NewWriter(w io.Writer) *Writer {
	if sw, ok := w.(*Writer); ok {
		return sw
	}
	return &Writer{w: w}
}

// Raw is the writer below: for output the program composes itself with
// escape sequences of its own (the colored text report), whose untrusted
// fields were sanitized with String beforehand.
func (s *Writer) Raw() io.Writer { return s.w }

// Write sanitizes p and writes it; it returns len(p) on success.
func (s *Writer) Write(p []byte) (int, error) {
	in := p
	if len(s.pending) > 0 {
		in = append(s.pending, p...)
		s.pending = nil
	}
	out := s.buf[:0]
	i := 0
	for i < len(in) {
		c := in[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' || c == 0x7f {
				out = fmt.Appendf(out, `\u%04x`, c)
			} else {
				out = append(out, c)
			}
			i++
			continue
		}
		if !utf8.FullRune(in[i:]) {
			// The rest of the sequence comes with the next Write.
			s.pending = append([]byte(nil), in[i:]...)
			break
		}
		r, n := utf8.DecodeRune(in[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			out = fmt.Appendf(out, `\x%02x`, c)
		case Unsafe(r):
			if r > 0xffff {
				r1, r2 := utf16Pair(r)
				out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
			} else {
				out = fmt.Appendf(out, `\u%04x`, r)
			}
		default:
			out = append(out, in[i:i+n]...)
		}
		i += n
	}
	s.buf = out[:0]
	if _, err := s.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes a UTF-8 sequence left incomplete by the last Write as
// escaped bytes.
func (s *Writer) Flush() error {
	if len(s.pending) == 0 {
		return nil
	}
	var b strings.Builder
	for _, c := range s.pending {
		fmt.Fprintf(&b, `\x%02x`, c)
	}
	s.pending = nil
	_, err := io.WriteString(s.w, b.String())
	return err
}
