package readiness

import (
	"fmt"
	"testing"
	"time"
)

func TestWaitSeesTextWrittenInPieces(t *testing.T) {
	o := NewOutput()
	go func() {
		fmt.Fprint(o, "tcpdump: listen")
		fmt.Fprint(o, "ing on eth0\n")
	}()
	if err := o.Wait("listening on eth0", 10*time.Second, nil); err != nil {
		t.Fatal(err)
	}
}

func TestWaitFailsWhenTheProcessEndsWithoutTheText(t *testing.T) {
	o := NewOutput()
	fmt.Fprint(o, "tcpdump: eth0: No such device\n")
	exited := make(chan struct{})
	close(exited)
	if err := o.Wait("listening on", time.Minute, exited); err == nil {
		t.Fatal("Wait succeeded without the text")
	}
}

func TestWaitFailsAtTheDeadline(t *testing.T) {
	if err := NewOutput().Wait("never", time.Millisecond, nil); err == nil {
		t.Fatal("Wait succeeded without the text")
	}
}

func TestUntil(t *testing.T) {
	n := 0
	if !Until(10*time.Second, func() bool { n++; return n == 3 }) {
		t.Fatal("Until gave up before the condition held")
	}
	if Until(time.Millisecond, func() bool { return false }) {
		t.Fatal("Until reported a condition that never held")
	}
}
