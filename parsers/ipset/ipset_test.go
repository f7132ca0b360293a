package ipset

import (
	"bytes"
	"net/netip"
	"os"
	"strings"
	"testing"
)

func TestRealKubeRouterSaveParses(t *testing.T) {
	s, err := ParseFile("../../testdata/netfilter/real/kube-router-testdata-ipset_test_1-ipset-save.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Problems) != 0 {
		t.Fatalf("problems %v", s.Problems)
	}
	if len(s.Sets) != 17 {
		t.Errorf("sets %d", len(s.Sets))
	}
	ap := netip.MustParseAddrPort
	for _, tc := range []struct {
		name     string
		set      string
		flags    string
		proto    uint8
		src, dst string
		want     bool
	}{
		{"service VIP and port is in svip-prt", "kube-router-svip-prt", "dst,dst", 6, "10.242.0.5:40000", "10.96.0.1:443", true},
		{"same VIP on udp is not", "kube-router-svip-prt", "dst,dst", 17, "10.242.0.5:40000", "10.96.0.1:443", false},
		{"pod subnet hash:net", "kube-router-pod-subnets", "src", 6, "10.242.1.77:1", "1.1.1.1:80", true},
		{"node outside pod subnets", "kube-router-pod-subnets", "src", 6, "10.241.0.20:1", "1.1.1.1:80", false},
		{"inet6 set ignores v4 packets", "inet6:kube-router-pod-subnets", "src", 6, "10.242.1.77:1", "1.1.1.1:80", false},
		{"inet6 pod subnet", "inet6:kube-router-pod-subnets", "src", 6, "[2001:db8:42:1001::5]:1", "[2001:db8::1]:80", true},
		{"too few flags never match", "kube-router-svip-prt", "dst", 6, "10.242.0.5:40000", "10.96.0.1:443", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, known := s.Match(tc.set, strings.Split(tc.flags, ","), tc.proto, ap(tc.src), ap(tc.dst))
			if !known || got != tc.want {
				t.Errorf("got %v known %v, want %v", got, known, tc.want)
			}
		})
	}
	if _, known := s.Match("nope", []string{"src"}, 6, ap("1.1.1.1:1"), ap("1.1.1.1:2")); known {
		t.Error("missing set must be unknown")
	}
}

func TestKubeProxyIPVSSetTypes(t *testing.T) {
	save := `create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536 comment
add KUBE-LOOP-BACK 10.244.1.10,tcp:8080,10.244.1.10 comment "default/web"
create KUBE-NODE-PORT-TCP bitmap:port range 0-65535
add KUBE-NODE-PORT-TCP 30080
create KUBE-LOAD-BALANCER-SOURCE-CIDR hash:ip,port,net family inet hashsize 1024 maxelem 65536
add KUBE-LOAD-BALANCER-SOURCE-CIDR 1.2.3.4,tcp:80,192.168.0.0/16
create NETS hash:net family inet timeout 300
add NETS 10.0.0.0/8 timeout 120
add NETS 10.1.0.0/16 nomatch
`
	s, err := Parse(strings.NewReader(save))
	if err != nil || len(s.Problems) != 0 {
		t.Fatal(err, s.Problems)
	}
	ap := netip.MustParseAddrPort
	check := func(set, flags string, proto uint8, src, dst string, want bool) {
		t.Helper()
		got, known := s.Match(set, strings.Split(flags, ","), proto, ap(src), ap(dst))
		if !known || got != want {
			t.Errorf("%s %s %s->%s: got %v known %v want %v", set, flags, src, dst, got, known, want)
		}
	}
	check("KUBE-LOOP-BACK", "dst,dst,src", 6, "10.244.1.10:5555", "10.244.1.10:8080", true)
	check("KUBE-LOOP-BACK", "dst,dst,src", 6, "10.244.1.11:5555", "10.244.1.10:8080", false)
	check("KUBE-NODE-PORT-TCP", "dst", 6, "1.1.1.1:5555", "10.0.0.1:30080", true)
	check("KUBE-NODE-PORT-TCP", "dst", 6, "1.1.1.1:5555", "10.0.0.1:30081", false)
	check("KUBE-LOAD-BALANCER-SOURCE-CIDR", "dst,dst,src", 6, "192.168.3.3:1", "1.2.3.4:80", true)
	check("KUBE-LOAD-BALANCER-SOURCE-CIDR", "dst,dst,src", 6, "172.16.3.3:1", "1.2.3.4:80", false)
	check("NETS", "src", 17, "10.2.0.1:1", "1.1.1.1:53", true)
	check("NETS", "src", 17, "10.1.0.1:1", "1.1.1.1:53", false) // nomatch is more specific
	if m := s.Set("NETS").Members[0]; m.Timeout != 120 {
		t.Errorf("timeout %d", m.Timeout)
	}
	if m := s.Set("KUBE-LOOP-BACK").Members[0]; m.Comment != "default/web" {
		t.Errorf("comment %q", m.Comment)
	}
}

