package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"tkesnap/internal/safetext"
)

// writeAtomic writes an -o file whole or not at all: the report goes to a
// temporary file in the target's folder (same file system) that is renamed
// over the target only once it is complete, so an interrupted or failed
// run leaves the previous report intact and no cut file. The temporary
// file is removed on error and on SIGINT/SIGTERM (atAbort). The content
// passes the one sanitizer, like everything printed.
func writeAtomic(target string, write func(io.Writer) error) error {
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return usageErr("-o: %v", err)
	}
	name := tmp.Name()
	done := atAbort(func() { os.Remove(name) })
	renamed := false
	defer func() {
		// also on a panic while rendering: no temporary file stays
		if !renamed {
			tmp.Close()
			os.Remove(name)
		}
		done()
	}()
	fail := func(code int, err error) error {
		return &exitError{code: code, err: err}
	}
	bw := bufio.NewWriterSize(tmp, 256<<10)
	sw := safetext.NewWriter(bw)
	if err := write(sw); err != nil {
		return fail(1, fmt.Errorf("render: %w", err))
	}
	if err := sw.Flush(); err != nil {
		return fail(1, fmt.Errorf("-o %s: %w", target, err))
	}
	if err := bw.Flush(); err != nil {
		return fail(1, fmt.Errorf("-o %s: %w", target, err))
	}
	// the mode a plain create would give (CreateTemp makes 0600)
	if err := tmp.Chmod(0o644 &^ umask()); err != nil {
		return fail(1, fmt.Errorf("-o %s: %w", target, err))
	}
	if err := tmp.Sync(); err != nil {
		return fail(1, fmt.Errorf("-o %s: %w", target, err))
	}
	if err := tmp.Close(); err != nil {
		return &exitError{code: 1, err: fmt.Errorf("-o %s: %w", target, err)}
	}
	if err := os.Rename(name, target); err != nil {
		return usageErr("-o: %v", err)
	}
	renamed = true
	return nil
}
