package model

import "tkesnap/parsers/iptables"

// KubeProxyJump is one entry of kube-proxy's chains into a kernel hook
// chain (pkg/proxy/iptables/proxier.go iptablesJumpChains and the IPVS
// proxier's counterpart): the rule kube-proxy keeps at the top of Hook so
// that packets reach Chain at all.
type KubeProxyJump struct {
	Table, Hook, Chain string
	// Effect names what breaks without the jump, as a code the finding
	// catalog words per language: dnat-in, dnat-local, masq, forward,
	// reject, healthcheck, firewall; ipvs-mark in IPVS mode, where IPVS
	// itself does the DNAT and nat KUBE-SERVICES only marks for
	// masquerade.
	Effect string
	// iptablesOnly: the IPVS proxier does not add this jump (its
	// iptablesJumpChain list differs: no filter KUBE-SERVICES,
	// KUBE-EXTERNAL-SERVICES or KUBE-NODEPORTS, KUBE-PROXY-FIREWALL from
	// INPUT and FORWARD only).
	iptablesOnly bool
}

// kubeProxyJumps are the entries every kube-proxy version that creates
// the target chain also adds. Jumps later versions added to an older
// chain (filter FORWARD → KUBE-EXTERNAL-SERVICES) are left out, so an
// older kube-proxy is never called broken.
var kubeProxyJumps = []KubeProxyJump{
	{"nat", "PREROUTING", "KUBE-SERVICES", "dnat-in", false},
	{"nat", "OUTPUT", "KUBE-SERVICES", "dnat-local", false},
	{"nat", "POSTROUTING", "KUBE-POSTROUTING", "masq", false},
	{"filter", "FORWARD", "KUBE-FORWARD", "forward", false},
	{"filter", "INPUT", "KUBE-PROXY-FIREWALL", "firewall", false},
	{"filter", "FORWARD", "KUBE-PROXY-FIREWALL", "firewall", false},
	{"filter", "OUTPUT", "KUBE-PROXY-FIREWALL", "firewall", true},
	{"filter", "FORWARD", "KUBE-SERVICES", "reject", true},
	{"filter", "OUTPUT", "KUBE-SERVICES", "reject", true},
	{"filter", "INPUT", "KUBE-EXTERNAL-SERVICES", "reject", true},
	{"filter", "INPUT", "KUBE-NODEPORTS", "healthcheck", true},
}

// MissingKubeProxyJumps lists the entries whose target chain exists in rs
// (kube-proxy created it) but is not reachable from the hook chain
// through any chain of jumps or gotos: its rules are never evaluated.
// A hook chain absent from a dump that has the table is an empty
// built-in chain, so the jump is missing too. ipvs selects the IPVS
// proxier's entries and the IPVS effect of the nat KUBE-SERVICES ones.
func MissingKubeProxyJumps(rs *iptables.Ruleset, ipvs bool) []KubeProxyJump {
	if rs == nil {
		return nil
	}
	var out []KubeProxyJump
	for _, j := range kubeProxyJumps {
		if ipvs && j.iptablesOnly {
			continue
		}
		t := rs.Table(j.Table)
		if t == nil || t.Chain(j.Chain) == nil {
			continue
		}
		if reaches(t, j.Hook, j.Chain) {
			continue
		}
		if ipvs && j.Table == "nat" && j.Chain == "KUBE-SERVICES" {
			j.Effect = "ipvs-mark"
		}
		out = append(out, j)
	}
	return out
}

// reaches: a rule of from (or of a chain it jumps or goes to) targets to.
func reaches(t *iptables.Table, from, to string) bool {
	seen := map[string]bool{from: true}
	queue := []string{from}
	for len(queue) > 0 {
		c := t.Chain(queue[0])
		queue = queue[1:]
		if c == nil {
			continue
		}
		for _, r := range c.Rules {
			n := r.Target.Name
			if n == to {
				return true
			}
			if n != "" && !seen[n] && t.Chain(n) != nil {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	return false
}
