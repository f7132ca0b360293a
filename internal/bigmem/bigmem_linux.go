package bigmem

import (
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
