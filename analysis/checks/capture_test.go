package checks

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"tkesnap/analysis/capture"
	"tkesnap/analysis/driver/drivertest"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/pcapflow"
	"tkesnap/internal/realdata"
	"tkesnap/parsers/bundle"
)

func realPcapDir(t *testing.T) string {
	return realdata.Path(t, "pcap")
}

// loadCapture analyzes a file the way the model does for a bundle.
func loadCapture(t *testing.T, path string, meta model.CaptureMeta) *model.Capture {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := &model.Capture{File: path, Name: filepath.Base(path), Meta: meta}
	c.Result, c.Info, c.Err = pcapflow.Analyze(f, pcapflow.DefaultLimits(), nil)
	if c.Err != nil {
		t.Fatal(c.Err)
	}
	return c
}

func captureIDs(fs []finding.Finding) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.ID)
	}
	sort.Strings(s)
	return strings.Join(s, " ")
}

func TestCaptureFindingsOnRealCaptures(t *testing.T) {
	dir := realPcapDir(t)
	cases := []struct {
		name, file, want string
	}{
		{"a SYN nobody answers times out", "zeek-tcp-single-syn-unanswered.pcap", "PCAP_SYN_UNANSWERED"},
		{"nmap: closed ports refuse, filtered ones stay silent (reverse-lookup NXDOMAINs are not errors)",
			"zeek-nmap-syn-refused-and-unanswered.pcap",
			"PCAP_CONNECTION_REFUSED PCAP_CONNECTION_REFUSED PCAP_CONNECTION_REFUSED PCAP_CONNECTION_REFUSED PCAP_SYN_UNANSWERED PCAP_SYN_UNANSWERED PCAP_SYN_UNANSWERED PCAP_SYN_UNANSWERED"},
		{"POP3 server refuses two connections", "zeek-pop3-syn-refused.pcap", "PCAP_CONNECTION_REFUSED PCAP_CONNECTION_REFUSED"},
		{"a REJECT-style ICMP port unreachable is a refusal", "zeek-icmp-port-unreachable-udp.pcap", "PCAP_CONNECTION_REFUSED"},
		{"net unreachable", "zeek-icmp-net-unreachable.pcap", "PCAP_ICMP_UNREACHABLE"},
		{"DNS server never answers", "zeek-dns-10-queries-no-response.pcap", strings.Repeat("PCAP_DNS_NO_RESPONSE ", 10)},
		{"NXDOMAIN", "zeek-dns-long-connection-incl-nxdomain.pcap", "PCAP_DNS_ERROR"},
		{"SERVFAIL and NXDOMAIN inside ERSPAN, HTTP 401", "zeek-erspan-dns-servfail-nxdomain.pcap", "PCAP_DNS_ERROR PCAP_DNS_ERROR PCAP_DNS_ERROR PCAP_HTTP_ERROR"},
		{"HTTP 404", "zeek-http-404-responses.pcap", "PCAP_HTTP_ERROR PCAP_HTTP_ERROR PCAP_HTTP_ERROR PCAP_HTTP_ERROR"},
		{"snap length cut the IP header", "zeek-trunc-ip4.pcap", "PCAP_TRUNCATED"},
		{"kernel drops recorded in pcapng statistics", "gopacket-pcapng-le-test202-multi-section.pcapng", "PCAP_TRUNCATED"},
		// clean captures: nothing to report
		{"healthy HTTP GET", "zeek-http-get.pcap", ""},
		{"healthy DNS over TCP", "tcpdump-dns-over-tcp.pcap", ""},
		{"healthy DNS over UDP", "tcpdump-dns-udp-query-response.pcap", ""},
		{"healthy overlay ping over flannel VXLAN", "tcpdump-vxlan-udp8472-flannel-port-icmp.pcap", ""},
		{"healthy HTTP in VXLAN", "zeek-vxlan-encapsulated-http.pcap", ""},
		{"duplicated frames are no retransmission", "zeek-http-duplicate-frames-look-like-retransmissions.pcap", ""},
		{"search-domain NXDOMAINs of a name that resolved", "zeek-wikipedia-dns-nxdomain-http.pcap", ""},
		{"empty capture", "tcpdump-empty.pcapng", ""},
		{"handshake without a final ACK", "zeek-tcp-syn-synack-no-ack.pcap", ""},
		{"TLS 1.3", "zeek-tls13-wolfssl.pcap", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := CaptureFindings(loadCapture(t, filepath.Join(dir, c.file), model.CaptureMeta{}))
			if captureIDs(got) != strings.TrimSpace(c.want) {
				t.Errorf("got  %s\nwant %s", captureIDs(got), strings.TrimSpace(c.want))
			}
			for _, f := range got {
				if len(f.Evidence) == 0 || f.Evidence[0].File == "" {
					t.Errorf("%s cites no capture", f.ID)
				}
				if f.ID != "PCAP_TRUNCATED" && f.Evidence[0].Packet == 0 {
					t.Errorf("%s cites no packet", f.ID)
				}
				if err := finding.Render(&f, finding.EN); err != nil {
					t.Errorf("%s: %v", f.ID, err)
				}
				if strings.Contains(f.Message, "<no value>") {
					t.Errorf("%s: %s", f.ID, f.Message)
				}
			}
		})
	}
}

