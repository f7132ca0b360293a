package model

// NothingRead reports whether the bundle yielded nothing at all: every
// file the loader opened could not be read or parsed (each has a problem
// naming it), or it opened none (only unknown names). analyze then exits
// 2 like an unreadable archive instead of printing "No problem found"
// over a list of problems. A bundle where any file was read is analysed
// as usual.
func (c *Cluster) NothingRead() bool {
	bad := make(map[string]bool, len(c.Problems))
	for _, p := range c.Problems {
		bad[p.File] = true
	}
	for _, f := range c.Bundle.Opened() {
		if !bad[f] {
			return false
		}
	}
	return true
}
