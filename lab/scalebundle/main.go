// Command scalebundle writes a cluster-scale bundle for make bench
// (lab/scale.mk): the kube scale cluster (lab/kube/gen) plus, per node,
// the iptables-save -c dump kube-proxy (iptables mode, v1.28 layout)
// would write for those Services/EndpointSlices, ip -j
// addr/link/route/rule, kube-proxy.txt, sysctl, resolv.conf and a
// manifest.json.
//
//	go run ./lab/scalebundle -dir OUT -nodes 50 -pods 20000 [-nft]
//
// -nft also saves each dump as iptables-nft-save.txt, as a normal
// iptables-nft host's collection does. -redteam writes instead the red
// team's bundle (issue 16): 8 nodes, four 64 MiB dumps each, no two with
// a rule in common.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"tkesnap/analysis/checks"
	"tkesnap/analysis/model"
	"tkesnap/lab/kube/gen"
	"tkesnap/parsers/bundle"
)

func nodeIP(i int) string  { return fmt.Sprintf("10.0.%d.%d", 1+i/200, 10+i%200) }
func podCIDR(i int) string { return fmt.Sprintf("172.%d.%d.0/20", 16+i/16, (i%16)*16) }
func podGW(i int) string   { return fmt.Sprintf("172.%d.%d.1", 16+i/16, (i%16)*16) }

const clusterCIDR = "172.16.0.0/12"

type rec struct {
	Path      string `json:"path"`
	Command   string `json:"command"`
	Node      string `json:"node"`
	ExitCode  int    `json:"exit_code"`
	Duration  int    `json:"duration_ms"`
	Bytes     int64  `json:"bytes"`
	Truncated bool   `json:"truncated"`
}

