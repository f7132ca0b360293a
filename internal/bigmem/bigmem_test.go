package bigmem

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
)

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

var sink byte

// A mapped file reads as its bytes; cut short afterwards, a read past its
// new end faults, and under SetPanicOnFault that is a panic a caller can
// recover (trace --iptables says the file shrank), not a crash.
func TestMapFileFaultsRecoverably(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dump")
	want := bytes.Repeat([]byte("-A KUBE-SERVICES -j ACCEPT\n"), 4096)
	if err := os.WriteFile(path, want, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, ok := MapFile(f, int64(len(want)))
	if !ok {
		if runtime.GOOS == "linux" {
			t.Fatal("MapFile refused a regular file on linux")
		}
		t.Skipf("MapFile: not on %s (the file is read instead)", runtime.GOOS)
	}
	if !bytes.Equal(b, want) {
		t.Fatal("mapped bytes differ from the file")
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	faulted := func() (fault bool) {
		defer func() {
			v := recover()
			_, fault = v.(interface{ Addr() uintptr })
		}()
		sink = b[len(b)-1]
		return false
	}()
	if !faulted {
		t.Fatal("reading a mapped file past its new end did not fault")
	}
}

// Prefault backs a fresh block with memory (resident set up by about its
// size) and changes no byte of it, zeroed or written, even while another
// goroutine writes it (PrefaultAsync's use).
func TestPrefaultBacksPagesAndKeepsContents(t *testing.T) {
	const size = 16 << 20
	s := make([]byte, size)
	before := resident(t)
	Prefault(s)
	if runtime.GOOS == "linux" {
		if grew := resident(t) - before; grew < size*3/4 {
			t.Fatalf("resident set grew by %d bytes for a %d-byte block", grew, size)
		}
	}
	for i := range s {
		if s[i] != 0 {
			t.Fatalf("byte %d is %d after Prefault, not zero", i, s[i])
		}
	}
	w := make([]uint64, size/8)
	done := make(chan struct{})
	go func() { Prefault(w); close(done) }()
	for i := range w {
		w[i] = uint64(i) * 2654435761
	}
	<-done
	Prefault(w)
	for i := range w {
		if w[i] != uint64(i)*2654435761 {
			t.Fatalf("word %d changed by Prefault", i)
		}
	}
}

// resident is the process's resident set in bytes (/proc/self/statm).
func resident(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		if runtime.GOOS != "linux" {
			return 0
		}
		t.Fatal(err)
	}
	var total, res int
	if _, err := fmt.Sscan(string(b), &total, &res); err != nil {
		t.Fatal(err)
	}
	return res * os.Getpagesize()
}
