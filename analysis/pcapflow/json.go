package pcapflow

import (
	"encoding/json"
	"strconv"
)

// AppendJSON appends the flow as encoding/json.MarshalIndent(f, prefix,
// "  ") writes it, byte for byte, without reflection: a capture's report
// lists up to thousands of flows, and `tkesnap pcap --format json`
// streams them one by one instead of marshalling and re-indenting the
// whole report (the test compares both on every flow of the test
// captures).
func (f *Flow) AppendJSON(b []byte, prefix string) []byte {
	in1 := prefix + "  "
	b = append(b, '{')
	b = appendKey(b, in1, "proto", true)
	b = strconv.AppendUint(b, uint64(f.Proto), 10)
	b = appendKey(b, in1, "orig", false)
	b = f.Orig.appendJSON(b, in1)
	b = appendKey(b, in1, "resp", false)
	b = f.Resp.appendJSON(b, in1)
	b = appendKey(b, in1, "conn_state", false)
	b = appendString(b, f.State)
	b = appendKey(b, in1, "history", false)
	b = appendString(b, f.History)
	b = appendKey(b, in1, "community_id", false)
	b = appendString(b, f.Community)
	b = appendInt(b, in1, "first_packet", int64(f.FirstPkt))
	b = appendInt(b, in1, "last_packet", int64(f.LastPkt))
	b = appendInt(b, in1, "first_time", f.FirstTime)
	b = appendInt(b, in1, "last_time", f.LastTime)
	b = appendInt(b, in1, "iface", int64(f.Iface))
	if f.SLLIf != 0 {
		b = appendInt(b, in1, "sll_ifindex", int64(f.SLLIf))
	}
	if len(f.SYNs) > 0 {
		in2 := in1 + "  "
		b = appendKey(b, in1, "syns", false)
		b = append(b, '[')
		for i, a := range f.SYNs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '\n')
			b = append(b, in2...)
			b = append(b, '{')
			in3 := in2 + "  "
			b = appendKey(b, in3, "packet", true)
			b = strconv.AppendInt(b, int64(a.Packet), 10)
			b = appendInt(b, in3, "time", a.Time)
			b = appendInt(b, in3, "ISN", int64(a.ISN))
			b = appendInt(b, in3, "IPID", int64(a.IPID))
			b = append(b, '\n')
			b = append(b, in2...)
			b = append(b, '}')
		}
		b = append(b, '\n')
		b = append(b, in1...)
		b = append(b, ']')
	}
	b = appendInt(b, in1, "syn_count", int64(f.SynCount))
	if f.SynAck != 0 {
		b = appendInt(b, in1, "synack_packet", int64(f.SynAck))
	}
	if f.Reset != 0 {
		b = appendInt(b, in1, "rst_packet", int64(f.Reset))
	}
	if f.ResetByResp {
		b = appendKey(b, in1, "rst_by_responder", false)
		b = append(b, "true"...)
	}
	for _, o := range [...]struct {
		name string
		v    int64
	}{{"rtt_resp_ns", f.RTTResp}, {"rtt_orig_ns", f.RTTOrig}, {"retransmissions", int64(f.Retransmissions)}, {"duplicate_frames", int64(f.Duplicates)}, {"fragments", int64(f.Fragments)}} {
		if o.v != 0 {
			b = appendInt(b, in1, o.name, o.v)
		}
	}
	if f.Tunnel != "" {
		b = appendKey(b, in1, "tunnel", false)
		b = appendString(b, f.Tunnel)
	}
	b = append(b, '\n')
	b = append(b, prefix...)
	return append(b, '}')
}

func (e *Endpoint) appendJSON(b []byte, prefix string) []byte {
	in1 := prefix + "  "
	b = append(b, '{')
	b = appendKey(b, in1, "addr", true)
	if e.Addr.Zone() != "" {
		b = appendString(b, e.Addr.String())
	} else {
		b = append(b, '"')
		b = e.Addr.AppendTo(b) // the zero Addr: "" (MarshalText)
		b = append(b, '"')
	}
	b = appendInt(b, in1, "port", int64(e.Port))
	b = appendInt(b, in1, "pkts", int64(e.Pkts))
	b = appendInt(b, in1, "bytes", e.Bytes)
	b = appendInt(b, in1, "payload_bytes", e.Data)
	b = append(b, '\n')
	b = append(b, prefix...)
	return append(b, '}')
}

// appendKey starts a member: `,` unless first, newline, indent, "key": .
func appendKey(b []byte, indent, key string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '\n')
	b = append(b, indent...)
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':', ' ')
}

func appendInt(b []byte, indent, key string, v int64) []byte {
	return strconv.AppendInt(appendKey(b, indent, key, false), v, 10)
}

// appendString quotes s as encoding/json does (HTML characters and
// anything not printable ASCII escaped its way).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
