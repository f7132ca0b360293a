package collector

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tkesnap/internal/readiness"
	"tkesnap/internal/testenv"
	"tkesnap/parsers/bundle"
	"tkesnap/parsers/pcap"
)

// writeScript puts the embedded script in a temp file so tests run exactly
// what the binary prints.
func writeScript(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tkesnap-collect.sh")
	if err := os.WriteFile(p, Script, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestScriptIsShellcheckClean(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		testenv.Skip(t, "shellcheck not installed (apt-get install shellcheck): lint skipped")
	}
	out, err := exec.Command(sc, "-s", "bash", writeScript(t)).CombinedOutput()
	if err != nil {
		t.Fatalf("shellcheck reports problems:\n%s", out)
	}
}

func TestScriptForPresetsTheMode(t *testing.T) {
	for _, mode := range []string{"node", "cluster"} {
		s, err := ScriptFor(mode)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(s, []byte("\nMODE=\""+mode+"\"\n")) {
			t.Errorf("%s: mode not preset", mode)
		}
	}
	if _, err := ScriptFor("pod"); err == nil {
		t.Error("unknown mode accepted")
	}
}

// redactWithScript pipes text through the script's own redact function.
func redactWithScript(t *testing.T, in string) string {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		testenv.Skip(t, "bash not installed")
	}
	cmd := exec.Command("bash", writeScript(t), "--redact")
	cmd.Stdin = strings.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("redact: %v", err)
	}
	return string(out)
}

var redactCases = []struct {
	name    string
	in      string
	secrets []string // must be gone
	keep    []string // must stay
}{
	{
		name: "kubeconfig user token, password and client key",
		in: `apiVersion: v1
kind: Config
clusters:
- cluster: {server: "https://10.0.1.5:443", certificate-authority-data: Q0FEQVRB}
  name: cls-abc
users:
- name: admin
  user:
    token: eyJhbGciOiJSUzI1NiJ9.payload.sig
    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ==
    password: hunter2-pass
    username: admin
`,
		secrets: []string{"eyJhbGciOiJSUzI1NiJ9", "LS0tLS1CRUdJTiBSU0Eg", "hunter2-pass"},
		keep:    []string{"https://10.0.1.5:443", "username: admin", "certificate-authority-data"},
	},
	{
		name: "configmap with env secrets and last-applied annotation",
		in: `apiVersion: v1
kind: ConfigMap
metadata:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"data":{"apiToken":"tok-123","nonMasqueradeCIDRs":"10.0.0.0/8"}}'
data:
  config: |
    nonMasqueradeCIDRs:
      - 172.16.0.0/16
    secretKey: sk-very-secret
env:
- name: TENCENTCLOUD_SECRET_KEY
  value: abcSECRET
- name: POD_IP
  value: 172.16.0.7
`,
		secrets: []string{"tok-123", "sk-very-secret", "abcSECRET"},
		keep:    []string{"10.0.0.0/8", "172.16.0.0/16", "value: 172.16.0.7"},
	},
	{
		name:    "kube-proxy command line with token and password flags",
		in:      "/usr/local/bin/kube-proxy --master=https://169.254.128.5:60002 --token=abc.def --password s3cr3t --hostname-override=10.0.1.5 DB_PASSWORD=pw1\n",
		secrets: []string{"abc.def", "s3cr3t", "pw1"},
		keep:    []string{"https://169.254.128.5:60002", "--hostname-override=10.0.1.5"},
	},
	{
		name:    "bearer header, Tencent Cloud SecretId/SecretKey, PEM key",
		in:      "Authorization: Bearer abc.DEF-123\n{\"SecretId\": \"AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE\", \"SecretKey\": \"Gu5t9xGARNpq86cd98joQYCN3EXAMPLE\", \"PrivateIpAddress\": \"10.0.1.5\"}\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAxyz\n-----END RSA PRIVATE KEY-----\nnext: line\n",
		secrets: []string{"abc.DEF-123", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "MIIEowIBAAKCAQEAxyz"},
		keep:    []string{"\"PrivateIpAddress\": \"10.0.1.5\"", "next: line"},
	},
}

