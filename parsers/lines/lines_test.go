package lines

import (
	"strings"
	"testing"
)

func TestLinesAreNumberedAndLongOnesCut(t *testing.T) {
	in := "a\r\n" + strings.Repeat("x", 100) + "\n\nlast"
	r := New(strings.NewReader(in), 10)
	var got []string
	var cut []bool
	for r.Next() {
		got = append(got, r.Text())
		cut = append(cut, r.Cut())
	}
	want := []string{"a", strings.Repeat("x", 10), "", "last"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q want %q", got, want)
	}
	if cut[0] || !cut[1] || cut[2] || cut[3] {
		t.Fatalf("cut flags %v", cut)
	}
	if r.Line() != 4 {
		t.Fatalf("line count %d", r.Line())
	}
}

func TestLongLineAcrossBufferBoundaryKeepsNextLine(t *testing.T) {
	in := strings.Repeat("y", 10000) + "\nnext\n"
	r := New(strings.NewReader(in), 50)
	if !r.Next() || len(r.Bytes()) != 50 || !r.Cut() {
		t.Fatalf("first line: %d bytes cut=%v", len(r.Bytes()), r.Cut())
	}
	if !r.Next() || r.Text() != "next" || r.Line() != 2 {
		t.Fatalf("second line %q at %d", r.Text(), r.Line())
	}
	if r.Next() {
		t.Fatalf("unexpected line %q", r.Text())
	}
}
