package ss

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
)

func TestSocketsOfSsTunapH(t *testing.T) {
	in := `tcp   LISTEN 0      4096   127.0.0.53%lo:53        0.0.0.0:*     users:(("systemd-resolve",pid=612,fd=14))
tcp   LISTEN 0      128          0.0.0.0:22        0.0.0.0:*     users:(("sshd",pid=901,fd=3))
tcp   LISTEN 0      4096               *:10249           *:*     users:(("kube-proxy",pid=2201,fd=9))
tcp   ESTAB  0      0          10.0.1.5:22     10.0.0.9:51234 users:(("sshd",pid=5000,fd=4))
udp   UNCONN 0      0               [::]:8472          [::]:*
tcp   LISTEN 0      128   [fe80::1%eth0]:8080       [::]:*
`
	socks, probs := Parse(strings.NewReader(in))
	if len(probs) > 0 || len(socks) != 6 {
		t.Fatalf("%v %v", socks, probs)
	}
	if socks[0].Local.Iface != "lo" || socks[0].Local.Port != 53 || !strings.Contains(socks[0].Process, "systemd-resolve") {
		t.Fatalf("%+v", socks[0])
	}
	node := netip.MustParseAddr("10.0.1.5")
	if !socks[1].Accepts(node, 22) || socks[3].Accepts(node, 22) {
		t.Fatal("LISTEN on 0.0.0.0:22 accepts, ESTAB does not")
	}
	if !socks[2].Accepts(node, 10249) || !socks[4].Accepts(node, 8472) {
		t.Fatal("* and [::] accept IPv4")
	}
	if socks[5].Local.Iface != "eth0" || socks[5].Local.Addr != netip.MustParseAddr("fe80::1") {
		t.Fatalf("%+v", socks[5].Local)
	}
}

func TestLabSsOutputParses(t *testing.T) {
	// lab namespaces have no sockets: an empty file is a valid answer
	socks, probs := Parse(strings.NewReader(""))
	if len(socks) != 0 || len(probs) != 0 {
		t.Fatal(socks, probs)
	}
	if _, probs := Parse(strings.NewReader("tcp LISTEN x 0 a:1 b:2\n")); len(probs) != 1 {
		t.Fatal(probs)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("tcp LISTEN 0 1 [::1%lo]:1 *:*\n"))
	f.Add([]byte("Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\nudp UNCONN 0 0 0.0.0.0:53 0.0.0.0:*\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		socks, probs := Parse(bytes.NewReader(b))
		nlines := bytes.Count(b, []byte("\n")) + 1
		if len(socks) > nlines {
			t.Fatalf("%d sockets from %d lines", len(socks), nlines)
		}
		last := 0
		for _, s := range socks {
			// one socket per line, in order, on a line of the input
			if s.Line <= last || s.Line > nlines {
				t.Fatalf("socket at line %d after line %d, of %d", s.Line, last, nlines)
			}
			last = s.Line
			for _, e := range []Endpoint{s.Local, s.Peer} {
				if e.Port < -1 || e.Port > 65535 {
					t.Fatalf("port %d", e.Port)
				}
			}
		}
		for _, p := range probs {
			if p.Line < 1 || p.Line > nlines {
				t.Fatalf("problem at line %d of %d", p.Line, nlines)
			}
		}
		if len(bytes.TrimSpace(b)) == 0 && len(socks)+len(probs) > 0 {
			t.Fatal("sockets or problems from an empty file")
		}
	})
}