func TestRedactionHidesCredentialsAndKeepsAddresses(t *testing.T) {
	for _, c := range redactCases {
		t.Run(c.name, func(t *testing.T) {
			out := redactWithScript(t, c.in)
			for _, s := range c.secrets {
				if strings.Contains(out, s) {
					t.Errorf("secret %q survived redaction:\n%s", s, out)
				}
			}
			for _, k := range c.keep {
				if !strings.Contains(out, k) {
					t.Errorf("%q was lost:\n%s", k, out)
				}
			}
			if !strings.Contains(out, "<redacted") {
				t.Errorf("no redaction marker:\n%s", out)
			}
		})
	}
}

func TestRedactionKeepsTccliJSONValid(t *testing.T) {
	in := `{
    "ClusterExternalEndpoint": "",
    "Kubeconfig": "apiVersion: v1\nusers:\n- name: admin\n  user:\n    token: kc-token-123\n",
    "Password": "pw-456",
    "PgwEndpoint": "169.254.128.7:60002",
    "SecurityPolicy": []
}
`
	out := redactWithScript(t, in)
	if !json.Valid([]byte(out)) {
		t.Fatalf("redacted tccli output is not JSON:\n%s", out)
	}
	for _, s := range []string{"kc-token-123", "pw-456"} {
		if strings.Contains(out, s) {
			t.Errorf("%q survived:\n%s", s, out)
		}
	}
	if !strings.Contains(out, "169.254.128.7:60002") {
		t.Errorf("endpoint lost:\n%s", out)
	}
}

