package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"tkesnap/parsers/bundle"
)

// Capture asks for bounded tcpdump captures like the script's
// --capture-host/--capture-port/--seconds: on the node's interface and,
// with Pod or Netns, inside the pod's network namespace.
type Capture struct {
	Host, Port string
	Seconds    int    // default 10
	Iface      string // default eth0
	Packets    int    // default 20000
	Bytes      int64  // default 32 MiB
	Pod        string // ns/name: found through crictl or docker → pid → nsenter
	Netns      string // a named netns (ip netns exec), e.g. in the lab
	// Log gets the "reproduce now" line once every tcpdump listens (nil:
	// discarded); the window of Seconds starts then.
	Log io.Writer
}

// Validate checks the options that become tcpdump's filter words and
// argv: one address or CIDR, one port number, an interface name — never
// other words (the script's valid_host/valid_port).
func (c Capture) Validate() error {
	if c.Host != "" {
		if _, err := netip.ParseAddr(c.Host); err != nil {
			if _, err := netip.ParsePrefix(c.Host); err != nil {
				return fmt.Errorf("--capture-host takes one IPv4/IPv6 address or CIDR, not %q", c.Host)
			}
		}
		if strings.Contains(c.Host, "%") {
			return fmt.Errorf("--capture-host takes one IPv4/IPv6 address or CIDR, not %q", c.Host)
		}
	}
	if c.Port != "" {
		n, err := strconv.Atoi(c.Port)
		if err != nil || n < 1 || n > 65535 || c.Port[0] == '0' || c.Port[0] == '+' {
			return fmt.Errorf("--capture-port takes one port number 1-65535, not %q", c.Port)
		}
	}
	if c.Iface != "" && strings.Trim(c.Iface, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:@-") != "" {
		return fmt.Errorf("--capture-iface takes an interface name, not %q", c.Iface)
	}
	return nil
}

// capReady bounds how long a tcpdump may take to start listening (a loaded
// node); the script's CAP_READY.
const capReady = 15 * time.Second

func (c *Capture) defaults() {
	if c.Seconds <= 0 {
		c.Seconds = 10
	}
	if c.Iface == "" {
		c.Iface = "eth0"
	}
	if c.Packets <= 0 {
		c.Packets = 20000
	}
	if c.Bytes <= 0 {
		c.Bytes = 32 << 20
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
}

// readyBuffer collects tcpdump's stderr and closes ready at its
// "listening on" line, the moment packets start to be captured.
type readyBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
	seen  bool
}

func newReadyBuffer() *readyBuffer { return &readyBuffer{ready: make(chan struct{})} }

func (b *readyBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if !b.seen && bytes.Contains(b.buf.Bytes(), []byte("listening on")) {
		b.seen = true
		close(b.ready)
	}
	return len(p), nil
}

