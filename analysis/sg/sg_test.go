package sg

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/analysis/model"
	"tkesnap/parsers/bundle"
	"tkesnap/parsers/tencent"
)

// pol is a compact policy: "ACCEPT TCP 80,443 10.0.0.0/16",
// "DROP ALL ALL sg-abc", "ACCEPT ppm-1 - ipm-1" (service template),
// "ACCEPT ICMP ALL ipmg-1".
func pol(idx int, spec string) map[string]any {
	f := strings.Fields(spec)
	p := map[string]any{"PolicyIndex": idx, "Action": f[0], "PolicyDescription": "",
		"ServiceTemplate": map[string]string{"ServiceId": "", "ServiceGroupId": ""},
		"AddressTemplate": map[string]string{"AddressId": "", "AddressGroupId": ""},
		"SecurityGroupId": "", "CidrBlock": "", "Ipv6CidrBlock": "", "Protocol": "", "Port": ""}
	switch {
	case strings.HasPrefix(f[1], "ppmg-"):
		p["ServiceTemplate"] = map[string]string{"ServiceId": "", "ServiceGroupId": f[1]}
	case strings.HasPrefix(f[1], "ppm-"):
		p["ServiceTemplate"] = map[string]string{"ServiceId": f[1], "ServiceGroupId": ""}
	default:
		p["Protocol"], p["Port"] = f[1], f[2]
	}
	peer := f[3]
	switch {
	case strings.HasPrefix(peer, "sg-"):
		p["SecurityGroupId"] = peer
	case strings.HasPrefix(peer, "ipmg-"):
		p["AddressTemplate"] = map[string]string{"AddressId": "", "AddressGroupId": peer}
	case strings.HasPrefix(peer, "ipm-"):
		p["AddressTemplate"] = map[string]string{"AddressId": peer, "AddressGroupId": ""}
	case strings.Contains(peer, ":"):
		p["Ipv6CidrBlock"] = peer
	default:
		p["CidrBlock"] = peer
	}
	return p
}

// env writes a bundle in the exact tccli format and loads the model.
type env struct {
	t     *testing.T
	dir   string
	files map[string]any
}

func newEnv(t *testing.T) *env {
	return &env{t: t, dir: t.TempDir(), files: map[string]any{}}
}

func (e *env) sg(id string, ingress, egress []string) *env {
	var in, out []map[string]any
	for i, s := range ingress {
		in = append(in, pol(i, s))
	}
	for i, s := range egress {
		out = append(out, pol(i, s))
	}
	if in == nil {
		in = []map[string]any{}
	}
	if out == nil {
		out = []map[string]any{}
	}
	e.files["cloud/security-group-policies/"+id+".json"] = map[string]any{"Response": map[string]any{
		"SecurityGroupPolicySet": map[string]any{"Version": "3", "Ingress": in, "Egress": out},
		"RequestId":              "00000000-0000-0000-0000-000000000000"}}
	return e
}

func (e *env) instance(id, ip string, sgs ...string) *env {
	set, _ := e.files["cloud/instances.json"].(map[string]any)
	if set == nil {
		set = map[string]any{"Response": map[string]any{"InstanceSet": []any{}, "TotalCount": 0}}
		e.files["cloud/instances.json"] = set
	}
	r := set["Response"].(map[string]any)
	r["InstanceSet"] = append(r["InstanceSet"].([]any), map[string]any{
		"InstanceId": id, "InstanceState": "RUNNING", "PrivateIpAddresses": []string{ip},
		"SecurityGroupIds": sgs, "InternetAccessible": map[string]any{"InternetMaxBandwidthOut": 0},
		"VirtualPrivateCloud": map[string]any{"VpcId": "vpc-1", "SubnetId": "subnet-1"}})
	return e
}

func (e *env) raw(name string, v any) *env { e.files[name] = v; return e }

