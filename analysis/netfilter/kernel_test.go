package netfilter

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"tkesnap/parsers/ipset"
	"tkesnap/parsers/iptables"
)

// The kernel recordings: lab/netfilter/record.sh loaded each ruleset of
// testdata/netfilter/rulesets into a network namespace, sent probes and
// recorded the kernel's own rule-by-rule trace (xtables-monitor --trace)
// and the packets that left the node. This test replays every probe
// through the simulator and requires the same matched rules, verdict and
// NAT result. Re-record with `make lab-record` (root).

const kernelDir = "../../testdata/netfilter/kernel"

type kernelProbe struct {
	ID     int    `json:"id"`
	Proto  string `json:"proto"`
	Src    string `json:"src"`
	Dst    string `json:"dst"`
	From   string `json:"from"`
	Events []struct {
		Table   string `json:"table"`
		Chain   string `json:"chain"`
		Rule    int    `json:"rule"`
		Verdict string `json:"verdict"`
		Text    string `json:"text"`
	} `json:"events"`
	Packets []map[string]string `json:"packets"`
	Egress  []struct {
		Iface string `json:"iface"`
		Src   string `json:"src"`
		Dst   string `json:"dst"`
	} `json:"egress"`
}

// labOptions describe the lab node (lab/netfilter/topology.sh).
func labOptions(sets *ipset.Save) Options {
	eth0, cni0 := netip.MustParseAddr("10.100.0.1"), netip.MustParseAddr("10.244.1.1")
	eth06, cni06 := netip.MustParseAddr("fd00:100::1"), netip.MustParseAddr("fd00:244:1::1")
	podNet, podNet6 := netip.MustParsePrefix("10.244.1.0/24"), netip.MustParsePrefix("fd00:244:1::/64")
	return Options{
		LocalAddrs:  []netip.Addr{eth0, cni0, netip.MustParseAddr("169.254.20.10"), eth06, cni06},
		IfaceAddrs:  map[string]netip.Addr{"eth0": eth0, "cni0": cni0},
		IfaceAddrs6: map[string]netip.Addr{"eth0": eth06, "cni0": cni06},
		Sets:        IPSets(sets),
		Route: func(dst netip.Addr, _ uint32) (string, bool) {
			if podNet.Contains(dst) || podNet6.Contains(dst) {
				return "cni0", true
			}
			return "eth0", true
		},
	}
}

// bridgePort: in the -bridge lab pods 10.244.1.10-19 are on vethA,
// 10.244.1.20-29 on vethB.
func bridgePort(a netip.Addr) (string, bool) {
	b := a.As16()
	if !a.Is4() || !netip.MustParsePrefix("10.244.1.0/24").Contains(a) {
		return "", false
	}
	switch last := b[15]; {
	case last >= 10 && last <= 19:
		return "vethA", true
	case last >= 20 && last <= 29:
		return "vethB", true
	}
	return "", false
}

func (p kernelProbe) packet(t *testing.T) Packet {
	pk := Packet{Proto: p.Proto}
	parse := func(s string) netip.AddrPort {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			return ap
		}
		return netip.AddrPortFrom(netip.MustParseAddr(s), 0)
	}
	pk.Src, pk.Dst = parse(p.Src), parse(p.Dst)
	switch p.From {
	case "local":
		pk.LocalOut = true
	case "podA", "podB":
		// a pod on the bridge: br_netfilter hands its frames to iptables
		pk.InIface, pk.Bridged, pk.PhysIn = "cni0", true, "veth"+p.From[3:]
	default:
		pk.InIface = p.From
	}
	return pk
}

// verdict: the last rule's verdict if it dropped, else accepted. Legacy
// traces carry no verdicts: the last rule's target (or the chain policy)
// is read from the dump.
func (p kernelProbe) verdict(rs *iptables.Ruleset) string {
	n := len(p.Events)
	if n == 0 {
		return Accept
	}
	e := p.Events[n-1]
	v := e.Verdict
	if v == "" {
		if c := rs.Table(e.Table).Chain(e.Chain); c != nil {
			if e.Rule == 0 {
				v = c.Policy
			} else if e.Rule <= len(c.Rules) {
				v = c.Rules[e.Rule-1].Target.Name
			}
		}
	}
	switch v {
	case "DROP", "REJECT":
		return v
	}
	return Accept
}

// leftOnlyBy: every packet seen leaving the node went out by iface (or
// none left at all).
func (p kernelProbe) leftOnlyBy(iface string) bool {
	for _, e := range p.Egress {
		if e.Iface != iface {
			return false
		}
	}
	return true
}

