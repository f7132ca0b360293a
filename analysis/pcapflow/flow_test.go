package pcapflow

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"tkesnap/internal/realdata"
	"tkesnap/internal/testenv"
)

func realPcap(t testing.TB) string {
	return realdata.Path(t, "pcap")
}

func analyzeFile(t testing.TB, path string) (*Result, *Capture) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, c, err := Analyze(f, DefaultLimits(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return r, c
}

func TestCommunityIDSpecVector(t *testing.T) {
	got := CommunityID(6, netip.MustParseAddr("128.232.110.120"), netip.MustParseAddr("66.35.250.204"), 34855, 80)
	if want := "1:LQU9qZlK+B5F3KDmev6m5PMibrg="; got != want {
		t.Fatalf("community id %s, want %s", got, want)
	}
	// Direction does not matter.
	if back := CommunityID(6, netip.MustParseAddr("66.35.250.204"), netip.MustParseAddr("128.232.110.120"), 80, 34855); back != got {
		t.Fatalf("reverse direction hashes differently: %s", back)
	}
	// Echo request and reply hash alike.
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	if CommunityID(1, a, b, 8, 0) != CommunityID(1, b, a, 0, 0) {
		t.Fatal("ICMP echo request and reply differ")
	}
}

// Zeek's conn_state and history for the shared captures whose ground
// truth (SOURCES.tsv) is a single TCP connection.
func TestConnStatesLikeZeek(t *testing.T) {
	dir := realPcap(t)
	cases := []struct{ file, state, history string }{
		{"zeek-tcp-single-syn-unanswered.pcap", "S0", "S"},
		{"zeek-tcp-syn-synack-no-ack.pcap", "S1", "Sh"},
		{"zeek-tcp-syn-then-rst.pcap", "RSTOS0", "SR"},
		{"zeek-tcp-syn-ack-rst.pcap", "RSTOS0", "SaR"},
		{"zeek-http-get.pcap", "SF", "ShADadFf"},
		{"zeek-http-get-to-ssh-server.pcap", "RSTR", "ShADadr"},
		{"zeek-tls-clienthello-to-http-server.pcap", "RSTO", "ShADadfR"},
		{"tcpdump-tcp-rst-ack-with-data.pcap", "RSTRH", "^r"},
		{"tcpdump-tcp-handshake-sll-nanosec.pcap", "S1", "ShA"},
		{"tcpdump-dns-over-tcp.pcap", "SF", "ShADadFf"},
		{"zeek-nflog-http.pcap", "SF", "ShADadFf"},
		{"zeek-vxlan-encapsulated-http.pcap", "SF", "ShADadFf"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			r, _ := analyzeFile(t, filepath.Join(dir, c.file))
			var tcp []*Flow
			for _, f := range r.Flows {
				if f.Proto == 6 {
					tcp = append(tcp, f)
				}
			}
			if len(tcp) != 1 {
				t.Fatalf("%d TCP flows", len(tcp))
			}
			if tcp[0].State != c.state || tcp[0].History != c.history {
				t.Errorf("%s %s, want %s %s", tcp[0].State, tcp[0].History, c.state, c.history)
			}
		})
	}
}

