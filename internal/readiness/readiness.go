// Package readiness lets tests wait for a process to be ready — a line in
// its output, a condition on the file system — with a deadline, instead of
// sleeping a fixed time and hoping (which fails on a loaded machine).
package readiness

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Output is an io.Writer to give a process as Stdout/Stderr. It keeps
// everything written and wakes Wait when a wanted text shows up.
type Output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

// NewOutput returns an empty Output.
func NewOutput() *Output { return &Output{changed: make(chan struct{})} }

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	close(o.changed)
	o.changed = make(chan struct{})
	return len(p), nil
}

// String is everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// Wait blocks until text has been written or the deadline passes, or until
// exited is closed (the process ended: the text will not come any more).
func (o *Output) Wait(text string, timeout time.Duration, exited <-chan struct{}) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		o.mu.Lock()
		ok := strings.Contains(o.buf.String(), text)
		ch := o.changed
		o.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-exited:
			if strings.Contains(o.String(), text) {
				return nil
			}
			return fmt.Errorf("process ended without writing %q:\n%s", text, o.String())
		case <-t.C:
			return fmt.Errorf("no %q after %s:\n%s", text, timeout, o.String())
		}
	}
}

// Until polls cond every few milliseconds until it holds or the deadline
// passes (for readiness that has no output: a file, a process name).
func Until(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
