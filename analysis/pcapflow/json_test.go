package pcapflow

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// AppendJSON writes exactly what encoding/json writes, on every flow of
// every shared capture and on flows with every optional field set,
// awkward strings and a zoned IPv6 address.
func TestAppendJSONIsEncodingJSON(t *testing.T) {
	var flows []*Flow
	files, _ := filepath.Glob(filepath.Join(realPcap(t), "*.pcap*"))
	if len(files) < 5 {
		t.Fatalf("only %d shared captures", len(files))
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		r, _, err := Analyze(fh, DefaultLimits(), nil)
		fh.Close()
		if err != nil {
			continue // a capture the reader refuses has no flows
		}
		flows = append(flows, r.Flows...)
	}
	if len(flows) < 100 {
		t.Fatalf("only %d flows in the shared captures", len(flows))
	}
	full := &Flow{Proto: 6, State: "S0<&>\"\\\u00e9\x01", History: "ShAdDaFf", Community: "1:abc+/=",
		Orig:     Endpoint{Addr: netip.MustParseAddr("fe80::1%eth0"), Port: 1, Pkts: 2, Bytes: -3, Data: 4},
		FirstPkt: 1, LastPkt: 9, FirstTime: -5, LastTime: 1 << 62, Iface: 2, SLLIf: -1,
		SYNs:     []Attempt{{Packet: 1, Time: 2, ISN: 1 << 31, IPID: 7}, {Packet: 3, Time: 4}},
		SynCount: 2, SynAck: 3, Reset: 4, ResetByResp: true, RTTResp: 5, RTTOrig: 6,
		Retransmissions: 7, Duplicates: 8, Fragments: 9, Tunnel: "vxlan 8472"}
	flows = append(flows, full, &Flow{}, &Flow{SYNs: []Attempt{}})
	for _, prefix := range []string{"", "      "} {
		for i, f := range flows {
			want, err := json.MarshalIndent(f, prefix, "  ")
			if err != nil {
				t.Fatal(err)
			}
			if got := f.AppendJSON(nil, prefix); !bytes.Equal(got, want) {
				t.Fatalf("flow %d (prefix %q):\n%s\nwant\n%s", i, prefix, got, want)
			}
		}
	}
	if !strings.Contains(string(full.AppendJSON(nil, "")), `"sll_ifindex": -1`) {
		t.Error("a negative SLL interface index is not omitted")
	}
}
