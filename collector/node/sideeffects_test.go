package node

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"tkesnap/collector"
	"tkesnap/parsers/bundle"
)

// fakeTools puts logging stand-ins for every tool that talks to a kernel
// subsystem first in PATH; each appends "tool PROC_ROOT=… args" to log.
func fakeTools(t *testing.T, log string) string {
	t.Helper()
	bin := t.TempDir()
	for _, tool := range []string{"iptables-save", "ip6tables-save", "iptables-legacy-save", "iptables-nft-save",
		"iptables-legacy", "iptables-nft", "nft", "ipset", "ipvsadm", "conntrack", "ss", "curl"} {
		ver := "v1.8.9 (nf_tables)"
		if strings.Contains(tool, "legacy") {
			ver = "v1.8.9 (legacy)"
		}
		sh := "#!/bin/sh\necho \"" + tool + " PROC_ROOT=${PROC_ROOT-} $*\" >>" + log + "\n" +
			"[ \"$1\" = --version ] && echo \"" + tool + " " + ver + "\"\nexit 0\n"
		if err := os.WriteFile(filepath.Join(bin, tool), []byte(sh), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

// fakeKernel is a module root: /proc/modules exists (modules are loadable),
// the named modules are in /sys/module, the named /proc files exist.
func fakeKernel(t *testing.T, modules, procFiles []string) string {
	t.Helper()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "sys/module"), 0o755)
	os.MkdirAll(filepath.Join(root, "proc/net"), 0o755)
	os.WriteFile(filepath.Join(root, "proc/modules"), nil, 0o644)
	for _, m := range modules {
		os.MkdirAll(filepath.Join(root, "sys/module", m), 0o755)
	}
	for _, f := range procFiles {
		os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755)
		os.WriteFile(filepath.Join(root, f), nil, 0o644)
	}
	return root
}

// A node with none of the modules loaded: no tool that would autoload one
// runs (only --version, which touches no kernel state), ss reads /proc;
// with them loaded, every tool runs. Same for the script and Go, and
// neither collector asks 127.0.0.1:10249.
func TestNoToolRunsThatWouldLoadAModule(t *testing.T) {
	for _, c := range []struct {
		name            string
		modules, procs  []string
		want            []string // logged calls other than --version, sorted
		skippedPrefixes []string
	}{
		{name: "nothing loaded",
			want:            []string{"ss PROC_ROOT=/proc -tunapH"},
			skippedPrefixes: []string{"iptables-save.txt", "ip6tables-save.txt", "iptables-legacy-save.txt", "iptables-nft-save.txt", "nft-ruleset.json", "ipset.txt", "ipvsadm.txt", "conntrack.txt"}},
		{name: "nf_conntrack without its netlink part",
			procs:           []string{"/proc/net/nf_conntrack"},
			want:            []string{"ss PROC_ROOT=/proc -tunapH"},
			skippedPrefixes: []string{"conntrack.txt", "conntrack-stats.txt"}},
		{name: "everything loaded",
			modules: []string{"nf_tables", "ip_set", "nf_conntrack_netlink", "inet_diag", "tcp_diag", "udp_diag"},
			procs:   []string{"/proc/net/nf_conntrack", "/proc/net/ip_tables_names", "/proc/net/ip6_tables_names", "/proc/net/ip_vs"},
			want: []string{"conntrack PROC_ROOT= -L", "conntrack PROC_ROOT= -S", "ip6tables-save PROC_ROOT= -c", "ipset PROC_ROOT= save",
				"iptables-legacy-save PROC_ROOT= -c", "iptables-nft-save PROC_ROOT= -c", "iptables-save PROC_ROOT= -c",
				"ipvsadm PROC_ROOT= -Ln --stats --exact", "ipvsadm PROC_ROOT= -Sn", "nft PROC_ROOT= -j list ruleset", "ss PROC_ROOT= -tunapH"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := fakeKernel(t, c.modules, c.procs)
			calls := func(log string) []string {
				data, _ := os.ReadFile(log)
				var out []string
				for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
					if l != "" && !strings.HasSuffix(l, " --version") {
						out = append(out, l)
					}
				}
				sort.Strings(out)
				return out
			}
			skipped := func(recs []bundle.ManifestRecord) map[string]string {
				m := map[string]string{}
				for _, r := range recs {
					if r.Skipped != "" {
						m[filepath.Base(r.Path)] = r.Skipped
					}
				}
				return m
			}
			// the script
			dir := t.TempDir()
			slog := filepath.Join(dir, "script.log")
			path := fakeTools(t, slog) + ":" + os.Getenv("PATH")
			script := filepath.Join(dir, "c.sh")
			os.WriteFile(script, collector.Script, 0o755)
			sc := exec.Command("bash", script, "--node", "--node-name", "n1", "-o", dir+"/s.tgz")
			sc.Env = append(os.Environ(), "PATH="+path, "TKESNAP_MODULE_ROOT="+root)
			if msg, err := sc.CombinedOutput(); err != nil {
				t.Fatalf("script: %v %s", err, msg)
			}
			sb, err := bundle.Open(dir+"/s.tgz", bundle.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			defer sb.Close()
			// Go
			glog := filepath.Join(dir, "go.log")
			t.Setenv("PATH", fakeTools(t, glog)+":"+os.Getenv("PATH"))
			t.Setenv("TKESNAP_MODULE_ROOT", root)
			grecs, err := Collect(context.Background(), t.TempDir(), Options{NodeName: "n1"})
			if err != nil {
				t.Fatal(err)
			}
			for who, got := range map[string][]string{"script": calls(slog), "go": calls(glog)} {
				if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
					t.Errorf("%s ran:\n%s\nwant:\n%s", who, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
				}
			}
			ss, gs := skipped(sb.Manifest.Files), skipped(grecs)
			for _, f := range c.skippedPrefixes {
				if ss[f] == "" || ss[f] != gs[f] {
					t.Errorf("%s: skipped by script %q, by Go %q", f, ss[f], gs[f])
				}
			}
		})
	}
}
