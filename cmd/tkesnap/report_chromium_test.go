package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tkesnap/internal/testenv"
)

// The HTML report of every lab bundle, opened in headless Chromium: no
// console message (CSP violation, script error, blocked fetch), our script
// ran, and every traced flow that fails at a hop is drawn with that hop in
// red. Runs with TKESNAP_CHROMIUM=1 (make test-report-html).
func TestLabBundleHTMLInChromium(t *testing.T) {
	if os.Getenv("TKESNAP_CHROMIUM") == "" {
		testenv.Skip(t, testenv.ChromiumGate)
	}
	bin, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Skip(t, "chromium is not installed (make test-report-html installs it when root)")
	}
	dir := t.TempDir()
	t.Chdir("../..")
	bundles := labBundles(t)
	if len(bundles) == 0 {
		t.Fatal("no lab bundles under testdata yet")
	}
	failing := 0
	for _, b := range bundles {
		page := filepath.Join(dir, goldenName(b)+".html")
		if err := os.WriteFile(page, analyzeTo(t, b, "--format", "html"), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir="+filepath.Join(dir, "profile-"+goldenName(b)), "--enable-logging=stderr", "--v=0",
			"--dump-dom", "file://"+page)
		var dom, log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &dom, &log
		err := cmd.Run()
		cancel()
		if err != nil {
			t.Fatalf("%s: chromium: %v", b, err)
		}
		for _, l := range strings.Split(log.String(), "\n") {
			if strings.Contains(l, ":CONSOLE") {
				t.Errorf("%s: console: %s", b, l)
			}
		}
		if !regexp.MustCompile(`<html[^>]*data-ready="1"`).MatchString(dom.String()) {
			t.Errorf("%s: the report's script did not run", b)
		}
		if strings.Contains(dom.String(), `class="hop fail"`) {
			failing++
		}
	}
	if failing == 0 {
		t.Error("no lab bundle's HTML report shows a failing hop")
	}
}