func (p kernelProbe) steps() string {
	var b []string
	for _, e := range p.Events {
		b = append(b, fmt.Sprintf("%s/%s#%d", e.Table, e.Chain, e.Rule))
	}
	return strings.Join(b, " ")
}

func pathSteps(p Path, legacy bool) string {
	var b []string
	for _, s := range p.Steps {
		if s.Table == "ipvs" || s.Table == "bridge" || legacy && s.Target == "TRACE" && len(b) == 0 {
			// legacy ipt_do_table logs a rule only if the packet was
			// already traced: not the TRACE rule that starts the trace
			continue
		}
		b = append(b, fmt.Sprintf("%s/%s#%d", s.Table, s.Chain, s.Rule))
	}
	return strings.Join(b, " ")
}

// natAgrees compares the kernel's egress packet (or, for packets delivered
// locally or dropped, the last traced addresses) with the path's NAT.
func natAgrees(k kernelProbe, p Path) (bool, string) {
	if p.NAT == nil {
		return false, "no NAT result"
	}
	if strings.HasPrefix(p.Reason, "bridge hairpin") && len(k.Egress) == 0 {
		// the trace stops before the DNATed tuple is printed and the bridge
		// sends nothing: the rules (DNAT included) were compared already
		return true, ""
	}
	gotSrc, gotDst := p.NAT.Src, p.NAT.Dst
	var wantSrc, wantDst, why string
	if len(k.Egress) > 0 && p.Delivered != "local" {
		// (a hairpin frame the bridge drops was still seen on the bridge)
		e := k.Egress[0]
		wantSrc, wantDst, why = e.Src, e.Dst, "egress on "+e.Iface
		if p.Verdict == Accept && p.OutIface != e.Iface && p.BridgePort != e.Iface {
			return false, fmt.Sprintf("left via %s, simulated %s (bridge port %q)", e.Iface, p.OutIface, p.BridgePort)
		}
	} else if n := len(k.Packets); n > 0 {
		last := k.Packets[n-1]
		wantSrc, wantDst, why = last["SRC"], last["DST"], "last traced hook"
		if k.Proto != "icmp" {
			wantSrc = joinHostPort(wantSrc, last["SPORT"])
			wantDst = joinHostPort(wantDst, last["DPORT"])
		}
		if p.Verdict == Accept {
			// SNAT (nat POSTROUTING/INPUT) rewrites the source after the
			// last trace; without an egress capture only dst is known.
			wantSrc = gotSrc
		}
	} else {
		return true, ""
	}
	if p.NAT.RandomFully {
		// --random-fully: only the address is determined.
		wantSrc, gotSrc = hostOnly(wantSrc), hostOnly(gotSrc)
	}
	if gotSrc != wantSrc || gotDst != wantDst {
		return false, fmt.Sprintf("%s: kernel %s -> %s, simulated %s -> %s", why, wantSrc, wantDst, gotSrc, gotDst)
	}
	return true, ""
}

func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

func hostOnly(ap string) string {
	if a, err := netip.ParseAddrPort(ap); err == nil {
		return a.Addr().String()
	}
	return ap
}

// maxReplayPaths bounds the paths one recorded probe may fork into: the
// lab's rulesets have at most a few statistic endpoints and undecidable
// matches per chain walk.
const maxReplayPaths = 8