// labNetns creates a throwaway network namespace with a few rules, or
// skips when the test cannot (not root, no ip/iptables).
func labNetns(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.NeedRoot(t)
	}
	for _, tool := range []string{"ip", "iptables-save", "iptables", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skipf(t, "%s not installed", tool)
		}
	}
	b := make([]byte, 4)
	rand.Read(b)
	ns := "tks-test-" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		testenv.Skipf(t, "cannot create netns: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	sh := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	sh("ip", "link", "set", "lo", "up")
	sh("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
	sh("ip", "addr", "add", "10.0.1.11/24", "dev", "eth0")
	sh("ip", "link", "set", "eth0", "up")
	sh("ip", "route", "add", "172.16.0.64/26", "via", "10.0.1.12")
	sh("iptables", "-t", "nat", "-N", "KUBE-SERVICES")
	sh("iptables", "-t", "nat", "-A", "PREROUTING", "-m", "comment", "--comment", "kubernetes service portals", "-j", "KUBE-SERVICES")
	sh("iptables", "-A", "FORWARD", "-s", "172.16.0.0/16", "-p", "tcp", "--dport", "8080", "-j", "DROP")
	return ns
}

func nsState(t *testing.T, ns string) string {
	t.Helper()
	var all bytes.Buffer
	for _, c := range [][]string{{"iptables-save"}, {"ip6tables-save"}, {"ip", "addr"}, {"ip", "route", "show", "table", "all"}, {"sysctl", "net.ipv4.ip_forward"}} {
		out, _ := exec.Command("ip", append([]string{"netns", "exec", ns}, c...)...).Output()
		// iptables-save prints the time in its header comments.
		for _, l := range strings.Split(string(out), "\n") {
			if !strings.HasPrefix(l, "#") {
				all.WriteString(l + "\n")
			}
		}
	}
	return all.String()
}

func unpack(t *testing.T, tgz string) string {
	t.Helper()
	d := t.TempDir()
	if out, err := exec.Command("tar", "-C", d, "-xzf", tgz).CombinedOutput(); err != nil {
		t.Fatalf("unpack %s: %v %s", tgz, err, out)
	}
	return d
}

func TestNodeModeInNetnsWritesLayoutAndManifestAndChangesNothing(t *testing.T) {
	ns := labNetns(t)
	script := writeScript(t)
	before := nsState(t, ns)
	out := t.TempDir()
	cmd := exec.Command("ip", "netns", "exec", ns, "bash", script, "--node", "--node-name", "10.0.1.11", "-o", out+"/")
	msg, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("collector failed: %v\n%s", err, msg)
	}
	if after := nsState(t, ns); after != before {
		t.Errorf("the collector changed the namespace:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	tgzs, _ := filepath.Glob(filepath.Join(out, "tkesnap-node-10.0.1.11-*.tgz"))
	if len(tgzs) != 1 {
		t.Fatalf("want one clearly named tarball, got %v (stdout %s)", tgzs, msg)
	}
	checkBundle(t, tgzs[0], "10.0.1.11")
	// the dump is the namespace's own rules
	b, err := bundle.Open(tgzs[0], bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ipt, _ := b.ReadFile("nodes/10.0.1.11/iptables-save.txt")
	if !bytes.Contains(ipt, []byte("-A FORWARD -s 172.16.0.0/16 -p tcp -m tcp --dport 8080 -j DROP")) {
		t.Errorf("iptables-save.txt lacks the namespace's FORWARD rule:\n%s", ipt)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(ipt), []byte("#")) || !bytes.Contains(ipt, []byte("[0:0]")) {
		t.Errorf("iptables-save.txt is not an iptables-save -c dump:\n%s", ipt)
	}
}

// checkBundle validates the tkesnap-bundle/v1 layout of a node bundle:
// every manifest record names a file that exists with the recorded size
// (or says why it was skipped), and the node files of docs/design.md §2 are there.
func checkBundle(t *testing.T, path, node string) {
	t.Helper()
	b, err := bundle.Open(path, bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if len(b.Problems) > 0 {
		t.Errorf("bundle problems: %+v", b.Problems)
	}
	m := b.Manifest
	if m == nil || m.Format != "tkesnap-bundle/v1" || m.CollectorVersion == "" || m.Created.IsZero() {
		t.Fatalf("manifest header wrong: %+v", m)
	}
	seen := map[string]bool{}
	for _, r := range m.Files {
		seen[r.Path] = true
		if r.Command == "" {
			t.Errorf("%s: no command recorded", r.Path)
		}
		if r.Node != node {
			t.Errorf("%s: node %q, want %q", r.Path, r.Node, node)
		}
		if r.Skipped != "" {
			if b.Has(r.Path) {
				t.Errorf("%s: skipped (%s) but present", r.Path, r.Skipped)
			}
			continue
		}
		if !b.Has(r.Path) {
			t.Errorf("%s: in manifest but not in bundle", r.Path)
			continue
		}
		if n := b.Size(r.Path); n != r.Bytes {
			t.Errorf("%s: manifest says %d bytes, file has %d", r.Path, r.Bytes, n)
		}
	}
	for _, f := range b.Files() {
		if f != "manifest.json" && !seen[f] {
			t.Errorf("%s: in bundle but not in manifest", f)
		}
	}
	for _, f := range []string{"iptables-save.txt", "ip6tables-save.txt", "ip-addr.json", "ip-link.json", "ip-route.json",
		"ip-rule.json", "ip-neigh.json", "sysctl.txt", "resolv.conf", "ss.txt", "kube-proxy.txt"} {
		if !seen["nodes/"+node+"/"+f] {
			t.Errorf("no manifest record for nodes/%s/%s", node, f)
		}
	}
	if _, err := os.Stat("/proc/net/ip_vs"); err != nil {
		for _, r := range m.Files {
			if strings.HasSuffix(r.Path, "ipvsadm.txt") && !strings.Contains(r.Skipped, "ipvs not available") {
				t.Errorf("ipvsadm ran without /proc/net/ip_vs (it would load ip_vs): %+v", r)
			}
		}
	}
}

// podNetns puts a "pod" netns (10.0.1.50) on the other end of the node
// netns's eth0 veth.
func podNetns(t *testing.T, node string) string {
	t.Helper()
	if _, err := exec.LookPath("tcpdump"); err != nil {
		testenv.Skip(t, "tcpdump not installed")
	}
	pod := node + "-p"
	if out, err := exec.Command("ip", "netns", "add", pod).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", pod).Run() })
	for _, c := range [][]string{
		{"ip", "-n", node, "link", "set", "eth0p", "netns", pod},
		{"ip", "-n", pod, "link", "set", "lo", "up"},
		{"ip", "-n", pod, "link", "set", "eth0p", "name", "eth0"},
		{"ip", "-n", pod, "addr", "add", "10.0.1.50/24", "dev", "eth0"},
		{"ip", "-n", pod, "link", "set", "eth0", "up"},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", c, err, out)
		}
	}
	return pod
}

// knock waits until the collector says its captures listen, then opens TCP
// connections from the pod to a closed port of the node (SYN, RST).
func knock(t *testing.T, pod string, out *readiness.Output, exited <-chan struct{}) {
	t.Helper()
	if err := out.Wait("reproduce the failure now", 2*time.Minute, exited); err != nil {
		t.Fatal(err)
	}
	// three connections from one process: on a loaded machine three
	// process starts could take the whole capture window
	exec.Command("ip", "netns", "exec", pod, "bash", "-c", "for i in 1 2 3; do (exec 3<>/dev/tcp/10.0.1.11/8080) 2>/dev/null; done").Run()
}

// knocks counts the SYNs of knock's connections in a capture, and its
// records.
func knocks(t *testing.T, b *bundle.Bundle, path string) (syns, records int) {
	t.Helper()
	data, err := b.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcap.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	d := pcap.NewDecoder()
	var rec pcap.Record
	for r.Next(&rec) == nil {
		records++
		p := d.Decode(&rec)
		if p.Proto == pcap.ProtoTCP && p.DstPort == 8080 && p.Dst == netip.MustParseAddr("10.0.1.11") && p.TCPFlags&pcap.SYN != 0 && p.TCPFlags&pcap.ACK == 0 {
			syns++
		}
	}
	return syns, records
}

// The pod's netns is found the way the guide does it on real nodes: the
// container runtime gives a PID, nsenter -n -t PID runs tcpdump there.
func TestPodCaptureFindsTheContainerThroughCrictlOrDocker(t *testing.T) {
	node := labNetns(t)
	pod := podNetns(t, node)
	if _, err := exec.LookPath("nsenter"); err != nil {
		testenv.Skip(t, "nsenter not installed")
	}
	ipBin, _ := exec.LookPath("ip")
	// a "container": a process living in the pod netns
	ctr := exec.Command("ip", "netns", "exec", pod, "sleep", "infinity") // killed at cleanup
	if err := ctr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctr.Process.Kill(); ctr.Wait() })
	pid := fmt.Sprint(ctr.Process.Pid)
	// ready once ip has entered the pod netns and exec'd sleep
	if !readiness.Until(30*time.Second, func() bool {
		b, _ := os.ReadFile("/proc/" + pid + "/comm")
		return strings.TrimSpace(string(b)) == "sleep"
	}) {
		t.Fatal("the container stand-in did not start")
	}
	fakes := map[string]string{
		// crictl pods -o json → the sandbox; crictl inspectp -o json ID → its pid
		// (the layout of collector/node/testdata/crictl, trimmed)
		"crictl": "#!/bin/sh\ncase \"$1\" in\n" +
			"pods) echo '{\"items\": [{\"id\": \"p0d1d\", \"metadata\": {\"name\": \"web-0\", \"namespace\": \"default\"}, \"state\": \"SANDBOX_READY\", \"createdAt\": \"1714039221254165717\"}]}' ;;\n" +
			"inspectp) [ \"$4\" = p0d1d ] && echo '{\"status\": {\"id\": \"p0d1d\"}, \"info\": {\"pid\": " + pid + "}}' ;;\nesac\n",
		// docker ps -q --filter label=... → id; docker inspect -f {{.State.Pid}} → pid
		"docker": "#!/bin/sh\ncase \"$1\" in ps) echo d0cker1d ;; inspect) echo " + pid + " ;; esac\n",
	}
	for runtime, script := range fakes {
		t.Run(runtime, func(t *testing.T) {
			bin := t.TempDir()
			os.WriteFile(filepath.Join(bin, runtime), []byte(script), 0o755)
			out := t.TempDir()
			col := exec.Command(ipBin, "netns", "exec", node, "bash", writeScript(t), "--node", "--node-name", "10.0.1.11",
				"--capture-host", "10.0.1.11", "--capture-port", "8080", "--seconds", "3", "--pod", "default/web-0", "-o", out+"/n.tgz")
			col.Env = append(os.Environ(), "PATH="+bin+":/usr/sbin:/usr/bin:/sbin:/bin")
			msg := readiness.NewOutput()
			col.Stdout, col.Stderr = msg, msg
			if err := col.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			var werr error
			go func() { werr = col.Wait(); close(exited) }()
			knock(t, pod, msg, exited)
			<-exited
			if err := werr; err != nil {
				t.Fatalf("collector: %v\n%s", err, msg.String())
			}
			b, err := bundle.Open(out+"/n.tgz", bundle.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			p := "captures/10.0.1.11/pod-default_web-0"
			var meta struct{ Pod, Netns string }
			data, _ := b.ReadFile(p + ".json")
			json.Unmarshal(data, &meta)
			if b.Size(p+".pcap") <= 24 || meta.Pod != "default/web-0" || meta.Netns != "nsenter -n -t "+pid {
				var rec bundle.ManifestRecord
				for _, r := range b.Manifest.Files {
					if r.Path == p+".pcap" {
						rec = r
					}
				}
				t.Errorf("pod capture: %d bytes, meta %s\nrecord %+v\n%s", b.Size(p+".pcap"), data, rec, msg.String())
			}
		})
	}
}

func TestCapturesOnNodeAndInPodNetnsAreBoundedAndDescribed(t *testing.T) {
	node := labNetns(t)
	pod := podNetns(t, node)
	out := t.TempDir()
	col := exec.Command("ip", "netns", "exec", node, "bash", writeScript(t), "--node", "--node-name", "10.0.1.11",
		"--capture-host", "10.0.1.11", "--capture-port", "8080", "--seconds", "3", "--capture-packets", "50",
		"--pod-netns", pod, "--pod", "default/web-0", "-o", out+"/n.tgz")
	colOut := readiness.NewOutput()
	col.Stdout, col.Stderr = colOut, colOut
	if err := col.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var werr error
	go func() { werr = col.Wait(); close(exited) }()
	knock(t, pod, colOut, exited)
	<-exited
	if err := werr; err != nil {
		t.Fatalf("collector: %v\n%s", err, colOut.String())
	}
	b, err := bundle.Open(out+"/n.tgz", bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, name := range []string{"node-eth0", "pod-default_web-0"} {
		p := "captures/10.0.1.11/" + name
		if !b.Has(p+".pcap") || b.Size(p+".pcap") <= 24 {
			t.Errorf("%s.pcap missing or without packets (%d bytes)", p, b.Size(p+".pcap"))
		}
		var meta struct {
			Interface, Pod, Filter, Start, Stop string
			Captured                            int `json:"packets_captured"`
			Received                            int `json:"packets_received"`
			Dropped                             int `json:"packets_dropped_by_kernel"`
			Command                             string
		}
		data, _ := b.ReadFile(p + ".json")
		if err := json.Unmarshal(data, &meta); err != nil {
			t.Fatalf("%s.json: %v: %s", p, err, data)
		}
		if meta.Interface != "eth0" || meta.Filter != "(host 10.0.1.11 and port 8080) or icmp" || meta.Captured < 2 || meta.Start >= meta.Stop {
			t.Errorf("%s.json: %+v", p, meta)
		}
		// every connection knocked inside the window is in the file, and
		// the file holds what tcpdump says it captured. (Received may be
		// more: a packet arriving as the window closes is counted by the
		// kernel and never read — the window's edge, not a loss.)
		syns, records := knocks(t, b, p+".pcap")
		if syns < 3 || records != meta.Captured || !strings.Contains(meta.Command, "--immediate-mode") {
			t.Errorf("%s: %d of 3 knocks, %d records for %d captured (%d received), command %q", p, syns, records, meta.Captured, meta.Received, meta.Command)
		}
		if strings.HasPrefix(name, "pod-") && meta.Pod != "default/web-0" {
			t.Errorf("%s.json: pod %q", p, meta.Pod)
		}
	}
	checkBundle(t, out+"/n.tgz", "10.0.1.11")
}
