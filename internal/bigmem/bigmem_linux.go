package bigmem

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

const hugePage = 2 << 20

// advise asks for huge pages on the aligned 2 MiB pages inside [p, p+n).
// The block is heap memory of this process, alive while the caller holds
// it: the advice only changes how its pages are backed, never their
// content, so an error (an old kernel, THP "never") is ignored.
func advise(p unsafe.Pointer, n uintptr) {
	beg := (uintptr(p) + hugePage - 1) &^ (hugePage - 1)
	end := (uintptr(p) + n) &^ (hugePage - 1)
	if end > beg {
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, beg, end-beg, unix.MADV_HUGEPAGE)
	}
}

// populate faults in the pages of [p, p+n) for writing
// (MADV_POPULATE_WRITE); their content is unchanged. Errors (an old
// kernel) are ignored: the pages are then backed when first touched.
func populate(p unsafe.Pointer, n uintptr) {
	beg := uintptr(p) &^ (pageSize - 1)
	end := (uintptr(p) + n + pageSize - 1) &^ (pageSize - 1)
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, beg, end-beg, unix.MADV_POPULATE_WRITE)
}

const pageSize = 4096

// MapFile maps the first size bytes of f read-only and populated (the
// page cache's pages, no copy). ok false where it cannot: then read it.
// The mapping lives as long as the process. If the file shrinks while
// mapped, reading past its new end faults (SIGBUS): a reader that must
// survive that runs under debug.SetPanicOnFault.
func MapFile(f *os.File, size int64) (b []byte, ok bool) {
	if size <= 0 || size > 1<<40 || int64(int(size)) != size {
		return nil, false
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_POPULATE)
	if err != nil {
		return nil, false
	}
	return b, true
}
