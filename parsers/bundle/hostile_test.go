package bundle

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"tkesnap/internal/membudget"
)

// countTree counts the files and folders below dir: the work an unpack
// did on disk.
func countTree(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(string, fs.DirEntry, error) error { n++; return nil })
	return n
}

// deep is d/d/…/f at the given depth: creating it through os.Root walked
// every parent per level (2,000 levels: 2M openat calls; 8,000 never
// finished and left the temp root behind).
func deep(levels int) string { return strings.Repeat("d/", levels) + "f" }

func TestDeeplyNestedEntriesAreRefusedInBoundedWork(t *testing.T) {
	for _, levels := range []int{2000, 8000} {
		s := newSandbox(t)
		p := archive(t, s.in, "deep.tar", []entry{reg("cluster/pods.json", "{}"), reg(deep(levels), "x"), {name: strings.Repeat("e/", levels), typ: tar.TypeDir}})
		b, err := s.open(t, p, Limits{})
		if err != nil {
			t.Fatalf("%d levels: %v", levels, err)
		}
		if got := b.Files(); len(got) != 1 || got[0] != "cluster/pods.json" {
			t.Errorf("%d levels: files %v", levels, got)
		}
		if !strings.Contains(problemsText(b), "deeper than 32 levels") {
			t.Errorf("%d levels: no problem names the depth:\n%s", levels, problemsText(b))
		}
		for _, pr := range b.Problems {
			if len(pr.File) > 300 {
				t.Errorf("problem names a %d-byte path", len(pr.File))
			}
		}
		// nothing of the deep entries was created: the temp root holds
		// the one good file and its folder
		if n := countTree(t, s.work); n > 4 {
			t.Errorf("%d levels: %d files and folders created", levels, n)
		}
		b.Close()
		s.check(t, true)
	}
}

// A folder bundle is bounded as an archive is (issue 16 item 5): each file
// is read up to the per-file limit even when the reader streams it, a
// file growing while it is read ends where it was indexed, and past the
// aggregate limit files are left out and named.
func TestFolderBundleLimits(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "nodes/n1"), 0o755))
	// a 107 MB dump, sparse: no disk is used
	big := filepath.Join(dir, "nodes/n1/iptables-save.txt")
	f, err := os.Create(big)
	must(err)
	must(f.Truncate(107_000_000))
	f.Close()
	for _, n := range []string{"a", "b", "c", "z"} {
		must(os.WriteFile(filepath.Join(dir, "nodes/n1/"+n+".txt"), bytes.Repeat([]byte("x"), 400_000), 0o644))
	}
	grow := filepath.Join(dir, "nodes/n1/grow.txt")
	must(os.WriteFile(grow, []byte("line\n"), 0o644))

	b, err := Open(dir, Limits{FileBytes: 1_000_000, TotalBytes: 2_500_000})
	must(err)
	defer b.Close()
	probs := problemsText(b)
	if !strings.Contains(probs, "nodes/n1/iptables-save.txt: file larger than 1000000 bytes; truncated") {
		t.Errorf("no truncation problem:\n%s", probs)
	}
	// streamed through Open, the 107 MB file stops at the limit
	rc, err := b.Open("nodes/n1/iptables-save.txt")
	must(err)
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	if err != nil || n != 1_000_000 {
		t.Errorf("Open streamed %d bytes (%v), want the 1000000 allowed", n, err)
	}
	// ReadFile says the text is partial
	if data, err := b.ReadFile("nodes/n1/iptables-save.txt"); len(data) != 1_000_000 || !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadFile: %d bytes, %v", len(data), err)
	}
	// aggregate: in sorted order a, b, c, grow and the cut dump make
	// 2.2 MB; z (400 KB more) is left out
	if b.Has("nodes/n1/z.txt") || !b.Has("nodes/n1/c.txt") {
		t.Errorf("files kept: %v", b.Files())
	}
	var kept int64
	for _, f := range b.Files() {
		kept += b.sizes[f]
	}
	if kept > 2_500_000 {
		t.Errorf("kept %d bytes of files, over the 2500000 total", kept)
	}
	if !strings.Contains(probs, "bundle folder exceeds 2500000 bytes in all; 1 files not read") {
		t.Errorf("no aggregate problem:\n%s", probs)
	}
	// a file that grows after index ends where it was indexed
	if !b.Has("nodes/n1/grow.txt") {
		t.Fatalf("grow.txt left out: %v", b.Files())
	}
	rc, err = b.Open("nodes/n1/grow.txt")
	must(err)
	g, err := os.OpenFile(grow, os.O_APPEND|os.O_WRONLY, 0)
	must(err)
	g.Write(bytes.Repeat([]byte("more\n"), 100_000))
	g.Close()
	n, _ = io.Copy(io.Discard, rc)
	rc.Close()
	if n != 5 {
		t.Errorf("read %d bytes of a file indexed at 5", n)
	}
}

// A folder item swapped for a FIFO after index must not hang Open.
func TestFolderFIFOSwappedAfterIndex(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "flows.json")
	if err := os.WriteFile(p, []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Open(dir, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	os.Remove(p)
	if err := mkfifo(p); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	if _, err := b.Open("flows.json"); err == nil {
		t.Error("a FIFO was opened as a bundle file")
	}
}

// Abort (SIGINT/SIGTERM in the CLI) during an unpack removes the temp root
// and stops the unpack.
func TestAbortDuringUnpackRemovesTemp(t *testing.T) {
	defer func() { temps.Lock(); temps.aborted = false; temps.Unlock() }()
	s := newSandbox(t)
	var es []entry
	for i := range 64 {
		es = append(es, entry{name: "cluster/f" + string(rune('a'+i%26)) + strings.Repeat("x", i), zeros: 512 << 10})
	}
	p := archive(t, s.in, "big.tar", es)
	calls := 0
	_, err := OpenWith(p, Options{TempDir: s.work, Progress: func(done, total int64) {
		// the unpack is under way (files are being written): abort as
		// the signal handler does
		if calls++; calls == 8 {
			if countTree(t, s.work) < 2 {
				t.Error("nothing unpacked yet at the abort")
			}
			Abort()
		}
	}})
	if err == nil || !errors.Is(err, ErrUnreadable) {
		t.Errorf("aborted unpack returned %v", err)
	}
	if calls < 8 {
		t.Fatalf("progress called %d times: the abort never happened", calls)
	}
	s.check(t, true)
}

// Past the memory budget no new file is read: Open and ReadFile fail with
// ErrMemory, which the loader records as a problem (the analysis degrades
// instead of dying of out-of-memory, which Go reports as exit 2).
func TestMemoryBudgetRefusesReads(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "flows.json"), []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Open(dir, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	runtime.GC()                      // the live heap is known after a GC
	prev := membudget.SetReadLimit(1) // any live heap is over one byte
	defer membudget.SetReadLimit(prev)
	if _, err := b.ReadFile("flows.json"); !errors.Is(err, ErrMemory) {
		t.Errorf("ReadFile past the budget: %v", err)
	}
	membudget.SetReadLimit(0)
	if _, err := b.ReadFile("flows.json"); err != nil {
		t.Errorf("ReadFile within the budget: %v", err)
	}
}
