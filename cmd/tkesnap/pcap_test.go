package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/internal/realdata"
)

func realPcapFile(t *testing.T, name string) string {
	return realdata.Path(t, "pcap/"+name)
}

// pcapCmd runs `tkesnap pcap` and returns stdout and the exit code.
func pcapCmd(t *testing.T, args ...string) (string, int) {
	t.Helper()
	root := newRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(append([]string{"pcap"}, args...))
	err := root.Execute()
	if err == nil {
		return out.String(), 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return out.String() + ee.Error(), ee.code
	}
	return out.String() + err.Error(), 2
}

func TestPcapCommandFiltersWithTheGuidesFilters(t *testing.T) {
	f := realPcapFile(t, "zeek-http-404-responses.pcap")
	out, code := pcapCmd(t, f, "--filter", `http.request.uri=="/regular_file.html"`)
	if code != 0 || !strings.Contains(out, "1 packets match") || !strings.Contains(out, "GET /regular_file.html host=172.24.0.3") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	out, code = pcapCmd(t, f, "--filter", `tcp contains "non_printable"`)
	if code != 0 || !strings.Contains(out, "2 packets match") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "PCAP_HTTP_ERROR") {
		t.Errorf("404s not reported:\n%s", out)
	}
}

func TestPcapCommandJSON(t *testing.T) {
	f := realPcapFile(t, "zeek-tcp-single-syn-unanswered.pcap")
	out, code := pcapCmd(t, f, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var v struct {
		Schema   string
		Captures []struct {
			Packets  int
			Flows    []struct{ Conn_state, History, Community_id string } `json:"flows"`
			Findings []struct {
				ID       string
				Evidence []struct {
					File   string
					Packet int
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	c := v.Captures[0]
	if v.Schema != "tkesnap-pcap/v1" || c.Packets != 1 || len(c.Flows) != 1 || c.Flows[0].Conn_state != "S0" ||
		len(c.Findings) != 1 || c.Findings[0].ID != "PCAP_SYN_UNANSWERED" || c.Findings[0].Evidence[0].Packet != 1 {
		t.Fatalf("%s", out)
	}
	if !strings.HasPrefix(c.Flows[0].Community_id, "1:") {
		t.Errorf("community id %q", c.Flows[0].Community_id)
	}
}

func TestPcapCommandBadInputExits2(t *testing.T) {
	f := realPcapFile(t, "zeek-http-get.pcap")
	out, code := pcapCmd(t, f, "--filter", `tcp.port = 80`)
	if code != 2 || !strings.Contains(out, "column 10") {
		t.Errorf("bad filter: exit %d %s", code, out)
	}
	if _, code := pcapCmd(t, filepath.Join(t.TempDir(), "missing.pcap")); code != 2 {
		t.Errorf("missing file: exit %d", code)
	}
	junk := filepath.Join(t.TempDir(), "junk.pcap")
	os.WriteFile(junk, []byte("this is not a capture at all"), 0o644)
	if out, code := pcapCmd(t, junk); code != 2 || !strings.Contains(out, "not a pcap") {
		t.Errorf("junk file: exit %d %s", code, out)
	}
	// one good and one bad file: still a result
	if _, code := pcapCmd(t, f, junk); code != 0 {
		t.Errorf("good+bad: exit %d", code)
	}
}

// The guide's two filters on the lab bundle (lab/pcap/record.sh snat):
// curl to /lbtest (200) and /mytest (404) from a pod behind MASQUERADE.
func TestPcapCommandOnALabBundle(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "pcap", "lab", "snat")
	out, code := pcapCmd(t, dir, "--filter", `tcp contains "lbtest"`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	// request and response body, seen in the pod, on node-a eth0, node-b
	// eth0, and twice (two interfaces) by tcpdump -i any on node-a
	for _, want := range []string{"== captures/node-a/pod-default_client.pcap (node-a pod default/client)", "GET /lbtest host=192.168.0.2:8080",
		"2 packets match", "4 packets match", "[veth-pod]", "[eth0]", "PCAP_SOURCE_NATTED"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	out, code = pcapCmd(t, dir, "--filter", `http.request.uri=="/mytest"`)
	if code != 0 || strings.Count(out, "1 packets match") != 3 || strings.Count(out, "2 packets match") != 1 {
		t.Errorf("exit %d\n%s", code, out)
	}
}

// The streamed JSON report is what json.Encoder writes, byte for byte:
// several captures (one unreadable), flows with and without SYN lists,
// findings, filtered packets.
func TestPcapJSONStreamIsEncodingJSON(t *testing.T) {
	dir := realdata.Path(t, "pcap")
	files, _ := filepath.Glob(filepath.Join(dir, "zeek-*.pcap"))
	if len(files) < 5 {
		t.Fatalf("only %d shared captures", len(files))
	}
	bad := filepath.Join(t.TempDir(), "not-a-capture.pcap")
	if err := os.WriteFile(bad, []byte("nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		o    pcapOpts
		args []string
	}{
		{"every capture", pcapOpts{format: "json", maxPkts: 1000}, append(files, bad)},
		{"filtered", pcapOpts{format: "json", maxPkts: 3, filter: "tcp"}, files[:3]},
	} {
		out, err := c.o.report(c.args)
		if err != nil {
			t.Fatal(err)
		}
		flows := 0
		for _, co := range out.Captures {
			flows += len(co.Flows)
		}
		if len(out.Captures) != len(c.args) || flows < 10 {
			t.Fatalf("%s: %d captures, %d flows", c.name, len(out.Captures), flows)
		}
		var want, got bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			t.Fatal(err)
		}
		if err := writePcapJSON(&got, out); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			g, w := got.String(), want.String()
			i := 0
			for i < len(g) && i < len(w) && g[i] == w[i] {
				i++
			}
			t.Errorf("%s: differs at byte %d:\n%s\nwant\n%s", c.name, i, g[max(0, i-200):min(len(g), i+200)], w[max(0, i-200):min(len(w), i+200)])
		}
	}
}
