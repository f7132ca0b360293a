package filter

import (
	"net/netip"
	"sort"

	"tkesnap/analysis/pcapflow"
	"tkesnap/parsers/pcap"
)

// Env is one packet as the filter sees it.
type Env struct {
	P    *pcap.Packet
	Info *pcapflow.PacketInfo // may be nil: tcp.analysis.* then never match
	// Start is the time of the capture's first packet, for
	// frame.time_relative.
	Start int64
	// HTTP are the messages this frame completes, when a Dissector made
	// the Env (otherwise http.* come from the segment alone).
	HTTP      []HTTPMsg
	dissected bool
	httpData  bool // HTTP continuation data (no message starts here)
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

func isTCP(p *pcap.Packet) bool  { return p.HasTCP() }
func isUDP(p *pcap.Packet) bool  { return p.HasUDP() }
func isICMP(p *pcap.Packet) bool { return p.HasICMP && p.Proto == pcap.ProtoICMP }
func isICMP6(p *pcap.Packet) bool {
	return p.HasICMP && p.Proto == pcap.ProtoICMPv6
}
func isHTTP(p *pcap.Packet) bool { return len(p.HTTPMethod) > 0 || p.HTTPStatus != 0 }

func hasEncap(p *pcap.Packet, e pcap.Encap) bool {
	for i := 0; i < min(p.NEncap, len(p.Encaps)); i++ {
		if p.Encaps[i] == e {
			return true
		}
	}
	return false
}

// when returns the getter of a field present only under cond.
func when(cond func(*pcap.Packet) bool, get func(e *Env, out []value) []value) func(e *Env, out []value) []value {
	return func(e *Env, out []value) []value {
		if !cond(e.P) {
			return out
		}
		return get(e, out)
	}
}

func one(f func(p *pcap.Packet) value) func(e *Env, out []value) []value {
	return func(e *Env, out []value) []value { return append(out, f(e.P)) }
}

func proto(cond func(*pcap.Packet) bool, bytes func(p *pcap.Packet) []byte) field {
	return field{kind: kProto, get: func(e *Env, out []value) []value {
		if !cond(e.P) {
			return out
		}
		return append(out, sv(bytes(e.P)))
	}}
}

func payload(p *pcap.Packet) []byte { return p.Payload }

// l4 is the transport layer, header and payload: what Wireshark's
// `tcp contains` and `udp contains` search.
func l4(p *pcap.Packet) []byte { return p.L4 }

// httpField reads an http.* field from the messages the frame completes
// (Dissector), or from the segment alone.
func httpField(msg func(m *HTTPMsg, out []value) []value, seg func(e *Env, out []value) []value) func(e *Env, out []value) []value {
	return func(e *Env, out []value) []value {
		if !e.dissected {
			return seg(e, out)
		}
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
	ip4 := func(p *pcap.Packet) bool { return p.IPVersion == 4 }
	ip6 := func(p *pcap.Packet) bool { return p.IPVersion == 6 }
	always := func(*pcap.Packet) bool { return true }

	def("frame", proto(always, func(p *pcap.Packet) []byte { return p.Frame }))
	def("frame.len", field{kind: kUint, get: one(func(p *pcap.Packet) value { return u(uint64(p.Len)) })})
	def("frame.cap_len", field{kind: kUint, get: one(func(p *pcap.Packet) value { return u(uint64(p.CapLen)) })})
	def("frame.number", field{kind: kUint, get: one(func(p *pcap.Packet) value { return u(uint64(p.Number)) })})
	def("frame.interface_id", field{kind: kUint, get: one(func(p *pcap.Packet) value { return u(uint64(p.Iface)) })})
	def("frame.time_relative", field{kind: kFloat, get: func(e *Env, out []value) []value {
		return append(out, value{f: float64(e.P.Time-e.Start) / 1e9})
	}})
	def("frame.time_epoch", field{kind: kFloat, get: func(e *Env, out []value) []value {
		return append(out, value{f: float64(e.P.Time) / 1e9})
	}})

	def("ip", proto(ip4, func(p *pcap.Packet) []byte { return p.Frame }))
	// As in Wireshark, ip.src/dst/addr match any IPv4 header of the
	// packet: the tunnel's outer one too.
	outer := func(p *pcap.Packet, i int, out []value) []value {
		if p.Outer[i].Is4() {
			out = append(out, ipv(p.Outer[i]))
		}
		return out
	}
	def("ip.src", field{kind: kIP, get: func(e *Env, out []value) []value {
		if ip4(e.P) {
			out = append(out, ipv(e.P.Src))
		}
		return outer(e.P, 0, out)
	}})
	def("ip.dst", field{kind: kIP, get: func(e *Env, out []value) []value {
		if ip4(e.P) {
			out = append(out, ipv(e.P.Dst))
		}
		return outer(e.P, 1, out)
	}})
	def("ip.addr", field{kind: kIP, get: func(e *Env, out []value) []value {
		if ip4(e.P) {
			out = append(out, ipv(e.P.Src), ipv(e.P.Dst))
		}
		return outer(e.P, 1, outer(e.P, 0, out))
	}})
	def("ip.proto", field{kind: kUint, get: when(ip4, one(func(p *pcap.Packet) value { return u(uint64(p.Proto)) }))})
	def("ip.ttl", field{kind: kUint, get: when(ip4, one(func(p *pcap.Packet) value { return u(uint64(p.TTL)) }))})
	def("ip.id", field{kind: kUint, get: when(ip4, one(func(p *pcap.Packet) value { return u(uint64(p.IPID)) }))})
	def("ip.len", field{kind: kUint, get: when(ip4, one(func(p *pcap.Packet) value { return u(uint64(p.IPLen)) }))})
	def("ipv6", proto(ip6, func(p *pcap.Packet) []byte { return p.Frame }))
	def("ipv6.src", field{kind: kIP, get: when(ip6, one(func(p *pcap.Packet) value { return ipv(p.Src) }))})
	def("ipv6.dst", field{kind: kIP, get: when(ip6, one(func(p *pcap.Packet) value { return ipv(p.Dst) }))})
	def("ipv6.addr", field{kind: kIP, get: when(ip6, func(e *Env, out []value) []value { return append(out, ipv(e.P.Src), ipv(e.P.Dst)) })})

	def("tcp", proto(isTCP, l4))
	def("tcp.srcport", field{kind: kUint, get: when(isTCP, one(func(p *pcap.Packet) value { return u(uint64(p.SrcPort)) }))})
	def("tcp.dstport", field{kind: kUint, get: when(isTCP, one(func(p *pcap.Packet) value { return u(uint64(p.DstPort)) }))})
	def("tcp.port", field{kind: kUint, get: when(isTCP, func(e *Env, out []value) []value {
		return append(out, u(uint64(e.P.SrcPort)), u(uint64(e.P.DstPort)))
	})})
	def("tcp.seq_raw", field{kind: kUint, get: when(isTCP, one(func(p *pcap.Packet) value { return u(uint64(p.Seq)) }))})
	def("tcp.ack_raw", field{kind: kUint, get: when(isTCP, one(func(p *pcap.Packet) value { return u(uint64(p.Ack)) }))})
	def("tcp.len", field{kind: kUint, get: when(isTCP, one(func(p *pcap.Packet) value { return u(uint64(p.PayloadLen)) }))})
	def("tcp.window_size_value", field{kind: kUint, get: when(isTCP, one(func(p *pcap.Packet) value { return u(uint64(p.Window)) }))})
	def("tcp.flags", field{kind: kUint, get: when(isTCP, one(func(p *pcap.Packet) value { return u(uint64(p.TCPFlags)) }))})
	for name, bit := range map[string]uint8{"fin": pcap.FIN, "syn": pcap.SYN, "reset": pcap.RST, "push": pcap.PSH,
		"ack": pcap.ACK, "urg": pcap.URG, "ece": pcap.ECE, "cwr": pcap.CWR} {
		def("tcp.flags."+name, field{kind: kUint, get: when(isTCP, one(func(p *pcap.Packet) value { return u(b2u(p.TCPFlags&bit != 0)) }))})
	}
	def("tcp.payload", field{kind: kString, get: when(func(p *pcap.Packet) bool { return p.HasTCP() && len(p.Payload) > 0 },
		one(func(p *pcap.Packet) value { return sv(p.Payload) }))})
	def("tcp.analysis.retransmission", field{kind: kProto, get: func(e *Env, out []value) []value {
		if e.Info != nil && e.Info.Retransmission {
			return append(out, value{})
		}
		return out
	}})
	def("tcp.analysis.duplicate_frame", field{kind: kProto, get: func(e *Env, out []value) []value {
		if e.Info != nil && e.Info.Duplicate {
			return append(out, value{})
		}
		return out
	}})

	def("udp", proto(isUDP, l4))
	def("udp.srcport", field{kind: kUint, get: when(isUDP, one(func(p *pcap.Packet) value { return u(uint64(p.SrcPort)) }))})
	def("udp.dstport", field{kind: kUint, get: when(isUDP, one(func(p *pcap.Packet) value { return u(uint64(p.DstPort)) }))})
	def("udp.port", field{kind: kUint, get: when(isUDP, func(e *Env, out []value) []value {
		return append(out, u(uint64(e.P.SrcPort)), u(uint64(e.P.DstPort)))
	})})
	def("udp.length", field{kind: kUint, get: when(isUDP, one(func(p *pcap.Packet) value { return u(uint64(p.PayloadLen + 8)) }))})
	def("udp.payload", field{kind: kString, get: when(func(p *pcap.Packet) bool { return p.HasUDP() && len(p.Payload) > 0 },
		one(func(p *pcap.Packet) value { return sv(p.Payload) }))})

	def("icmp", proto(isICMP, payload))
	def("icmp.type", field{kind: kUint, get: when(isICMP, one(func(p *pcap.Packet) value { return u(uint64(p.ICMPType)) }))})
	def("icmp.code", field{kind: kUint, get: when(isICMP, one(func(p *pcap.Packet) value { return u(uint64(p.ICMPCode)) }))})
	def("icmpv6", proto(isICMP6, payload))
	def("icmpv6.type", field{kind: kUint, get: when(isICMP6, one(func(p *pcap.Packet) value { return u(uint64(p.ICMPType)) }))})
	def("icmpv6.code", field{kind: kUint, get: when(isICMP6, one(func(p *pcap.Packet) value { return u(uint64(p.ICMPCode)) }))})

	isDNS := func(p *pcap.Packet) bool { return p.IsDNS }
	def("dns", proto(isDNS, payload))
	def("dns.id", field{kind: kUint, get: when(isDNS, one(func(p *pcap.Packet) value { return u(uint64(p.DNSID)) }))})
	def("dns.qry.name", field{kind: kString, get: when(func(p *pcap.Packet) bool { return p.IsDNS && len(p.DNSQName) > 0 },
		one(func(p *pcap.Packet) value { return sv(p.DNSQName) }))})
	def("dns.qry.type", field{kind: kUint, get: when(isDNS, one(func(p *pcap.Packet) value { return u(uint64(p.DNSQType)) }))})
	def("dns.flags.rcode", field{kind: kUint, get: when(isDNS, one(func(p *pcap.Packet) value { return u(uint64(p.DNSRcode)) }))})
	def("dns.flags.response", field{kind: kUint, get: when(isDNS, one(func(p *pcap.Packet) value { return u(b2u(p.DNSResponse)) }))})
	def("dns.count.answers", field{kind: kUint, get: when(isDNS, one(func(p *pcap.Packet) value { return u(uint64(p.DNSAnswers)) }))})

	isReq := func(p *pcap.Packet) bool { return len(p.HTTPMethod) > 0 }
	isResp := func(p *pcap.Packet) bool { return p.HTTPStatus != 0 }
	present := func(m *HTTPMsg, out []value) []value { return append(out, value{}) }
	def("http", field{kind: kProto, get: func(e *Env, out []value) []value {
		if !e.dissected {
			return proto(isHTTP, payload).get(e, out)
		}
		if len(e.HTTP) > 0 || e.httpData {
			out = append(out, sv(e.P.Payload))
		}
		return out
	}})
	def("http.request", field{kind: kProto, get: httpField(func(m *HTTPMsg, out []value) []value {
		if m.Request {
			return present(m, out)
		}
		return out
	}, proto(isReq, payload).get)})
	def("http.response", field{kind: kProto, get: httpField(func(m *HTTPMsg, out []value) []value {
		if !m.Request {
			return present(m, out)
		}
		return out
	}, proto(isResp, payload).get)})
	def("http.request.method", field{kind: kString, get: httpField(func(m *HTTPMsg, out []value) []value {
		if m.Request {
			out = append(out, sv(m.Method))
		}
		return out
	}, when(isReq, one(func(p *pcap.Packet) value { return sv(p.HTTPMethod) })))})
	def("http.request.uri", field{kind: kString, get: httpField(func(m *HTTPMsg, out []value) []value {
		if m.Request {
			out = append(out, sv(m.URI))
		}
		return out
	}, when(isReq, one(func(p *pcap.Packet) value { return sv(p.HTTPURI) })))})
	hostGet := httpField(func(m *HTTPMsg, out []value) []value {
		if m.Request && m.Host != nil {
			out = append(out, sv(m.Host))
		}
		return out
	}, when(func(p *pcap.Packet) bool { return len(p.HTTPHost) > 0 }, one(func(p *pcap.Packet) value { return sv(p.HTTPHost) })))
	def("http.host", field{kind: kString, get: hostGet})
	def("http.request.host", field{kind: kString, get: hostGet}) // alias: the brief's name for Wireshark's http.host
	def("http.response.code", field{kind: kUint, get: httpField(func(m *HTTPMsg, out []value) []value {
		if !m.Request {
			out = append(out, u(uint64(m.Status)))
		}
		return out
	}, when(isResp, one(func(p *pcap.Packet) value { return u(uint64(p.HTTPStatus)) })))})
	def("http.response.phrase", field{kind: kString, get: httpField(func(m *HTTPMsg, out []value) []value {
		if !m.Request {
			out = append(out, sv(m.Phrase))
		}
		return out
	}, when(isResp, one(func(p *pcap.Packet) value { return sv(p.HTTPReason) })))})

	isVX := func(p *pcap.Packet) bool { return hasEncap(p, pcap.EncapVXLAN) }
	def("vxlan", proto(isVX, payload))
	def("vxlan.vni", field{kind: kUint, get: when(isVX, one(func(p *pcap.Packet) value { return u(uint64(p.VNI)) }))})
	def("geneve", proto(func(p *pcap.Packet) bool { return hasEncap(p, pcap.EncapGeneve) }, payload))
	def("gre", proto(func(p *pcap.Packet) bool { return hasEncap(p, pcap.EncapGRE) || hasEncap(p, pcap.EncapERSPAN) }, payload))
	def("sll.ifindex", field{kind: kUint, get: when(func(p *pcap.Packet) bool { return p.SLLIf >= 0 }, one(func(p *pcap.Packet) value { return u(uint64(p.SLLIf)) }))})
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
