package main

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/yaml"
)

// Chain names as kube-proxy's iptables proxier builds them
// (pkg/proxy/iptables/proxier.go: portProtoHash, servicePortEndpointChainName):
// the first 16 base32 characters of sha256(servicePortName + protocol [+ endpoint]).
func protoHash(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "")))
	return base32.StdEncoding.EncodeToString(h[:])[:16]
}

type kobjs struct {
	svcs   []corev1.Service
	slices []discoveryv1.EndpointSlice
	cms    []corev1.ConfigMap
}

func readKube(files []string) (*kobjs, error) {
	k := &kobjs{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var list struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := yaml.Unmarshal(data, &list); err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		for i, raw := range list.Items {
			var tm struct{ Kind string }
			if err := json.Unmarshal(raw, &tm); err != nil {
				return nil, fmt.Errorf("%s item %d: %v", f, i, err)
			}
			switch tm.Kind {
			case "Service":
				var s corev1.Service
				err = json.Unmarshal(raw, &s)
				k.svcs = append(k.svcs, s)
			case "EndpointSlice":
				var s discoveryv1.EndpointSlice
				err = json.Unmarshal(raw, &s)
				k.slices = append(k.slices, s)
			case "ConfigMap":
				var c corev1.ConfigMap
				err = json.Unmarshal(raw, &c)
				k.cms = append(k.cms, c)
			}
			if err != nil {
				return nil, fmt.Errorf("%s item %d: %v", f, i, err)
			}
		}
	}
	sort.Slice(k.svcs, func(i, j int) bool {
		return k.svcs[i].Namespace+"/"+k.svcs[i].Name < k.svcs[j].Namespace+"/"+k.svcs[j].Name
	})
	return k, nil
}

type ep struct{ ip, port string }

