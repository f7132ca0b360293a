package ipvs

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteSave writes t in the `ipvsadm -Sn` format, as ipvsadm prints it,
// so tests and lab scripts can build dumps that ipvsadm -R would accept.
func WriteSave(w io.Writer, t *Table) error {
	bw := bufio.NewWriter(w)
	for _, s := range t.Services {
		name := saveName(s.Key)
		fmt.Fprintf(bw, "-A %s", name)
		if s.Scheduler != "" { // a --stats dump has no scheduler column
			fmt.Fprintf(bw, " -s %s", s.Scheduler)
		}
		if s.Persistent {
			fmt.Fprintf(bw, " -p %d", s.Timeout)
			if s.Netmask != "" {
				fmt.Fprintf(bw, " -M %s", s.Netmask)
			}
		}
		if s.PE != "" {
			fmt.Fprintf(bw, " --pe %s", s.PE)
		}
		if s.OnePacket {
			bw.WriteString(" -o")
		}
		if len(s.SchedFlags) > 0 {
			fmt.Fprintf(bw, " -b %s", strings.Join(s.SchedFlags, ","))
		}
		bw.WriteByte('\n')
		for _, d := range s.Dests {
			sw := "-g" // Route and Local (ipvsadm.c fwd_switch)
			switch d.Forward {
			case Masq:
				sw = "-m"
			case Tunnel:
				sw = "-i"
			}
			fmt.Fprintf(bw, "-a %s -r %s %s -w %d", name, d.Addr, sw, d.Weight)
			if d.TunnelOpts != "" {
				bw.WriteString(" " + d.TunnelOpts)
			}
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

func saveName(k Key) string {
	switch k.Proto {
	case FWMark:
		if k.IPv6 {
			return fmt.Sprintf("-f %d -6", k.Mark)
		}
		return fmt.Sprintf("-f %d", k.Mark)
	case UDP:
		return "-u " + k.Addr.String()
	case SCTP:
		return "--sctp-service " + k.Addr.String()
	}
	return "-t " + k.Addr.String()
}
