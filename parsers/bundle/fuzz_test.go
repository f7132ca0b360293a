package bundle

import (
	"archive/tar"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzOpenArchive feeds arbitrary bytes as an archive: Open must not
// panic, must not write outside its private root, and must clean up.
func FuzzOpenArchive(f *testing.F) {
	s := newSandbox(f)
	for _, name := range []string{"s.tgz", "s.tar.zst", "s.tar"} {
		p := archive(f, s.in, name, []entry{
			reg("manifest.json", manifest), reg("../evil", "x"),
			{name: "l", typ: tar.TypeSymlink, link: "/etc"}, reg("l/x", "x"),
			{name: "d/", typ: tar.TypeDir}, reg("d/a", "a"), reg("d/a", "b"), reg("d/a/b", "c"),
		})
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add(append(rawHeader("a", '0', 1), make([]byte, 1024)...))
	// One sandbox for all runs of a worker (cheaper than a TempDir per
	// run); check verifies after every run that it is back to its state.
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(s.in, "f.tgz")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := s.open(t, p, Limits{TotalBytes: 4 << 20, FileBytes: 1 << 20, PcapBytes: 1 << 20, Entries: 500})
		if err == nil {
			for _, name := range b.Files() {
				if _, err := b.ReadFile(name); err != nil {
					t.Errorf("listed file %q unreadable: %v", name, err)
				}
				if !filepath.IsLocal(name) {
					t.Errorf("non-local name listed: %q", name)
				}
			}
			s.check(t, false)
			b.Close()
		}
		s.check(t, true)
	})
}

// FuzzParseManifest: any bytes, no panic; what parses re-encodes.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(manifest))
	f.Add([]byte(`{"files":[{"path":"a","exit_code":-1,"truncated":true}]}`))
	f.Add([]byte(`{"created":"2026-11-25T10:00:00+08:00"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		if m == nil {
			t.Fatal("nil manifest without error")
		}
		// what was read survives a write/read round trip
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseManifest(out)
		if err != nil {
			t.Fatalf("re-reading %s: %v", out, err)
		}
		if !back.Created.Equal(m.Created) {
			t.Fatalf("created %v, then %v", m.Created, back.Created)
		}
		back.Created = m.Created
		if !reflect.DeepEqual(back, m) {
			t.Fatalf("round trip changed the manifest:\n%+v\n%+v", m, back)
		}
	})
}
