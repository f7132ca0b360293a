package filter

import (
	"net/netip"
	"sort"

	"tkesnap/analysis/pcapflow"
	"tkesnap/parsers/pcap"
)

// Env is one packet as the filter sees it: made by a Dissector, which
// dissects the frame's layers. An Env without one knows only the frame.
type Env struct {
	P    *pcap.Packet
	Info *pcapflow.PacketInfo // may be nil: tkesnap's own tcp.analysis.duplicate_frame then never matches
	// Start is the time of the capture's first packet, for
	// frame.time_relative.
	Start int64
	// HTTP are the messages this frame completes.
	HTTP      []HTTPMsg
	dissected bool
	ls        []layer
	sllIf     int32
	// retransmission: Wireshark's tcp.analysis.retransmission.
	retransmission bool
	httpData       bool   // HTTP continuation data (no message starts here)
	httpPayload    []byte // the segment HTTP was given
}

type kind int

const (
	kProto kind = iota // a protocol: exists, and "contains" searches its bytes
	kUint
	kFloat
	kIP
	kString // text and bytes
)

func (k kind) String() string {
	return [...]string{"protocol", "number", "number", "address", "string"}[k]
}

type value struct {
	u  uint64
	f  float64
	ip netip.Addr
	s  []byte
}

type field struct {
	name string
	kind kind
	// get appends the field's values for the packet (none: absent).
	get func(e *Env, out []value) []value
}

func u(v uint64) value { return value{u: v} }
func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
func ipv(a netip.Addr) value { return value{ip: a} }
func sv(b []byte) value      { return value{s: b} }

// each returns the getter of a field that occurs once per layer of kind
// k that has it.
func each(k lkind, get func(l *layer, out []value) []value) func(e *Env, out []value) []value {
	return func(e *Env, out []value) []value {
		for i := range e.ls {
			if e.ls[i].kind == k {
				out = get(&e.ls[i], out)
			}
		}
		return out
	}
}

// eachWith: a field present in layers of kind k that have the header
// bytes h (a header cut short has only its first fields).
func eachWith(k lkind, h uint8, f func(l *layer) value) func(e *Env, out []value) []value {
	return each(k, func(l *layer, out []value) []value {
		if l.have&h == h {
			out = append(out, f(l))
		}
		return out
	})
}

func eachOf(k lkind, f func(l *layer) value) func(e *Env, out []value) []value {
	return each(k, func(l *layer, out []value) []value { return append(out, f(l)) })
}

// protoOf is a protocol field: present once per layer, `contains`
// searches the layer's bytes.
func protoOf(k lkind) field {
	return field{kind: kProto, get: eachOf(k, func(l *layer) value { return sv(l.data) })}
}

func frameField(f func(p *pcap.Packet) value) field {
	return field{kind: kUint, get: func(e *Env, out []value) []value { return append(out, f(e.P)) }}
}

// httpField reads an http.* field from the messages the frame completes.
func httpField(msg func(m *HTTPMsg, out []value) []value) func(e *Env, out []value) []value {
	return func(e *Env, out []value) []value {
		for i := range e.HTTP {
			out = msg(&e.HTTP[i], out)
		}
		return out
	}
}

var fields = map[string]field{}

func def(name string, f field) {
	f.name = name
	fields[name] = f
}

