package model

import (
	"encoding/json"
	"net/netip"
	"sort"
	"strings"

	"tkesnap/parsers/kube"
)

// Configuration the kube-system ConfigMaps and DaemonSets carry.

// DefaultNonMasqCIDRs are ip-masq-agent's NonMasqueradeCIDRs when it runs
// WITHOUT a config file (kubernetes-sigs/ip-masq-agent README "Agent
// flags": RFC 1918 ranges; --nomasq-all-reserved-ranges adds more). With a
// config file, omitted keys are empty (EmptyMasqConfig): everything
// outside link-local is masqueraded.
var DefaultNonMasqCIDRs = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
}

// masqConfigNames are the ConfigMaps ip-masq-agent reads: TKE and the
// upstream manifest use ip-masq-agent-config, GKE ip-masq-agent.
var masqConfigNames = []string{"ip-masq-agent-config", "ip-masq-agent"}

func (c *Cluster) loadKubeConfigMaps() {
	k := &c.Kube
	byName := map[string]*ConfigMap{}
	for _, cm := range k.ConfigMaps {
		if cm.Namespace == "kube-system" || cm.Namespace == "" {
			byName[cm.Name] = cm
		}
	}
	for _, n := range masqConfigNames {
		if cm := byName[n]; cm != nil {
			k.Masq = c.parseMasq(cm)
			break
		}
	}
	for _, n := range []string{"coredns", "coredns-custom"} {
		if cm := byName[n]; cm != nil {
			if t, ok := cm.Data["Corefile"]; ok {
				k.Corefile = &Corefile{Source: cm.Source, ConfigMap: Key(cm.Namespace, cm.Name), Text: t}
				break
			}
		}
	}
	if cm := byName["kube-proxy"]; cm != nil {
		k.KubeProxy = c.parseKubeProxy(cm)
	}
	// TKE configures kube-proxy by flags on its DaemonSet
	for _, ds := range k.DaemonSets {
		if ds.Namespace != "kube-system" || !strings.Contains(ds.Name, "kube-proxy") {
			continue
		}
		for _, ct := range ds.Spec.Template.Spec.Containers {
			for _, a := range append(append([]string{}, ct.Command...), ct.Args...) {
				for _, f := range strings.Fields(a) { // args may be one shell string
					if v, ok := strings.CutPrefix(f, "--proxy-mode="); ok {
						if k.KubeProxy == nil {
							k.KubeProxy = &KubeProxyConfig{Source: ds.Source, ConfigMap: "daemonset/" + Key(ds.Namespace, ds.Name)}
						}
						k.KubeProxy.Mode = strings.Trim(v, `"'`)
					}
					if v, ok := strings.CutPrefix(f, "--cluster-cidr="); ok && k.KubeProxy != nil && k.KubeProxy.ClusterCIDR == "" {
						k.KubeProxy.ClusterCIDR = strings.Trim(v, `"'`)
					}
				}
			}
		}
	}
}