func main() {
	dir := flag.String("dir", "", "output bundle dir")
	nodes := flag.Int("nodes", 50, "")
	svcs := flag.Int("services", 5000, "")
	pods := flag.Int("pods", 50000, "")
	healthy := flag.String("healthy", "testdata/bundles/healthy/nodes/10.0.1.11", "copy sysctl/resolv from")
	nft := flag.Bool("nft", false, "also write each dump as iptables-nft-save.txt (an nft host)")
	redteam := flag.Bool("redteam", false, "write the red team's 8 nodes x four 64 MiB dumps instead")
	flag.Parse()
	if *redteam {
		if err := writeRedTeam(*dir, 8, 64<<20); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	s := gen.Scale
	s.Nodes, s.Services, s.Pods = *nodes, *svcs, *pods
	if _, err := gen.Write(*dir, s); err != nil {
		panic(err)
	}
	b, err := bundle.Open(*dir, bundle.DefaultLimits())
	if err != nil {
		panic(err)
	}
	c := model.Load(b)
	b.Close()
	// kube-proxy rules: identical on every node (no Local traffic policy)
	var natChains, natRules, filSvc []string
	svcList := append([]*model.Service(nil), c.Kube.Services...)
	sort.Slice(svcList, func(i, j int) bool {
		return svcList[i].Namespace+"/"+svcList[i].Name < svcList[j].Namespace+"/"+svcList[j].Name
	})
	for _, sv := range svcList {
		if len(sv.ClusterIPs) == 0 {
			continue
		}
		bk := c.Kube.Backends(sv)
		for _, p := range sv.Spec.Ports {
			name := sv.Namespace + "/" + sv.Name
			if p.Name != "" {
				name += ":" + p.Name
			}
			proto := strings.ToLower(string(p.Protocol))
			if proto == "" {
				proto = "tcp"
			}
			svcChain := checks.ServicePortChainName("KUBE-SVC-", sv.Namespace, sv.Name, p.Name, proto)
			var eps []model.Backend
			for _, e := range bk {
				if e.PortName == p.Name && strings.EqualFold(string(e.Protocol), proto) && e.Ready && e.Port != 0 {
					eps = append(eps, e)
				}
			}
			cip := sv.ClusterIPs[0].String()
			dport := fmt.Sprintf("-p %s -m %s --dport %d", proto, proto, p.Port)
			if len(eps) == 0 {
				filSvc = append(filSvc, fmt.Sprintf("-A KUBE-SERVICES -d %s/32 -p %s -m comment --comment \"%s has no endpoints\" -m %s --dport %d -j REJECT --reject-with icmp-port-unreachable", cip, proto, name, proto, p.Port))
				continue
			}
			natChains = append(natChains, svcChain)
			natRules = append(natRules, fmt.Sprintf("-A KUBE-SERVICES -d %s/32 -p %s -m comment --comment \"%s cluster IP\" -m %s --dport %d -j %s", cip, proto, name, proto, p.Port, svcChain))
			natRules = append(natRules, fmt.Sprintf("-A %s ! -s %s -d %s/32 %s -m comment --comment \"%s cluster IP\" -j KUBE-MARK-MASQ", svcChain, clusterCIDR, cip, dport, name))
			_ = dport
			for i, e := range eps {
				ep := netip.AddrPortFrom(e.IP, uint16(e.Port)).String()
				sep := checks.ServiceEndpointChainName(sv.Namespace, sv.Name, p.Name, proto, ep)
				natChains = append(natChains, sep)
				stat := ""
				if n := len(eps) - i; n > 1 {
					stat = fmt.Sprintf(" -m statistic --mode random --probability %0.11f", 1.0/float64(n))
				}
				natRules = append(natRules, fmt.Sprintf("-A %s -m comment --comment \"%s -> %s\"%s -j %s", svcChain, name, ep, stat, sep))
				natRules = append(natRules,
					fmt.Sprintf("-A %s -s %s/32 -m comment --comment \"%s\" -j KUBE-MARK-MASQ", sep, e.IP, name),
					fmt.Sprintf("-A %s -p %s -m comment --comment \"%s\" -m %s -j DNAT --to-destination %s", sep, proto, name, proto, ep))
			}
		}
	}
	natRules = append(natRules, "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS")
	sort.Strings(natChains)
	healthyFile := func(n string) []byte { d, _ := os.ReadFile(filepath.Join(*healthy, n)); return d }
	sysctl, resolv := healthyFile("sysctl.txt"), healthyFile("resolv.conf")
	var recs []rec
	add := func(p, cmd, node string) {
		st, err := os.Stat(filepath.Join(*dir, p))
		if err != nil {
			panic(err)
		}
		recs = append(recs, rec{Path: p, Command: cmd, Node: node, Bytes: st.Size(), Duration: 10})
	}
	for _, f := range []string{"cluster/nodes.yaml", "cluster/pods.yaml", "cluster/services.yaml", "cluster/endpointslices.yaml", "cluster/networkpolicies.yaml", "cluster/ingresses.yaml", "cluster/configmaps-kube-system.yaml"} {
		add(f, "kubectl get "+strings.TrimSuffix(filepath.Base(f), ".yaml")+" -A -o yaml", "")
	}
	var total int64
	for i := 0; i < *nodes; i++ {
		ip := nodeIP(i)
		nd := filepath.Join(*dir, "nodes", ip)
		os.MkdirAll(nd, 0o755)
		rng := rand.New(rand.NewSource(int64(i)))
		ctr := func() string {
			if rng.Intn(3) == 0 {
				return "[0:0] "
			}
			p := rng.Intn(5000)
			return fmt.Sprintf("[%d:%d] ", p, p*(60+rng.Intn(1400)))
		}
		f, _ := os.Create(filepath.Join(nd, "iptables-save.txt"))
		w := bufio.NewWriterSize(f, 1<<20)
		fmt.Fprintf(w, "# Generated by iptables-save v1.8.4 on Wed Nov 25 16:02:47 2026\n*mangle\n:PREROUTING ACCEPT [%d:%d]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-IPTABLES-HINT - [0:0]\n:KUBE-KUBELET-CANARY - [0:0]\n:KUBE-PROXY-CANARY - [0:0]\nCOMMIT\n", rng.Intn(1e6), rng.Intn(1e9))
		fmt.Fprintf(w, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n")
		for _, ch := range []string{"KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL", "KUBE-FORWARD", "KUBE-KUBELET-CANARY", "KUBE-NODEPORTS", "KUBE-PROXY-CANARY", "KUBE-PROXY-FIREWALL", "KUBE-SERVICES"} {
			fmt.Fprintf(w, ":%s - [0:0]\n", ch)
		}
		for _, r := range []string{
			`-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL`,
			`-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS`,
			`-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES`,
			`-A INPUT -j KUBE-FIREWALL`,
			`-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL`,
			`-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD`,
			`-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
			`-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES`,
			`-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL`,
			`-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
			`-A OUTPUT -j KUBE-FIREWALL`,
			`-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
			`-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP`,
			`-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT`,
			`-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
		} {
			w.WriteString(ctr() + r + "\n")
		}
		for _, r := range filSvc {
			w.WriteString(ctr() + r + "\n")
		}
		w.WriteString("COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n")
		for _, ch := range []string{"KUBE-KUBELET-CANARY", "KUBE-MARK-DROP", "KUBE-MARK-MASQ", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-PROXY-CANARY", "KUBE-SERVICES"} {
			fmt.Fprintf(w, ":%s - [0:0]\n", ch)
		}
		for _, ch := range natChains {
			fmt.Fprintf(w, ":%s - [0:0]\n", ch)
		}
		for _, r := range []string{
			`-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
			`-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
			`-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING`,
			`-A KUBE-MARK-DROP -j MARK --set-xmark 0x8000/0x8000`,
			`-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000`,
			`-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN`,
			`-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0`,
			`-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully`,
		} {
			w.WriteString(ctr() + r + "\n")
		}
		for _, r := range natRules {
			w.WriteString(ctr() + r + "\n")
		}
		w.WriteString("COMMIT\n# Completed on Wed Nov 25 16:02:48 2026\n")
		w.Flush()
		f.Close()
		add("nodes/"+ip+"/iptables-save.txt", "iptables-save -c", ip)
		if *nft {
			d, _ := os.ReadFile(filepath.Join(nd, "iptables-save.txt"))
			os.WriteFile(filepath.Join(nd, "iptables-nft-save.txt"), d, 0o644)
			add("nodes/"+ip+"/iptables-nft-save.txt", "iptables-nft-save -c", ip)
		}
		os.WriteFile(filepath.Join(nd, "ip6tables-save.txt"), []byte("# Generated by ip6tables-save v1.8.4\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"), 0o644)
		add("nodes/"+ip+"/ip6tables-save.txt", "ip6tables-save -c", ip)
		os.WriteFile(filepath.Join(nd, "ipset.txt"), nil, 0o644)
		add("nodes/"+ip+"/ipset.txt", "ipset save", ip)
		mac := fmt.Sprintf("52:54:00:%02x:%02x:%02x", i>>16&255, i>>8&255, i&255)
		ifaces := []map[string]any{
			{"ifindex": 1, "ifname": "lo", "flags": []string{"LOOPBACK", "UP", "LOWER_UP"}, "mtu": 65536, "operstate": "UNKNOWN", "link_type": "loopback", "address": "00:00:00:00:00:00",
				"addr_info": []map[string]any{{"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "scope": "host", "label": "lo"}}},
			{"ifindex": 2, "ifname": "eth0", "flags": []string{"BROADCAST", "MULTICAST", "UP", "LOWER_UP"}, "mtu": 1500, "operstate": "UP", "link_type": "ether", "address": mac,
				"addr_info": []map[string]any{{"family": "inet", "local": ip, "prefixlen": 24, "broadcast": "10.0.1.255", "scope": "global", "label": "eth0"}}},
			{"ifindex": 3, "ifname": "cbr0", "flags": []string{"BROADCAST", "MULTICAST", "UP", "LOWER_UP"}, "mtu": 1500, "operstate": "UP", "link_type": "ether", "address": "02:42:ac:10:00:01",
				"addr_info": []map[string]any{{"family": "inet", "local": podGW(i), "prefixlen": 20, "scope": "global", "label": "cbr0"}}},
		}
		links := []map[string]any{}
		for _, x := range ifaces {
			l := map[string]any{}
			for k, v := range x {
				if k != "addr_info" {
					l[k] = v
				}
			}
			links = append(links, l)
		}
		links[2]["linkinfo"] = map[string]any{"info_kind": "bridge"}
		wj := func(name string, v any, cmd string) {
			d, _ := json.Marshal(v)
			os.WriteFile(filepath.Join(nd, name), append(d, '\n'), 0o644)
			add("nodes/"+ip+"/"+name, cmd, ip)
		}
		wj("ip-addr.json", ifaces, "ip -j addr show")
		wj("ip-link.json", links, "ip -j -d link show")
		routes := []map[string]any{
			{"dst": "default", "gateway": "10.0.1.1", "dev": "eth0", "flags": []string{}},
			{"dst": "10.0.1.0/24", "dev": "eth0", "protocol": "kernel", "scope": "link", "prefsrc": ip, "flags": []string{}},
			{"dst": podCIDR(i), "dev": "cbr0", "protocol": "kernel", "scope": "link", "prefsrc": podGW(i), "flags": []string{}},
			{"type": "local", "dst": ip, "dev": "eth0", "table": "local", "protocol": "kernel", "scope": "host", "prefsrc": ip, "flags": []string{}},
			{"type": "broadcast", "dst": "10.0.1.255", "dev": "eth0", "table": "local", "protocol": "kernel", "scope": "link", "prefsrc": ip, "flags": []string{}},
			{"type": "local", "dst": podGW(i), "dev": "cbr0", "table": "local", "protocol": "kernel", "scope": "host", "prefsrc": podGW(i), "flags": []string{}},
			{"type": "local", "dst": "127.0.0.0/8", "dev": "lo", "table": "local", "protocol": "kernel", "scope": "host", "prefsrc": "127.0.0.1", "flags": []string{}},
			{"type": "local", "dst": "127.0.0.1", "dev": "lo", "table": "local", "protocol": "kernel", "scope": "host", "prefsrc": "127.0.0.1", "flags": []string{}},
		}
		wj("ip-route.json", routes, "ip -j route show table all")
		wj("ip-rule.json", []map[string]any{{"priority": 0, "src": "all", "table": "local"}, {"priority": 32766, "src": "all", "table": "main"}, {"priority": 32767, "src": "all", "table": "default"}}, "ip -j rule show")
		os.WriteFile(filepath.Join(nd, "kube-proxy.txt"), []byte(fmt.Sprintf("# kube-proxy as seen from node %s\nfound: true\npid: 1121\nmode: iptables\nmode_source: flag --proxy-mode\ncmdline: /usr/local/bin/kube-proxy --proxy-mode=iptables --cluster-cidr=%s --hostname-override=%s --v=2\n", ip, clusterCIDR, ip)), 0o644)
		add("nodes/"+ip+"/kube-proxy.txt", "cat /proc/1121/cmdline", ip)
		if len(sysctl) > 0 {
			os.WriteFile(filepath.Join(nd, "sysctl.txt"), sysctl, 0o644)
			add("nodes/"+ip+"/sysctl.txt", "sysctl --pattern ^net\\. -a", ip)
		}
		if len(resolv) > 0 {
			os.WriteFile(filepath.Join(nd, "resolv.conf"), resolv, 0o644)
			add("nodes/"+ip+"/resolv.conf", "cat /etc/resolv.conf", ip)
		}
	}
	m := map[string]any{"format": "tkesnap-bundle/v1", "created": "2026-11-25T16:02:48Z", "collector_version": "tkesnap-collect/1",
		"cluster": map[string]any{"id": "cls-scale001", "type": "MANAGED_CLUSTER", "region": "ap-guangzhou"}, "files": recs}
	d, _ := json.MarshalIndent(m, "", "  ")
	os.WriteFile(filepath.Join(*dir, "manifest.json"), d, 0o644)
	for _, r := range recs {
		total += r.Bytes
	}
	fmt.Printf("nodes %d services %d pods %d; nat rules %d filter svc rules %d; manifest bytes %d\n", *nodes, *svcs, *pods, len(natRules), len(filSvc), total)
}
