package node

import (
	"net"
	"syscall"
	"testing"

	"github.com/moby/ipvs"

	pipvs "tkesnap/parsers/ipvs"
)

// What the Go collector writes from netlink on nodes without ipvsadm must
// read back, through the ipvsadm parser, as the same services.
func TestIPVSFromNetlinkRendersAsIpvsadmSave(t *testing.T) {
	cases := []struct {
		name  string
		svc   *ipvs.Service
		dests []*ipvs.Destination
		want  string
	}{
		{
			name: "kube-proxy ClusterIP with two NAT endpoints",
			svc:  &ipvs.Service{Address: net.ParseIP("172.16.252.10"), Protocol: syscall.IPPROTO_TCP, Port: 80, SchedName: "rr", AddressFamily: syscall.AF_INET},
			dests: []*ipvs.Destination{
				{Address: net.ParseIP("172.16.0.3"), Port: 8080, Weight: 1, ConnectionFlags: ipvs.ConnectionFlagMasq},
				{Address: net.ParseIP("172.16.0.66"), Port: 8080, Weight: 0, ConnectionFlags: ipvs.ConnectionFlagMasq},
			},
			want: "-A -t 172.16.252.10:80 -s rr\n-a -t 172.16.252.10:80 -r 172.16.0.3:8080 -m -w 1\n-a -t 172.16.252.10:80 -r 172.16.0.66:8080 -m -w 0\n",
		},
		{
			name: "session affinity ClientIP on UDP DNS",
			svc:  &ipvs.Service{Address: net.ParseIP("172.16.252.2"), Protocol: syscall.IPPROTO_UDP, Port: 53, SchedName: "rr", Flags: 0x0001, Timeout: 10800, Netmask: 0xffffffff, AddressFamily: syscall.AF_INET},
			dests: []*ipvs.Destination{
				{Address: net.ParseIP("172.16.0.67"), Port: 53, Weight: 1, ConnectionFlags: ipvs.ConnectionFlagMasq},
			},
			want: "-A -u 172.16.252.2:53 -s rr -p 10800\n-a -u 172.16.252.2:53 -r 172.16.0.67:53 -m -w 1\n",
		},
		{
			name:  "firewall mark with direct routing and thresholds",
			svc:   &ipvs.Service{FWMark: 100, SchedName: "wlc", AddressFamily: syscall.AF_INET},
			dests: []*ipvs.Destination{{Address: net.ParseIP("10.0.1.12"), Port: 0, Weight: 3, ConnectionFlags: ipvs.ConnectionFlagDirectRoute, UpperThreshold: 50, LowerThreshold: 10}},
			want:  "-A -f 100 -s wlc\n-a -f 100 -r 10.0.1.12:0 -g -w 3 -x 50 -y 10\n",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ServiceRule(c.svc, c.dests)
			if got != c.want {
				t.Errorf("rendered:\n%s\nwant:\n%s", got, c.want)
			}
			tab := pipvs.ParseString(got)
			if len(tab.Services) != 1 {
				t.Fatalf("parser read %d services from:\n%s", len(tab.Services), got)
			}
			s := tab.Services[0]
			if s.Scheduler != c.svc.SchedName || len(s.Dests) != len(c.dests) || s.Persistent != (c.svc.Flags&1 != 0) {
				t.Errorf("parser disagrees: %+v", s)
			}
			for i, d := range s.Dests {
				if d.Weight != c.dests[i].Weight || d.Addr.Port() != c.dests[i].Port {
					t.Errorf("dest %d: %+v", i, d)
				}
			}
		})
	}
}
