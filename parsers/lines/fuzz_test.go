package lines

import (
	"bytes"
	"testing"
)

func FuzzReader(f *testing.F) {
	f.Add([]byte("a\r\nb\n\nc"), 3)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		if max <= 0 || max > 1<<16 {
			max = 16
		}
		r := New(bytes.NewReader(b), max)
		n := 0
		for r.Next() {
			n++
			if len(r.Bytes()) > max {
				t.Fatalf("line %d longer than %d", n, max)
			}
			if r.Line() != n {
				t.Fatalf("line number %d, want %d", r.Line(), n)
			}
		}
		if want := bytes.Count(b, []byte("\n")); n != want && n != want+1 {
			t.Fatalf("%d lines for %d newlines", n, want)
		}
	})
}
