package pcapflow

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"tkesnap/parsers/pcap"

	"tkesnap/internal/realdata"
)

// FuzzAnalyze: the flow state machine survives any capture, keeps to its
// limits, counts every flow it lists and is deterministic.
func FuzzAnalyze(f *testing.F) {
	for _, file := range realdata.Glob(f, "pcap/zeek-tcp*.pcap") {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{Flows: 10, Issues: 5, Signatures: 10}
		seen := 0
		res, _, err := Analyze(bytes.NewReader(data), lim, func(*pcap.Packet, *PacketInfo) { seen++ })
		if err != nil {
			if len(data) >= 24 && res != nil && res.Packets > 0 {
				t.Fatalf("error %v after %d packets", err, res.Packets)
			}
			return
		}
		if len(res.Flows) > lim.Flows || res.FlowCount < len(res.Flows) {
			t.Fatalf("%d flows listed, %d counted, limit %d", len(res.Flows), res.FlowCount, lim.Flows)
		}
		if res.Packets != seen || res.NonIP+res.Malformed > res.Packets {
			t.Fatalf("%d packets seen, result says %d (non-IP %d, malformed %d)", seen, res.Packets, res.NonIP, res.Malformed)
		}
		if res.Packets == 0 && res.FlowCount != 0 {
			t.Fatalf("%d flows without a packet", res.FlowCount)
		}
		again, _, _ := Analyze(bytes.NewReader(data), lim, nil)
		a, _ := json.Marshal(res)
		b, _ := json.Marshal(again)
		if !bytes.Equal(a, b) {
			t.Fatalf("two analyses of the same capture differ:\n%s\n%s", a, b)
		}
	})
}
