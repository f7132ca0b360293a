package node

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/moby/ipvs"

	"tkesnap/parsers/bundle"
)

// ipvs runs ipvsadm like the script when it is installed; otherwise it
// reads the IPVS table over netlink (moby/ipvs) and writes it in ipvsadm's
// `-Sn` and `-Ln --stats --exact` formats. Called only when
// /proc/net/ip_vs exists: the netlink family lookup would otherwise
// autoload ip_vs.
func (r *run) ipvs(ctx context.Context, n string) {
	if have("ipvsadm") {
		r.cmd(ctx, n+"/ipvsadm.txt", false, 0, "ipvsadm", "-Sn")
		r.cmd(ctx, n+"/ipvsadm-stats.txt", false, 0, "ipvsadm", "-Ln", "--stats", "--exact")
		return
	}
	const how = "netlink IPVS_CMD_GET_SERVICE/GET_DEST (moby/ipvs; ipvsadm not installed)"
	h, err := ipvs.New("")
	if err != nil {
		r.add(bundle.ManifestRecord{Path: n + "/ipvsadm.txt", Command: how, ExitCode: 1, Stderr: "ipvs not available: " + err.Error()})
		r.add(bundle.ManifestRecord{Path: n + "/ipvsadm-stats.txt", Command: how, ExitCode: 1, Stderr: "ipvs not available: " + err.Error()})
		return
	}
	defer h.Close()
	svcs, err := h.GetServices()
	if err != nil {
		r.add(bundle.ManifestRecord{Path: n + "/ipvsadm.txt", Command: how, ExitCode: 1, Stderr: err.Error()})
		return
	}
	var rules, stats strings.Builder
	stats.WriteString("IP Virtual Server version 1.2.1 (size=4096)\n")
	stats.WriteString("Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  -> RemoteAddress:Port\n")
	for _, s := range svcs {
		dests, err := h.GetDestinations(s)
		if err != nil {
			dests = nil
		}
		rules.WriteString(ServiceRule(s, dests))
		fmt.Fprintf(&stats, "%-4s %-27s %8d %8d %8d %8d %8d\n", protoName(s), vip(s), s.Stats.Connections, s.Stats.PacketsIn,
			s.Stats.PacketsOut, s.Stats.BytesIn, s.Stats.BytesOut)
		for _, d := range dests {
			fmt.Fprintf(&stats, "  -> %-28s %8d %8d %8d %8d %8d\n", hostPort(d.Address, d.Port), d.Stats.Connections, d.Stats.PacketsIn,
				d.Stats.PacketsOut, d.Stats.BytesIn, d.Stats.BytesOut)
		}
	}
	for _, f := range []struct {
		path, text string
	}{{n + "/ipvsadm.txt", rules.String()}, {n + "/ipvsadm-stats.txt", stats.String()}} {
		data := []byte(f.text)
		if int64(len(data)) > r.o.MaxBytes {
			data = data[:r.o.MaxBytes]
		}
		if err := os.WriteFile(filepath.Join(r.root, filepath.FromSlash(f.path)), data, 0o600); err != nil {
			r.add(bundle.ManifestRecord{Path: f.path, Command: how, ExitCode: 1, Stderr: err.Error()})
			continue
		}
		r.add(bundle.ManifestRecord{Path: f.path, Command: how, Bytes: int64(len(data)), Truncated: int64(len(f.text)) > r.o.MaxBytes})
	}
}

func protoName(s *ipvs.Service) string {
	switch {
	case s.FWMark != 0:
		return "FWM"
	case s.Protocol == syscall.IPPROTO_UDP:
		return "UDP"
	case s.Protocol == 132:
		return "SCTP"
	}
	return "TCP"
}

func hostPort(ip net.IP, port uint16) string {
	if ip.To4() == nil && ip != nil {
		return fmt.Sprintf("[%s]:%d", ip, port)
	}
	return fmt.Sprintf("%s:%d", ip, port)
}

func vip(s *ipvs.Service) string {
	if s.FWMark != 0 {
		return fmt.Sprint(s.FWMark)
	}
	return hostPort(s.Address, s.Port)
}

// ServiceRule renders one virtual service and its real servers the way
// `ipvsadm -Sn` prints them (ipvsadm.c print_service with FMT_RULE).
func ServiceRule(s *ipvs.Service, dests []*ipvs.Destination) string {
	var b strings.Builder
	sel := ""
	switch {
	case s.FWMark != 0:
		sel = fmt.Sprintf("-f %d", s.FWMark)
	case s.Protocol == syscall.IPPROTO_UDP:
		sel = "-u " + vip(s)
	case s.Protocol == 132:
		sel = "--sctp-service " + vip(s)
	default:
		sel = "-t " + vip(s)
	}
	fmt.Fprintf(&b, "-A %s -s %s", sel, s.SchedName)
	const persistent = 0x0001 // IP_VS_SVC_F_PERSISTENT
	if s.Flags&persistent != 0 {
		fmt.Fprintf(&b, " -p %d", s.Timeout)
		if s.Netmask != 0 && s.Netmask != 0xffffffff && s.AddressFamily == syscall.AF_INET {
			m := net.IPv4Mask(byte(s.Netmask>>24), byte(s.Netmask>>16), byte(s.Netmask>>8), byte(s.Netmask))
			fmt.Fprintf(&b, " -M %s", net.IP(m))
		}
	}
	if s.PEName != "" {
		fmt.Fprintf(&b, " --pe %s", s.PEName)
	}
	const onePacket, shFallback, shPort = 0x0004, 0x0008, 0x0010 // IP_VS_SVC_F_*
	if s.Flags&onePacket != 0 {
		b.WriteString(" -o")
	}
	var sf []string
	if s.Flags&shFallback != 0 {
		sf = append(sf, "sh-fallback")
	}
	if s.Flags&shPort != 0 {
		sf = append(sf, "sh-port")
	}
	if len(sf) > 0 {
		fmt.Fprintf(&b, " -b %s", strings.Join(sf, ","))
	}
	b.WriteString("\n")
	for _, d := range dests {
		// ipvsadm.c fwd_switch: local node and direct routing both print -g
		fwd := "-m"
		switch d.ConnectionFlags & ipvs.ConnectionFlagFwdMask {
		case ipvs.ConnectionFlagTunnel:
			fwd = "-i"
		case ipvs.ConnectionFlagDirectRoute, ipvs.ConnectionFlagLocalNode:
			fwd = "-g"
		}
		fmt.Fprintf(&b, "-a %s -r %s %s -w %d", sel, hostPort(d.Address, d.Port), fwd, d.Weight)
		if d.UpperThreshold != 0 {
			fmt.Fprintf(&b, " -x %d", d.UpperThreshold)
		}
		if d.LowerThreshold != 0 {
			fmt.Fprintf(&b, " -y %d", d.LowerThreshold)
		}
		b.WriteString("\n")
	}
	return b.String()
}
