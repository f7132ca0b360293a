package iptables

import (
	"fmt"
	"testing"
)

// Every chain added is found by its name, from an empty set and from a
// presized one, through growth; a name never added is not found.
func TestChainSetFindsWhatWasAdded(t *testing.T) {
	for _, hint := range []int{0, 1, 100, 5000} {
		var tb Table
		if hint > 0 {
			tb.chains = newChainSet(hint)
		}
		for i := 0; i < 5000; i++ {
			tb.addChain(&Chain{Name: fmt.Sprintf("KUBE-SVC-%d", i)}, chainSlot{})
			if i%997 == 0 {
				for j := 0; j <= i; j++ {
					name := fmt.Sprintf("KUBE-SVC-%d", j)
					if c := tb.Chain(name); c == nil || c.Name != name || c.seq != j {
						t.Fatalf("hint %d, %d added: %s not found", hint, i+1, name)
					}
				}
			}
		}
		for _, name := range []string{"", "KUBE-SVC-5000", "KUBE-SVC-", "kube-svc-1"} {
			if c := tb.Chain(name); c != nil {
				t.Fatalf("hint %d: %q found as %s", hint, name, c.Name)
			}
		}
		if n, size := tb.chains.n, len(tb.chains.slots); n != 5000 || 2*n > size {
			t.Fatalf("hint %d: %d chains in %d slots", hint, n, size)
		}
	}
	var empty Table
	if empty.Chain("INPUT") != nil {
		t.Fatal("a chain found in an empty table")
	}
}
