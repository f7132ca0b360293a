// Package ss reads `ss -tunapH` (iproute2): one socket per line, no
// header, columns Netid State Recv-Q Send-Q Local:Port Peer:Port [Process].
package ss

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"tkesnap/parsers/lines"
)

// Problem is a line that could not be read.
type Problem struct {
	Line    int
	Message string
}

func (p Problem) Error() string { return "line " + strconv.Itoa(p.Line) + ": " + p.Message }

// Socket is one line of ss output.
type Socket struct {
	Line    int
	Netid   string // tcp, udp
	State   string // LISTEN, ESTAB, UNCONN, TIME-WAIT, SYN-SENT, ...
	RecvQ   uint64
	SendQ   uint64
	Local   Endpoint
	Peer    Endpoint
	Process string // users:(("sshd",pid=1,fd=3)) as printed
}

// Endpoint is an address:port column. ss prints "*" or "0.0.0.0" for any
// address, "[::]" for IPv6 any, "%iface" suffixes for bound devices.
type Endpoint struct {
	Addr  netip.Addr // zero for "*"
	Any   bool       // "*", 0.0.0.0 or [::]
	Port  int        // -1 for "*"
	Iface string     // "%eth0" binding
}

// Listening says the socket accepts new flows (TCP LISTEN, bound UDP).
func (s Socket) Listening() bool {
	return s.State == "LISTEN" || (s.Netid == "udp" && s.State == "UNCONN")
}

// Accepts says the listening socket takes a flow to dst:port.
func (s Socket) Accepts(dst netip.Addr, port int) bool {
	if !s.Listening() || s.Local.Port != port {
		return false
	}
	if s.Local.Any {
		// 0.0.0.0 takes IPv4 only; [::] takes both unless bindv6only.
		return !s.Local.Addr.IsValid() || s.Local.Addr.Is6() || dst.Is4()
	}
	return s.Local.Addr == dst.Unmap()
}

// Parse reads ss -tunapH output (a header line, if present, is skipped).
func Parse(r io.Reader) ([]Socket, []Problem) {
	var out []Socket
	var probs []Problem
	add := func(line int, format string, a ...any) {
		if len(probs) < 100 {
			probs = append(probs, Problem{Line: line, Message: fmt.Sprintf(format, a...)})
		}
	}
	lr := lines.New(r, 0)
	for lr.Next() {
		n := lr.Line()
		s := strings.TrimSpace(lr.Text())
		if s == "" || strings.HasPrefix(s, "Netid") {
			continue
		}
		f := strings.Fields(s)
		if len(f) < 6 {
			add(n, "want at least 6 columns, got %d", len(f))
			continue
		}
		so := Socket{Line: n, Netid: f[0], State: f[1]}
		var err error
		if so.RecvQ, err = strconv.ParseUint(f[2], 10, 64); err != nil {
			add(n, "Recv-Q %q", f[2])
			continue
		}
		if so.SendQ, err = strconv.ParseUint(f[3], 10, 64); err != nil {
			add(n, "Send-Q %q", f[3])
			continue
		}
		if so.Local, err = parseEndpoint(f[4]); err != nil {
			add(n, "local %q: %v", f[4], err)
			continue
		}
		if so.Peer, err = parseEndpoint(f[5]); err != nil {
			add(n, "peer %q: %v", f[5], err)
			continue
		}
		if len(f) > 6 {
			so.Process = strings.Join(f[6:], " ")
		}
		out = append(out, so)
	}
	if err := lr.Err(); err != nil {
		add(lr.Line()+1, "read error: %v", err)
	}
	return out, probs
}

func parseEndpoint(s string) (Endpoint, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return Endpoint{}, fmt.Errorf("no port")
	}
	host, port := s[:i], s[i+1:]
	e := Endpoint{Port: -1}
	if port != "*" {
		p, err := strconv.Atoi(port)
		if err != nil || p < 0 || p > 65535 {
			return e, fmt.Errorf("port %q", port)
		}
		e.Port = p
	}
	if j := strings.IndexByte(host, '%'); j >= 0 {
		e.Iface, host = host[j+1:], host[:j]
		if k := strings.IndexByte(e.Iface, ']'); k >= 0 { // [fe80::1%eth0]
			e.Iface = e.Iface[:k]
			host += "]"
		}
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	switch host {
	case "*":
		e.Any = true
		return e, nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return e, err
	}
	e.Addr = a.Unmap()
	e.Any = a.IsUnspecified()
	return e, nil
}
