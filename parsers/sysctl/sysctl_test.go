package sysctl

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const lab = "../../testdata/datapath/bundle/nodes"

func TestLabSysctlDumpsParseAndShowTheFaults(t *testing.T) {
	cases := []struct {
		node, key, want string
	}{
		{"healthy-a", "net.ipv4.ip_forward", "1"},
		{"fwd-off", "net.ipv4.ip_forward", "0"},
		{"brnf-off", "net.bridge.bridge-nf-call-iptables", "0"},
		{"healthy-a", "net.bridge.bridge-nf-call-iptables", "1"},
		{"rp-strict", "net.ipv4.conf.eth0.rp_filter", "1"},
		{"rp-strict", "net.ipv4.conf.all.rp_filter", "1"},
		{"healthy-b", "net.ipv4.conf.all.rp_filter", "0"},
	}
	for _, c := range cases {
		b, err := os.ReadFile(filepath.Join(lab, c.node, "sysctl.txt"))
		if err != nil {
			t.Fatal(err)
		}
		tb := Parse(bytes.NewReader(b))
		if len(tb.Problems) > 0 {
			t.Fatalf("%s: %v", c.node, tb.Problems)
		}
		v, ok := tb.Get(c.key)
		if !ok || v.Value != c.want {
			t.Errorf("%s %s = %q (%v), want %s", c.node, c.key, v.Value, ok, c.want)
		}
		// the line points at the key in the file
		if l := strings.Split(string(b), "\n")[v.Line-1]; !strings.HasPrefix(l, c.key+" = ") {
			t.Errorf("%s line %d is %q", c.key, v.Line, l)
		}
		if n, _, ok := tb.Int("net.netfilter.nf_conntrack_max"); !ok || n <= 0 {
			t.Errorf("%s: nf_conntrack_max %d", c.node, n)
		}
	}
}

func TestSysctlMessagesAndGarbage(t *testing.T) {
	tb := Parse(strings.NewReader("sysctl: permission denied on key 'net.core.bpf_jit_harden'\nnet.ipv4.ip_local_port_range = 32768\t60999\nno equals here\nnet.ipv4.ip_forward=1\n"))
	if len(tb.Problems) != 1 || tb.Problems[0].Line != 3 {
		t.Fatalf("%v", tb.Problems)
	}
	if n, _, ok := tb.Int("net.ipv4.ip_local_port_range"); !ok || n != 32768 {
		t.Fatalf("range %d", n)
	}
	if v, _ := tb.Get("net.ipv4.ip_forward"); v.Value != "1" || v.Line != 4 {
		t.Fatalf("%+v", v)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("net.a = 1\nb=\n=c\nsysctl: x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tb := Parse(bytes.NewReader(b))
		for k, v := range tb.Values {
			if k == "" {
				t.Fatal("empty key")
			}
			// a value read back from the line `sysctl -a` would print
			// for it is the same value
			again := Parse(strings.NewReader(k + " = " + v.Value + "\n"))
			if got, ok := again.Values[k]; !ok || got.Value != v.Value || len(again.Values) != 1 {
				t.Fatalf("%q = %q read back as %+v", k, v.Value, again.Values)
			}
		}
	})
}
