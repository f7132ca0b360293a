package sg

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"tkesnap/analysis/model"
	"tkesnap/parsers/bundle"
	"tkesnap/parsers/tencent"
)

// Any policy file, however broken, loads and evaluates without panic,
// and Evaluate agrees with EvaluateRange on the same packet.
func FuzzEvaluatePolicyFile(f *testing.F) {
	good, _ := json.Marshal(map[string]any{"SecurityGroupPolicySet": map[string]any{
		"Ingress": []any{pol(0, "DROP TCP 22 10.0.0.0/8"), pol(1, "ACCEPT ALL ALL sg-x"), pol(2, "ACCEPT ppm-1 - ipm-1"), pol(3, "ACCEPT udp 53,54 0.0.0.0/0")},
		"Egress":  []any{pol(0, "ACCEPT ALL ALL ::/0")}}})
	f.Add(good, uint32(0x0a000001), uint16(22), uint8(0))
	f.Add([]byte(`{"SecurityGroupPolicySet":{"Ingress":[{"PolicyIndex":"x","Port":"1-0"}]}}`), uint32(1), uint16(1), uint8(1))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, addr uint32, port uint16, protoSel uint8) {
		p := filepath.Join(dir, "cloud", "security-group-policies", "sg-a.json")
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return
		}
		b, err := bundle.Open(dir, bundle.DefaultLimits())
		if err != nil {
			return
		}
		defer b.Close()
		c := &model.Load(b).Cloud
		protos := []string{"tcp", "udp", "icmp", "icmpv6", "gre"}
		proto := protos[int(protoSel)%len(protos)]
		src := ip(fmt.Sprintf("%d.%d.%d.%d", addr>>24, addr>>16&255, addr>>8&255, addr&255))
		fl := Flow{Dir: model.DirIngress, Proto: proto, Src: src, Dst: ip("10.0.1.5"), Port: int(port)}
		d := Evaluate(c, []string{"sg-a"}, fl)
		rs := EvaluateRange(c, []string{"sg-a"}, Query{Dir: model.DirIngress, Proto: proto,
			Peer: tencent.AddrRange{From: src, To: src}, Ports: tencent.PortRange{From: int(port), To: int(port)}, Local: fl.Dst})
		if len(rs) != 1 || rs[0].Decision.Action != d.Action || rs[0].Decision.PolicyIndex != d.PolicyIndex {
			t.Fatalf("Evaluate %s@%d vs EvaluateRange %+v", d.Action, d.PolicyIndex, rs)
		}
		_ = d.String()
		// Every region of a wider query agrees with Evaluate at its edges.
		hi := min(int(port)+300, 65535)
		for _, r := range EvaluateRange(c, []string{"sg-a"}, Query{Dir: model.DirIngress, Proto: proto,
			Peer: tencent.AddrRange{From: src, To: src}, Ports: tencent.PortRange{From: int(port), To: hi}, Local: fl.Dst}) {
			for _, pt := range []int{r.Ports.From, r.Ports.To} {
				fl.Port = pt
				e := Evaluate(c, []string{"sg-a"}, fl)
				if e.Action != r.Decision.Action || e.PolicyIndex != r.Decision.PolicyIndex {
					t.Fatalf("port %d: Evaluate %s@%d, region %s %s@%d", pt, e.Action, e.PolicyIndex, r.Ports, r.Decision.Action, r.Decision.PolicyIndex)
				}
			}
		}
	})
}
