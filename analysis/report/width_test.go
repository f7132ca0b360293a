package report

import (
	"runtime"
	"strings"
	"testing"
)

// A hostile bundle can put one multi-megabyte token in any string the
// text report wraps (a flow in flows.json, an object name). Wrapping must
// stay linear: the lines cover the token exactly once, and the memory
// allocated grows linearly with the input (concatenating per glued rune
// made it quadratic; re-measuring the rest per cut made a 3 MB token run
// for minutes).
func TestWrapHugeTokenIsLinear(t *testing.T) {
	for _, tc := range []struct{ name, head, unit, tail string }{
		{"ascii", "", "a", ""},
		{"wide", "", "中", ""},
		{"closing punctuation", "中", "。", ""}, // glued by kinsoku
		{"opening brackets", "", "（", "x"},
	} {
		alloc := func(n int) uint64 {
			tok := tc.head + strings.Repeat(tc.unit, n) + tc.tail
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			lines := wrapAt(tok, 40, "/")
			runtime.ReadMemStats(&after)
			if got := strings.Join(lines, ""); got != tok {
				t.Errorf("%s: lines do not rebuild the token (%d bytes of %d)", tc.name, len(got), len(tok))
			}
			for i, l := range lines {
				if w := width(l); w > 40 {
					t.Fatalf("%s: line %d is %d columns", tc.name, i, w)
				}
			}
			return after.TotalAlloc - before.TotalAlloc
		}
		small, big := alloc(1<<17), alloc(1<<19)
		// 4× the input: linear work allocates ~4× (slice growth adds a
		// little), quadratic ~16×.
		if big > 6*small {
			t.Errorf("%s: %d bytes allocated for 4× the input of %d bytes", tc.name, big, small)
		}
	}
}
