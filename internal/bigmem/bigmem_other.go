//go:build !linux

package bigmem

import (
	"os"
	"unsafe"
)

func advise(unsafe.Pointer, uintptr) {}

func populate(unsafe.Pointer, uintptr) {}

// MapFile: not on this system; read the file instead.
func MapFile(*os.File, int64) ([]byte, bool) { return nil, false }
