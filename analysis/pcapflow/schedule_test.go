package pcapflow

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/parsers/pcap"
)

// What a capture shows must not depend on how it was read: decoding on
// a second goroutine (pipelined) or not, expiring flows by the wheel
// alone or also sweeping every live flow after every packet or rarely, and with limits small enough that the kept lists
// overflow (which connections are listed must not depend on when they
// ended). The per-packet info the filter sees must not either.
func TestResultIndependentOfSchedule(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(realPcap(t), "*.pcap*"))
	_ = filepath.WalkDir(filepath.Join("..", "..", "testdata"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(d.Name(), ".pcap") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 20 {
		t.Fatalf("only %d captures found", len(files))
	}
	// Issues stay large: DNS and ICMP issues are grouped (by server and
	// name), and which groups a full list keeps depends on the order
	// queries end.
	small := Limits{Flows: 3, Issues: 200, Signatures: 4}
	for _, path := range files {
		for _, lim := range []Limits{DefaultLimits(), small} {
			type run struct {
				pipelined bool
				sweep     int
			}
			var want string
			var wantInfo []PacketInfo
			// sweep 0: the expiry wheel alone, as Analyze runs; 1: every
			// live flow visited after every packet besides.
			for _, x := range []run{{false, 0}, {true, 0}, {false, 1 << 16}, {false, 1}, {true, 1}} {
				f, err := os.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				var infos []PacketInfo
				r, c, err := analyze(f, lim, func(p *pcap.Packet, i *PacketInfo) {
					x := *i
					x.Flow = nil // the pointer differs; what it says is in the result
					infos = append(infos, x)
				}, x.pipelined, x.sweep)
				f.Close()
				if err != nil {
					t.Logf("%s: %v", path, err)
					break
				}
				b, _ := json.Marshal(struct {
					R   *Result
					C   *Capture
					Sig []Sig
				}{r, c, r.Signatures()})
				if want == "" {
					want, wantInfo = string(b), infos
					continue
				}
				if string(b) != want {
					t.Errorf("%s limits %+v: %+v gives another result than sequential, wheel alone:\n%.3000s\nvs\n%.3000s", filepath.Base(path), lim, x, b, want)
				}
				if len(infos) != len(wantInfo) {
					t.Errorf("%s: %+v saw %d packets, sequential %d", filepath.Base(path), x, len(infos), len(wantInfo))
					continue
				}
				for i := range infos {
					if infos[i] != wantInfo[i] {
						t.Errorf("%s packet %d: %+v: %+v, sequential %+v", filepath.Base(path), i+1, x, infos[i], wantInfo[i])
						break
					}
				}
			}
		}
	}
}
