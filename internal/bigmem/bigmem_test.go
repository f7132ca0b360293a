package bigmem

import (
	"bytes"
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
