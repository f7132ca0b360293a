package resolvconf

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"
)

func TestPodResolvConfFromLab(t *testing.T) {
	b, err := os.ReadFile("../../testdata/datapath/bundle/nodes/healthy-a/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	c := Parse(bytes.NewReader(b))
	if len(c.Problems) > 0 || len(c.Nameservers) != 1 || c.Nameservers[0].Addr.String() != "10.0.1.2" || c.Ndots() != 5 || len(c.Search) != 3 {
		t.Fatalf("%+v", c)
	}
}

func TestResolverRulesLastSearchWinsAndOnlyThreeNameservers(t *testing.T) {
	c := Parse(strings.NewReader("# x\nnameserver 1.1.1.1\nnameserver 1.1.1.2\nnameserver fe80::1%eth0\nnameserver 1.1.1.4\ndomain a\nsearch b c\noptions ndots:20 rotate\nbogus x\n"))
	if len(c.Nameservers) != 4 || !c.Nameservers[3].Ignored || c.Nameservers[2].Ignored {
		t.Fatalf("%+v", c.Nameservers)
	}
	if strings.Join(c.Search, ",") != "b,c" || c.SearchLine != 7 || c.Ndots() != 15 {
		t.Fatalf("%+v", c)
	}
	if _, ok := c.Options["rotate"]; !ok || len(c.Problems) != 1 || c.Problems[0].Line != 9 {
		t.Fatalf("%+v", c)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("nameserver 10.0.0.1\noptions ndots:x\n"))
	f.Add([]byte("nameserver 10.0.0.1\nnameserver fe80::1%eth0\nnameserver 10.0.0.2\nnameserver 10.0.0.3\nsearch a b\ndomain c\noptions ndots:5 rotate\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := Parse(bytes.NewReader(b))
		if n := c.Ndots(); n < 0 || n > 15 {
			t.Fatal(n)
		}
		// the resolver uses the first MaxNS nameservers, in order
		for i, ns := range c.Nameservers {
			if ns.Ignored != (i >= MaxNS) {
				t.Fatalf("nameserver %d (%v) ignored=%v", i, ns.Addr, ns.Ignored)
			}
		}
		// written back as resolv.conf, the configuration reads the same
		var w strings.Builder
		for _, ns := range c.Nameservers {
			fmt.Fprintf(&w, "nameserver %s\n", ns.Addr.WithZone(""))
		}
		if c.SearchLine > 0 {
			fmt.Fprintf(&w, "search %s\n", strings.Join(c.Search, " "))
		}
		for k, v := range c.Options {
			if v != "" || k == "" {
				k += ":" + v
			}
			fmt.Fprintf(&w, "options %s\n", k)
		}
		again := Parse(strings.NewReader(w.String()))
		if len(again.Nameservers) != len(c.Nameservers) || len(again.Problems) != 0 ||
			strings.Join(again.Search, " ") != strings.Join(c.Search, " ") || !maps.Equal(again.Options, c.Options) {
			t.Fatalf("%q read back from %q as %+v, was %+v", w.String(), b, again, c)
		}
		for i := range c.Nameservers {
			if again.Nameservers[i].Addr != c.Nameservers[i].Addr.WithZone("") {
				t.Fatalf("nameserver %d: %v read back as %v", i, c.Nameservers[i].Addr, again.Nameservers[i].Addr)
			}
		}
	})
}
