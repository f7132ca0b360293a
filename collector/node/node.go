// Package node is the Go node collector (`tkesnap collect --node`): it
// writes the same nodes/<name>/ files and manifest records as
// tkesnap-collect.sh --node, for nodes where the binary can be copied, with
// the same safety rules — read-only, every command under a timeout and a
// size cap, missing tools recorded, no module loads.
//
// It runs the same read-only tools as the script (their output formats are
// the contract the parsers read), detects the iptables backends with
// github.com/coreos/go-iptables, and reads IPVS over netlink with
// github.com/moby/ipvs when ipvsadm is not installed.
package node

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-iptables/iptables"

	"tkesnap/collector"
	"tkesnap/parsers/bundle"
)

// Options bound the collection; zero values take the script's defaults.
type Options struct {
	NodeName       string        // default: hostname
	Timeout        time.Duration // per command (20s)
	MaxBytes       int64         // per file (16 MiB)
	ConntrackLines int           // conntrack -L lines (20000)
	Log            io.Writer     // progress notes (nil: discarded)
}

func (o *Options) defaults() {
	if o.Timeout <= 0 {
		o.Timeout = 20 * time.Second
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 16 << 20
	}
	if o.ConntrackLines <= 0 {
		o.ConntrackLines = 20000
	}
	if o.NodeName == "" {
		o.NodeName, _ = os.Hostname()
	}
	o.NodeName = SafeName(o.NodeName)
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// SafeName is the script's safe_name: bytes other than [A-Za-z0-9._-] become _.
func SafeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

type run struct {
	o    Options
	root string
	recs []bundle.ManifestRecord
}

// Collect writes nodes/<node>/ below root and returns the manifest records
// in the script's order.
func Collect(ctx context.Context, root string, o Options) ([]bundle.ManifestRecord, error) {
	o.defaults()
	r := &run{o: o, root: root}
	n := "nodes/" + o.NodeName
	if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(n)), 0o755); err != nil {
		return nil, err
	}
	r.iptables(ctx, n)
	if kernelHas("/proc/net/ip_vs") {
		r.ipvs(ctx, n)
	} else {
		// ipvsadm (and an IPVS netlink family lookup) would autoload ip_vs.
		r.skip(n+"/ipvsadm.txt", "ipvsadm -Sn", "ipvs not available: /proc/net/ip_vs absent")
		r.skip(n+"/ipvsadm-stats.txt", "ipvsadm -Ln --stats --exact", "ipvs not available: /proc/net/ip_vs absent")
	}
	if moduleReady("ip_set") {
		r.cmd(ctx, n+"/ipset.txt", false, 0, "ipset", "save")
	} else {
		r.skip(n+"/ipset.txt", "ipset save", "ip_set not loaded: no ipsets")
	}
	r.cmd(ctx, n+"/ip-addr.json", false, 0, "ip", "-j", "addr", "show")
	r.cmd(ctx, n+"/ip-link.json", false, 0, "ip", "-j", "-d", "link", "show")
	r.cmd(ctx, n+"/ip-route.json", false, 0, "ip", "-j", "route", "show", "table", "all")
	r.cmd(ctx, n+"/ip-rule.json", false, 0, "ip", "-j", "rule", "show")
	r.cmd(ctx, n+"/ip-neigh.json", false, 0, "ip", "-j", "neigh", "show")
	r.cmd(ctx, n+"/sysctl.txt", false, 0, "sysctl", "--pattern", `^net\.`, "-a")
	// conntrack talks ctnetlink: nf_conntrack_netlink is autoloaded by the
	// request unless it is there already.
	switch {
	case !kernelHas("/proc/net/nf_conntrack") && !kernelHas("/proc/sys/net/netfilter/nf_conntrack_count"):
		r.skip(n+"/conntrack-stats.txt", "conntrack -S", "nf_conntrack not loaded")
		r.skip(n+"/conntrack.txt", "conntrack -L", "nf_conntrack not loaded")
	case !moduleReady("nf_conntrack_netlink"):
		r.skip(n+"/conntrack-stats.txt", "conntrack -S", "nf_conntrack_netlink not loaded (conntrack would load it)")
		r.skip(n+"/conntrack.txt", "conntrack -L", "nf_conntrack_netlink not loaded (conntrack would load it)")
	default:
		r.cmd(ctx, n+"/conntrack-stats.txt", false, 0, "conntrack", "-S")
		r.cmd(ctx, n+"/conntrack.txt", false, o.ConntrackLines, "conntrack", "-L")
	}
	r.cmd(ctx, n+"/resolv.conf", false, 0, "cat", "/etc/resolv.conf")
	// ss asks sock_diag, which autoloads inet_diag/tcp_diag/udp_diag; with
	// PROC_ROOT set it reads /proc/net/{tcp,udp}* instead (iproute2 ss.c).
	if !have("ss") || moduleReady("inet_diag") && moduleReady("tcp_diag") && moduleReady("udp_diag") {
		r.cmd(ctx, n+"/ss.txt", false, 0, "ss", "-tunapH")
	} else {
		r.cmd(ctx, n+"/ss.txt", false, 0, "env", "PROC_ROOT=/proc", "ss", "-tunapH")
	}
	if st, err := os.Stat("/etc/cni/net.d"); err == nil && st.IsDir() {
		names, _ := filepath.Glob("/etc/cni/net.d/*")
		sort.Strings(names)
		k := 0
		for _, f := range names {
			if st, err := os.Stat(f); err != nil || !st.Mode().IsRegular() {
				continue
			}
			k++
			if k > 50 {
				break
			}
			r.cmd(ctx, n+"/cni/"+SafeName(filepath.Base(f)), true, 0, "cat", f)
		}
	} else {
		r.skip(n+"/cni/", "ls /etc/cni/net.d", "/etc/cni/net.d absent")
	}
	r.kubeProxy(n)
	return r.recs, nil
}

