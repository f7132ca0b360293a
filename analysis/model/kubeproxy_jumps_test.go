package model

import (
	"strings"
	"testing"

	"tkesnap/parsers/iptables"
)

func TestMissingKubeProxyJumps(t *testing.T) {
	const full = `*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-SERVICES - [0:0]
:CNI-FORWARD - [0:0]
-A FORWARD -j CNI-FORWARD
-A CNI-FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -j KUBE-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -j KUBE-SERVICES
COMMIT
`
	cases := []struct {
		name string
		drop string // a line removed from full
		ipvs bool
		want string // "table hook chain effect", "" for none
	}{
		{"all present (KUBE-FORWARD reached through a CNI chain)", "", false, ""},
		{"PREROUTING flushed", `-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`, false, "nat PREROUTING KUBE-SERVICES dnat-in"},
		{"PREROUTING flushed, IPVS mode", `-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`, true, "nat PREROUTING KUBE-SERVICES ipvs-mark"},
		{"OUTPUT flushed", `-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`, false, "nat OUTPUT KUBE-SERVICES dnat-local"},
		{"POSTROUTING flushed", `-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING`, false, "nat POSTROUTING KUBE-POSTROUTING masq"},
		{"CNI chain no longer jumps to KUBE-FORWARD", `-A CNI-FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD`, false, "filter FORWARD KUBE-FORWARD forward"},
		{"filter FORWARD reject jump gone", `-A FORWARD -m conntrack --ctstate NEW -j KUBE-SERVICES`, false, "filter FORWARD KUBE-SERVICES reject"},
		// a chain kube-proxy never created is no missing jump
		{"no KUBE-POSTROUTING chain at all", ":KUBE-POSTROUTING - [0:0]\n-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING", false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := full
			for _, l := range strings.Split(c.drop, "\n") {
				if l != "" {
					if !strings.Contains(text, l+"\n") {
						t.Fatalf("line %q not in the ruleset", l)
					}
					text = strings.Replace(text, l+"\n", "", 1)
				}
			}
			rs, err := iptables.Parse(strings.NewReader(text))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, j := range MissingKubeProxyJumps(rs, c.ipvs) {
				got = append(got, j.Table+" "+j.Hook+" "+j.Chain+" "+j.Effect)
			}
			if strings.Join(got, "; ") != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// The IPVS proxier hooks KUBE-PROXY-FIREWALL from INPUT and FORWARD only:
// no OUTPUT jump is expected in IPVS mode, while the iptables proxier
// adds one.
func TestKubeProxyJumpsFollowTheMode(t *testing.T) {
	rs, err := iptables.Parse(strings.NewReader(`*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
-A INPUT -j KUBE-PROXY-FIREWALL
-A FORWARD -j KUBE-PROXY-FIREWALL
COMMIT
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := MissingKubeProxyJumps(rs, true); len(got) != 0 {
		t.Errorf("IPVS mode: %v", got)
	}
	if got := MissingKubeProxyJumps(rs, false); len(got) != 1 || got[0].Hook != "OUTPUT" {
		t.Errorf("iptables mode: %v, want the OUTPUT jump", got)
	}
}