// readyEndpoints are the ready endpoints of one Service port, from its
// EndpointSlices (kube-proxy ignores the legacy Endpoints object).
func (k *kobjs) readyEndpoints(s corev1.Service, p corev1.ServicePort) []ep {
	var out []ep
	for _, sl := range k.slices {
		if sl.Namespace != s.Namespace || sl.Labels["kubernetes.io/service-name"] != s.Name {
			continue
		}
		for _, sp := range sl.Ports {
			if sp.Name == nil || *sp.Name != p.Name || sp.Port == nil {
				continue
			}
			for _, e := range sl.Endpoints {
				if e.Conditions.Ready != nil && !*e.Conditions.Ready {
					continue
				}
				for _, a := range e.Addresses {
					out = append(out, ep{a, fmt.Sprint(*sp.Port)})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ip < out[j].ip })
	return out
}

func writeIptables(w io.Writer, node string, files []string) error {
	k, err := readKube(files)
	if err != nil {
		return err
	}
	var natChains, natRules, filChains, nodePorts, extSvc, filSvc []string
	chain := func(list *[]string, name string) { *list = append(*list, ":"+name+" - [0:0]") }
	for _, s := range k.svcs {
		if s.Spec.ClusterIP == "" || s.Spec.ClusterIP == "None" {
			continue
		}
		for _, p := range s.Spec.Ports {
			name := s.Namespace + "/" + s.Name
			if p.Name != "" {
				name += ":" + p.Name
			}
			proto := strings.ToLower(string(p.Protocol))
			svcChain := "KUBE-SVC-" + protoHash(name, proto)
			extChain := "KUBE-EXT-" + protoHash(name, proto)
			eps := k.readyEndpoints(s, p)
			dport := fmt.Sprintf("-p %s -m %s --dport %d", proto, proto, p.Port)
			if len(eps) == 0 {
				filSvc = append(filSvc, fmt.Sprintf("-A KUBE-SERVICES -d %s/32 %s -m comment --comment \"%s has no endpoints\" -j REJECT --reject-with icmp-port-unreachable", s.Spec.ClusterIP, dport, name))
				if p.NodePort != 0 {
					extSvc = append(extSvc, fmt.Sprintf("-A KUBE-EXTERNAL-SERVICES -p %s -m comment --comment \"%s has no endpoints\" -m addrtype --dst-type LOCAL -m %s --dport %d -j REJECT --reject-with icmp-port-unreachable", proto, name, proto, p.NodePort))
				}
				continue
			}
			chain(&natChains, svcChain)
			natRules = append(natRules, fmt.Sprintf("-A KUBE-SERVICES -d %s/32 %s -m comment --comment \"%s cluster IP\" -j %s", s.Spec.ClusterIP, dport, name, svcChain))
			natRules = append(natRules, fmt.Sprintf("-A %s ! -s %s -d %s/32 %s -m comment --comment \"%s cluster IP\" -j KUBE-MARK-MASQ", svcChain, ClusterCIDR, s.Spec.ClusterIP, dport, name))
			external := p.NodePort != 0 || len(s.Status.LoadBalancer.Ingress) > 0
			if external {
				chain(&natChains, extChain)
				natRules = append(natRules,
					fmt.Sprintf("-A %s -m comment --comment \"masquerade traffic for %s external destinations\" -j KUBE-MARK-MASQ", extChain, name),
					fmt.Sprintf("-A %s -j %s", extChain, svcChain))
				for _, in := range s.Status.LoadBalancer.Ingress {
					if in.IP != "" {
						natRules = append(natRules, fmt.Sprintf("-A KUBE-SERVICES -d %s/32 %s -m comment --comment \"%s loadbalancer IP\" -j %s", in.IP, dport, name, extChain))
					}
				}
				if p.NodePort != 0 {
					nodePorts = append(nodePorts, fmt.Sprintf("-A KUBE-NODEPORTS -p %s -m comment --comment \"%s\" -m %s --dport %d -j %s", proto, name, proto, p.NodePort, extChain))
				}
			}
			for i, e := range eps {
				sep := "KUBE-SEP-" + protoHash(name, proto, e.ip+":"+e.port)
				chain(&natChains, sep)
				stat := ""
				if n := len(eps) - i; n > 1 {
					stat = fmt.Sprintf(" -m statistic --mode random --probability %0.11f", 1.0/float64(n))
				}
				natRules = append(natRules, fmt.Sprintf("-A %s -m comment --comment \"%s -> %s:%s\"%s -j %s", svcChain, name, e.ip, e.port, stat, sep))
				natRules = append(natRules,
					fmt.Sprintf("-A %s -s %s/32 -m comment --comment \"%s\" -j KUBE-MARK-MASQ", sep, e.ip, name),
					fmt.Sprintf("-A %s -p %s -m comment --comment \"%s\" -m %s -j DNAT --to-destination %s:%s", sep, proto, name, proto, e.ip, e.port))
			}
		}
	}
	natRules = append(natRules, "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS")
	natRules = append(natRules, nodePorts...)

	// ip-masq-agent: RETURN for each NonMasqueradeCIDR, MASQUERADE the rest.
	var masq []string
	for _, cm := range k.cms {
		if cm.Namespace != "kube-system" || cm.Name != "ip-masq-agent-config" {
			continue
		}
		var cfg struct {
			NonMasqueradeCIDRs []string `json:"nonMasqueradeCIDRs"`
			MasqLinkLocal      bool     `json:"masqLinkLocal"`
		}
		if err := yaml.Unmarshal([]byte(cm.Data["config"]), &cfg); err != nil {
			return fmt.Errorf("ip-masq-agent-config: %v", err)
		}
		if !cfg.MasqLinkLocal {
			masq = append(masq, "-A IP-MASQ-AGENT -d 169.254.0.0/16 -m comment --comment \"ip-masq-agent: local traffic is not subject to MASQUERADE\" -j RETURN")
		}
		for _, c := range cfg.NonMasqueradeCIDRs {
			masq = append(masq, fmt.Sprintf("-A IP-MASQ-AGENT -d %s -m comment --comment \"ip-masq-agent: local traffic is not subject to MASQUERADE\" -j RETURN", c))
		}
		masq = append(masq, "-A IP-MASQ-AGENT -m comment --comment \"ip-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)\" -j MASQUERADE")
	}

	fmt.Fprintf(w, "# kube-proxy (iptables mode) and ip-masq-agent rules for lab node %s, generated by labgen from the API objects\n", node)
	fmt.Fprintln(w, "*nat")
	for _, c := range []string{"KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"} {
		fmt.Fprintf(w, ":%s - [0:0]\n", c)
	}
	if masq != nil {
		fmt.Fprintln(w, ":IP-MASQ-AGENT - [0:0]")
	}
	sort.Strings(natChains)
	for _, c := range dedup(natChains) {
		fmt.Fprintln(w, c)
	}
	fmt.Fprintln(w, `-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING`)
	if masq != nil {
		fmt.Fprintln(w, `-A POSTROUTING -m comment --comment "ip-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom IP-MASQ-AGENT chain" -m addrtype ! --dst-type LOCAL -j IP-MASQ-AGENT`)
	}
	fmt.Fprintln(w, `-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully`)
	for _, r := range append(natRules, masq...) {
		fmt.Fprintln(w, r)
	}
	fmt.Fprintln(w, "COMMIT")

	fmt.Fprintln(w, "*filter")
	for _, c := range []string{"KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL", "KUBE-FORWARD", "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL", "KUBE-SERVICES"} {
		chain(&filChains, c)
	}
	for _, c := range filChains {
		fmt.Fprintln(w, c)
	}
	fmt.Fprintln(w, `-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -j KUBE-FIREWALL
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`)
	for _, r := range append(filSvc, extSvc...) {
		fmt.Fprintln(w, r)
	}
	fmt.Fprintln(w, "COMMIT")
	return nil
}

func dedup(a []string) []string {
	var out []string
	for i, x := range a {
		if i == 0 || x != a[i-1] {
			out = append(out, x)
		}
	}
	return out
}
