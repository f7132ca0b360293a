package model

import "net/netip"

// ListeningOn reports whether a socket on node listens on port/proto for
// ip (a wildcard bind counts), from nodes/<node>/ss.txt. known is false
// when the bundle has no socket list for that node.
func (c *Cluster) ListeningOn(node string, ip netip.Addr, port int, proto string) (listening, known bool) {
	return false, false
}