func (e *env) load() *model.Cloud {
	for name, v := range e.files {
		p := filepath.Join(e.dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		b, _ := json.MarshalIndent(v, "", "    ")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	b, err := bundle.Open(e.dir, bundle.DefaultLimits())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { b.Close() })
	c := model.Load(b)
	for _, p := range c.Problems {
		e.t.Logf("problem: %+v", p)
	}
	return &c.Cloud
}

var ip = netip.MustParseAddr

func in(proto, src string, port int) Flow {
	return Flow{Dir: model.DirIngress, Proto: proto, Src: ip(src), Dst: ip("10.0.1.5"), Port: port}
}

func out(proto, dst string, port int) Flow {
	return Flow{Dir: model.DirEgress, Proto: proto, Src: ip("10.0.1.5"), Dst: ip(dst), Port: port}
}

func TestSecurityGroupSemantics(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ingress  []string
		egress   []string
		bindings []string // default: sg-a
		flow     Flow
		want     Action
		sg       string
		index    int // -1: implicit deny
	}{
		{name: "first match wins: DROP before ACCEPT drops",
			ingress: []string{"DROP TCP 80 0.0.0.0/0", "ACCEPT TCP 80 10.0.0.0/16"},
			flow:    in("tcp", "10.0.0.7", 80), want: Drop, sg: "sg-a", index: 0},
		{name: "first match wins: ACCEPT before DROP accepts",
			ingress: []string{"ACCEPT TCP 80 10.0.0.0/16", "DROP ALL ALL 0.0.0.0/0"},
			flow:    in("tcp", "10.0.0.7", 80), want: Accept, sg: "sg-a", index: 0},
		{name: "no policy matches: implicit deny",
			ingress: []string{"ACCEPT TCP 22 10.0.0.0/16"},
			flow:    in("tcp", "10.0.0.7", 80), want: Drop, index: -1},
		{name: "empty SG denies everything",
			ingress: nil, flow: in("udp", "10.0.0.7", 53), want: Drop, index: -1},
		{name: "port list 80,443 matches 443",
			ingress: []string{"ACCEPT tcp 80,443 0.0.0.0/0"},
			flow:    in("tcp", "1.2.3.4", 443), want: Accept, sg: "sg-a", index: 0},
		{name: "port list 80,443 does not match 8080",
			ingress: []string{"ACCEPT tcp 80,443 0.0.0.0/0"},
			flow:    in("tcp", "1.2.3.4", 8080), want: Drop, index: -1},
		{name: "port range includes both ends",
			ingress: []string{"ACCEPT TCP 30000-32768 10.0.0.0/16"},
			flow:    in("tcp", "10.0.3.3", 32768), want: Accept, sg: "sg-a", index: 0},
		{name: "port range excludes the next port",
			ingress: []string{"ACCEPT TCP 30000-32767 10.0.0.0/16"},
			flow:    in("tcp", "10.0.3.3", 32768), want: Drop, index: -1},
		{name: "TCP policy does not match UDP",
			ingress: []string{"ACCEPT TCP ALL 0.0.0.0/0"},
			flow:    in("udp", "10.0.3.3", 53), want: Drop, index: -1},
		{name: "protocol ALL matches UDP and ICMP",
			ingress: []string{"ACCEPT ALL ALL 10.0.0.0/8"},
			flow:    in("icmp", "10.9.9.9", 0), want: Accept, sg: "sg-a", index: 0},
		{name: "ICMP policy matches ping regardless of port field",
			ingress: []string{"ACCEPT ICMP ALL 0.0.0.0/0"},
			flow:    in("icmp", "8.8.8.8", 0), want: Accept, sg: "sg-a", index: 0},
		{name: "ICMP policy does not match TCP",
			ingress: []string{"ACCEPT ICMP ALL 0.0.0.0/0"},
			flow:    in("tcp", "8.8.8.8", 80), want: Drop, index: -1},
		{name: "IPv4 CIDR does not match an IPv6 source",
			ingress: []string{"ACCEPT ALL ALL 0.0.0.0/0"},
			flow:    Flow{Dir: model.DirIngress, Proto: "tcp", Src: ip("2402:4e00::1"), Dst: ip("10.0.1.5"), Port: 80}, want: Drop, index: -1},
		{name: "IPv6 CIDR matches an IPv6 source",
			ingress: []string{"ACCEPT ICMPv6 ALL ::/0"},
			flow:    Flow{Dir: model.DirIngress, Proto: "icmpv6", Src: ip("2402:4e00::1"), Dst: ip("10.0.1.5")}, want: Accept, sg: "sg-a", index: 0},
		{name: "several SGs: the first SG's DROP wins over the second's ACCEPT",
			bindings: []string{"sg-a", "sg-b"},
			ingress:  []string{"DROP TCP 6443 0.0.0.0/0"},
			flow:     in("tcp", "10.0.0.9", 6443), want: Drop, sg: "sg-a", index: 0},
		{name: "several SGs: no match in the first, the second accepts",
			bindings: []string{"sg-a", "sg-b"},
			ingress:  []string{"ACCEPT TCP 22 0.0.0.0/0"},
			flow:     in("tcp", "10.0.0.9", 30080), want: Accept, sg: "sg-b", index: 1},
		{name: "egress is matched on the destination",
			egress: []string{"DROP ALL ALL 10.1.0.0/16", "ACCEPT ALL ALL 0.0.0.0/0"},
			flow:   out("tcp", "10.1.2.3", 443), want: Drop, sg: "sg-a", index: 0},
		{name: "egress to elsewhere accepted by the later policy",
			egress: []string{"DROP ALL ALL 10.1.0.0/16", "ACCEPT ALL ALL 0.0.0.0/0"},
			flow:   out("tcp", "10.2.2.3", 443), want: Accept, sg: "sg-a", index: 1},
		{name: "SG reference matches a member's private IP",
			ingress: []string{"ACCEPT ALL ALL sg-peer"},
			flow:    in("tcp", "10.0.2.2", 80), want: Accept, sg: "sg-a", index: 0},
		{name: "SG reference does not match a CVM bound to another SG",
			ingress: []string{"ACCEPT ALL ALL sg-peer"},
			flow:    in("tcp", "10.0.2.3", 80), want: Drop, index: -1},
		{name: "SG reference with an address the bundle does not know is undecided",
			ingress: []string{"ACCEPT ALL ALL sg-peer"},
			flow:    in("tcp", "10.0.7.7", 80), want: Undecided, index: -1},
		{name: "SG reference cannot match an IDC address behind a direct connect gateway",
			ingress: []string{"ACCEPT ALL ALL sg-peer"},
			flow:    in("tcp", "192.168.3.4", 80), want: Drop, index: -1},
		{name: "SG reference cannot match a public address outside the VPC",
			ingress: []string{"ACCEPT ALL ALL sg-peer"},
			flow:    in("tcp", "203.0.113.5", 80), want: Drop, index: -1},
		{name: "SG reference with a private address outside the known VPCs is undecided",
			ingress: []string{"ACCEPT ALL ALL sg-peer"},
			flow:    in("tcp", "10.8.0.5", 80), want: Undecided, index: -1},
		{name: "SG reference cannot match a GlobalRouter pod IP",
			ingress: []string{"ACCEPT ALL ALL sg-peer"},
			flow:    in("tcp", "172.20.1.5", 80), want: Drop, index: -1},
		{name: "address template entry (range) matches",
			ingress: []string{"ACCEPT TCP 443 ipm-1"},
			flow:    in("tcp", "192.168.100.50", 443), want: Accept, sg: "sg-a", index: 0},
		{name: "address template group matches through its member",
			ingress: []string{"ACCEPT TCP 443 ipmg-1"},
			flow:    in("tcp", "100.64.0.9", 443), want: Accept, sg: "sg-a", index: 0},
		{name: "address outside the template is not matched",
			ingress: []string{"ACCEPT TCP 443 ipm-1"},
			flow:    in("tcp", "192.168.101.1", 443), want: Drop, index: -1},
		{name: "unknown address template before a DROP with the same action stays decided",
			ingress: []string{"DROP ALL ALL ipm-missing", "DROP ALL ALL 0.0.0.0/0"},
			flow:    in("tcp", "1.1.1.1", 80), want: Drop, sg: "sg-a", index: 1},
		{name: "unknown address template before an ACCEPT is undecided",
			ingress: []string{"DROP ALL ALL ipm-missing", "ACCEPT ALL ALL 0.0.0.0/0"},
			flow:    in("tcp", "1.1.1.1", 80), want: Undecided, index: -1},
		{name: "service template tcp:8080 matches",
			ingress: []string{"ACCEPT ppm-1 - 0.0.0.0/0"},
			flow:    in("tcp", "1.1.1.1", 8080), want: Accept, sg: "sg-a", index: 0},
		{name: "service template does not match another port",
			ingress: []string{"ACCEPT ppm-1 - 0.0.0.0/0"},
			flow:    in("tcp", "1.1.1.1", 8081), want: Drop, index: -1},
		{name: "service template group matches through its member",
			ingress: []string{"ACCEPT ppmg-1 - 0.0.0.0/0"},
			flow:    in("udp", "1.1.1.1", 99), want: Accept, sg: "sg-a", index: 0},
		{name: "policies of a bound SG not collected: undecided",
			bindings: []string{"sg-missing", "sg-a"},
			ingress:  []string{"ACCEPT ALL ALL 0.0.0.0/0"},
			flow:     in("tcp", "1.1.1.1", 80), want: Undecided, index: -1},
		{name: "no SG bound: not filtered",
			bindings: []string{},
			flow:     in("tcp", "1.1.1.1", 80), want: Accept, index: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t).sg("sg-a", tc.ingress, tc.egress).
				sg("sg-b", []string{"ACCEPT TCP 22 0.0.0.0/0", "ACCEPT ALL ALL 10.0.0.0/8"}, nil).
				sg("sg-peer", nil, nil).
				instance("ins-peer", "10.0.2.2", "sg-peer").
				instance("ins-other", "10.0.2.3", "sg-b").
				raw("cloud/clusters.json", map[string]any{"Response": map[string]any{"Clusters": []any{map[string]any{
					"ClusterId": "cls-1", "ClusterType": "MANAGED_CLUSTER", "Property": `{"NodeNameType":"lan-ip","NetworkType":"GR"}`,
					"ClusterNetworkSettings": map[string]any{"ClusterCIDR": "172.20.0.0/16", "VpcId": "vpc-1"}}}}}).
				raw("cloud/vpcs.json", map[string]any{"VpcSet": []any{map[string]any{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16"}}}).
				raw("cloud/route-tables.json", map[string]any{"RouteTableSet": []any{map[string]any{"RouteTableId": "rtb-1", "VpcId": "vpc-1", "Main": true,
					"RouteSet": []any{map[string]any{"DestinationCidrBlock": "192.168.0.0/16", "GatewayType": "DIRECTCONNECT", "GatewayId": "dcg-1", "Enabled": true}}}}}).
				raw("cloud/address-templates.json", map[string]any{"Response": map[string]any{"AddressTemplateSet": []any{
					map[string]any{"AddressTemplateId": "ipm-1", "AddressSet": []string{"192.168.100.1-192.168.100.99"}},
					map[string]any{"AddressTemplateId": "ipm-2", "AddressSet": []string{"100.64.0.0/10"}}}}}).
				raw("cloud/address-template-groups.json", map[string]any{"Response": map[string]any{"AddressTemplateGroupSet": []any{
					map[string]any{"AddressTemplateGroupId": "ipmg-1", "AddressTemplateIdSet": []string{"ipm-2"}}}}}).
				raw("cloud/service-templates.json", map[string]any{"Response": map[string]any{"ServiceTemplateSet": []any{
					map[string]any{"ServiceTemplateId": "ppm-1", "ServiceSet": []string{"tcp:8080"}},
					map[string]any{"ServiceTemplateId": "ppm-2", "ServiceSet": []string{"udp:99"}}}}}).
				raw("cloud/service-template-groups.json", map[string]any{"Response": map[string]any{"ServiceTemplateGroupSet": []any{
					map[string]any{"ServiceTemplateGroupId": "ppmg-1", "ServiceTemplateIdSet": []string{"ppm-2"}}}}})
			c := e.load()
			b := tc.bindings
			if b == nil {
				b = []string{"sg-a"}
			}
			d := Evaluate(c, b, tc.flow)
			if d.Action != tc.want || d.SG != tc.sg || d.PolicyIndex != tc.index {
				t.Fatalf("got %s (%s, sg %q, index %d), want %s sg %q index %d", d.Action, d, d.SG, d.PolicyIndex, tc.want, tc.sg, tc.index)
			}
			if d.Action == Undecided && len(d.Needs) == 0 {
				t.Error("undecided without saying what to collect")
			}
			if d.Policy != nil {
				ev := d.Evidence[0]
				if ev.Line == 0 || !strings.HasPrefix(ev.File, "cloud/security-group-policies/"+d.SG) || !strings.Contains(ev.Excerpt, fmt.Sprintf("PolicyIndex %d", d.PolicyIndex)) {
					t.Errorf("evidence %+v", ev)
				}
			}
		})
	}
}

func TestStatefulReplyIgnoresDestinationEgress(t *testing.T) {
	c := newEnv(t).
		sg("sg-client", nil, []string{"ACCEPT ALL ALL 0.0.0.0/0"}).
		sg("sg-server", []string{"ACCEPT TCP 80 10.0.0.0/16"}, []string{"DROP ALL ALL 0.0.0.0/0"}).load()
	eg, ing := Connection(c, Side{IP: ip("10.0.0.5"), SGs: []string{"sg-client"}}, Side{IP: ip("10.0.1.5"), SGs: []string{"sg-server"}}, "tcp", 80)
	if eg.Action != Accept || ing.Action != Accept {
		t.Fatalf("connection should pass: egress %s, ingress %s", eg, ing)
	}
	// The same server cannot open a connection itself: its egress drops.
	eg, _ = Connection(c, Side{IP: ip("10.0.1.5"), SGs: []string{"sg-server"}}, Side{IP: ip("10.0.0.5"), SGs: []string{"sg-client"}}, "tcp", 80)
	if eg.Action != Drop || eg.PolicyIndex != 0 {
		t.Fatalf("server-initiated egress = %s", eg)
	}
	// A CLB real server with LoadBalancerPassToTarget is not filtered.
	_, ing = Connection(c, Side{IP: ip("9.9.9.9")}, Side{IP: ip("10.0.1.5"), SGs: []string{"sg-server"}, Bypass: true}, "tcp", 30080)
	if ing.Action != Accept {
		t.Fatalf("bypass = %s", ing)
	}
}

func TestRangeFindsTheBlockedSlice(t *testing.T) {
	c := newEnv(t).sg("sg-node", []string{
		"ACCEPT TCP 30000-31000 0.0.0.0/0",
		"DROP TCP 31001-31500 10.0.0.0/16",
		"ACCEPT TCP ALL 10.0.0.0/8",
	}, nil).load()
	rs := EvaluateRange(c, []string{"sg-node"}, Query{Dir: model.DirIngress, Proto: "tcp",
		Peer: mustRange("10.0.0.0/16"), Ports: tencentRange(30000, 32768)})
	var got []string
	for _, r := range rs {
		got = append(got, fmt.Sprintf("%s %s %s@%d", r.Peer, r.Ports, r.Decision.Action, r.Decision.PolicyIndex))
	}
	want := "10.0.0.0/16 30000-31000 ACCEPT@0|10.0.0.0/16 31001-31500 DROP@1|10.0.0.0/16 31501-32768 ACCEPT@2"
	if strings.Join(got, "|") != want {
		t.Fatalf("regions\n got %s\nwant %s", strings.Join(got, "|"), want)
	}
	b := First(rs, Drop)
	fix := FixFor(b.Decision, "tcp", "30000-32768", "10.0.0.0/16")
	if fix.String() != "add ingress ACCEPT TCP 30000-32768 from 10.0.0.0/16 to sg-node, before PolicyIndex 1" {
		t.Fatalf("fix = %s", fix)
	}
	// From outside 10/8 only the first range is open.
	if a := Allowed(c, []string{"sg-node"}, model.DirIngress, "tcp", ip("203.0.113.9")); fmt.Sprint(a) != "[30000-31000]" {
		t.Fatalf("allowed from internet = %v", a)
	}
	if a := AllowedPeers(c, []string{"sg-node"}, model.DirIngress, "tcp", 31200, mustRange("0.0.0.0/0")); fmt.Sprint(a) != "[10.1.0.0-10.255.255.255]" {
		t.Fatalf("allowed peers on 31200 = %v", a)
	}
}

func TestRangeSplitsACIDRAcrossPolicies(t *testing.T) {
	// Pod CIDR 172.16.0.0/16, only half of it allowed: the other half is
	// found and the decision is the implicit deny.
	c := newEnv(t).sg("sg-node", []string{"ACCEPT ALL ALL 172.16.0.0/17"}, nil).load()
	rs := EvaluateRange(c, []string{"sg-node"}, Query{Dir: model.DirIngress, Proto: "udp", Peer: mustRange("172.16.0.0/16"), Ports: tencentRange(0, 65535)})
	b := First(rs, Drop)
	if len(rs) != 2 || b == nil || b.Peer.String() != "172.16.128.0/17" || !b.Decision.ImplicitDeny() {
		t.Fatalf("regions %+v", rs)
	}
	fix := FixFor(b.Decision, "all", "", "172.16.0.0/16")
	if fix.String() != "add ingress ACCEPT ALL from 172.16.0.0/16 to sg-node" {
		t.Fatalf("fix = %s", fix)
	}
}

func mustRange(s string) tencent.AddrRange {
	r, err := tencent.ParseAddress(s)
	if err != nil {
		panic(err)
	}
	return r
}

func tencentRange(a, b int) tencent.PortRange { return tencent.PortRange{From: a, To: b} }

// EvaluateRange (one pass per address block) and Evaluate (one packet)
// must agree everywhere: random rule lists, every region checked at its
// corners.
func TestRangeAgreesWithEvaluateOnRandomRules(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	protos := []string{"TCP", "UDP", "ICMP", "ALL"}
	cidrs := []string{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3", "0.0.0.0/0", "172.16.0.0/12", "ipm-1", "sg-peer"}
	ports := []string{"ALL", "80", "80,443", "1000-2000", "30000-32768", "22,8000-9000"}
	for n := 0; n < 40; n++ {
		var in []string
		for i := 0; i < 1+r.IntN(12); i++ {
			act := []string{"ACCEPT", "DROP"}[r.IntN(2)]
			in = append(in, fmt.Sprintf("%s %s %s %s", act, protos[r.IntN(len(protos))], ports[r.IntN(len(ports))], cidrs[r.IntN(len(cidrs))]))
		}
		c := newEnv(t).sg("sg-a", in, nil).sg("sg-peer", nil, nil).instance("ins-p", "10.1.2.9", "sg-peer").
			instance("ins-q", "10.1.2.50", "sg-a").
			raw("cloud/address-templates.json", map[string]any{"AddressTemplateSet": []any{
				map[string]any{"AddressTemplateId": "ipm-1", "AddressSet": []string{"10.1.2.100-10.1.3.7"}}}}).load()
		for _, proto := range []string{"tcp", "udp", "icmp"} {
			q := Query{Dir: model.DirIngress, Proto: proto, Peer: mustRange("10.0.0.0/8"), Ports: tencentRange(0, 65535)}
			for _, reg := range EvaluateRange(c, []string{"sg-a"}, q) {
				for _, a := range []netip.Addr{reg.Peer.From, reg.Peer.To} {
					for _, p := range []int{reg.Ports.From, reg.Ports.To} {
						d := Evaluate(c, []string{"sg-a"}, Flow{Dir: model.DirIngress, Proto: proto, Src: a, Dst: ip("10.9.9.9"), Port: p})
						if d.Action != reg.Decision.Action || d.PolicyIndex != reg.Decision.PolicyIndex {
							t.Fatalf("rules %q %s %s:%d: Evaluate %s, region %s %s says %s", in, proto, a, p, d, reg.Peer, reg.Ports, reg.Decision)
						}
					}
				}
			}
		}
	}
}
