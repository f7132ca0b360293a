package sg

import (
	"strconv"
	"strings"
)

// Args are the language-neutral finding arguments of a decision. A
// finding must not carry a ready English sentence (the Chinese report
// would print it as is): the catalog templates compose these into a
// sentence in each language.
//
//	decided_by      "policy", "implicit" (no policy matched) or "nosg"
//	policy_sg       SG of the deciding policy
//	policy_index    its PolicyIndex
//	action          its Action (ACCEPT, DROP)
//	policy_service  what it matches: ALL, "TCP 80,443", "ICMP", a ppm-/ppmg- template
//	policy_peer     its peer: a CIDR or range, an sg-, ipm- or ipmg- ID
//	policy_sgs      the SGs evaluated, in binding order, comma-separated
//	dir             ingress or egress
//
// Undecided decisions have no args: they become inconclusive items.
func (d Decision) Args() map[string]string {
	a := map[string]string{"dir": string(d.Direction), "policy_sgs": strings.Join(d.SGs, ",")}
	switch {
	case d.NoSG:
		a["decided_by"] = "nosg"
	case d.Action == Undecided:
		return nil
	case d.Policy == nil:
		a["decided_by"] = "implicit"
	default:
		p := d.Policy
		a["decided_by"] = "policy"
		a["policy_sg"] = d.SG
		a["policy_index"] = strconv.Itoa(d.PolicyIndex)
		a["action"] = strings.ToUpper(p.Action)
		a["policy_peer"] = p.PeerString()
		a["policy_service"] = p.Service()
	}
	return a
}
