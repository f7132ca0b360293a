// Package ipvs parses the text that ipvsadm(8) prints: the save format
// (`ipvsadm -Sn`), the list format (`ipvsadm -Ln`), its statistics and
// rate variants (`-Ln --stats [--exact]`, `-Ln --rate`) and the connection
// list (`-Lnc`). The formats are those of ipvsadm.c print_service_entry /
// print_conn (ipvsadm 1.2x–1.31).
//
// It has its own types: github.com/moby/ipvs only builds on Linux and talks
// to the kernel, while tkesnap reads dumps offline on any OS.
//
// Parsing never fails on bad input: a line it cannot read is recorded as a
// Problem with its line number and skipped, so one garbled line does not
// hide the rest of a node's table.
package ipvs

import (
	"net/netip"
	"strconv"
	"strings"
)

// Proto is the protocol of a virtual service.
type Proto string

const (
	TCP    Proto = "TCP"
	UDP    Proto = "UDP"
	SCTP   Proto = "SCTP"
	FWMark Proto = "FWM" // firewall-mark service (-f): no address, matched by mark
)

// Forward is a real server's packet forwarding method (ipvsadm -g/-i/-m).
type Forward string

const (
	Masq   Forward = "Masq"   // -m: NAT, the method kube-proxy uses
	Route  Forward = "Route"  // -g: direct routing (gatewaying)
	Tunnel Forward = "Tunnel" // -i: IP-in-IP / GUE / GRE
	Local  Forward = "Local"  // the real server is a local address
)

// Format says which ipvsadm output a file held.
type Format string

const (
	FormatSave  Format = "save"  // ipvsadm -Sn
	FormatList  Format = "list"  // ipvsadm -Ln
	FormatStats Format = "stats" // ipvsadm -Ln --stats
	FormatRate  Format = "rate"  // ipvsadm -Ln --rate
	FormatConns Format = "conns" // ipvsadm -Lnc
)

// Key identifies a virtual service: protocol + address:port, or a fwmark
// (+ address family).
type Key struct {
	Proto Proto
	Addr  netip.AddrPort // zero for fwmark services
	Mark  uint32         // fwmark services only
	IPv6  bool           // fwmark services only: "-6" / "IPv6"
}

func (k Key) String() string {
	if k.Proto == FWMark {
		s := "FWM " + strconv.FormatUint(uint64(k.Mark), 10)
		if k.IPv6 {
			s += " IPv6"
		}
		return s
	}
	return string(k.Proto) + " " + k.Addr.String()
}

// Counters are the statistics of a service or real server
// (`--stats`: totals; `--rate`: per second estimates).
type Counters struct {
	Conns, InPkts, OutPkts, InBytes, OutBytes uint64
	// Approx is set when a value was printed with a K/M/G/T suffix
	// (ipvsadm without --exact rounds values ≥ 100 million down).
	Approx bool
}

// Service is one virtual service with its real servers.
type Service struct {
	Key
	Line      int    // line of the service in the dump
	Scheduler string // rr, wrr, lc, sh, mh, ...
	// SchedFlags are the scheduler flags (-b sh-fallback,sh-port / "(...)").
	SchedFlags []string
	// Persistent is ipvsadm -p: a client keeps its real server for Timeout
	// seconds (kube-proxy: sessionAffinity ClientIP, default 10800).
	Persistent bool
	Timeout    uint32
	Netmask    string // persistence granularity (-M), empty = host
	PE         string // persistence engine (sip)
	OnePacket  bool   // -o / ops: one-packet scheduling (UDP)
	Dests      []*Dest
	Stats      *Counters // from a --stats dump
	Rate       *Counters // from a --rate dump
}

// Dest is one real server of a virtual service.
type Dest struct {
	Line    int
	Addr    netip.AddrPort
	Forward Forward
	// Weight 0 means drained: the scheduler sends no new connections
	// (kube-proxy sets it for terminating endpoints).
	Weight       int
	ActiveConn   uint64
	InActConn    uint64
	UThreshold   uint32 // -x
	LThreshold   uint32 // -y
	TunnelOpts   string // --tun-type ... when Forward is Tunnel
	Stats        *Counters
	Rate         *Counters
	hasConnCount bool
}

// HasConnCounts says whether ActiveConn/InActConn were in the dump
// (the list format has them, the save format does not).
func (d *Dest) HasConnCounts() bool { return d.hasConnCount }

// Conn is one entry of the IPVS connection table (ipvsadm -Lnc).
type Conn struct {
	Line    int
	Proto   string
	Expire  string // mm:ss
	State   string
	Client  netip.AddrPort
	Virtual netip.AddrPort
	Dest    netip.AddrPort
}

// Problem is a line that could not be read.
type Problem struct {
	Line    int
	Message string
}

func (p Problem) Error() string { return "line " + strconv.Itoa(p.Line) + ": " + p.Message }

// Table is one parsed dump.
type Table struct {
	Format   Format
	Version  string // "1.2.1" from the list header
	Size     int    // connection hash table size from the list header
	Services []*Service
	Conns    []Conn
	Problems []Problem

	index map[Key]*Service
}

// Service returns the virtual service with the given key.
func (t *Table) Service(k Key) *Service {
	if t == nil {
		return nil
	}
	if t.index == nil {
		t.reindex()
	}
	return t.index[k]
}

func (t *Table) reindex() {
	t.index = make(map[Key]*Service, len(t.Services))
	for _, s := range t.Services {
		if _, dup := t.index[s.Key]; !dup {
			t.index[s.Key] = s
		}
	}
}

// Lookup returns the virtual service a packet to dst with protocol proto
// ("tcp", "udp", "sctp") hits, or nil. Fwmark services are not looked up
// here: they depend on iptables marks.
func (t *Table) Lookup(proto string, dst netip.AddrPort) *Service {
	return t.Service(Key{Proto: Proto(strings.ToUpper(proto)), Addr: dst})
}

// MergeCounters copies --stats or --rate counters of other (same
// services) onto t, matching services by key and real servers by address.
func (t *Table) MergeCounters(other *Table) {
	if t == nil || other == nil {
		return
	}
	for _, os := range other.Services {
		s := t.Service(os.Key)
		if s == nil {
			continue
		}
		if os.Stats != nil {
			s.Stats = os.Stats
		}
		if os.Rate != nil {
			s.Rate = os.Rate
		}
		for _, od := range os.Dests {
			for _, d := range s.Dests {
				if d.Addr == od.Addr {
					if od.Stats != nil {
						d.Stats = od.Stats
					}
					if od.Rate != nil {
						d.Rate = od.Rate
					}
				}
			}
		}
	}
}