func init() {
	def("frame", field{kind: kProto, get: func(e *Env, out []value) []value { return append(out, sv(e.P.Frame)) }})
	def("frame.len", frameField(func(p *pcap.Packet) value { return u(uint64(p.Len)) }))
	def("frame.cap_len", frameField(func(p *pcap.Packet) value { return u(uint64(p.CapLen)) }))
	def("frame.number", frameField(func(p *pcap.Packet) value { return u(uint64(p.Number)) }))
	def("frame.interface_id", frameField(func(p *pcap.Packet) value { return u(uint64(p.Iface)) }))
	def("frame.time_relative", field{kind: kFloat, get: func(e *Env, out []value) []value {
		return append(out, value{f: float64(e.P.Time-e.Start) / 1e9})
	}})
	def("frame.time_epoch", field{kind: kFloat, get: func(e *Env, out []value) []value {
		return append(out, value{f: float64(e.P.Time) / 1e9})
	}})

	// Every IP header of the frame counts: a tunnel's outer one, the
	// inner one, the one an ICMP error quotes.
	def("ip", protoOf(lIP4))
	def("ip.src", field{kind: kIP, get: eachOf(lIP4, func(l *layer) value { return ipv(l.src) })})
	def("ip.dst", field{kind: kIP, get: eachOf(lIP4, func(l *layer) value { return ipv(l.dst) })})
	def("ip.addr", field{kind: kIP, get: each(lIP4, func(l *layer, out []value) []value { return append(out, ipv(l.src), ipv(l.dst)) })})
	def("ip.proto", field{kind: kUint, get: eachOf(lIP4, func(l *layer) value { return u(uint64(l.proto)) })})
	def("ip.ttl", field{kind: kUint, get: eachOf(lIP4, func(l *layer) value { return u(uint64(l.ttl)) })})
	def("ip.id", field{kind: kUint, get: eachOf(lIP4, func(l *layer) value { return u(uint64(l.id)) })})
	def("ip.len", field{kind: kUint, get: eachOf(lIP4, func(l *layer) value { return u(uint64(l.ipLen)) })})
	def("ipv6", protoOf(lIP6))
	def("ipv6.src", field{kind: kIP, get: eachOf(lIP6, func(l *layer) value { return ipv(l.src) })})
	def("ipv6.dst", field{kind: kIP, get: eachOf(lIP6, func(l *layer) value { return ipv(l.dst) })})
	def("ipv6.addr", field{kind: kIP, get: each(lIP6, func(l *layer, out []value) []value { return append(out, ipv(l.src), ipv(l.dst)) })})

	// tcp and udp cover the whole transport layer, header and payload:
	// what Wireshark's `tcp contains` searches.
	def("tcp", protoOf(lTCP))
	def("tcp.srcport", field{kind: kUint, get: eachOf(lTCP, func(l *layer) value { return u(uint64(l.sp)) })})
	def("tcp.dstport", field{kind: kUint, get: eachOf(lTCP, func(l *layer) value { return u(uint64(l.dp)) })})
	def("tcp.port", field{kind: kUint, get: each(lTCP, func(l *layer, out []value) []value {
		return append(out, u(uint64(l.sp)), u(uint64(l.dp)))
	})})
	def("tcp.seq_raw", field{kind: kUint, get: eachWith(lTCP, haveSeq, func(l *layer) value { return u(uint64(l.seq)) })})
	def("tcp.ack_raw", field{kind: kUint, get: eachWith(lTCP, haveFlags, func(l *layer) value { return u(uint64(l.ack)) })})
	def("tcp.len", field{kind: kUint, get: eachWith(lTCP, haveAll, func(l *layer) value { return u(uint64(l.segLen)) })})
	def("tcp.window_size_value", field{kind: kUint, get: eachWith(lTCP, haveFlags, func(l *layer) value { return u(uint64(l.win)) })})
	def("tcp.flags", field{kind: kUint, get: eachWith(lTCP, haveFlags, func(l *layer) value { return u(uint64(l.flags)) })})
	for name, bit := range map[string]uint8{"fin": pcap.FIN, "syn": pcap.SYN, "reset": pcap.RST, "push": pcap.PSH,
		"ack": pcap.ACK, "urg": pcap.URG, "ece": pcap.ECE, "cwr": pcap.CWR} {
		def("tcp.flags."+name, field{kind: kUint, get: eachWith(lTCP, haveFlags, func(l *layer) value { return u(b2u(l.flags&bit != 0)) })})
	}
	def("tcp.payload", field{kind: kString, get: each(lTCP, func(l *layer, out []value) []value {
		if len(l.payload) > 0 {
			out = append(out, sv(l.payload))
		}
		return out
	})})
	def("tcp.analysis.retransmission", field{kind: kProto, get: func(e *Env, out []value) []value {
		if e.retransmission {
			return append(out, value{})
		}
		return out
	}})
	// Not a Wireshark field: the flow analysis' duplicate frames.
	def("tcp.analysis.duplicate_frame", field{kind: kProto, get: func(e *Env, out []value) []value {
		if e.Info != nil && e.Info.Duplicate {
			return append(out, value{})
		}
		return out
	}})

	def("udp", protoOf(lUDP))
	def("udp.srcport", field{kind: kUint, get: eachOf(lUDP, func(l *layer) value { return u(uint64(l.sp)) })})
	def("udp.dstport", field{kind: kUint, get: eachOf(lUDP, func(l *layer) value { return u(uint64(l.dp)) })})
	def("udp.port", field{kind: kUint, get: each(lUDP, func(l *layer, out []value) []value {
		return append(out, u(uint64(l.sp)), u(uint64(l.dp)))
	})})
	def("udp.length", field{kind: kUint, get: eachOf(lUDP, func(l *layer) value { return u(uint64(l.segLen)) })})
	def("udp.payload", field{kind: kString, get: each(lUDP, func(l *layer, out []value) []value {
		if len(l.payload) > 0 {
			out = append(out, sv(l.payload))
		}
		return out
	})})

	def("icmp", protoOf(lICMP))
	def("icmp.type", field{kind: kUint, get: eachOf(lICMP, func(l *layer) value { return u(uint64(l.typ)) })})
	def("icmp.code", field{kind: kUint, get: eachWith(lICMP, haveAll, func(l *layer) value { return u(uint64(l.code)) })})
	def("icmpv6", protoOf(lICMP6))
	def("icmpv6.type", field{kind: kUint, get: eachOf(lICMP6, func(l *layer) value { return u(uint64(l.typ)) })})
	def("icmpv6.code", field{kind: kUint, get: eachWith(lICMP6, haveAll, func(l *layer) value { return u(uint64(l.code)) })})

	def("dns", protoOf(lDNS))
	def("dns.id", field{kind: kUint, get: eachOf(lDNS, func(l *layer) value { return u(uint64(l.dnsID)) })})
	def("dns.qry.name", field{kind: kString, get: each(lDNS, func(l *layer, out []value) []value {
		if l.dnsHasQ {
			out = append(out, sv(l.dnsName))
		}
		return out
	})})
	def("dns.qry.type", field{kind: kUint, get: each(lDNS, func(l *layer, out []value) []value {
		if l.dnsHasQ {
			out = append(out, u(uint64(l.dnsQType)))
		}
		return out
	})})
	def("dns.flags.rcode", field{kind: kUint, get: eachOf(lDNS, func(l *layer) value { return u(uint64(l.dnsFlags & 0xf)) })})
	def("dns.flags.response", field{kind: kUint, get: eachOf(lDNS, func(l *layer) value { return u(uint64(l.dnsFlags >> 15)) })})
	def("dns.count.answers", field{kind: kUint, get: eachOf(lDNS, func(l *layer) value { return u(uint64(l.dnsAnswers)) })})

	present := func(m *HTTPMsg, out []value) []value { return append(out, value{}) }
	def("http", field{kind: kProto, get: func(e *Env, out []value) []value {
		if len(e.HTTP) > 0 || e.httpData {
			out = append(out, sv(e.httpPayload))
		}
		return out
	}})
	def("http.request", field{kind: kProto, get: httpField(func(m *HTTPMsg, out []value) []value {
		if m.Request {
			return present(m, out)
		}
		return out
	})})
	def("http.response", field{kind: kProto, get: httpField(func(m *HTTPMsg, out []value) []value {
		if !m.Request {
			return present(m, out)
		}
		return out
	})})
	def("http.request.method", field{kind: kString, get: httpField(func(m *HTTPMsg, out []value) []value {
		if m.Request {
			out = append(out, sv(m.Method))
		}
		return out
	})})
	def("http.request.uri", field{kind: kString, get: httpField(func(m *HTTPMsg, out []value) []value {
		if m.Request {
			out = append(out, sv(m.URI))
		}
		return out
	})})
	hostGet := httpField(func(m *HTTPMsg, out []value) []value {
		if m.Request && m.Host != nil {
			out = append(out, sv(m.Host))
		}
		return out
	})
	def("http.host", field{kind: kString, get: hostGet})
	def("http.request.host", field{kind: kString, get: hostGet}) // alias: the brief's name for Wireshark's http.host
	def("http.response.code", field{kind: kUint, get: httpField(func(m *HTTPMsg, out []value) []value {
		if !m.Request && m.HasStatus {
			out = append(out, u(uint64(m.Status)))
		}
		return out
	})})
	def("http.response.phrase", field{kind: kString, get: httpField(func(m *HTTPMsg, out []value) []value {
		if !m.Request && m.Phrase != nil {
			out = append(out, sv(m.Phrase))
		}
		return out
	})})

	def("vxlan", protoOf(lVXLAN))
	def("vxlan.vni", field{kind: kUint, get: eachOf(lVXLAN, func(l *layer) value { return u(uint64(l.vni)) })})
	def("geneve", protoOf(lGeneve))
	def("gre", protoOf(lGRE))
	def("erspan", protoOf(lERSPAN))
	def("sll.ifindex", field{kind: kUint, get: func(e *Env, out []value) []value {
		if e.sllIf >= 0 && e.dissected {
			out = append(out, u(uint64(e.sllIf)))
		}
		return out
	}})
}

// Fields lists the supported field names, sorted.
func Fields() []string {
	var out []string
	for n := range fields {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