func TestSimulatorAgreesWithRecordedKernelTraces(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(kernelDir, "*"))
	if len(dirs) == 0 {
		t.Fatal("no kernel recordings in " + kernelDir + " (run make lab-record as root)")
	}
	rulesets, probes, agreed, ambiguous := 0, 0, 0, 0
	for _, dir := range dirs {
		name := filepath.Base(dir)
		data, err := os.ReadFile(filepath.Join(dir, "probes.json"))
		if err != nil {
			continue
		}
		rulesets++
		t.Run(name, func(t *testing.T) {
			var rec struct{ Probes []kernelProbe }
			if err := json.Unmarshal(data, &rec); err != nil {
				t.Fatal(err)
			}
			rs, err := iptables.ParseFile(filepath.Join(dir, "iptables-save.txt"))
			if err != nil {
				t.Fatal(err)
			}
			if len(rs.Problems) > 0 {
				t.Errorf("kernel's own dump has parse problems: %v", rs.Problems)
			}
			var sets *ipset.Save
			if s, err := ipset.ParseFile(filepath.Join(dir, "ipset.txt")); err == nil {
				sets = s
			}
			opts := labOptions(sets)
			if strings.HasSuffix(name, "-bridge") {
				opts.BridgePort = bridgePort
				opts.HairpinMode = "off" // the lab's bridge ports
			}
			legacy := strings.HasSuffix(name, ".legacy")
			if legacy {
				opts.Backend = "legacy"
			}
			sim := New(rs, opts)
			// trace --iptables parses a chain when a packet enters it: the
			// same answers, probe by probe
			lrs, err := iptables.ParseFileWith(filepath.Join(dir, "iptables-save.txt"), iptables.Options{Limits: iptables.DefaultLimits(), Lazy: true})
			if err != nil {
				t.Fatal(err)
			}
			lazySim := New(lrs, opts)
			for _, k := range rec.Probes {
				if a, b := sim.Simulate(k.packet(t)), lazySim.Simulate(k.packet(t)); !reflect.DeepEqual(a, b) {
					t.Errorf("probe %d: chains parsed on use give\n%+v\nall parsed give\n%+v", k.ID, b, a)
				}
			}
			// and every chain indexed from its text, rules parsed as
			// the packet reaches them (what a long chain gets)
			srs, err := iptables.ParseFileWith(filepath.Join(dir, "iptables-save.txt"), iptables.Options{Limits: iptables.DefaultLimits(), Lazy: true})
			if err != nil {
				t.Fatal(err)
			}
			skimSim := New(srs, opts)
			min := indexMin
			indexMin = 1
			for _, k := range rec.Probes {
				if a, b := sim.Simulate(k.packet(t)), skimSim.Simulate(k.packet(t)); !reflect.DeepEqual(a, b) {
					t.Errorf("probe %d: chains indexed from their text give\n%+v\nall parsed give\n%+v", k.ID, b, a)
				}
			}
			indexMin = min
			for _, k := range rec.Probes {
				probes++
				if len(k.Events) == 0 {
					t.Errorf("probe %d %s %s->%s from %s: kernel traced nothing (lab problem: re-record)", k.ID, k.Proto, k.Src, k.Dst, k.From)
					continue
				}
				res := sim.Simulate(k.packet(t))
				want := k.steps()
				// Finding the kernel's path among the simulated ones proves
				// little if the simulator forks without bound: every fork
				// must come from a statistic/IPVS share or a named
				// undecidable match, and there are few.
				if res.Truncated || len(res.Paths) > maxReplayPaths {
					t.Errorf("probe %d: %d paths (truncated %v), more than the %d a recorded probe may fork into", k.ID, len(res.Paths), res.Truncated, maxReplayPaths)
					continue
				}
				var match *Path
				for i := range res.Paths {
					if pathSteps(res.Paths[i], legacy) == want {
						match = &res.Paths[i]
						break
					}
				}
				label := fmt.Sprintf("probe %d %s %s->%s from %s", k.ID, k.Proto, k.Src, k.Dst, k.From)
				if match == nil {
					var got []string
					for _, p := range res.Paths {
						got = append(got, pathSteps(p, legacy)+" => "+p.Verdict)
					}
					t.Errorf("%s: kernel matched\n   %s => %s\nsimulated paths:\n   %s", label, want, k.verdict(rs), strings.Join(got, "\n   "))
					continue
				}
				verdict := k.verdict(rs)
				if strings.HasPrefix(match.Reason, "bridge hairpin") && k.leftOnlyBy("cni0") {
					// dropped by the bridge after PREROUTING: no netfilter
					// verdict, no packet on any port
					verdict = Drop
				}
				if match.Undecided && (len(match.Assumptions) == 0 || len(res.UnknownMatches) == 0) {
					t.Errorf("%s: the kernel's path is an undecided fork that names no undecidable match", label)
					continue
				}
				if match.Probability <= 0 {
					t.Errorf("%s: the kernel's path has probability %v", label, match.Probability)
					continue
				}
				if match.Verdict != verdict {
					t.Errorf("%s: kernel %s, simulated %s", label, verdict, match.Verdict)
					continue
				}
				if ok, why := natAgrees(k, *match); !ok {
					t.Errorf("%s: NAT differs: %s", label, why)
					continue
				}
				if len(res.UnknownMatches) == 0 && !res.Truncated {
					sum := 0.0
					for _, p := range res.Paths {
						sum += p.Probability
					}
					if math.Abs(sum-1) > 1e-6 {
						t.Errorf("%s: path probabilities sum to %v", label, sum)
						continue
					}
				} else {
					ambiguous++
				}
				agreed++
			}
		})
	}
	t.Logf("%d rulesets, %d probes, %d agree with the kernel (%d of them AMBIGUOUS with the kernel's path among the forks)", rulesets, probes, agreed, ambiguous)
}
