package bundle

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"tkesnap/internal/realdata"
	"tkesnap/internal/testenv"
)

// entry is one member of an archive built by a test.
type entry struct {
	name string
	typ  byte   // tar.TypeReg when 0
	body string // content of a regular file
	link string // target of a symlink or hard link
	// zeros, when > 0, makes a regular file of that many zero bytes,
	// generated while writing (never held in memory).
	zeros int64
}

func reg(name, body string) entry { return entry{name: name, body: body} }

// writeTar streams entries as a tar archive to w.
func writeTar(t testing.TB, w io.Writer, entries []entry) {
	t.Helper()
	tw := tar.NewWriter(w)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Linkname: e.link, Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		switch {
		case e.zeros > 0:
			h.Size = e.zeros
		case h.Typeflag == tar.TypeReg:
			h.Size = int64(len(e.body))
		}
		if h.Typeflag == tar.TypeDir {
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("tar header %q: %v", e.name, err)
		}
		var err error
		if e.zeros > 0 {
			_, err = io.CopyN(tw, zeroReader{}, e.zeros)
		} else if h.Typeflag == tar.TypeReg {
			_, err = io.WriteString(tw, e.body)
		}
		if err != nil {
			t.Fatalf("tar body %q: %v", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// archive writes entries to dir/name, compressed by the name's suffix
// (.tgz/.tar.gz gzip, .tar.zst zstd, .tar plain) and returns its path.
func archive(t testing.TB, dir, name string, entries []entry) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	switch {
	case strings.HasSuffix(name, ".tgz") || strings.HasSuffix(name, ".tar.gz"):
		gz := gzip.NewWriter(f)
		writeTar(t, gz, entries)
		if err := gz.Close(); err != nil {
			t.Fatal(err)
		}
	case strings.HasSuffix(name, ".tar.zst"):
		zw, err := zstd.NewWriter(f)
		if err != nil {
			t.Fatal(err)
		}
		writeTar(t, zw, entries)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	default:
		writeTar(t, f, entries)
	}
	return p
}

// sandbox is a test directory laid out as
//
//	base/canary/secret.txt   must never change
//	base/work/               the private temp roots are made here
//	base/in/                 the archives under test
//
// so that any escape from the private root lands somewhere visible.
type sandbox struct {
	base, canary, work, in string
}

func newSandbox(t testing.TB) *sandbox {
	t.Helper()
	base := t.TempDir()
	s := &sandbox{base: base, canary: filepath.Join(base, "canary"), work: filepath.Join(base, "work"), in: filepath.Join(base, "in")}
	for _, d := range []string{s.canary, s.work, s.in} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.canary, "secret.txt"), []byte("canary"), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *sandbox) open(t testing.TB, p string, lim Limits) (*Bundle, error) {
	t.Helper()
	return OpenWith(p, Options{Limits: lim, TempDir: s.work})
}

// check asserts nothing escaped: the base holds only canary, in and work;
// the canary is unchanged; after Close (closed=true) work is empty.
func (s *sandbox) check(t testing.TB, closed bool) {
	t.Helper()
	if got := names(t, s.base); strings.Join(got, ",") != "canary,in,work" {
		t.Errorf("something was written next to the temp root: base holds %v", got)
	}
	if got := names(t, s.canary); strings.Join(got, ",") != "secret.txt" {
		t.Errorf("canary folder changed: %v", got)
	}
	if data, err := os.ReadFile(filepath.Join(s.canary, "secret.txt")); err != nil || string(data) != "canary" {
		t.Errorf("canary file changed: %q %v", data, err)
	}
	w := names(t, s.work)
	if closed && len(w) != 0 {
		t.Errorf("temp root not removed: work holds %v", w)
	}
	if len(w) > 1 {
		t.Errorf("more than one temp root: %v", w)
	}
}

func names(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func problemsText(b *Bundle) string {
	var sb strings.Builder
	for _, p := range b.Problems {
		fmt.Fprintf(&sb, "%s: %s\n", p.File, p.Message)
	}
	return sb.String()
}

func mustRead(t *testing.T, b *Bundle, name string) string {
	t.Helper()
	data, err := b.ReadFile(name)
	if err != nil {
		t.Fatalf("ReadFile(%q): %v", name, err)
	}
	return string(data)
}

// peakHeap runs f and returns the largest HeapAlloc sampled meanwhile.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(done)
	<-stopped
	return peak.Load()
}

var manifest = `{"format":"tkesnap-bundle/v1","created":"2026-11-25T10:00:00Z","collector_version":"0.1",
 "cluster":{"id":"cls-abc","type":"MANAGED_CLUSTER","region":"ap-guangzhou"},
 "files":[{"path":"nodes/n1/iptables-save.txt","command":"iptables-save -c","node":"n1","exit_code":0,"bytes":5}]}`

func TestArchiveFormatsOpen(t *testing.T) {
	good := []entry{reg("manifest.json", manifest), reg("nodes/n1/iptables-save.txt", "*filter\nCOMMIT\n"), reg("cluster/pods.yaml", "items: []\n")}
	for _, name := range []string{"b.tgz", "b.tar.gz", "b.tar.zst", "b.tar"} {
		t.Run(name, func(t *testing.T) {
			s := newSandbox(t)
			b, err := s.open(t, archive(t, s.in, name, good), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(b.Files(), ","); got != "cluster/pods.yaml,manifest.json,nodes/n1/iptables-save.txt" {
				t.Errorf("files = %s", got)
			}
			if b.Manifest == nil || b.Manifest.Cluster.ID != "cls-abc" || len(b.Manifest.Files) != 1 {
				t.Errorf("manifest = %+v", b.Manifest)
			}
			if got := mustRead(t, b, "nodes/n1/iptables-save.txt"); got != "*filter\nCOMMIT\n" {
				t.Errorf("content = %q", got)
			}
			if len(b.Problems) != 0 {
				t.Errorf("unexpected problems:\n%s", problemsText(b))
			}
			s.check(t, false)
			b.Close()
			s.check(t, true)
		})
	}
}

func TestTopLevelFolderOfAnyNameIsStripped(t *testing.T) {
	s := newSandbox(t)
	p := archive(t, s.in, "b.tgz", []entry{
		{name: "tkesnap-cls-abc-20261125/", typ: tar.TypeDir},
		reg("tkesnap-cls-abc-20261125/manifest.json", manifest),
		reg("tkesnap-cls-abc-20261125/nodes/n1/sysctl.txt", "net.ipv4.ip_forward = 1\n"),
	})
	b, err := s.open(t, p, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !b.Has("manifest.json") || !b.Has("nodes/n1/sysctl.txt") || b.Manifest == nil {
		t.Fatalf("top folder not stripped: %v", b.Files())
	}
	if got := strings.Join(b.Dir(""), ","); got != "manifest.json,nodes" {
		t.Errorf("Dir(\"\") = %s", got)
	}
	if got := strings.Join(b.Dir("nodes/n1"), ","); got != "sysctl.txt" {
		t.Errorf("Dir(nodes/n1) = %s", got)
	}
	if got := b.Glob("nodes/*/sysctl.txt"); len(got) != 1 {
		t.Errorf("Glob = %v", got)
	}
	if b.Size("nodes/n1/sysctl.txt") != int64(len("net.ipv4.ip_forward = 1\n")) || b.Size("nope") != -1 {
		t.Errorf("Size wrong")
	}
}

// A bundle whose only top folder is one of the layout's own folders keeps it.
func TestLayoutFolderIsNotStripped(t *testing.T) {
	s := newSandbox(t)
	b, err := s.open(t, archive(t, s.in, "b.tgz", []entry{reg("nodes/n1/sysctl.txt", "x")}), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !b.Has("nodes/n1/sysctl.txt") {
		t.Errorf("files = %v", b.Files())
	}
}

func TestHostileArchives(t *testing.T) {
	tests := []struct {
		name    string
		entries func(s *sandbox) []entry
		// has must be readable with the given content; hasNot must not exist.
		has        map[string]string
		hasNot     []string
		problem    string // substring of some problem
		unreadable bool   // Open must fail with ErrUnreadable
	}{
		{
			name: "dot-dot traversal is refused",
			entries: func(s *sandbox) []entry {
				return []entry{reg("../evil.txt", "x"), reg("a/../../evil2.txt", "x"), reg("../../canary/secret.txt", "pwned"), reg("ok.txt", "ok")}
			},
			has: map[string]string{"ok.txt": "ok"}, hasNot: []string{"evil.txt", "evil2.txt"},
			problem: "escapes the bundle",
		},
		{
			name: "absolute names are refused",
			entries: func(s *sandbox) []entry {
				return []entry{reg(filepath.Join(s.canary, "secret.txt"), "pwned"), reg("/tmp/evil.txt", "x"), reg("ok.txt", "ok")}
			},
			has: map[string]string{"ok.txt": "ok"}, problem: "escapes the bundle",
		},
		{
			name: "symlink then write through the symlink stays inside",
			entries: func(s *sandbox) []entry {
				return []entry{
					{name: "link", typ: tar.TypeSymlink, link: s.canary},
					reg("link/pwned.txt", "pwned"),
					{name: "rel", typ: tar.TypeSymlink, link: "../../canary"},
					reg("rel/secret.txt", "pwned"),
					{name: "file-link", typ: tar.TypeSymlink, link: filepath.Join(s.canary, "secret.txt")},
					reg("file-link", "pwned"),
				}
			},
			// The later regular entries become plain files inside the root.
			has:     map[string]string{"link/pwned.txt": "pwned", "rel/secret.txt": "pwned", "file-link": "pwned"},
			problem: "link entry ignored",
		},
		{
			name: "hard link to /etc/passwd is never created",
			entries: func(s *sandbox) []entry {
				return []entry{{name: "passwd", typ: tar.TypeLink, link: "/etc/passwd"}, reg("ok.txt", "ok"), {name: "ok2.txt", typ: tar.TypeLink, link: "ok.txt"}}
			},
			has: map[string]string{"ok.txt": "ok"}, hasNot: []string{"passwd", "ok2.txt"},
			problem: "link entry ignored",
		},
		{
			name: "archive of only links and traversal reads nothing",
			entries: func(s *sandbox) []entry {
				return []entry{{name: "passwd", typ: tar.TypeLink, link: "/etc/passwd"}, reg("../x", "x")}
			},
			unreadable: true,
		},
		{
			name: "backslash names are refused",
			entries: func(s *sandbox) []entry {
				return []entry{reg(`..\..\evil.txt`, "x"), reg(`nodes\n1\x.txt`, "x"), reg("ok.txt", "ok")}
			},
			has: map[string]string{"ok.txt": "ok"}, problem: "escapes the bundle",
		},
		{
			name: "device and fifo entries are ignored",
			entries: func(s *sandbox) []entry {
				return []entry{{name: "dev", typ: tar.TypeChar}, {name: "fifo", typ: tar.TypeFifo}, reg("ok.txt", "ok")}
			},
			has: map[string]string{"ok.txt": "ok"}, hasNot: []string{"dev", "fifo"},
			problem: "special entry type",
		},
		{
			name: "duplicate entries keep the later copy",
			entries: func(s *sandbox) []entry {
				return []entry{reg("a.txt", "first"), reg("a.txt", "second")}
			},
			has: map[string]string{"a.txt": "second"}, problem: "duplicate entry",
		},
		{
			name: "file entry whose parent is a file is skipped, the rest is read",
			entries: func(s *sandbox) []entry {
				return []entry{reg("a", "file"), reg("a/b", "child"), reg("c", "after")}
			},
			has: map[string]string{"a": "file", "c": "after"}, hasNot: []string{"a/b"},
			problem: "cannot create file",
		},
		{
			name: "file entry named like an existing folder is skipped",
			entries: func(s *sandbox) []entry {
				return []entry{reg("d/x", "x"), reg("d", "file"), reg("e", "after")}
			},
			has: map[string]string{"d/x": "x", "e": "after"}, problem: "cannot create file",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			p := archive(t, s.in, "b.tgz", tc.entries(s))
			b, err := s.open(t, p, Limits{})
			if tc.unreadable {
				if err == nil {
					b.Close()
					t.Fatal("Open succeeded on an archive with nothing readable")
				}
				if !strings.Contains(err.Error(), ErrUnreadable.Error()) {
					t.Errorf("error %v is not ErrUnreadable", err)
				}
				s.check(t, true)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tc.has {
				if got := mustRead(t, b, name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			for _, name := range tc.hasNot {
				if b.Has(name) {
					t.Errorf("%s must not exist", name)
				}
				if _, err := b.Open(name); err == nil {
					t.Errorf("Open(%s) succeeded", name)
				}
			}
			if !strings.Contains(problemsText(b), tc.problem) {
				t.Errorf("no problem mentions %q:\n%s", tc.problem, problemsText(b))
			}
			s.check(t, false)
			b.Close()
			s.check(t, true)
		})
	}
}

// rawHeader builds a ustar header block by hand, for names the Go tar
// writer refuses to produce.
func rawHeader(name string, typ byte, size int) []byte {
	h := make([]byte, 512)
	copy(h[0:100], name)
	copy(h[100:108], "0000644\x00")
	copy(h[108:116], "0000000\x00")
	copy(h[116:124], "0000000\x00")
	copy(h[124:136], fmt.Sprintf("%011o\x00", size))
	copy(h[136:148], "00000000000\x00")
	h[156] = typ
	copy(h[257:265], "ustar\x0000")
	for i := 148; i < 156; i++ {
		h[i] = ' '
	}
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return h
}

func pad(b []byte) []byte {
	if r := len(b) % 512; r != 0 {
		b = append(b, make([]byte, 512-r)...)
	}
	return b
}

func TestNamesWithNULAreNotTrusted(t *testing.T) {
	var raw []byte
	// A ustar name with a NUL inside is cut at the NUL by every reader.
	raw = append(raw, rawHeader("ok.txt\x00/../../evil", '0', 2)...)
	raw = append(raw, pad([]byte("ok"))...)
	// A PAX path record carrying a NUL is invalid (POSIX pax: a path is a
	// string); Go's reader rejects the header: the archive is damaged here.
	rec := "path=nodes/n1\x00/../../../evil\n"
	rec = fmt.Sprintf("%d %s", len(rec)+3, rec)
	raw = append(raw, rawHeader("PaxHeaders/x", 'x', len(rec))...)
	raw = append(raw, pad([]byte(rec))...)
	raw = append(raw, rawHeader("x", '0', 1)...)
	raw = append(raw, pad([]byte("x"))...)
	raw = append(raw, make([]byte, 1024)...)
	s := newSandbox(t)
	p := filepath.Join(s.in, "nul.tar")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := s.open(t, p, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b.Files(), ","); got != "ok.txt" {
		t.Errorf("files = %s", got)
	}
	if !strings.Contains(problemsText(b), "damaged") {
		t.Errorf("no damage recorded:\n%s", problemsText(b))
	}
	if _, ok := cleanName("a\x00b"); ok {
		t.Error("cleanName accepted a NUL")
	}
	s.check(t, false)
	b.Close()
	s.check(t, true)
}

func TestGzipBombStopsWithBoundedMemory(t *testing.T) {
	if testing.Short() {
		testenv.Skip(t, testenv.ShortMode)
	}
	s := newSandbox(t)
	// One good file, then 1 GiB of zeros in one entry: about 1 MiB gzipped.
	p := archive(t, s.in, "bomb.tgz", []entry{reg("manifest.json", manifest), {name: "nodes/n1/conntrack.txt", zeros: 1 << 30}, reg("after.txt", "never reached")})
	var b *Bundle
	var err error
	peak := peakHeap(func() { b, err = s.open(t, p, Limits{}) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("heap peak %d MiB", peak>>20)
	if peak > 64<<20 {
		t.Errorf("heap peaked at %d MiB while unpacking a bomb; want < 64 MiB", peak>>20)
	}
	if !strings.Contains(problemsText(b), "bomb") {
		t.Errorf("no bomb problem:\n%s", problemsText(b))
	}
	if !b.Has("manifest.json") || b.Has("nodes/n1/conntrack.txt") || b.Has("after.txt") {
		t.Errorf("want the files read before the bomb only, got %v", b.Files())
	}
	s.check(t, false)
	b.Close()
	s.check(t, true)
}

// A bomb the ratio guard lets through (limit raised) still stops at the
// total size limit, without reading the rest.
func TestTotalLimitStopsExpansion(t *testing.T) {
	s := newSandbox(t)
	var es []entry
	for i := range 64 {
		es = append(es, entry{name: fmt.Sprintf("captures/n1/c%02d.pcap", i), zeros: 1 << 20})
	}
	p := archive(t, s.in, "big.tgz", es)
	b, err := s.open(t, p, Limits{TotalBytes: 8 << 20, Ratio: 1e9})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var total int64
	for _, f := range b.Files() {
		total += b.Size(f)
	}
	if total > 8<<20 {
		t.Errorf("unpacked %d bytes past the 8 MiB limit", total)
	}
	if !strings.Contains(problemsText(b), "exceeds") {
		t.Errorf("no total-limit problem:\n%s", problemsText(b))
	}
}

func TestPerFileLimitTruncates(t *testing.T) {
	s := newSandbox(t)
	p := archive(t, s.in, "b.tar", []entry{reg("big.txt", strings.Repeat("x", 5000)), reg("c.pcap", strings.Repeat("y", 5000)), reg("after.txt", "ok")})
	b, err := s.open(t, p, Limits{FileBytes: 1000, PcapBytes: 3000})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Size("big.txt") != 1000 || b.Size("c.pcap") != 3000 || mustRead(t, b, "after.txt") != "ok" {
		t.Errorf("sizes %d %d", b.Size("big.txt"), b.Size("c.pcap"))
	}
	if !strings.Contains(problemsText(b), "truncated") {
		t.Errorf("no truncation problem:\n%s", problemsText(b))
	}
}

func TestZstdBombStops(t *testing.T) {
	s := newSandbox(t)
	p := archive(t, s.in, "bomb.tar.zst", []entry{reg("ok.txt", "ok"), {name: "z.txt", zeros: 256 << 20}})
	b, err := s.open(t, p, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !strings.Contains(problemsText(b), "bomb") || !b.Has("ok.txt") || b.Has("z.txt") {
		t.Errorf("files %v problems:\n%s", b.Files(), problemsText(b))
	}
}

// A bomb hidden in an entry that the per-file limit already cut: the tar
// reader skips the rest of the entry by reading it, and the ratio guard
// sits below the tar reader so the skip stops too.
func TestBombInsideSkippedEntryStops(t *testing.T) {
	s := newSandbox(t)
	p := archive(t, s.in, "b.tgz", []entry{{name: "a.txt", zeros: 512 << 20}, reg("b.txt", "never")})
	b, err := s.open(t, p, Limits{FileBytes: 1 << 10})
	if err == nil {
		defer b.Close()
		if !strings.Contains(problemsText(b), "bomb") {
			t.Errorf("no bomb problem:\n%s", problemsText(b))
		}
		if b.Has("b.txt") {
			t.Errorf("read past the bomb")
		}
	}
	s.check(t, err != nil)
}

func TestManyTinyEntries(t *testing.T) {
	if testing.Short() {
		testenv.Skip(t, testenv.ShortMode)
	}
	s := newSandbox(t)
	es := make([]entry, 0, 100_000)
	for i := range 100_000 {
		es = append(es, reg(fmt.Sprintf("cluster/d%03d/f%06d", i%100, i), "x"))
	}
	p := archive(t, s.in, "many.tgz", es)
	t.Run("entry limit", func(t *testing.T) {
		b, err := s.open(t, p, Limits{Entries: 1000})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if n := len(b.Files()); n != 1000 {
			t.Errorf("read %d files, want the first 1000", n)
		}
		if !strings.Contains(problemsText(b), "more than 1000 entries") {
			t.Errorf("no entry-limit problem:\n%s", problemsText(b))
		}
	})
	t.Run("default limits read them all in bounded memory", func(t *testing.T) {
		var b *Bundle
		var err error
		peak := peakHeap(func() { b, err = s.open(t, p, Limits{}) })
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if n := len(b.Files()); n != 100_000 {
			t.Errorf("read %d files", n)
		}
		if peak > 64<<20 {
			t.Errorf("heap peaked at %d MiB", peak>>20)
		}
	})
	s.check(t, true)
}

func TestManyBadEntriesGiveBoundedProblems(t *testing.T) {
	s := newSandbox(t)
	var es []entry
	for i := range 5000 {
		es = append(es, reg(fmt.Sprintf("../evil%d", i), "x"))
	}
	es = append(es, reg("ok.txt", "ok"))
	b, err := s.open(t, archive(t, s.in, "b.tgz", es), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if n := len(b.Problems); n > maxEntryProblems+5 {
		t.Errorf("%d problems for one kind of bad entry", n)
	}
	if !strings.Contains(problemsText(b), "4900 more entries") {
		t.Errorf("no summary:\n%s", problemsText(b)[len(problemsText(b))-200:])
	}
}

func TestTruncatedGzipGivesPartialRead(t *testing.T) {
	s := newSandbox(t)
	// Incompressible-ish bodies so the cut lands inside the data.
	var es []entry
	for i := range 20 {
		es = append(es, reg(fmt.Sprintf("nodes/n1/f%02d.txt", i), strings.Repeat(fmt.Sprintf("%d-%x ", i, i*7919), 2000)))
	}
	full := archive(t, s.in, "full.tgz", es)
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	for _, frac := range []float64{0.5, 0.9, 0.999} {
		t.Run(fmt.Sprint(frac), func(t *testing.T) {
			p := filepath.Join(s.in, fmt.Sprintf("cut%v.tgz", frac))
			if err := os.WriteFile(p, data[:int(float64(len(data))*frac)], 0o644); err != nil {
				t.Fatal(err)
			}
			b, err := s.open(t, p, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if len(b.Files()) == 0 || len(b.Files()) > 20 {
				t.Errorf("read %d files", len(b.Files()))
			}
			if got := mustRead(t, b, "nodes/n1/f00.txt"); got != es[0].body {
				t.Errorf("first file damaged")
			}
			if !strings.Contains(problemsText(b), "truncated or damaged") && !strings.Contains(problemsText(b), "ends damaged") {
				t.Errorf("no truncation problem:\n%s", problemsText(b))
			}
		})
	}
	// Cut inside the gzip header: nothing readable.
	p := filepath.Join(s.in, "cut-head.tgz")
	os.WriteFile(p, data[:5], 0o644)
	if b, err := s.open(t, p, Limits{}); err == nil {
		b.Close()
		t.Error("a 5-byte gzip opened")
	}
	s.check(t, true)
}

func TestNotAnArchive(t *testing.T) {
	tests := map[string][]byte{
		"text named .tgz":  []byte("this is not a tarball, it is a note from the customer\n"),
		"empty file":       nil,
		"xz named .tgz":    append([]byte{0xfd, '7', 'z', 'X', 'Z', 0}, make([]byte, 100)...),
		"bzip2 named .tgz": []byte("BZh91AY&SY" + strings.Repeat("\x00", 100)),
		"zip named .tgz":   []byte("PK\x03\x04" + strings.Repeat("\x00", 100)),
		"gzip of text":     gzipped("just one gzipped log line, not a tar\n"),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			s := newSandbox(t)
			p := filepath.Join(s.in, "b.tgz")
			os.WriteFile(p, data, 0o644)
			b, err := s.open(t, p, Limits{})
			if err == nil {
				b.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), "bundle unreadable") {
				t.Errorf("err = %v", err)
			}
			s.check(t, true)
		})
	}
	if _, err := Open("/nonexistent/bundle.tgz", DefaultLimits()); err == nil {
		t.Error("missing file opened")
	}
	if _, err := Open("/dev/null", DefaultLimits()); err == nil {
		t.Error("a device opened")
	}
}

func gzipped(s string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	gz.Write([]byte(s))
	gz.Close()
	return buf.Bytes()
}

// An empty but valid archive is an empty bundle (analyze says what is
// missing), not an unreadable input.
func TestEmptyArchiveIsAnEmptyBundle(t *testing.T) {
	s := newSandbox(t)
	b, err := s.open(t, archive(t, s.in, "e.tgz", nil), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if len(b.Files()) != 0 || !strings.Contains(problemsText(b), "no files") {
		t.Errorf("files %v problems %s", b.Files(), problemsText(b))
	}
}

func TestProgressReportsCompressedBytes(t *testing.T) {
	s := newSandbox(t)
	var es []entry
	for i := range 50 {
		es = append(es, reg(fmt.Sprintf("f%02d", i), strings.Repeat(fmt.Sprintf("%x", i*104729), 8000)))
	}
	p := archive(t, s.in, "b.tgz", es)
	st, _ := os.Stat(p)
	var calls []int64
	b, err := OpenWith(p, Options{TempDir: s.work, Progress: func(done, total int64) {
		if total != st.Size() {
			t.Errorf("total = %d, want %d", total, st.Size())
		}
		calls = append(calls, done)
	}})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if len(calls) < 2 {
		t.Fatalf("progress called %d times", len(calls))
	}
	for i := 1; i < len(calls); i++ {
		if calls[i] < calls[i-1] {
			t.Errorf("progress went back: %v", calls)
		}
	}
	if calls[len(calls)-1] != st.Size() {
		t.Errorf("last progress %d, want %d", calls[len(calls)-1], st.Size())
	}
}

func TestDirectoryBundleNeverFollowsLinks(t *testing.T) {
	s := newSandbox(t)
	dir := filepath.Join(s.in, "my-bundle")
	os.MkdirAll(filepath.Join(dir, "nodes", "n1"), 0o755)
	os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(manifest), 0o644)
	os.WriteFile(filepath.Join(dir, "nodes", "n1", "sysctl.txt"), []byte("net.ipv4.ip_forward = 1\n"), 0o644)
	os.Symlink(filepath.Join(s.canary, "secret.txt"), filepath.Join(dir, "nodes", "n1", "iptables-save.txt"))
	os.Symlink(s.canary, filepath.Join(dir, "nodes", "n2"))
	os.Symlink("../../../canary/secret.txt", filepath.Join(dir, "nodes", "n1", "ip-route.json"))
	// A folder of one name on top, as made by `tar xzf`: stripped.
	b, err := s.open(t, s.in, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := strings.Join(b.Files(), ","); got != "manifest.json,nodes/n1/sysctl.txt" {
		t.Errorf("files = %s", got)
	}
	for _, name := range []string{"nodes/n1/iptables-save.txt", "nodes/n1/ip-route.json", "nodes/n2/secret.txt"} {
		if _, err := b.Open(name); err == nil {
			t.Errorf("Open(%s) followed a link", name)
		}
		if _, err := b.ReadFile(name); err == nil {
			t.Errorf("ReadFile(%s) followed a link", name)
		}
	}
	if !strings.Contains(problemsText(b), "symbolic link ignored") {
		t.Errorf("no link problem:\n%s", problemsText(b))
	}
	if b.Manifest == nil {
		t.Error("manifest not read")
	}
	b.Close()
	// Close never removes a directory bundle.
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		t.Errorf("Close removed the user's folder: %v", err)
	}
	s.check(t, true)
}

func TestDirectoryBundleBigFileIsBounded(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "big.txt"), bytes.Repeat([]byte("x"), 5000), 0o644)
	b, err := Open(dir, Limits{FileBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	data, err := b.ReadFile("big.txt")
	if err == nil || len(data) != 1000 {
		t.Errorf("ReadFile of a 5000-byte file with a 1000-byte limit: %d bytes, err %v", len(data), err)
	}
}

func TestCloseTwiceIsSafe(t *testing.T) {
	s := newSandbox(t)
	b, err := s.open(t, archive(t, s.in, "b.tgz", []entry{reg("a", "a")}), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Error(err)
	}
	if err := b.Close(); err != nil {
		t.Error(err)
	}
	s.check(t, true)
}

func TestParseManifest(t *testing.T) {
	m, err := ParseManifest([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	if m.Format != "tkesnap-bundle/v1" || m.Cluster.Region != "ap-guangzhou" || m.Files[0].Node != "n1" || m.Files[0].Command != "iptables-save -c" {
		t.Errorf("%+v", m)
	}
	if m.Created.IsZero() {
		t.Error("created not parsed")
	}
	for _, bad := range []string{"", "[]", `{"files": 3}`, `{"created": "yesterday"}`} {
		if _, err := ParseManifest([]byte(bad)); err == nil {
			t.Errorf("ParseManifest(%q) accepted", bad)
		}
	}
}

func TestBadManifestIsAProblem(t *testing.T) {
	s := newSandbox(t)
	b, err := s.open(t, archive(t, s.in, "b.tgz", []entry{reg("manifest.json", "{not json"), reg("flows.json", "[]")}), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Manifest != nil || !strings.Contains(problemsText(b), "not valid JSON") {
		t.Errorf("manifest %v problems %s", b.Manifest, problemsText(b))
	}
}

// Real troubleshoot.sh support bundles (SOURCES.tsv): one top folder of
// another tool's name, no folder entries, symlinks in all-logs/.
func TestRealTroubleshootBundlesOpen(t *testing.T) {
	dir := realdata.Path(t, "bundles")
	tests := []struct {
		file     string
		files    int
		mustHave string
		links    bool
	}{
		// 149 entries, two of them symlinks (run-example logs).
		{"troubleshoot-e2e-baseline-support-bundle.tar.gz", 147, "cluster-resources/nodes.json", true},
		{"troubleshoot-k3s-support-bundle.tar.gz", 0, "cluster-resources/nodes.json", true},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			p := filepath.Join(dir, tc.file)
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("real data not present: %v", err)
			}
			s := newSandbox(t)
			b, err := s.open(t, p, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if !b.Has(tc.mustHave) {
				t.Errorf("top folder not stripped: %v", b.Files()[:5])
			}
			if tc.files > 0 && len(b.Files()) != tc.files {
				t.Errorf("%d files, want %d", len(b.Files()), tc.files)
			}
			if data := mustRead(t, b, tc.mustHave); !bytes.Contains(data2(data), []byte(`"kind"`)) {
				t.Errorf("nodes.json does not look like a NodeList")
			}
			if tc.links != strings.Contains(problemsText(b), "link entry ignored") {
				t.Errorf("links problem = %v, want %v:\n%s", !tc.links, tc.links, problemsText(b))
			}
			// Only links and the missing manifest may be problems.
			for _, p := range b.Problems {
				if !strings.Contains(p.Message, "link") && p.File != "manifest.json" && !strings.Contains(p.Message, "more entries") {
					t.Errorf("unexpected problem %s: %s", p.File, p.Message)
				}
			}
			s.check(t, false)
		})
	}
}

func data2(s string) []byte { return []byte(s) }
