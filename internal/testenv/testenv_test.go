package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The CI rule, end to end: a child test process run with CI=true fails on
// a skip that is not allowed and passes (skipped) on an allowed one.
func TestSkipFailsUnderCIUnlessAllowed(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") != "" {
		return
	}
	for _, c := range []struct {
		ci, run   string
		wantFail  bool
		wantMatch string
	}{
		{"true", "TestChildUnlisted", true, "required test would skip under CI=true"},
		{"true", "TestChildListedWrongReason", true, "required test would skip under CI=true"},
		{"true", "TestHTMLReportInHeadlessChromium", false, "--- SKIP"},
		{"", "TestChildUnlisted", false, "--- SKIP"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run", "^"+c.run+"$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI="+c.ci)
		out, err := cmd.CombinedOutput()
		if (err != nil) != c.wantFail || !strings.Contains(string(out), c.wantMatch) {
			t.Errorf("CI=%q %s: err=%v, want fail=%v and %q in\n%s", c.ci, c.run, err, c.wantFail, c.wantMatch, out)
		}
	}
}

func TestChildUnlisted(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "" {
		return
	}
	Skip(t, "some tool is missing")
}

func TestChildListedWrongReason(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "" {
		return
	}
	// listed, but for another reason than the one it skips for
	Allowed["TestChildListedWrongReason"] = ShortMode
	Skip(t, "another reason")
}

// Named after an allowed test so the child can take the allowed path.
func TestHTMLReportInHeadlessChromium(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "" {
		return
	}
	Skip(t, ChromiumGate)
}

// Every test on the allow list exists: a renamed test must not leave a
// stale entry that would let its namesake skip.
func TestAllowedTestsExist(t *testing.T) {
	root := "../.."
	defined := map[string]bool{}
	re := regexp.MustCompile(`(?m)^func ((?:Test|Benchmark)\w+)\(`)
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, "_test.go") && filepath.Dir(p) != filepath.Join(root, "internal", "testenv") {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range re.FindAllStringSubmatch(string(data), -1) {
				defined[m[1]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range Allowed {
		if !defined[name] {
			t.Errorf("internal/testenv.Allowed lists %s, which no test file defines", name)
		}
	}
}
