// Package lines reads text input line by line with bounded memory: a line
// longer than the limit is cut (and reported as such) instead of growing a
// buffer without bound or stopping the read as bufio.Scanner does. The
// parsers of node dumps (ipvsadm, sysctl, conntrack, ss, ...) share it.
package lines

import (
	"bufio"
	"io"
)

// MaxLine is the default longest line kept; the rest of a longer line is
// skipped. Real dumps have lines of a few hundred bytes.
const MaxLine = 64 << 10

// Reader yields the lines of r without their line ending ("\n" or "\r\n").
type Reader struct {
	r    *bufio.Reader
	max  int
	n    int
	line []byte
	cut  bool
	err  error
}

// New returns a Reader keeping at most max bytes of a line (MaxLine when
// max <= 0).
func New(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = MaxLine
	}
	return &Reader{r: bufio.NewReaderSize(r, 4096), max: max}
}

// Next advances to the next line; false at end of input or on a read error
// (see Err).
func (l *Reader) Next() bool {
	l.line = l.line[:0]
	l.cut = false
	got := false
	for {
		frag, err := l.r.ReadSlice('\n')
		if len(frag) > 0 {
			got = true
		}
		if room := l.max - len(l.line); room > 0 {
			if len(frag) > room {
				l.line = append(l.line, frag[:room]...)
				l.cut = true
			} else {
				l.line = append(l.line, frag...)
			}
		} else if len(frag) > 0 && !(len(frag) == 1 && frag[0] == '\n') {
			l.cut = true
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && err != io.EOF {
			l.err = err
		}
		if !got {
			return false
		}
		l.n++
		n := len(l.line)
		if n > 0 && l.line[n-1] == '\n' {
			n--
		}
		if n > 0 && l.line[n-1] == '\r' {
			n--
		}
		l.line = l.line[:n]
		return true
	}
}

// Bytes is the current line; valid until the next call to Next.
func (l *Reader) Bytes() []byte { return l.line }

// Text is the current line as a string.
func (l *Reader) Text() string { return string(l.line) }

// Line is the 1-based number of the current line.
func (l *Reader) Line() int { return l.n }

// Cut says the current line was longer than the limit and was shortened.
func (l *Reader) Cut() bool { return l.cut }

// Err is the read error that ended the input, if any (not io.EOF).
func (l *Reader) Err() error { return l.err }