func TestWhatTheSharedCapturesShow(t *testing.T) {
	dir := realPcap(t)
	type want struct {
		unanswered, refused, oneway, icmpPort, icmpUnreach, dnsNoResp, dnsErr, httpErr int
	}
	cases := []struct {
		name, file string
		w          want
		check      func(t *testing.T, r *Result)
	}{
		{"nmap: 8 SYNs unanswered, 6 refused by RST/ACK", "zeek-nmap-syn-refused-and-unanswered.pcap", want{unanswered: 8, refused: 6}, func(t *testing.T, r *Result) {
			if r.DNSReverseMisses != 6 {
				t.Errorf("reverse lookups answered NXDOMAIN: %d, want 6", r.DNSReverseMisses)
			}
		}},
		{"pop3: 2 of 7 connections refused", "zeek-pop3-syn-refused.pcap", want{refused: 2}, func(t *testing.T, r *Result) {
			if r.States["REJ"] != 2 {
				t.Errorf("states %v", r.States)
			}
		}},
		{"one SYN never answered", "zeek-tcp-single-syn-unanswered.pcap", want{unanswered: 1}, nil},
		{"SYN answered by SYN-ACK is not unanswered", "zeek-tcp-syn-synack-no-ack.pcap", want{}, nil},
		{"client abort after SYN is not a refusal", "zeek-tcp-syn-then-rst.pcap", want{}, nil},
		{"duplicated frames are not SYN retransmissions", "zeek-http-duplicate-frames-look-like-retransmissions.pcap", want{}, func(t *testing.T, r *Result) {
			f := r.Flows[0]
			if f.SynCount != 1 || f.Retransmissions != 0 || f.Duplicates < 9 || f.SynAck == 0 {
				t.Errorf("syns %d rxmit %d dup %d synack %d", f.SynCount, f.Retransmissions, f.Duplicates, f.SynAck)
			}
		}},
		{"10 DNS queries to 8.8.8.8 unanswered", "zeek-dns-10-queries-no-response.pcap", want{dnsNoResp: 10}, func(t *testing.T, r *Result) {
			for _, d := range r.DNSNoResponse {
				if d.Server.String() != "8.8.8.8" {
					t.Errorf("server %s", d.Server)
				}
			}
		}},
		{"NXDOMAIN named", "zeek-dns-long-connection-incl-nxdomain.pcap", want{dnsErr: 1}, func(t *testing.T, r *Result) {
			if d := r.DNSErrors[0]; d.Rcode != 3 || d.Name != "www.example.notginh" {
				t.Errorf("%+v", d)
			}
		}},
		{"REFUSED named", "zeek-dns-refused.pcap", want{dnsErr: 1, dnsNoResp: 1}, func(t *testing.T, r *Result) {
			if d := r.DNSErrors[0]; d.Rcode != 5 || d.Name != "dhcp.lbnl.us" {
				t.Errorf("%+v", d)
			}
		}},
		{"SERVFAIL from the resolver inside ERSPAN", "zeek-erspan-dns-servfail-nxdomain.pcap", want{dnsErr: 3, httpErr: 1}, func(t *testing.T, r *Result) {
			var pk []int
			for _, d := range r.DNSErrors {
				if d.Rcode == 2 {
					if d.Server.String() != "192.168.69.2" {
						t.Errorf("server %s", d.Server)
					}
					pk = append(pk, d.Packets...)
				}
			}
			for _, n := range []int{145, 151, 152} {
				if !containsInt(pk, n) {
					t.Errorf("SERVFAIL frame %d not cited (%v)", n, pk)
				}
			}
		}},
		{"NXDOMAIN of search-domain expansions is not an error", "zeek-wikipedia-dns-nxdomain-http.pcap", want{}, func(t *testing.T, r *Result) {
			if r.DNSSearchMisses != 4 {
				t.Errorf("search misses %d, want the 4 NXDOMAIN answers", r.DNSSearchMisses)
			}
		}},
		{"all DNS answered across pcapng interfaces", "zeek-pcapng-multi-interface-dns.pcapng", want{}, nil},
		{"duplicate DNS answer is fine", "zeek-dns-duplicate-response.pcap", want{}, nil},
		{"4 HTTP 404 with URIs", "zeek-http-404-responses.pcap", want{httpErr: 4}, func(t *testing.T, r *Result) {
			if h := r.HTTPErrors[0]; h.Status != 404 || h.URI != "/regular_file.html" || h.Host != "172.24.0.3" || h.Method != "GET" {
				t.Errorf("%+v", h)
			}
		}},
		{"HTTP 400/403/405/411 counted", "zeek-http-many-methods-400-403-405-411.pcap", want{httpErr: -1}, func(t *testing.T, r *Result) {
			n := map[int]int{}
			for _, h := range r.HTTPErrors {
				n[h.Status] += h.Count
			}
			if n[400] != 30 || n[403] != 1 || n[405] != 8 || n[411] != 5 {
				t.Errorf("status counts %v", n)
			}
		}},
		{"HTTP 200 is not an error", "zeek-http-get.pcap", want{}, nil},
		{"ICMP port unreachable", "zeek-icmp-port-unreachable-udp.pcap", want{icmpPort: 1}, nil},
		{"ICMP net unreachable", "zeek-icmp-net-unreachable.pcap", want{icmpUnreach: 1}, nil},
		{"ICMP unreachable without context", "zeek-icmp-destunreach-no-context.pcap", want{icmpUnreach: 1}, nil},
		{"time exceeded is neither", "zeek-icmp-time-exceeded.pcap", want{}, nil},
		{"overlay ping over VXLAN 8472 is fine", "tcpdump-vxlan-udp8472-flannel-port-icmp.pcap", want{}, func(t *testing.T, r *Result) {
			for _, f := range r.Flows {
				if f.Proto == 1 && (f.Orig.Pkts != 4 || f.Resp.Pkts != 4 || f.Tunnel != "vxlan") {
					t.Errorf("ping flow %s o%d r%d tunnel %q", f, f.Orig.Pkts, f.Resp.Pkts, f.Tunnel)
				}
			}
		}},
		{"overlay ping over VXLAN 4789 is fine", "zeek-vxlan-4789-icmp.pcap", want{}, nil},
		{"Geneve ping is fine", "zeek-geneve.pcap", want{}, nil},
		{"empty capture", "tcpdump-empty.pcapng", want{}, func(t *testing.T, r *Result) {
			if r.Packets != 0 || r.FlowCount != 0 {
				t.Errorf("%d packets", r.Packets)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, _ := analyzeFile(t, filepath.Join(dir, c.file))
			var icmpPort, icmpUnreach int
			for _, e := range r.ICMP {
				if e.PortUnreachable() {
					icmpPort++
				}
				if e.Unreachable() {
					icmpUnreach++
				}
			}
			dnsNR := 0
			for _, d := range r.DNSNoResponse {
				dnsNR += d.Count
			}
			got := want{len(r.Unanswered), len(r.Refused), len(r.OneWay), icmpPort, icmpUnreach, dnsNR, len(r.DNSErrors), len(r.HTTPErrors)}
			if c.w.httpErr < 0 {
				got.httpErr = -1
			}
			if got != c.w {
				t.Errorf("got %+v\nwant %+v", got, c.w)
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

func containsInt(l []int, n int) bool {
	for _, x := range l {
		if x == n {
			return true
		}
	}
	return false
}

// tshark's TCP conversation table must agree with our flows: same
// conversations, same frame counts each way.
func TestTCPConversationsAgreeWithTshark(t *testing.T) {
	dir := realPcap(t)
	if _, err := exec.LookPath("tshark"); err != nil {
		testenv.Skip(t, "tshark not installed (apt-get install tshark): cannot compare")
	}
	if _, err := exec.LookPath("mergecap"); err != nil {
		testenv.Skip(t, "mergecap not installed (wireshark-common): cannot compare")
	}
	// All shared captures in one pcapng (one interface per link type), so
	// tshark starts once; test901 is the file tshark itself cannot read.
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcap*"))
	merged := filepath.Join(t.TempDir(), "all.pcapng")
	args := []string{"-F", "pcapng", "-a", "-w", merged}
	for _, f := range files {
		if !strings.Contains(f, "test901") {
			args = append(args, f)
		}
	}
	if out, err := exec.Command("mergecap", args...).CombinedOutput(); err != nil {
		t.Fatalf("mergecap: %v %s", err, out)
	}
	out, err := exec.Command("tshark", "-n", "-r", merged, "-q", "-z", "conv,tcp").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	theirs := parseConv(string(out))
	r, _ := analyzeFile(t, merged)
	ours := map[string][2]int{}
	for _, f := range r.Flows {
		if f.Proto != 6 || !f.Orig.Addr.Is4() {
			continue
		}
		k, _ := convKey(f.Orig.AddrPort(), f.Resp.AddrPort())
		v := ours[k]
		v[0] += f.Orig.Pkts + f.Resp.Pkts + f.Duplicates + f.Fragments
		ours[k] = v
	}
	agree, total := 0, 0
	for k, v := range theirs {
		total++
		if ours[k][0] == v[0] {
			agree++
		} else {
			t.Errorf("%s: tshark %d frames, ours %d", k, v[0], ours[k][0])
		}
	}
	for k := range ours {
		if _, ok := theirs[k]; !ok {
			t.Errorf("%s only in our flows", k)
		}
	}
	if total < 50 {
		t.Errorf("only %d TCP conversations compared", total)
	}
	t.Logf("TCP conversations agreeing with tshark: %d of %d", agree, total)
}

var convLine = regexp.MustCompile(`^(\d+\.\d+\.\d+\.\d+):(\d+)\s+<->\s+(\d+\.\d+\.\d+\.\d+):(\d+)\s+(\d+)\s+\d+\s+\S+\s+(\d+)\s+\d+\s+\S+\s+(\d+)`)

func parseConv(s string) map[string][2]int {
	m := map[string][2]int{}
	for _, l := range strings.Split(s, "\n") {
		x := convLine.FindStringSubmatch(strings.TrimSpace(l))
		if x == nil {
			continue
		}
		p1, _ := strconv.Atoi(x[2])
		p2, _ := strconv.Atoi(x[4])
		a := netip.AddrPortFrom(netip.MustParseAddr(x[1]), uint16(p1))
		b := netip.AddrPortFrom(netip.MustParseAddr(x[3]), uint16(p2))
		k, _ := convKey(a, b)
		tot, _ := strconv.Atoi(x[7])
		v := m[k]
		v[0] += tot
		m[k] = v
	}
	return m
}

func convKey(a, b netip.AddrPort) (string, bool) {
	s := []string{a.String(), b.String()}
	sorted := sort.StringsAreSorted(s)
	sort.Strings(s)
	return fmt.Sprintf("%s<->%s", s[0], s[1]), !sorted
}
