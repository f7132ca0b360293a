// Package kubeproxy reads what a collector saved about kube-proxy on a
// node (kube-proxy.txt): any mix of
//
//   - the answer of the metrics port's /proxyMode ("ipvs"),
//   - the process command line (--proxy-mode=ipvs --cluster-cidr=...),
//   - a KubeProxyConfiguration (mode: ipvs, clusterCIDR, ipvs.scheduler,
//     masqueradeAll, nodePortAddresses), as in the kube-proxy ConfigMap,
//   - log lines naming the proxier ("Using ipvs Proxier", "Using iptables
//     proxy"),
//   - the tkesnap collector's summary ("found: true", "mode: ipvs",
//     "mode_source: flag --proxy-mode", "cmdline: ...", "--- config").
//
// Later sources override earlier ones of lower strength: an explicit flag
// or /proxyMode answer beats a config file, which beats a log line. An
// empty mode is the platform default, iptables on Linux (kube-proxy
// --proxy-mode documentation).
package kubeproxy

import (
	"io"
	"strings"

	"tkesnap/parsers/lines"
)

// Setting is a value and where it was read.
type Setting struct {
	Value  string
	Line   int
	Source string // proxyMode, flag, config, log
}

// Config is what is known about kube-proxy on a node.
type Config struct {
	Mode              Setting // iptables, ipvs, nftables, kernelspace; "" unknown
	ClusterCIDR       Setting
	MasqueradeAll     Setting
	Scheduler         Setting // ipvs scheduler
	NodePortAddresses Setting // comma-separated CIDRs
	HostnameOverride  Setting
	// Flags holds every --flag=value seen on a command line.
	Flags map[string]Setting
	// Found is the collector's "found:" line: false when no kube-proxy
	// process runs in the node's network namespace (nil: not said).
	Found     *bool
	FoundLine int
}

// "default" is the collector's own fallback (no flag, config or
// /proxyMode answer): weaker than anything read from kube-proxy itself.
var strength = map[string]int{"default": 0, "log": 1, "config": 2, "flag": 3, "proxyMode": 4}

func set(dst *Setting, v Setting) {
	if v.Value == "" && v.Source != "config" {
		return
	}
	if strength[v.Source] >= strength[dst.Source] {
		*dst = v
	}
}

// Parse reads kube-proxy.txt. It never fails: unknown lines are ignored
// (this file is free-form by design).
func Parse(r io.Reader) *Config {
	c := &Config{Flags: map[string]Setting{}}
	lr := lines.New(r, 0)
	section := "" // current YAML mapping ("ipvs") for nested keys
	for lr.Next() {
		n := lr.Line()
		raw := lr.Text()
		s := strings.TrimSpace(raw)
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		switch strings.ToLower(s) {
		case "iptables", "ipvs", "nftables", "kernelspace", "userspace":
			set(&c.Mode, Setting{strings.ToLower(s), n, "proxyMode"})
			continue
		}
		if strings.Contains(s, "--") && !strings.HasPrefix(s, "mode_source:") && !strings.HasPrefix(s, "why:") {
			c.flags(n, s)
		}
		if i := strings.Index(s, "Using "); i >= 0 {
			rest := strings.ToLower(s[i+len("Using "):])
			for _, m := range []string{"ipvs", "iptables", "nftables", "userspace", "kernelspace"} {
				if strings.HasPrefix(rest, m+" prox") {
					set(&c.Mode, Setting{m, n, "log"})
				}
			}
		}
		// YAML (KubeProxyConfiguration): top-level and the ipvs: section
		k, v, ok := strings.Cut(s, ":")
		if !ok || strings.ContainsAny(k, " \t\"") {
			continue
		}
		indented := raw != strings.TrimLeft(raw, " \t")
		if !indented {
			section = ""
			if strings.TrimSpace(v) == "" {
				section = k
				continue
			}
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		switch {
		case k == "found" && !indented:
			f := v == "true"
			c.Found, c.FoundLine = &f, n
		case k == "mode_source" && !indented:
			if strings.HasPrefix(v, "default") && c.Mode.Line == n-1 {
				c.Mode.Source = "default"
			}
		case k == "mode" && !indented:
			set(&c.Mode, Setting{strings.ToLower(v), n, "config"})
		case k == "clusterCIDR" && !indented:
			set(&c.ClusterCIDR, Setting{v, n, "config"})
		case k == "masqueradeAll" && (!indented || section == "iptables"):
			set(&c.MasqueradeAll, Setting{v, n, "config"})
		case k == "scheduler" && section == "ipvs":
			set(&c.Scheduler, Setting{v, n, "config"})
		case k == "nodePortAddresses" && !indented:
			set(&c.NodePortAddresses, Setting{strings.Trim(v, "[]"), n, "config"})
		case k == "hostnameOverride" && !indented:
			set(&c.HostnameOverride, Setting{v, n, "config"})
		}
	}
	return c
}

func (c *Config) flags(n int, s string) {
	f := strings.Fields(s)
	for i := 0; i < len(f); i++ {
		tok := strings.Trim(f[i], `"',[]`)
		if !strings.HasPrefix(tok, "--") || len(tok) < 3 || tok[2] == '-' {
			continue
		}
		k, v, hasEq := strings.Cut(tok[2:], "=")
		if !hasEq && i+1 < len(f) && !strings.HasPrefix(f[i+1], "-") {
			v = strings.Trim(f[i+1], `"',[]`)
			i++
		}
		st := Setting{v, n, "flag"}
		c.Flags[k] = st
		switch k {
		case "proxy-mode":
			st.Value = strings.ToLower(v)
			switch st.Value {
			case "", "iptables", "ipvs", "nftables", "kernelspace", "userspace":
				set(&c.Mode, st)
			}
		case "cluster-cidr":
			set(&c.ClusterCIDR, st)
		case "masquerade-all":
			if !hasEq && v == "" {
				st.Value = "true"
			}
			set(&c.MasqueradeAll, st)
		case "ipvs-scheduler":
			set(&c.Scheduler, st)
		case "nodeport-addresses":
			set(&c.NodePortAddresses, st)
		case "hostname-override":
			set(&c.HostnameOverride, st)
		}
	}
}

// EffectiveMode is the mode kube-proxy runs in: the configured one, or
// iptables when the configuration leaves it empty. ok is false when
// nothing in the file says anything about the mode.
func (c *Config) EffectiveMode() (mode string, ok bool) {
	if c.Mode.Source == "" {
		return "", false
	}
	if c.Mode.Value == "" {
		return "iptables", true
	}
	return c.Mode.Value, true
}