func TestSynUnansweredCitesTheRetryGaps(t *testing.T) {
	dir := realPcapDir(t)
	got := CaptureFindings(loadCapture(t, filepath.Join(dir, "zeek-tcp-single-syn-unanswered.pcap"), model.CaptureMeta{}))
	if len(got) != 1 || got[0].Args["dst"] != "192.150.187.43:80" || got[0].Evidence[0].Packet != 1 {
		t.Fatalf("%+v", got)
	}
}

func TestCollectorMetadataReportsDropsAndCut(t *testing.T) {
	dir := realPcapDir(t)
	c := loadCapture(t, filepath.Join(dir, "zeek-http-get.pcap"), model.CaptureMeta{KernelDrops: 12, Truncated: true, MaxBytes: 6335})
	got := CaptureFindings(c)
	if captureIDs(got) != "PCAP_TRUNCATED" || !strings.Contains(got[0].Args["why"], "12 packets dropped") {
		t.Fatalf("%s %v", captureIDs(got), got)
	}
}

// The lab captures (lab/pcap/record.sh): real tcpdump in network
// namespaces, stored as bundle folders with the node's ip -j state.
func loadLab(t *testing.T, scenario string) *model.Cluster {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "pcap", "lab", scenario)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("lab capture %s missing: run lab/pcap/record.sh as root", scenario)
	}
	b, err := bundle.Open(dir, bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return model.Load(b)
}

func labFindings(t *testing.T, c *model.Cluster) map[string][]finding.Finding {
	drivertest.RunModel(t, c, capture.Analyzer) // decodes the captures
	out := map[string][]finding.Finding{}
	for _, cp := range c.Captures {
		for _, f := range CaptureFindings(cp) {
			out[f.ID] = append(out[f.ID], f)
		}
	}
	for _, f := range CorrelationFindings(c.Captures, CaptureOwners(c)) {
		out[f.ID] = append(out[f.ID], f)
	}
	return out
}