func (b *readyBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type capJob struct {
	name, iface, pod, prefix, filter string
	cmd                              *exec.Cmd
	start, stop                      time.Time
	stderr                           *readyBuffer
	rc                               int
	done                             chan struct{}
	bytes                            int64
}

// Captures runs the captures (blocking for c.Seconds) and writes
// captures/<node>/<name>.pcap + .json below root, returning their records.
func Captures(ctx context.Context, root, nodeName string, c Capture) []bundle.ManifestRecord {
	c.defaults()
	nodeName = SafeName(nodeName)
	var recs []bundle.ManifestRecord
	dir := "captures/" + nodeName
	if err := c.Validate(); err != nil {
		return append(recs, bundle.ManifestRecord{Path: dir + "/", Command: "tcpdump", Node: nodeName, ExitCode: 2, Stderr: err.Error()})
	}
	if !have("tcpdump") {
		return append(recs, bundle.ManifestRecord{Path: dir + "/", Command: "tcpdump", Node: nodeName, ExitCode: 127, Skipped: "tcpdump not found"})
	}
	os.MkdirAll(filepath.Join(root, filepath.FromSlash(dir)), 0o755)
	filter := ""
	if c.Host != "" {
		filter = "host " + c.Host
		if strings.Contains(c.Host, "/") {
			filter = "net " + c.Host
		}
	}
	if c.Port != "" {
		if filter != "" {
			filter += " and "
		}
		filter += "port " + c.Port
	}
	// ICMP errors about the flow come from other addresses: keep them.
	filter = "(" + filter + ") or icmp"
	jobs := []*capJob{{name: "node-" + SafeName(c.Iface), iface: c.Iface}}
	switch {
	case c.Netns != "":
		name := c.Pod
		if name == "" {
			name = c.Netns
		}
		jobs = append(jobs, &capJob{name: "pod-" + SafeName(name), iface: "eth0", pod: c.Pod, prefix: "ip netns exec " + c.Netns})
	case c.Pod != "":
		pid, ok := podPID(ctx, c.Pod)
		if ok && have("nsenter") {
			jobs = append(jobs, &capJob{name: "pod-" + SafeName(strings.ReplaceAll(c.Pod, "/", "_")), iface: "eth0", pod: c.Pod, prefix: "nsenter -n -t " + pid})
		} else {
			recs = append(recs, bundle.ManifestRecord{Path: dir + "/pod-" + SafeName(strings.ReplaceAll(c.Pod, "/", "_")) + ".pcap",
				Command: "crictl pods/inspectp, docker inspect " + c.Pod, Node: nodeName, ExitCode: 127,
				Skipped: "no ready sandbox named exactly " + c.Pod + " (crictl and docker tried) or nsenter missing"})
		}
	}
	for _, j := range jobs {
		// -p: the capture must not put the NIC into promiscuous mode.
		args := append(strings.Fields(j.prefix), "tcpdump", "-p", "-i", j.iface, "-n", "-U")
		if immediateMode() {
			args = append(args, "--immediate-mode")
		}
		args = append(args, "-c", strconv.Itoa(c.Packets), "-w", "-")
		args = append(args, strings.Fields(filter)...)
		j.filter = filter
		j.cmd = exec.Command(args[0], args[1:]...)
		j.stderr = newReadyBuffer()
		j.cmd.Stderr = j.stderr
		// its own process group: the hard stop reaches every descendant
		j.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		j.done = make(chan struct{})
		out, err := os.Create(filepath.Join(root, filepath.FromSlash(dir), j.name+".pcap"))
		if err != nil {
			j.rc = 1
			close(j.done)
			continue
		}
		pipe, _ := j.cmd.StdoutPipe()
		j.start = time.Now().UTC()
		if err := j.cmd.Start(); err != nil {
			out.Close()
			j.rc = 127
			j.stop = time.Now().UTC()
			close(j.done)
			continue
		}
		go func(j *capJob) {
			n, _ := io.Copy(out, io.LimitReader(pipe, c.Bytes))
			j.bytes = n
			out.Close()
			pipe.Close()
			werr := j.cmd.Wait()
			j.stop = time.Now().UTC()
			if ee, ok := werr.(*exec.ExitError); ok {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					j.rc = 128 + int(ws.Signal())
				} else {
					j.rc = ee.ExitCode()
				}
			}
			close(j.done)
		}(j)
	}
	// The window starts once every tcpdump listens (or has ended), so a
	// slow start on a loaded node does not eat into it.
	readyBy := time.NewTimer(capReady)
	defer readyBy.Stop()
	var late []string
wait:
	for _, j := range jobs {
		select {
		case <-j.stderr.ready:
		case <-j.done:
		case <-readyBy.C:
			late = append(late, j.name)
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	if len(late) > 0 {
		fmt.Fprintf(c.Log, "tkesnap collect: capture(s) %s not listening after %s; capturing anyway\n", strings.Join(late, " "), capReady)
	}
	fmt.Fprintf(c.Log, "tkesnap collect: captures listening: reproduce the failure now (%ds)\n", c.Seconds)
	select {
	case <-time.After(time.Duration(c.Seconds) * time.Second):
	case <-ctx.Done():
	}
	for _, j := range jobs {
		if j.cmd.Process != nil {
			j.cmd.Process.Signal(os.Interrupt) // tcpdump prints its counters on SIGINT
		}
	}
	for _, j := range jobs {
		select {
		case <-j.done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-j.cmd.Process.Pid, syscall.SIGKILL)
			<-j.done
		}
		recs = append(recs, j.records(dir, nodeName, c)...)
		os.WriteFile(filepath.Join(root, filepath.FromSlash(dir), j.name+".json"), j.meta(nodeName, c), 0o600)
	}
	return recs
}

var (
	reCaptured = regexp.MustCompile(`(?m)^(\d+) packets? captured`)
	reReceived = regexp.MustCompile(`(?m)^(\d+) packets? received by filter`)
	reDropped  = regexp.MustCompile(`(?m)^(\d+) packets? dropped by kernel`)
)

func count(re *regexp.Regexp, s string) int {
	m := re.FindAllStringSubmatch(s, -1)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

func (j *capJob) command(c Capture) string {
	imm := ""
	if immediateMode() {
		imm = " --immediate-mode"
	}
	s := fmt.Sprintf("tcpdump -p -i %s -n -U%s -c %d -w - %s", j.iface, imm, c.Packets, j.filter)
	if j.prefix != "" {
		s = j.prefix + " " + s
	}
	return s
}

// meta is the capture's .json, with the script's fields.
func (j *capJob) meta(node string, c Capture) []byte {
	type m struct {
		Node      string `json:"node"`
		Interface string `json:"interface"`
		Pod       string `json:"pod"`
		Netns     string `json:"netns"`
		Filter    string `json:"filter"`
		Start     string `json:"start"`
		Stop      string `json:"stop"`
		Seconds   int    `json:"seconds"`
		MaxPk     int    `json:"max_packets"`
		MaxBytes  int64  `json:"max_bytes"`
		Captured  int    `json:"packets_captured"`
		Received  int    `json:"packets_received"`
		Dropped   int    `json:"packets_dropped_by_kernel"`
		Truncated bool   `json:"truncated"`
		Command   string `json:"command"`
	}
	const ts = "2006-01-02T15:04:05.000Z"
	e := j.stderr.String()
	b, _ := json.Marshal(m{node, j.iface, j.pod, j.prefix, j.filter, j.start.Format(ts), j.stop.Format(ts), c.Seconds, c.Packets, c.Bytes,
		count(reCaptured, e), count(reReceived, e), count(reDropped, e), j.bytes >= c.Bytes, j.command(c)})
	return append(b, '\n')
}

func (j *capJob) records(dir, node string, c Capture) []bundle.ManifestRecord {
	rc := j.rc
	if rc == 128+int(syscall.SIGINT) || rc == 124 {
		rc = 0 // stopped by the time bound: the normal end
	}
	tail := j.stderr.String()
	if len(tail) > 400 {
		tail = tail[len(tail)-400:]
	}
	meta := j.meta(node, c)
	return []bundle.ManifestRecord{
		{Path: dir + "/" + j.name + ".pcap", Command: j.command(c), Node: node, ExitCode: rc, Bytes: j.bytes, Truncated: j.bytes >= c.Bytes, Stderr: printable(tail)},
		{Path: dir + "/" + j.name + ".json", Command: "capture metadata", Node: node, Bytes: int64(len(meta))},
	}
}

// podPID finds the pod's sandbox PID (the script's pod_pid). crictl: the
// sandbox whose name and namespace are exactly ns/name and whose state is
// SANDBOX_READY (`crictl pods --name` is an unanchored regex: web-1 would
// match web-10), newest first, then `crictl inspectp` for its pid. docker:
// the running container with the exact pod labels.
func podPID(ctx context.Context, pod string) (string, bool) {
	ns, name, _ := strings.Cut(pod, "/")
	out := func(args ...string) []byte {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		b, err := exec.CommandContext(cctx, args[0], args[1:]...).Output()
		if err != nil {
			return nil
		}
		return b
	}
	if have("crictl") {
		if id := readySandbox(out("crictl", "pods", "-o", "json"), ns, name); id != "" {
			var insp struct {
				Info struct {
					Pid json.Number `json:"pid"`
				} `json:"info"`
			}
			if json.Unmarshal(out("crictl", "inspectp", "-o", "json", id), &insp) == nil {
				if n, err := strconv.Atoi(insp.Info.Pid.String()); err == nil && n > 0 {
					return strconv.Itoa(n), true
				}
			}
		}
	}
	if have("docker") {
		first := func(b []byte) string {
			l, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
			return strings.TrimSpace(l)
		}
		if id := first(out("docker", "ps", "-q", "--filter", "status=running", "--filter", "label=io.kubernetes.pod.namespace="+ns, "--filter", "label=io.kubernetes.pod.name="+name)); id != "" {
			if n, err := strconv.Atoi(first(out("docker", "inspect", "-f", "{{.State.Pid}}", id))); err == nil && n > 0 {
				return strconv.Itoa(n), true
			}
		}
	}
	return "", false
}

// readySandbox picks from `crictl pods -o json` the newest SANDBOX_READY
// sandbox named exactly ns/name.
func readySandbox(data []byte, ns, name string) string {
	var pods struct {
		Items []struct {
			ID       string `json:"id"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
			State     string      `json:"state"`
			CreatedAt json.Number `json:"createdAt"`
		} `json:"items"`
	}
	if json.Unmarshal(data, &pods) != nil {
		return ""
	}
	best, bestAt := "", -1.0
	for _, p := range pods.Items {
		if p.Metadata.Name != name || p.Metadata.Namespace != ns || p.State != "SANDBOX_READY" {
			continue
		}
		at, _ := p.CreatedAt.Float64()
		if best == "" || at > bestAt {
			best, bestAt = p.ID, at
		}
	}
	return best
}

// immediateMode reports whether tcpdump has --immediate-mode (4.6 and
// later). Without it libpcap hands packets to tcpdump only when a ring
// block fills or its 1 s timer fires, and the SIGINT that ends the window
// drops what is still in the ring: the last second of a capture (all of a
// quiet one) was lost.
var immediateMode = sync.OnceValue(func() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "tcpdump", "--help").CombinedOutput()
	return bytes.Contains(out, []byte("--immediate-mode"))
})
