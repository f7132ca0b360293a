package bundle

// Without returns a view of b that lacks one file and the manifest's
// record of it, as if the collector had never written it (an older
// collector, a refused tccli call). The view shares b's files; closing it
// does nothing, closing b ends both. The metamorphic tests use it to ask
// what every finding concludes from.
func (b *Bundle) Without(name string) *Bundle {
	v := &Bundle{Path: b.Path, root: b.root, dir: b.dir, lim: b.lim, sizes: b.sizes, view: true, OnRead: b.OnRead,
		set: make(map[string]bool, len(b.set))}
	v.Problems = append([]Problem(nil), b.Problems...)
	for _, f := range b.files {
		if f != name {
			v.files = append(v.files, f)
			v.set[f] = true
		}
	}
	if b.Manifest != nil && name != "manifest.json" {
		m := *b.Manifest
		m.Files = nil
		for _, r := range b.Manifest.Files {
			if r.Path != name {
				m.Files = append(m.Files, r)
			}
		}
		v.Manifest = &m
	}
	return v
}