func (r *run) iptables(ctx context.Context, n string) {
	if !have("iptables-save") || tablesReady("iptables-save", "/proc/net/ip_tables_names") {
		r.cmd(ctx, n+"/iptables-save.txt", false, 0, "iptables-save", "-c")
	} else {
		r.skip(n+"/iptables-save.txt", "iptables-save -c", "its tables module is not loaded: no rules (reading would load it)")
	}
	// Both backends: only when both work (go-iptables runs each one's
	// --version) and their save tools exist; each is read only when its
	// kernel side is already there, so nothing gets loaded.
	if backend("iptables-legacy", r.o.Log) && backend("iptables-nft", r.o.Log) && have("iptables-legacy-save") && have("iptables-nft-save") {
		if kernelHas("/proc/net/ip_tables_names") {
			r.cmd(ctx, n+"/iptables-legacy-save.txt", false, 0, "iptables-legacy-save", "-c")
		} else {
			r.skip(n+"/iptables-legacy-save.txt", "iptables-legacy-save -c", "ip_tables not loaded: no legacy rules")
		}
		if moduleReady("nf_tables") {
			r.cmd(ctx, n+"/iptables-nft-save.txt", false, 0, "iptables-nft-save", "-c")
		} else {
			r.skip(n+"/iptables-nft-save.txt", "iptables-nft-save -c", "nf_tables not loaded: no nft rules")
		}
	}
	if !have("ip6tables-save") || tablesReady("ip6tables-save", "/proc/net/ip6_tables_names") {
		r.cmd(ctx, n+"/ip6tables-save.txt", false, 0, "ip6tables-save", "-c")
	} else {
		r.skip(n+"/ip6tables-save.txt", "ip6tables-save -c", "its tables module is not loaded: no rules (reading would load it)")
	}
	if moduleReady("nf_tables") {
		r.cmd(ctx, n+"/nft-ruleset.json", false, 0, "nft", "-j", "list", "ruleset")
	} else {
		r.skip(n+"/nft-ruleset.json", "nft -j list ruleset", "nf_tables not loaded")
	}
}

// tablesReady is the script's tables_ready: reading the save tool's backend
// loads nothing — nf_tables for an nft-based tool (its --version says so),
// the legacy tables' /proc file otherwise.
func tablesReady(tool, legacyProc string) bool {
	out, _ := exec.Command(tool, "--version").Output()
	if bytes.Contains(out, []byte("nf_tables")) {
		return moduleReady("nf_tables")
	}
	return kernelHas(legacyProc)
}

// backend reports whether an iptables backend binary works, using
// go-iptables (which runs `<path> --version` and parses the version).
func backend(path string, log io.Writer) bool {
	p, err := exec.LookPath(path)
	if err != nil {
		return false
	}
	ipt, err := iptables.New(iptables.Path(p))
	if err != nil {
		fmt.Fprintf(log, "tkesnap collect: %s: %v\n", path, err)
		return false
	}
	a, b, c := ipt.GetIptablesVersion()
	fmt.Fprintf(log, "tkesnap collect: %s is iptables %d.%d.%d\n", path, a, b, c)
	return true
}

func have(tool string) bool { _, err := exec.LookPath(tool); return err == nil }

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// moduleRoot prefixes the kernel-state paths; tests point
// TKESNAP_MODULE_ROOT at a fake tree (the script's MODROOT).
func moduleRoot() string { return os.Getenv("TKESNAP_MODULE_ROOT") }

// kernelHas: a /proc file that exists only once its module is loaded.
func kernelHas(p string) bool { return exists(moduleRoot() + p) }

