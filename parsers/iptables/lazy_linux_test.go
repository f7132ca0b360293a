package iptables

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// A dump of 2 GiB or more is refused by the lazy parse (its line numbers
// and lengths are 32-bit), not misread; the file is sparse and never read.
func TestLazyParseRefusesTwoGiB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 1<<31+16); err != nil {
		t.Fatal(err)
	}
	rs, err := ParseFileWith(path, Options{Limits: DefaultLimits(), Lazy: true})
	if err == nil || !strings.Contains(err.Error(), "2 GiB") {
		t.Fatalf("a 2 GiB dump: %v, %v; want it refused", rs, err)
	}
	// and as a string (mapped, not populated)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := syscall.Mmap(int(f.Fd()), 0, 1<<31+16, syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	defer syscall.Munmap(b)
	rs, err = ParseString(unsafe.String(&b[0], len(b)), Options{Limits: DefaultLimits(), Lazy: true})
	if err == nil || !strings.Contains(err.Error(), "2 GiB") {
		t.Fatalf("a 2 GiB string: %v, %v; want it refused", rs, err)
	}
}
