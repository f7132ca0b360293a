package pcapflow

import (
	"net/netip"
	"sort"
)

// Point is one capture taken somewhere on a path: a node's eth0, a pod's
// netns, the peer node. Local lists addresses that belong to the capture
// point (its node's or pod's addresses) when known; the correlation then
// knows which captures must see a connection to those addresses.
type Point struct {
	Name  string
	Sigs  []Sig
	First int64 // capture start and end (packet times)
	Last  int64
	Local map[netip.Addr]bool
}

// Sighting is one connection as one capture saw it.
type Sighting struct {
	Point int // index into the points
	Sig   Sig
}

// Journey is one connection followed through several captures.
type Journey struct {
	Seen []Sighting
	// Missing lists points that should have seen the connection (they
	// hold its destination and were capturing at the time) but did not.
	Missing []int
	// NATed: the source address or port differs between two sightings.
	NATed bool
}

// timeWindow bounds clock skew between nodes plus the path delay.
const timeWindow = 30e9

// Correlate follows connections across captures. TCP connections are
// matched by the originator's ISN, which NAT (SNAT, DNAT, MASQUERADE)
// does not rewrite; UDP by a hash of the first payload. Both also need
// the sightings within timeWindow of each other.
func Correlate(points []*Point) []Journey {
	type tag struct {
		proto uint8
		isn   uint32
		hash  uint64
	}
	idx := map[tag][]Sighting{}
	for pi, p := range points {
		for _, s := range p.Sigs {
			t := tag{proto: s.Proto}
			if s.HasISN {
				t.isn = s.ISN
			} else if s.PayloadHash != 0 {
				t.hash = s.PayloadHash
			} else {
				continue
			}
			idx[t] = append(idx[t], Sighting{pi, s})
		}
	}
	var out []Journey
	for _, group := range idx {
		sort.Slice(group, func(i, j int) bool { return group[i].Sig.Time < group[j].Sig.Time })
		// split by time: the same ISN far apart is another connection
		start := 0
		for i := 1; i <= len(group); i++ {
			if i < len(group) && group[i].Sig.Time-group[start].Sig.Time < timeWindow {
				continue
			}
			out = append(out, Journey{Seen: uniqueSightings(group[start:i])})
			start = i
		}
	}
	// Destinations two captures demonstrably share: some connection to
	// them was seen in both. Without address ownership (captures given
	// as plain files), a capture is expected to see a connection only to
	// such a destination: "other connections to X reached B, this one
	// did not".
	type pair struct {
		a, b int
		dst  netip.AddrPort
	}
	shared := map[pair]bool{}
	for _, j := range out {
		for _, x := range j.Seen {
			for _, y := range j.Seen {
				if x.Point != y.Point {
					shared[pair{x.Point, y.Point, x.Sig.Resp}] = true
				}
			}
		}
	}
	kept := out[:0]
	for _, j := range out {
		missing(points, &j, func(a, b int, dst netip.AddrPort) bool { return shared[pair{a, b, dst}] })
		if len(j.Seen) > 1 || len(j.Missing) > 0 {
			kept = append(kept, j)
		}
	}
	out = kept
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Seen[0], out[j].Seen[0]
		if a.Sig.Time != b.Sig.Time {
			return a.Sig.Time < b.Sig.Time
		}
		return a.Point < b.Point
	})
	return out
}

// uniqueSightings keeps one sighting per capture (a capture seeing its
// own SYN twice is one sighting).
func uniqueSightings(seen []Sighting) []Sighting {
	var uniq []Sighting
	have := map[int]bool{}
	for _, s := range seen {
		if !have[s.Point] {
			have[s.Point] = true
			uniq = append(uniq, s)
		}
	}
	return uniq
}

// missing fills which captures should have seen the connection: they own
// a destination address of some sighting (after DNAT the destination
// changes) and were running at the time; and sets NATed.
func missing(points []*Point, j *Journey, shares func(a, b int, dst netip.AddrPort) bool) {
	first := j.Seen[0].Sig
	have := map[int]bool{}
	for _, s := range j.Seen {
		have[s.Point] = true
		if s.Sig.Orig != first.Orig {
			j.NATed = true
		}
	}
	for pi, p := range points {
		if have[pi] || first.Time < p.First-timeWindow/10 || first.Time > p.Last {
			continue
		}
		owns := false
		for _, s := range j.Seen {
			owns = owns || p.Local[s.Sig.Resp.Addr()] || shares(s.Point, pi, s.Sig.Resp)
		}
		if owns {
			j.Missing = append(j.Missing, pi)
		}
	}
}
