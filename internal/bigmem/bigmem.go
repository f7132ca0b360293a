// Package bigmem allocates the large, fully used blocks that parsers fill
// (arena-style slices of rules) so that the kernel backs them with
// transparent huge pages where it can, and maps input files read-only.
//
// Why: on a VM every 4 KiB page first touched is a fault, and filling a
// 150 MB ruleset costs ~40k faults — measured as a third of the CPU time
// of `trace --iptables` on a 10k-Service dump. The Go runtime does not ask
// for huge pages for its heap (the host's THP mode is usually "madvise"),
// so a block that will be filled completely is advised here, before it is
// touched. The advice is a hint: where it is refused nothing changes.
package bigmem

import (
	"runtime"
	"unsafe"
)

// MinAdvise is the smallest block worth advising: only the aligned huge
// pages inside a block are advised, and a smaller one holds none.
const MinAdvise = 2 << 20

// Make returns make([]T, n), advised for huge pages when it is large.
// Only for blocks the caller fills (nearly) completely: an advised block
// is backed 2 MiB at a time.
func Make[T any](n int) []T {
	s := make([]T, n)
	var z T
	if size := uintptr(n) * unsafe.Sizeof(z); n > 0 && size >= MinAdvise {
		advise(unsafe.Pointer(unsafe.SliceData(s)), size)
	}
	return s
}

// PrefaultAsync is Prefault on another goroutine, for a caller about to
// fill s from its start: on a VM a page's first touch is a fault of
// several microseconds, which this moves off the caller's goroutine (to
// another core, when there is one). The caller may write s meanwhile.
func PrefaultAsync[T any](s []T) {
	var z T
	if uintptr(len(s))*unsafe.Sizeof(z) >= MinAdvise {
		go Prefault(s)
	}
}

// Prefault backs the pages of s with memory now, in one system call
// instead of a fault per page; their contents never change. A no-op
// where the system cannot (before Linux 5.14, other systems).
func Prefault[T any](s []T) {
	var z T
	if len(s) > 0 {
		populate(unsafe.Pointer(unsafe.SliceData(s)), uintptr(len(s))*unsafe.Sizeof(z))
	}
	runtime.KeepAlive(s)
}
