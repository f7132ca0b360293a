package bigmem

import "testing"

// A block of any size is a zeroed slice of that length that holds what is
// written to it; the huge-page advice changes nothing visible.
func TestMakeIsMake(t *testing.T) {
	for _, n := range []int{0, 1, 1000, MinAdvise/8 - 1, MinAdvise / 8, 3 * MinAdvise / 8} {
		s := Make[uint64](n)
		if len(s) != n || cap(s) != n {
			t.Fatalf("Make(%d): len %d cap %d", n, len(s), cap(s))
		}
		for i := range s {
			if s[i] != 0 {
				t.Fatalf("Make(%d)[%d] = %d, not zeroed", n, i, s[i])
			}
			s[i] = uint64(i) * 2654435761
		}
		for i := range s {
			if s[i] != uint64(i)*2654435761 {
				t.Fatalf("Make(%d)[%d] lost what was written", n, i)
			}
		}
	}
}
