package ipvs

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"tkesnap/internal/realdata"
)

func parseFile(t testing.TB, path string) *Table {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(bytes.NewReader(data))
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// summary renders a table compactly: one service per line with its dests.
func summary(t *Table) string {
	var b strings.Builder
	for _, s := range t.Services {
		b.WriteString(s.Key.String() + " " + s.Scheduler)
		if s.Persistent {
			b.WriteString(" persistent")
		}
		for _, d := range s.Dests {
			b.WriteString(" -> " + d.Addr.String() + "/" + string(d.Forward))
			if d.Weight != 1 {
				b.WriteString("/w" + strconv.Itoa(d.Weight))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestEveryRealIpvsadmDumpParses(t *testing.T) {
	files := realdata.Glob(t, "ipvsadm/*")
	// Ground truth from SOURCES.tsv.
	want := map[string]string{
		"kep265-ipvsadm-ln-clusterip.txt": "TCP 10.102.128.4:3080 rr -> 10.244.0.235:8080/Masq -> 10.244.1.237:8080/Masq\n",
		"kep265-ipvsadm-ln-loadbalancer-ingress-ips.txt": "TCP 10.102.128.4:3080 rr -> 10.244.0.235:8080/Masq\n" +
			"TCP 10.96.1.2:3080 rr -> 10.244.0.235:8080/Masq\nTCP 10.96.1.3:3080 rr -> 10.244.0.235:8080/Masq\n",
		"kep265-ipvsadm-ln-onlylocal-endpoints.txt":        "TCP 10.102.128.4:3080 rr -> 10.244.0.235:8080/Masq\n",
		"kep265-ipvsadm-ln-port-remapping-typo-header.txt": "TCP 10.102.128.4:3080 rr -> 10.244.0.235:8080/Masq -> 10.244.1.237:8080/Masq\n",
		"kep265-ipvsadm-ln-session-affinity-no-dests.txt":  "TCP 10.102.128.4:3080 rr persistent\n",
		"kube-router-pod-toolbox-ipvsadm-ln.txt": "TCP 10.3.0.1:443 rr persistent -> 10.10.3.2:443/Masq\nTCP 10.3.0.10:53 rr -> 10.2.0.2:53/Masq\n" +
			"TCP 10.3.0.15:2379 rr -> 10.10.3.3:2379/Masq\nTCP 10.3.0.155:2379 rr -> 10.10.3.3:2379/Masq\nUDP 10.3.0.10:53 rr -> 10.2.0.2:53/Masq\n",
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			tb := parseFile(t, f)
			if len(tb.Problems) > 0 {
				t.Fatalf("problems: %v", tb.Problems)
			}
			if tb.Format != FormatList || tb.Version != "1.2.1" || tb.Size != 4096 {
				t.Errorf("format %q version %q size %d", tb.Format, tb.Version, tb.Size)
			}
			w, ok := want[name]
			if !ok {
				t.Fatalf("no ground truth for %s: add it", name)
			}
			if got := summary(tb); got != w {
				t.Errorf("got\n%s\nwant\n%s", got, w)
			}
		})
	}
}

func TestKubeRouterDumpKeepsConnectionCountsAndPersistenceMask(t *testing.T) {
	tb := parseFile(t, realdata.Path(t, "ipvsadm/kube-router-pod-toolbox-ipvsadm-ln.txt"))
	s := tb.Lookup("tcp", ap("10.3.0.15:2379"))
	if s == nil || len(s.Dests) != 1 || s.Dests[0].ActiveConn != 45 || !s.Dests[0].HasConnCounts() {
		t.Fatalf("etcd service: %+v", s)
	}
	api := tb.Lookup("tcp", ap("10.3.0.1:443"))
	if api == nil || !api.Persistent || api.Timeout != 10800 || api.Netmask != "0.0.0.0" {
		t.Fatalf("api service: %+v", api)
	}
	if tb.Lookup("udp", ap("10.3.0.10:53")) == nil || tb.Lookup("udp", ap("10.3.0.1:443")) != nil {
		t.Fatal("lookup must distinguish protocols")
	}
}

func TestSaveFormatReadsEveryServiceKindAndRoundTrips(t *testing.T) {
	data, err := os.ReadFile("testdata/save.txt")
	if err != nil {
		t.Fatal(err)
	}
	tb := Parse(bytes.NewReader(data))
	if len(tb.Problems) > 0 {
		t.Fatalf("problems: %v", tb.Problems)
	}
	if tb.Format != FormatSave || len(tb.Services) != 7 {
		t.Fatalf("format %s, %d services", tb.Format, len(tb.Services))
	}
	dns := tb.Lookup("tcp", ap("10.96.0.10:53"))
	if dns == nil || len(dns.Dests) != 2 || dns.Dests[1].Weight != 0 || dns.Dests[1].Line != 5 {
		t.Fatalf("dns tcp: %+v", dns)
	}
	np := tb.Lookup("tcp", ap("10.0.1.5:30080"))
	if np == nil || len(np.Dests) != 0 {
		t.Fatalf("nodeport without endpoints: %+v", np)
	}
	sctp := tb.Lookup("sctp", ap("10.96.3.3:3868"))
	if sctp == nil || sctp.Scheduler != "sh" || strings.Join(sctp.SchedFlags, ",") != "sh-fallback,sh-port" || sctp.Dests[0].Weight != 2 {
		t.Fatalf("sctp: %+v", sctp)
	}
	fwm := tb.Service(Key{Proto: FWMark, Mark: 100, IPv6: true})
	if fwm == nil || fwm.Netmask != "64" || fwm.Dests[0].Forward != Tunnel || !strings.Contains(fwm.Dests[0].TunnelOpts, "--tun-port 6080") {
		t.Fatalf("fwmark: %+v", fwm)
	}
	if v6 := tb.Lookup("tcp", ap("[fd00:96::1]:80")); v6 == nil || v6.Dests[0].Addr != ap("[fd00:244::7]:8080") {
		t.Fatalf("ipv6: %+v", v6)
	}
	var out bytes.Buffer
	if err := WriteSave(&out, tb); err != nil {
		t.Fatal(err)
	}
	if out.String() != string(data) {
		t.Errorf("round trip differs:\n%s\nwant\n%s", out.String(), data)
	}
}

func TestListFormatWithFlagsAgreesWithSaveFormat(t *testing.T) {
	list := parseFile(t, "testdata/list-fwm-flags.txt")
	save := parseFile(t, "testdata/save.txt")
	if len(list.Problems) > 0 {
		t.Fatalf("problems: %v", list.Problems)
	}
	for _, ls := range list.Services {
		ss := save.Service(ls.Key)
		if ss == nil {
			t.Errorf("%s only in list", ls.Key)
			continue
		}
		if ls.Scheduler != ss.Scheduler || ls.Persistent != ss.Persistent || strings.Join(ls.SchedFlags, ",") != strings.Join(ss.SchedFlags, ",") {
			t.Errorf("%s: list %+v save %+v", ls.Key, ls, ss)
		}
	}
	udp := list.Lookup("udp", ap("10.96.0.10:53"))
	if !udp.OnePacket || udp.Dests[1].Weight != 0 || udp.Dests[0].InActConn != 12 {
		t.Errorf("udp dns: %+v %+v", udp, udp.Dests[0])
	}
}

func TestStatsAndRateMergeOntoTheTable(t *testing.T) {
	base := parseFile(t, "testdata/save.txt")
	st := parseFile(t, "testdata/stats-exact.txt")
	rt := parseFile(t, "testdata/rate.txt")
	for _, x := range []*Table{st, rt} {
		if len(x.Problems) > 0 {
			t.Fatalf("problems: %v", x.Problems)
		}
	}
	if st.Format != FormatStats || rt.Format != FormatRate {
		t.Fatalf("formats %s %s", st.Format, rt.Format)
	}
	base.MergeCounters(st)
	base.MergeCounters(rt)
	dns := base.Lookup("tcp", ap("10.96.0.10:53"))
	if dns.Stats == nil || dns.Stats.Conns != 123456789012 || dns.Stats.OutBytes != 1283000123456 || dns.Stats.Approx {
		t.Fatalf("dns stats %+v", dns.Stats)
	}
	if dns.Dests[1].Stats == nil || dns.Dests[1].Stats.Conns != 5 {
		t.Fatalf("dest stats %+v", dns.Dests[1].Stats)
	}
	api := base.Lookup("tcp", ap("10.96.0.1:443"))
	if api.Rate == nil || api.Rate.OutBytes != 4000 || api.Dests[0].Rate.InPkts != 10 {
		t.Fatalf("rate %+v", api.Rate)
	}
	r := parseFile(t, "testdata/stats-rounded.txt")
	c := r.Services[0].Stats
	if !c.Approx || c.InPkts != 123456000 || c.InBytes != 4521000000 || c.OutBytes != 1283000000000 {
		t.Fatalf("rounded %+v", c)
	}
}

func TestConnectionListParses(t *testing.T) {
	tb := parseFile(t, "testdata/conns.txt")
	if len(tb.Problems) > 0 || len(tb.Conns) != 3 || tb.Format != FormatConns {
		t.Fatalf("%+v", tb)
	}
	c := tb.Conns[1]
	if c.Proto != "UDP" || c.Virtual != ap("10.96.0.10:53") || c.Dest != ap("172.16.1.7:53") || c.Line != 4 {
		t.Fatalf("%+v", c)
	}
	if tb.Conns[2].Client != ap("[fd00:244::9]:40000") {
		t.Fatalf("%+v", tb.Conns[2])
	}
}

func TestBadLinesAreProblemsWithLineNumbers(t *testing.T) {
	in := "-A -t 10.96.0.1:443 -s rr\n" +
		"-a -t 10.96.0.9:443 -r 10.0.0.1:1 -m -w 1\n" + // unknown service
		"-A -t kubernetes:https -s rr\n" + // not numeric
		"TCP  10.1.1.1:80 rr\n" +
		"  -> 10.2.2.2:80 Bogus 1 0 0\n" +
		"-A -t 10.96.0.1:443 -s rr\n" + // duplicate
		"garbage\n"
	tb := ParseString(in)
	lines := map[int]string{}
	for _, p := range tb.Problems {
		lines[p.Line] = p.Message
	}
	for _, l := range []int{2, 3, 5, 6, 7} {
		if lines[l] == "" {
			t.Errorf("no problem at line %d: %v", l, tb.Problems)
		}
	}
	if !strings.Contains(lines[3], "ipvsadm -n") {
		t.Errorf("hostname problem should say to collect with -n: %q", lines[3])
	}
	if len(tb.Services) != 2 {
		t.Errorf("services %d", len(tb.Services))
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/*.txt", realdata.Path(f, "ipvsadm") + "/*"} {
		files, _ := filepath.Glob(p)
		for _, fn := range files {
			if b, err := os.ReadFile(fn); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("-A -f 1 -6 -p\n-a -f 1 -6 -r [::1]:1 -w\nFWM  1 IPv6\n  -> x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tb := Parse(bytes.NewReader(b))
		if len(tb.Problems) > MaxProblems {
			t.Fatalf("%d problems", len(tb.Problems))
		}
		// what was read must survive a save/parse round trip
		var out bytes.Buffer
		if err := WriteSave(&out, tb); err != nil {
			t.Fatal(err)
		}
		again := Parse(&out)
		if len(again.Services) != len(tb.Services) {
			t.Fatalf("round trip: %d services, then %d (%v)\n%s", len(tb.Services), len(again.Services), again.Problems, out.String())
		}
	})
}
