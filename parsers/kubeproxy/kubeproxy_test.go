package kubeproxy

import (
	"bytes"
	"strings"
	"testing"
)

func TestModeFromEachSource(t *testing.T) {
	cases := []struct {
		name, in, mode, source string
		line                   int
	}{
		{"proxyMode endpoint answer", "ipvs\n", "ipvs", "proxyMode", 1},
		{"command line", "/usr/local/bin/kube-proxy --config=/var/lib/kube-proxy/config.conf --proxy-mode=ipvs --ipvs-scheduler=rr\n", "ipvs", "flag", 1},
		{"command line with space", "kube-proxy --proxy-mode iptables --cluster-cidr=172.16.0.0/16", "iptables", "flag", 1},
		{"configmap", "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nipvs:\n  scheduler: \"wrr\"\nmode: \"ipvs\"\nclusterCIDR: 172.16.0.0/16\n", "ipvs", "config", 5},
		{"log line", "I0601 12:00:00.000000       1 server_others.go:212] \"Using iptables proxy\"\n", "iptables", "log", 1},
		{"old log line", "I0601 server_others.go:170] Using ipvs Proxier.\n", "ipvs", "log", 1},
		{"flag beats config", "mode: iptables\n---\nkube-proxy --proxy-mode=ipvs\n", "ipvs", "flag", 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Parse(strings.NewReader(c.in))
			m, ok := cfg.EffectiveMode()
			if !ok || m != c.mode || cfg.Mode.Source != c.source || cfg.Mode.Line != c.line {
				t.Fatalf("mode %q ok %v source %q line %d", m, ok, cfg.Mode.Source, cfg.Mode.Line)
			}
		})
	}
}

func TestEmptyModeIsIptablesAndNothingIsUnknown(t *testing.T) {
	cfg := Parse(strings.NewReader("mode: \"\"\nipvs:\n  scheduler: \"\"\n"))
	if m, ok := cfg.EffectiveMode(); !ok || m != "iptables" {
		t.Fatalf("%q %v", m, ok)
	}
	if _, ok := Parse(strings.NewReader("hello\n")).EffectiveMode(); ok {
		t.Fatal("mode from nothing")
	}
	cfg = Parse(strings.NewReader("kube-proxy --masquerade-all --cluster-cidr 10.0.0.0/8 --ipvs-scheduler=lc\nipvs:\n  scheduler: rr\n"))
	if cfg.MasqueradeAll.Value != "true" || cfg.ClusterCIDR.Value != "10.0.0.0/8" || cfg.Scheduler.Value != "lc" {
		t.Fatalf("%+v", cfg)
	}
}

func TestCollectorSummary(t *testing.T) {
	in := "# kube-proxy as seen from node 10.0.1.5\nfound: true\npid: 812\nmode: iptables\nmode_source: default (no --proxy-mode, config or /proxyMode)\ncmdline: /usr/local/bin/kube-proxy --config=/var/lib/kube-proxy/config.conf \nconfig: /var/lib/kube-proxy/config.conf\n--- config\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: \"ipvs\"\n"
	cfg := Parse(strings.NewReader(in))
	if m, _ := cfg.EffectiveMode(); m != "ipvs" || cfg.Mode.Line != 11 || cfg.Found == nil || !*cfg.Found {
		t.Fatalf("%+v", cfg)
	}
	cfg = Parse(strings.NewReader("found: false\nwhy: no kube-proxy process in this network namespace\n"))
	if cfg.Found == nil || *cfg.Found {
		t.Fatalf("%+v", cfg)
	}
	if _, ok := cfg.EffectiveMode(); ok {
		t.Fatal("no mode when kube-proxy was not found")
	}
	cfg = Parse(strings.NewReader("found: true\nmode: iptables\nmode_source: default (x)\n"))
	if m, ok := cfg.EffectiveMode(); !ok || m != "iptables" || cfg.Mode.Source != "default" {
		t.Fatalf("%+v", cfg.Mode)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("--proxy-mode\nmode:\n  ipvs:\nUsing "))
	f.Add([]byte("found: true\nmode: ipvs\nmode_source: flag --proxy-mode\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := Parse(bytes.NewReader(b))
		mode, ok := c.EffectiveMode()
		// the mode is known exactly when some line said it, and then it
		// is a mode (iptables when the configuration leaves it empty)
		if ok != (c.Mode.Source != "") || ok && mode == "" || !ok && mode != "" {
			t.Fatalf("EffectiveMode %q %v for %+v", mode, ok, c.Mode)
		}
		nlines := bytes.Count(b, []byte("\n")) + 1
		for _, s := range []Setting{c.Mode, c.ClusterCIDR, c.MasqueradeAll, c.Scheduler, c.NodePortAddresses, c.HostnameOverride} {
			if s.Line < 0 || s.Line > nlines || (s.Source != "" && s.Source != "default" && s.Line == 0) {
				t.Fatalf("setting %+v at line %d of %d", s, s.Line, nlines)
			}
		}
		if len(bytes.TrimSpace(b)) == 0 && (ok || c.Found != nil || len(c.Flags) > 0) {
			t.Fatalf("empty file says something: %+v", c)
		}
	})
}