func TestLabCaptures(t *testing.T) {
	cases := []struct {
		scenario string
		name     string
		want     []string // IDs that must fire
		not      []string // IDs that must not
		check    func(t *testing.T, c *model.Cluster, got map[string][]finding.Finding)
	}{
		{"snat", "pod traffic MASQUERADEd on the node: the peer sees the node IP", []string{"PCAP_SOURCE_NATTED", "PCAP_HTTP_ERROR"},
			[]string{"PCAP_SYN_UNANSWERED", "PCAP_LOST_BETWEEN_CAPTURES", "PCAP_CONNECTION_REFUSED", "PCAP_ONE_WAY_TRAFFIC", "PCAP_TRUNCATED"},
			func(t *testing.T, c *model.Cluster, got map[string][]finding.Finding) {
				f := got["PCAP_SOURCE_NATTED"][0]
				if !strings.HasPrefix(f.Args["original"], "10.244.1.10:") || !strings.HasPrefix(f.Args["natted"], "192.168.0.1:") ||
					!strings.Contains(f.Args["original_at"], "pod default/client") || !strings.Contains(f.Args["natted_at"], "node-b eth0") {
					t.Errorf("%v", f.Args)
				}
				for _, h := range got["PCAP_HTTP_ERROR"] {
					if h.Args["status"] != "404" || h.Args["uri"] != "/mytest" {
						t.Errorf("%v", h.Args)
					}
				}
				// tcpdump -i any on node-a: SLL2 interface indexes resolve
				// through nodes/node-a/ip-link.json.
				var any *model.Capture
				for _, cp := range c.Captures {
					if cp.Name == "node-any" {
						any = cp
					}
				}
				names := map[string]bool{}
				for idx := range any.Ifaces {
					names[any.IfaceName(int32(idx))] = true
				}
				if !names["eth0"] || !names["veth-pod"] {
					t.Errorf("interfaces of node-a: %v", names)
				}
				// That capture alone shows the SNAT: each interface of a
				// tcpdump -i any capture is a capture point.
				fs := CorrelationFindings([]*model.Capture{any}, nil)
				if len(fs) != 1 || fs[0].ID != "PCAP_SOURCE_NATTED" || !strings.Contains(fs[0].Args["original_at"], "node-a veth-pod") ||
					!strings.Contains(fs[0].Args["natted"], "192.168.0.1:") || !strings.Contains(fs[0].Args["natted_at"], "node-a eth0") {
					t.Errorf("one -i any capture: %+v", fs)
				}
			}},
		{"drop", "FORWARD DROP on the node: SYN retries leave the pod and never reach the peer", []string{"PCAP_SYN_UNANSWERED", "PCAP_LOST_BETWEEN_CAPTURES"},
			[]string{"PCAP_SOURCE_NATTED", "PCAP_CONNECTION_REFUSED"},
			func(t *testing.T, c *model.Cluster, got map[string][]finding.Finding) {
				s := got["PCAP_SYN_UNANSWERED"][0]
				if s.Args["count"] != "4" || !strings.HasPrefix(s.Args["gaps"], "1.0") {
					t.Errorf("retries: %v", s.Args)
				}
				l := got["PCAP_LOST_BETWEEN_CAPTURES"][0]
				if !strings.Contains(l.Args["from"], "pod default/client") || !strings.Contains(l.Args["to"], "node-b eth0") || !strings.Contains(l.Args["to"], "node-a eth0, ") {
					t.Errorf("lost: %v", l.Args)
				}
			}},
		{"reject", "REJECT with tcp-reset, ICMP port unreachable and a prohibit route", []string{"PCAP_CONNECTION_REFUSED", "PCAP_ICMP_UNREACHABLE"},
			[]string{"PCAP_SYN_UNANSWERED", "PCAP_LOST_BETWEEN_CAPTURES", "PCAP_ONE_WAY_TRAFFIC"},
			func(t *testing.T, c *model.Cluster, got map[string][]finding.Finding) {
				how := ""
				for _, f := range got["PCAP_CONNECTION_REFUSED"] {
					// the message is composed per language from neutral args
					if err := finding.Render(&f, finding.EN); err != nil {
						t.Fatal(err)
					}
					how += f.Message + "; "
				}
				if !strings.Contains(how, "RST from 192.168.0.2") || !strings.Contains(how, "ICMP port unreachable from 192.168.0.2") {
					t.Errorf("refusals: %s", how)
				}
				if w := got["PCAP_ICMP_UNREACHABLE"][0].Args["what"]; !strings.Contains(w, "administratively prohibited") {
					t.Errorf("icmp: %s", w)
				}
			}},
		{"dns", "a dead DNS server and an NXDOMAIN", []string{"PCAP_DNS_NO_RESPONSE", "PCAP_DNS_ERROR"},
			[]string{"PCAP_LOST_BETWEEN_CAPTURES", "PCAP_ONE_WAY_TRAFFIC"},
			func(t *testing.T, c *model.Cluster, got map[string][]finding.Finding) {
				if f := got["PCAP_DNS_NO_RESPONSE"][0]; f.Args["server"] != "192.168.0.4" {
					t.Errorf("%v", f.Args)
				}
				if f := got["PCAP_DNS_ERROR"][0]; f.Args["rcode"] != "NXDOMAIN" || f.Args["name"] != "nosuch.default.svc.cluster.local" {
					t.Errorf("%v", f.Args)
				}
			}},
		{"oneway", "UDP to a receiver that never answers", []string{"PCAP_ONE_WAY_TRAFFIC"},
			[]string{"PCAP_LOST_BETWEEN_CAPTURES", "PCAP_SYN_UNANSWERED", "PCAP_DNS_NO_RESPONSE"}, nil},
		{"cut", "the collector's byte limit cut the capture mid-packet", []string{"PCAP_TRUNCATED"}, nil,
			func(t *testing.T, c *model.Cluster, got map[string][]finding.Finding) {
				f := got["PCAP_TRUNCATED"][0]
				if !strings.Contains(f.Args["why"], "file ends inside packet") || !strings.Contains(f.Args["why"], "size limit") {
					t.Errorf("%v", f.Args)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := loadLab(t, c.scenario)
			if len(cl.Captures) == 0 {
				t.Fatal("no captures loaded")
			}
			got := labFindings(t, cl)
			for _, id := range c.want {
				if len(got[id]) == 0 {
					t.Errorf("%s did not fire (got %v)", id, keys(got))
				}
			}
			for _, id := range c.not {
				if len(got[id]) > 0 {
					t.Errorf("%s fired: %v", id, got[id][0].Args)
				}
			}
			if c.check != nil && !t.Failed() {
				c.check(t, cl, got)
			}
		})
	}
}

func keys(m map[string][]finding.Finding) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestOneObservationSeenByThreeCapturesIsOneFinding(t *testing.T) {
	res := runChecks(t, loadLab(t, "dns"))
	var nr []finding.Finding
	for _, f := range res.Findings {
		if f.ID == "PCAP_DNS_NO_RESPONSE" {
			nr = append(nr, f)
		}
	}
	if len(nr) != 1 || len(nr[0].Evidence) != 3 || strings.Count(nr[0].Args["capture"], ".pcap") != 3 {
		t.Fatalf("%+v", nr)
	}
}

// The netns lab cluster's bundles (lab/cluster, made by the real
// collector): captures on both nodes and in both pods while one fault is
// injected. Each fault must show where the packet stopped.
func TestCollectorBundlesShowWherePacketsStop(t *testing.T) {
	cases := []struct {
		bundle string
		want   map[string]string // ID → substring of its message args
		not    []string
	}{
		{"route-missing", map[string]string{"PCAP_LOST_BETWEEN_CAPTURES": "10.0.1.11 eth0 → 10.0.1.12 eth0"}, nil},
		{"forward-drop", map[string]string{"PCAP_LOST_BETWEEN_CAPTURES": "10.0.1.12 eth0 → 10.0.1.12 pod default/web-1", "PCAP_SYN_UNANSWERED": ""}, nil},
		{"netpol-deny", map[string]string{"PCAP_LOST_BETWEEN_CAPTURES": "10.0.1.12 eth0 → 10.0.1.12 pod default/web-1"}, nil},
		{"masq-idc", map[string]string{"PCAP_SOURCE_NATTED": "172.16.0.2"}, []string{"PCAP_LOST_BETWEEN_CAPTURES"}},
		{"dns-no-endpoints", map[string]string{"PCAP_CONNECTION_REFUSED": "ICMP port unreachable"}, []string{"PCAP_DNS_NO_RESPONSE"}},
		{"healthy", nil, []string{"PCAP_SYN_UNANSWERED", "PCAP_LOST_BETWEEN_CAPTURES", "PCAP_CONNECTION_REFUSED", "PCAP_DNS_NO_RESPONSE", "PCAP_ONE_WAY_TRAFFIC", "PCAP_SOURCE_NATTED"}},
	}
	for _, c := range cases {
		t.Run(c.bundle, func(t *testing.T) {
			dir := filepath.Join("..", "..", "testdata", "bundles", c.bundle)
			if _, err := os.Stat(filepath.Join(dir, "captures")); err != nil {
				t.Fatal("lab cluster bundle not present")
			}
			b, err := bundle.Open(dir, bundle.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			got := labFindings(t, model.Load(b))
			for id, sub := range c.want {
				ok := false
				for _, f := range got[id] {
					if err := finding.Render(&f, finding.EN); err != nil {
						t.Fatal(err)
					}
					s := f.Args["from"] + " → " + f.Args["to"] + " " + f.Args["original"] + " " + f.Message
					ok = ok || strings.Contains(s, sub)
				}
				if !ok {
					t.Errorf("%s with %q: got %v", id, sub, got[id])
				}
			}
			for _, id := range c.not {
				if len(got[id]) > 0 {
					t.Errorf("%s fired: %v", id, got[id][0].Args)
				}
			}
		})
	}
}
