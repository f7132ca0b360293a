package node

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/collector"
)

// --capture-host/--capture-port become tcpdump filter words: anything but
// one address/CIDR and one port number is refused by both collectors
// before a capture starts (it used to be word-split into tcpdump's argv).
func TestCaptureOptionsAreValidated(t *testing.T) {
	script := filepath.Join(t.TempDir(), "c.sh")
	os.WriteFile(script, collector.Script, 0o755)
	for _, c := range []struct {
		host, port string
		ok         bool
	}{
		{"10.0.1.5", "", true}, {"172.16.0.0/16", "8080", true}, {"fe80::1", "", true}, {"2001:db8::/32", "1", true},
		{"", "65535", true},
		{"10.0.1.5 or port 22", "", false}, {"10.0.1.256", "", false}, {"1.2.3.4/33", "", false}, {"web-1", "", false},
		{"10.0.1.5", "0", false}, {"10.0.1.5", "65536", false}, {"", "80 or host 1.2.3.4", false}, {"", "-1", false},
		{"1.2.3.4\n5.6.7.8", "", false}, {"", "080", false},
	} {
		gerr := Capture{Host: c.host, Port: c.port}.Validate()
		if (gerr == nil) != c.ok {
			t.Errorf("Go: host %q port %q: err %v, want ok=%v", c.host, c.port, gerr, c.ok)
		}
		// the script's own checks, called the way main calls them
		sh := `. "$0"; { [ -z "$1" ] || valid_host "$1"; } && { [ -z "$2" ] || valid_port "$2"; }`
		cmd := exec.Command("bash", "-c", sh, script, c.host, c.port)
		cmd.Env = append(os.Environ(), "TKESNAP_COLLECT_SOURCE_ONLY=1")
		if err := cmd.Run(); (err == nil) != c.ok {
			t.Errorf("script: host %q port %q: %v, want ok=%v", c.host, c.port, err, c.ok)
		}
		if !c.ok {
			// and the script's main refuses it with exit 2 before collecting
			out, err := exec.Command("bash", script, "--node", "--capture-host", c.host, "--capture-port", c.port).CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "--capture-") {
				t.Errorf("script main: host %q port %q: %v %s", c.host, c.port, err, out)
			}
		}
	}
}
