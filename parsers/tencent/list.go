package tencent

// parseList decodes every document of data into a response R, collects
// the items that get returns, and stamps each item with the line it starts
// on (found by the name of the JSON array holding the items).
func parseList[R any, T any](data []byte, key string, get func(*R) []T, setLine func(*T, int)) ([]T, error) {
	var out []T
	err := decodeInto(data, func() any { return new(R) }, func(v any) {
		out = append(out, get(v.(*R))...)
	})
	assignLines(out, itemLines(data, key), setLine)
	return out, err
}

// assignLines gives items their lines when the walk found exactly as many
// elements as were decoded; otherwise (a damaged file) lines stay 0 rather
// than point at the wrong item.
func assignLines[T any](items []T, lines [][]int, set func(*T, int)) {
	var flat []int
	for _, l := range lines {
		flat = append(flat, l...)
	}
	if len(flat) != len(items) {
		return
	}
	for i := range items {
		set(&items[i], flat[i])
	}
}