// parseMasq reads ip-masq-agent's "config" key. The agent turns the YAML
// into JSON and unmarshals it with encoding/json, whose field matching is
// case-insensitive: "NonMasqueradeCIDRs" (TKE) and "nonMasqueradeCIDRs"
// (upstream docs) both work, and so do we.
func (c *Cluster) parseMasq(cm *ConfigMap) *MasqConfig {
	m := &MasqConfig{Source: cm.Source, ConfigMap: Key(cm.Namespace, cm.Name), ResyncInterval: "60s"}
	text, ok := cm.Data["config"]
	if !ok {
		// a single key of another name is what the agent mounts as its file
		keys := make([]string, 0, len(cm.Data))
		for k := range cm.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(keys) != 1 {
			c.Problem(cm.File, cm.Line, "configmap %s has no key \"config\"; ip-masq-agent would run with its defaults", m.ConfigMap)
			return nil
		}
		text = cm.Data[keys[0]]
	}
	js, err := kube.YAMLToJSON([]byte(text), kube.DefaultLimits())
	if err != nil {
		c.Problem(cm.File, cm.Line, "configmap %s key config: %v", m.ConfigMap, err)
		return nil
	}
	var raw struct {
		NonMasqueradeCIDRs *[]string
		MasqLinkLocal      bool
		MasqLinkLocalIPv6  bool
		ResyncInterval     json.RawMessage
	}
	if err := json.Unmarshal(js, &raw); err != nil {
		c.Problem(cm.File, cm.Line, "configmap %s key config: %v", m.ConfigMap, err)
		return nil
	}
	if raw.NonMasqueradeCIDRs != nil {
		m.NonMasqSet = true
		for _, s := range *raw.NonMasqueradeCIDRs {
			p, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				m.Bad = append(m.Bad, s)
				c.Problem(cm.File, cm.Line, "configmap %s: NonMasqueradeCIDRs entry %q is not a CIDR (the agent rejects the whole config)", m.ConfigMap, s)
				continue
			}
			m.NonMasqueradeCIDRs = append(m.NonMasqueradeCIDRs, p)
		}
	}
	m.MasqLinkLocal, m.MasqLinkLocalIPv6 = raw.MasqLinkLocal, raw.MasqLinkLocalIPv6
	if len(raw.ResyncInterval) > 0 {
		var s string
		if json.Unmarshal(raw.ResyncInterval, &s) == nil {
			m.ResyncInterval = s
		} else {
			m.ResyncInterval = string(raw.ResyncInterval)
		}
	}
	return m
}

// NonMasq reports whether traffic from a pod to dst keeps its pod source
// IP according to the config (true) or is masqueraded (false): RETURN for
// link-local unless MasqLinkLocal, RETURN for each NonMasqueradeCIDR,
// MASQUERADE otherwise. It returns the CIDR that matched.
func (m *MasqConfig) NonMasq(dst netip.Addr) (bool, netip.Prefix) {
	if !m.MasqLinkLocal && dst.Is4() && linkLocal4.Contains(dst) {
		return true, linkLocal4
	}
	for _, p := range m.NonMasqueradeCIDRs {
		if p.Contains(dst) {
			return true, p
		}
	}
	return false, netip.Prefix{}
}

var linkLocal4 = netip.MustParsePrefix("169.254.0.0/16")

// CoversPrefix reports whether every address of p keeps its source (p
// lies inside one NonMasqueradeCIDR or link-local).
func (m *MasqConfig) CoversPrefix(p netip.Prefix) (bool, netip.Prefix) {
	p = p.Masked()
	if !m.MasqLinkLocal && p.Addr().Is4() && linkLocal4.Bits() <= p.Bits() && linkLocal4.Contains(p.Addr()) {
		return true, linkLocal4
	}
	for _, n := range m.NonMasqueradeCIDRs {
		if n.Bits() <= p.Bits() && n.Contains(p.Addr()) {
			return true, n
		}
	}
	return false, netip.Prefix{}
}

func (c *Cluster) parseKubeProxy(cm *ConfigMap) *KubeProxyConfig {
	kp := &KubeProxyConfig{Source: cm.Source, ConfigMap: Key(cm.Namespace, cm.Name)}
	keys := make([]string, 0, len(cm.Data))
	for k := range cm.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		text := cm.Data[key]
		if !strings.Contains(text, "KubeProxyConfiguration") && !strings.Contains(text, "mode") {
			continue
		}
		js, err := kube.YAMLToJSON([]byte(text), kube.DefaultLimits())
		if err != nil {
			c.Problem(cm.File, cm.Line, "configmap %s key %s: %v", kp.ConfigMap, key, err)
			continue
		}
		var v struct {
			Kind        string `json:"kind"`
			Mode        string `json:"mode"`
			ClusterCIDR string `json:"clusterCIDR"`
		}
		if json.Unmarshal(js, &v) != nil {
			continue
		}
		if v.Kind == "KubeProxyConfiguration" || v.Mode != "" {
			kp.Mode, kp.ClusterCIDR = v.Mode, v.ClusterCIDR
			break
		}
	}
	return kp
}
