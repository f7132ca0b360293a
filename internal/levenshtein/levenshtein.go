// Package levenshtein measures how far apart two names are, to suggest
// "did you mean default/client-0?" for a typo'd object name.
package levenshtein

// Distance is the Levenshtein edit distance of a and b. Names are short;
// for inputs over 256 bytes it returns the longer length instead of
// spending quadratic time on hostile input.
func Distance(a, b string) int {
	if len(a) > 256 || len(b) > 256 {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
