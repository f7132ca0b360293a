package netlink

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// Link is one interface of `ip -j [-d] link` or `ip -j addr`.
type Link struct {
	Line      int
	Index     int
	Name      string
	Flags     []string // UP, LOWER_UP, NOARP, ...
	MTU       int
	OperState string
	LinkType  string // ether, loopback, none, ...
	Address   string // MAC
	Master    string // bridge or bond the link is enslaved to
	Kind      string // linkinfo.info_kind with -d: bridge, veth, vxlan, dummy, ipip, ...
	// Addrs are filled from `ip -j addr`.
	Addrs []Addr
}

// Up says the administrative UP flag is set.
func (l *Link) Up() bool {
	for _, f := range l.Flags {
		if f == "UP" {
			return true
		}
	}
	return false
}

// Addr is one address of a link (addr_info).
type Addr struct {
	Line   int
	Link   string
	Family string // inet, inet6
	Local  netip.Addr
	Prefix netip.Prefix // Local with prefixlen, masked
	Scope  string       // global, link, host
	Label  string
}

func (a Addr) String() string {
	return fmt.Sprintf("%s/%d dev %s scope %s", a.Local, a.Prefix.Bits(), a.Link, a.Scope)
}

type rawLink struct {
	Index     int      `json:"ifindex"`
	Name      string   `json:"ifname"`
	Flags     []string `json:"flags"`
	MTU       int      `json:"mtu"`
	OperState string   `json:"operstate"`
	LinkType  string   `json:"link_type"`
	Address   string   `json:"address"`
	Master    string   `json:"master"`
	LinkInfo  *struct {
		Kind string `json:"info_kind"`
	} `json:"linkinfo"`
	AddrInfo []struct {
		Family    string `json:"family"`
		Local     string `json:"local"`
		PrefixLen *int   `json:"prefixlen"`
		Scope     string `json:"scope"`
		Label     string `json:"label"`
	} `json:"addr_info"`
}

// ParseLinks reads `ip -j addr` or `ip -j [-d] link`: both print one
// object per link, addr adds addr_info.
func ParseLinks(r io.Reader) ([]*Link, []Problem) {
	var out []*Link
	probs := decodeArray(r, func(line int, raw json.RawMessage) error {
		var rl rawLink
		if err := json.Unmarshal(raw, &rl); err != nil {
			return err
		}
		if rl.Name == "" {
			// `ip -j addr` on old iproute2 prints an empty object for
			// interfaces filtered out; nothing to keep.
			return nil
		}
		l := &Link{Line: line, Index: rl.Index, Name: rl.Name, Flags: rl.Flags, MTU: rl.MTU,
			OperState: rl.OperState, LinkType: rl.LinkType, Address: rl.Address, Master: rl.Master}
		if rl.LinkInfo != nil {
			l.Kind = rl.LinkInfo.Kind
		}
		// "ifname":"veth1@if5": iproute2 prints the peer in text mode
		// only, but strip it if a collector built the name that way.
		if i := strings.IndexByte(l.Name, '@'); i > 0 {
			l.Name = l.Name[:i]
		}
		for _, ai := range rl.AddrInfo {
			a, err := netip.ParseAddr(ai.Local)
			if err != nil {
				return fmt.Errorf("link %s: address %q: %v", rl.Name, ai.Local, err)
			}
			bits := a.BitLen()
			if ai.PrefixLen != nil {
				bits = *ai.PrefixLen
			}
			p, err := a.Prefix(bits)
			if err != nil {
				return fmt.Errorf("link %s: prefix length %d: %v", rl.Name, bits, err)
			}
			l.Addrs = append(l.Addrs, Addr{Line: line, Link: l.Name, Family: ai.Family, Local: a, Prefix: p, Scope: ai.Scope, Label: ai.Label})
		}
		out = append(out, l)
		return nil
	})
	return out, probs
}

// Neigh is one entry of `ip -j neigh`.
type Neigh struct {
	Line   int
	Dst    netip.Addr
	Dev    string
	LLAddr string
	State  []string // REACHABLE, STALE, FAILED, INCOMPLETE, PERMANENT, NOARP, ...
}

// Failed says the kernel could not resolve the neighbour.
func (n Neigh) Failed() bool {
	for _, s := range n.State {
		if s == "FAILED" || s == "INCOMPLETE" {
			return true
		}
	}
	return false
}

// ParseNeighs reads `ip -j neigh`.
func ParseNeighs(r io.Reader) ([]Neigh, []Problem) {
	var out []Neigh
	probs := decodeArray(r, func(line int, raw json.RawMessage) error {
		var rn struct {
			Dst    string   `json:"dst"`
			Dev    string   `json:"dev"`
			LLAddr string   `json:"lladdr"`
			State  []string `json:"state"`
		}
		if err := json.Unmarshal(raw, &rn); err != nil {
			return err
		}
		a, err := netip.ParseAddr(rn.Dst)
		if err != nil {
			return fmt.Errorf("neighbour %q: %v", rn.Dst, err)
		}
		out = append(out, Neigh{Line: line, Dst: a, Dev: rn.Dev, LLAddr: rn.LLAddr, State: rn.State})
		return nil
	})
	return out, probs
}
