package ipvs

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"
)

// table10k is a kube-proxy-like IPVS table: 10,000 virtual services with
// 3 real servers each, in `ipvsadm -Sn` format.
func table10k(tb testing.TB) []byte {
	tb.Helper()
	t := &Table{}
	for i := 0; i < 10000; i++ {
		vip := netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)})
		s := &Service{Key: Key{Proto: TCP, Addr: netip.AddrPortFrom(vip, 80)}, Scheduler: "rr"}
		for j := 0; j < 3; j++ {
			ep := netip.AddrFrom4([4]byte{172, 16, byte(i >> 6), byte(i<<2 | j)})
			s.Dests = append(s.Dests, &Dest{Addr: netip.AddrPortFrom(ep, 8080), Forward: Masq, Weight: 1})
		}
		t.Services = append(t.Services, s)
	}
	var b bytes.Buffer
	if err := WriteSave(&b, t); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func BenchmarkParse10kServices(b *testing.B) {
	data := table10k(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		t := Parse(bytes.NewReader(data))
		if len(t.Services) != 10000 || len(t.Problems) > 0 {
			b.Fatal(len(t.Services), t.Problems)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/service")
}

func TestBenchTableIsWellFormed(t *testing.T) {
	tb := Parse(bytes.NewReader(table10k(t)))
	if len(tb.Services) != 10000 || len(tb.Problems) != 0 {
		t.Fatal(len(tb.Services), tb.Problems)
	}
	if s := tb.Lookup("tcp", netip.MustParseAddrPort(fmt.Sprintf("10.96.%d.%d:80", 9999>>8, 9999&255))); s == nil || len(s.Dests) != 3 {
		t.Fatalf("%+v", s)
	}
}
