package ipvs

import (
	"strconv"
	"strings"
)

// saveLine reads one line of `ipvsadm -Sn` (print_service_entry with
// FMT_RULE), in the short or the long option spelling:
//
//	-A -t 10.96.0.10:53 -s rr -p 10800 -M 255.255.255.0 --pe sip -o -b sh-port
//	-a -t 10.96.0.10:53 -r 172.16.0.5:53 -m -w 1 -x 0 -y 0
//	-a -f 100 -6 -r [fd00::5]:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum
func (p *parser) saveLine(n int, s string) {
	f := strings.Fields(s)
	add := f[0] == "-A" || f[0] == "--add-service"
	var key Key
	haveKey := false
	var svc Service
	svc.Line = n
	d := Dest{Line: n, Forward: Route, Weight: 1} // ipvsadm defaults: -g, -w 1
	haveDest := false
	for i := 1; i < len(f); i++ {
		opt := f[i]
		arg := func() (string, bool) {
			if i+1 >= len(f) {
				p.problem(n, "option %s needs an argument", opt)
				return "", false
			}
			i++
			return f[i], true
		}
		switch opt {
		case "-t", "--tcp-service", "-u", "--udp-service", "--sctp-service":
			a, ok := arg()
			if !ok {
				return
			}
			ap, err := parseAddrPort(a)
			if err != nil {
				p.problem(n, "virtual service address %q: %v", a, err)
				return
			}
			switch opt {
			case "-t", "--tcp-service":
				key.Proto = TCP
			case "-u", "--udp-service":
				key.Proto = UDP
			default:
				key.Proto = SCTP
			}
			key.Addr = ap
			haveKey = true
		case "-f", "--fwmark-service":
			a, ok := arg()
			if !ok {
				return
			}
			m, err := strconv.ParseUint(a, 0, 32)
			if err != nil {
				p.problem(n, "fwmark %q: %v", a, err)
				return
			}
			key.Proto, key.Mark = FWMark, uint32(m)
			haveKey = true
		case "-6", "--ipv6":
			key.IPv6 = true
		case "-s", "--scheduler":
			a, ok := arg()
			if !ok {
				return
			}
			svc.Scheduler = a
		case "-p", "--persistent":
			svc.Persistent = true
			svc.Timeout = 300 // ipvsadm's default when -p has no timeout
			if i+1 < len(f) && !strings.HasPrefix(f[i+1], "-") {
				v, err := strconv.ParseUint(f[i+1], 10, 32)
				if err != nil {
					p.problem(n, "persistent timeout %q: %v", f[i+1], err)
				}
				svc.Timeout = uint32(v)
				i++
			}
		case "-M", "--netmask":
			a, ok := arg()
			if !ok {
				return
			}
			svc.Netmask = a
		case "--pe", "pe":
			a, ok := arg()
			if !ok {
				return
			}
			svc.PE = a
		case "-o", "--ops", "ops":
			svc.OnePacket = true
		case "-b", "--sched-flags":
			a, ok := arg()
			if !ok {
				return
			}
			svc.SchedFlags = splitFlags(a)
		case "-r", "--real-server":
			a, ok := arg()
			if !ok {
				return
			}
			ap, err := parseAddrPort(a)
			if err != nil {
				p.problem(n, "real server address %q: %v", a, err)
				return
			}
			d.Addr = ap
			haveDest = true
		case "-m", "--masquerading":
			d.Forward = Masq
		case "-g", "--gatewaying":
			d.Forward = Route
		case "-i", "--ipip":
			d.Forward = Tunnel
		case "-w", "--weight":
			a, ok := arg()
			if !ok {
				return
			}
			w, err := strconv.Atoi(a)
			if err != nil || w < 0 {
				p.problem(n, "weight %q is not a number ≥ 0", a)
				return
			}
			d.Weight = w
		case "-x", "--u-threshold", "-y", "--l-threshold":
			a, ok := arg()
			if !ok {
				return
			}
			v, err := strconv.ParseUint(a, 10, 32)
			if err != nil {
				p.problem(n, "threshold %q: %v", a, err)
				return
			}
			if opt == "-x" || opt == "--u-threshold" {
				d.UThreshold = uint32(v)
			} else {
				d.LThreshold = uint32(v)
			}
		case "--tun-type", "--tun-port":
			a, ok := arg()
			if !ok {
				return
			}
			d.TunnelOpts = strings.TrimSpace(d.TunnelOpts + " " + opt + " " + a)
		case "--tun-nocsum", "--tun-csum", "--tun-remcsum":
			d.TunnelOpts = strings.TrimSpace(d.TunnelOpts + " " + opt)
		default:
			p.problem(n, "unknown ipvsadm option %q", opt)
		}
	}
	if !haveKey {
		p.problem(n, "no -t/-u/--sctp-service/-f virtual service")
		return
	}
	if key.Proto != FWMark {
		key.IPv6 = false
	}
	if add {
		if haveDest {
			p.problem(n, "-A with a real server")
		}
		svc.Key = key
		if svc.Scheduler == "" {
			svc.Scheduler = "wlc" // ipvsadm DEF_SCHED
		}
		p.addService(n, &svc)
		return
	}
	if !haveDest {
		p.problem(n, "-a without -r real server")
		return
	}
	s2 := p.t.index[key]
	if s2 == nil {
		// ipvsadm -R would refuse this line: the service must exist first
		p.problem(n, "real server %s for %s, which is not defined before", d.Addr, key)
		return
	}
	s2.Dests = append(s2.Dests, &d)
}