// moduleReady mirrors the script's module_ready: loaded, built in, or a
// kernel without loadable modules — then a read cannot trigger a load.
func moduleReady(name string) bool {
	root := moduleRoot()
	if st, err := os.Stat(root + "/sys/module/" + name); err == nil && st.IsDir() {
		return true
	}
	if !exists(root + "/proc/modules") {
		return true
	}
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return false
	}
	rel := utsString(u.Release[:])
	data, err := os.ReadFile(root + "/lib/modules/" + rel + "/modules.builtin")
	return err == nil && bytes.Contains(data, []byte("/"+name+".ko"))
}

func utsString(a []int8) string {
	b := make([]byte, 0, len(a))
	for _, c := range a {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

// printable is what the script's json_str keeps: tab, newline, ASCII text.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || (r >= 0x20 && r <= 0x7e) {
			return r
		}
		return -1
	}, s)
}

func (r *run) add(rec bundle.ManifestRecord) {
	rec.Node = r.o.NodeName
	rec.Command = printable(rec.Command)
	rec.Stderr = printable(rec.Stderr)
	r.recs = append(r.recs, rec)
}

func (r *run) skip(path, command, why string) {
	r.add(bundle.ManifestRecord{Path: path, Command: command, ExitCode: 127, Skipped: why})
}

func cmdline(args []string) string {
	return strings.TrimRight(collector.RedactString(strings.Join(args, " ")), "\n")
}

// cmd runs one tool like the script's run(): timeout, optional redaction,
// optional line cap, byte cap; exit code 124 on timeout and 128+signal when
// killed (SIGPIPE when a cap closed the pipe), as bash reports them.
func (r *run) cmd(ctx context.Context, path string, redact bool, lines int, args ...string) {
	line := cmdline(args)
	if !have(args[0]) {
		r.skip(path, line, args[0]+" not found")
		return
	}
	out := filepath.Join(r.root, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		r.add(bundle.ManifestRecord{Path: path, Command: line, ExitCode: 1, Stderr: err.Error()})
		return
	}
	cctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	c := exec.CommandContext(cctx, args[0], args[1:]...)
	c.Env = append(os.Environ(), "LC_ALL=C")
	var stderr bytes.Buffer
	c.Stderr = &stderr
	// Its own process group, killed whole on timeout (like coreutils
	// timeout in the script); WaitDelay then closes the pipe even when a
	// descendant that left the group (setsid) still holds it, and that
	// descendant is killed after Wait.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.WaitDelay = 2 * time.Second
	pipe, err := c.StdoutPipe()
	var pipeIno uint64
	if f, ok := pipe.(*os.File); ok && err == nil {
		if st, err := f.Stat(); err == nil {
			if sys, ok := st.Sys().(*syscall.Stat_t); ok {
				pipeIno = sys.Ino
			}
		}
	}
	t0 := time.Now()
	if err == nil {
		err = c.Start()
	}
	if err != nil {
		r.add(bundle.ManifestRecord{Path: path, Command: line, ExitCode: 126, Stderr: err.Error()})
		return
	}
	var body bytes.Buffer
	src := io.Reader(pipe)
	if redact {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(collector.Redact(pw, pipe)) }()
		src = pr
	}
	truncated := false
	br := bufio.NewReader(io.LimitReader(src, r.o.MaxBytes+1<<20))
	n := 0
	for {
		l, err := br.ReadBytes('\n')
		body.Write(l)
		if len(l) > 0 && l[len(l)-1] == '\n' {
			n++
		}
		if lines > 0 && n >= lines {
			truncated = true
			break
		}
		if int64(body.Len()) > r.o.MaxBytes {
			break
		}
		if err != nil {
			break
		}
	}
	pipe.Close() // a writer still running gets SIGPIPE, like after head
	werr := c.Wait()
	if cctx.Err() == context.DeadlineExceeded && pipeIno != 0 {
		killPipeHolders(pipeIno)
	}
	dur := time.Since(t0).Milliseconds()
	code := 0
	var ee *exec.ExitError
	switch {
	case cctx.Err() == context.DeadlineExceeded:
		code = 124
	case errors.As(werr, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		} else {
			code = ee.ExitCode()
		}
	case werr != nil:
		code = 1
	}
	data := body.Bytes()
	if int64(len(data)) > r.o.MaxBytes {
		data = data[:r.o.MaxBytes]
		truncated = true
	}
	if err := os.WriteFile(out, data, 0o600); err != nil {
		r.add(bundle.ManifestRecord{Path: path, Command: line, ExitCode: 1, Stderr: err.Error()})
		return
	}
	tail := stderr.Bytes()
	if len(tail) > 400 {
		tail = tail[len(tail)-400:]
	}
	etail := strings.TrimRight(collector.RedactString(string(tail)), "\n")
	if len(tail) == 0 {
		etail = ""
	}
	if code == 124 {
		etail = fmt.Sprintf("timed out after %ds", int(r.o.Timeout.Seconds())) + map[bool]string{true: "; " + etail, false: ""}[etail != ""]
	}
	r.add(bundle.ManifestRecord{Path: path, Command: line, ExitCode: code, DurationMS: dur, Bytes: int64(len(data)), Truncated: truncated, Stderr: etail})
}

