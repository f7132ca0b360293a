package main

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"tkesnap/internal/safetext"
	"tkesnap/parsers/bundle"
)

// cleanups are what an interrupted run must undo before it exits: the
// temporary file of an -o report being written. Unpacked bundles are
// removed by bundle.Abort.
var cleanups struct {
	sync.Mutex
	next int
	fns  map[int]func()
}

// atAbort registers fn to run if the process is interrupted; the returned
// function unregisters it (call it once the thing is cleaned up normally).
func atAbort(fn func()) (done func()) {
	cleanups.Lock()
	defer cleanups.Unlock()
	if cleanups.fns == nil {
		cleanups.fns = map[int]func(){}
	}
	id := cleanups.next
	cleanups.next++
	cleanups.fns[id] = fn
	return func() {
		cleanups.Lock()
		delete(cleanups.fns, id)
		cleanups.Unlock()
	}
}

// runCleanups removes every temporary bundle root and file still
// registered.
func runCleanups() {
	bundle.Abort()
	cleanups.Lock()
	fns := cleanups.fns
	cleanups.fns = nil
	cleanups.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// abort ends the process from outside the command (a signal, the memory
// watchdog) after removing what it left in temp.
func abort(code int, msg string) {
	runCleanups()
	fmt.Fprintln(os.Stderr, "tkesnap:", safetext.String(msg))
	os.Exit(code)
}

// handleSignals makes SIGINT and SIGTERM remove the unpacked bundle and
// a half-written -o file before exiting 128+signal, as a shell would.
func handleSignals() (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			n := 2
			if s == syscall.SIGTERM {
				n = 15
			}
			abort(128+n, fmt.Sprintf("interrupted (%v); temporary files removed", s))
		case <-done:
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}