func TestIpsetListFormat(t *testing.T) {
	list := `Name: KUBE-CLUSTER-IP
Type: hash:ip,port
Revision: 5
Header: family inet hashsize 1024 maxelem 65536
Size in memory: 600
References: 2
Number of entries: 2
Members:
10.96.0.1,tcp:443
10.96.0.10,udp:53

Name: EMPTY
Type: hash:net
Revision: 6
Header: family inet6 hashsize 1024 maxelem 65536
Size in memory: 600
References: 0
Number of entries: 0
Members:
`
	s, err := Parse(strings.NewReader(list))
	if err != nil || len(s.Problems) != 0 {
		t.Fatal(err, s.Problems)
	}
	if len(s.Sets) != 2 || len(s.Set("KUBE-CLUSTER-IP").Members) != 2 || s.Set("EMPTY").Family != 6 {
		t.Fatalf("%+v", s.Sets)
	}
	hit, known := s.Match("KUBE-CLUSTER-IP", []string{"dst", "dst"}, 17, netip.MustParseAddrPort("10.244.0.5:5"), netip.MustParseAddrPort("10.96.0.10:53"))
	if !hit || !known {
		t.Error("udp 53 not matched")
	}
}

func TestBrokenLinesAreProblems(t *testing.T) {
	s, _ := Parse(strings.NewReader("create A hash:ip\nadd A 1.2.3\nadd B 1.1.1.1\nwhat\n"))
	if len(s.Problems) != 3 || s.Problems[0].Line != 2 || s.Problems[2].Line != 4 {
		t.Errorf("%v", s.Problems)
	}
}

func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("../../testdata/netfilter/real/kube-router-testdata-ipset_test_1-ipset-save.txt"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("Name: X\nType: hash:ip,port,net\nMembers:\n1.1.1.1,udp:1-5,10.0.0.0/8\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, _ := Parse(strings.NewReader(string(data)))
		if s == nil {
			return
		}
		nlines := strings.Count(string(data), "\n") + 1
		if len(bytes.TrimSpace(data)) == 0 && (len(s.Sets) > 0 || len(s.Problems) > 0) {
			t.Fatalf("empty input gave %d sets, %v", len(s.Sets), s.Problems)
		}
		for _, set := range s.Sets {
			// the name index finds a set of that name, and every set and
			// member points at a line of the input
			if got := s.Set(set.Name); got == nil || got.Name != set.Name {
				t.Fatalf("Set(%q) = %v", set.Name, got)
			}
			if set.Line < 1 || set.Line > nlines {
				t.Fatalf("set %q at line %d of %d", set.Name, set.Line, nlines)
			}
			for _, m := range set.Members {
				if m.Line < set.Line || m.Line > nlines {
					t.Fatalf("member %q of %q (line %d) at line %d of %d", m.Raw, set.Name, set.Line, m.Line, nlines)
				}
			}
			s.Match(set.Name, []string{"src", "dst", "src"}, 6, netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:2"))
		}
		if _, known := s.Match("\x00no such set", []string{"src"}, 6, netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:2")); known {
			t.Fatal("a set that is not in the dump is known")
		}
	})
}