// killPipeHolders kills every other process that still holds the pipe
// with inode ino: descendants of a timed-out command that escaped its
// process group (the script's kill_pipe_holders).
func killPipeHolders(ino uint64) {
	want := fmt.Sprintf("pipe:[%d]", ino)
	me := os.Getpid()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == me {
			continue
		}
		fds, _ := os.ReadDir("/proc/" + e.Name() + "/fd")
		for _, fd := range fds {
			if l, _ := os.Readlink("/proc/" + e.Name() + "/fd/" + fd.Name()); l == want {
				syscall.Kill(pid, syscall.SIGKILL)
				break
			}
		}
	}
}

// note writes a file the collector composed itself (script: note()).
func (r *run) note(path, command, text string) {
	out := filepath.Join(r.root, filepath.FromSlash(path))
	data := []byte(collector.RedactString(text + "\n"))
	if err := os.WriteFile(out, data, 0o600); err != nil {
		r.add(bundle.ManifestRecord{Path: path, Command: command, ExitCode: 1, Stderr: err.Error()})
		return
	}
	r.add(bundle.ManifestRecord{Path: path, Command: command, Bytes: int64(len(data))})
}

var (
	reProxyMode = regexp.MustCompile(`--proxy-mode[= ]([a-z]+)`)
	reConfig    = regexp.MustCompile(`--config[= ]([^ ]+)`)
	reCfgMode   = regexp.MustCompile(`(?m)^mode:[ "]*([a-z]*)`)
)

// kubeProxy finds the kube-proxy process sharing this network namespace
// (kube-proxy runs with the host network) and records its mode and flags.
func (r *run) kubeProxy(n string) {
	me, _ := os.Readlink("/proc/self/ns/net")
	pid := ""
	for _, p := range pidsNamed("kube-proxy") {
		if ns, _ := os.Readlink("/proc/" + p + "/ns/net"); ns == me && me != "" {
			pid = p
			break
		}
	}
	if pid == "" {
		r.note(n+"/kube-proxy.txt", "pgrep -x kube-proxy; cat /proc/PID/cmdline",
			"# kube-proxy as seen from node "+r.o.NodeName+"\nfound: false\nwhy: no kube-proxy process in this network namespace")
		return
	}
	raw, _ := os.ReadFile("/proc/" + pid + "/cmdline")
	cmd := strings.ReplaceAll(string(raw), "\x00", " ")
	if len(cmd) > 8192 {
		cmd = cmd[:8192]
	}
	cmd = strings.TrimRight(cmd, "\n")
	mode, src := "", ""
	if m := reProxyMode.FindStringSubmatch(cmd); m != nil {
		mode, src = m[1], "flag --proxy-mode"
	}
	cfg, cfgText := "", ""
	if m := reConfig.FindStringSubmatch(cmd); m != nil {
		cfg = m[1]
		if f, err := os.Open("/proc/" + pid + "/root" + cfg); err == nil {
			b, _ := io.ReadAll(io.LimitReader(f, 65536))
			f.Close()
			cfgText = strings.TrimRight(string(b), "\n")
			if mode == "" {
				if m := reCfgMode.FindStringSubmatch(cfgText); m != nil && m[1] != "" {
					mode, src = m[1], "config "+cfg
				}
			}
		}
	}
	// kube-proxy takes its mode from the flag or the config file only; with
	// neither it runs its default. No request to 127.0.0.1:10249: it would
	// add nothing and could reach another listener.
	if mode == "" {
		mode, src = "iptables", "default (no --proxy-mode or config mode)"
	}
	text := fmt.Sprintf("# kube-proxy as seen from node %s\nfound: true\npid: %s\nmode: %s\nmode_source: %s\ncmdline: %s",
		r.o.NodeName, pid, mode, src, cmd)
	if cfgText != "" {
		text += "\nconfig: " + cfg + "\n--- config\n" + cfgText
	}
	r.note(n+"/kube-proxy.txt", "cat /proc/"+pid+"/cmdline; kube-proxy --config file", text)
}

// pidsNamed lists processes whose comm is exactly name, ascending (pgrep -x).
func pidsNamed(name string) []string {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		id, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err == nil && strings.TrimRight(string(comm), "\n") == name {
			pids = append(pids, id)
		}
	}
	sort.Ints(pids)
	out := make([]string, len(pids))
	for i, p := range pids {
		out[i] = strconv.Itoa(p)
	}
	return out
}
