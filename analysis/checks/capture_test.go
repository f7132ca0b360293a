package checks

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/pcapflow"
)

func realPcapDir(t *testing.T) string {
	for _, d := range []string{os.Getenv("TKESNAP_REAL"), "../../../shared/data/real", "/work/shared/data/real"} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "pcap")); err == nil {
			return filepath.Join(d, "pcap")
		}
	}
	t.Skip("real data (../shared/data/real/pcap) not present")
	return ""
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
