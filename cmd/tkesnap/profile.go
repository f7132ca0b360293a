package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfile writes Go profiles of the whole command when
// TKESNAP_CPUPROFILE / TKESNAP_MEMPROFILE name files (make bench and
// whoever measures a slow bundle: `go tool pprof -top bin/tkesnap F`).
// The returned function finishes them.
func startProfile() func() {
	cpu, mem := os.Getenv("TKESNAP_CPUPROFILE"), os.Getenv("TKESNAP_MEMPROFILE")
	var f *os.File
	if cpu != "" {
		var err error
		if f, err = os.Create(cpu); err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "tkesnap: TKESNAP_CPUPROFILE:", err)
			f = nil
		}
	}
	return func() {
		if f != nil {
			pprof.StopCPUProfile()
			f.Close()
		}
		if mem != "" {
			runtime.GC()
			if w, err := os.Create(mem); err == nil {
				pprof.Lookup("allocs").WriteTo(w, 0)
				w.Close()
			}
		}
	}
}
