package report

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"tkesnap/analysis/finding"
	"tkesnap/internal/testenv"
)

// The HTML report is checked in a real browser: Chromium loads the file
// offline, runs our inline script under the page's Content Security
// Policy, and must log nothing to the console (a CSP violation, a script
// error, a blocked fetch all show up there). Slow and needs a browser, so
// it runs when TKESNAP_CHROMIUM=1 (`make test` sets it, see lab/report.mk).
// When chromium is missing it is installed with apt-get if we are root.

func chromium(t *testing.T) string {
	t.Helper()
	if os.Getenv("TKESNAP_CHROMIUM") == "" {
		testenv.Skip(t, testenv.ChromiumGate)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Geteuid() != 0 {
		testenv.Skip(t, "chromium is not installed and we are not root to apt-get install it: apt-get install -y chromium")
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		testenv.Skip(t, "chromium is not installed and there is no apt-get")
	}
	t.Log("installing chromium with apt-get (once)")
	install := func() error {
		cmd := exec.Command("apt-get", "install", "-y", "--no-install-recommends", "chromium", "fonts-noto-cjk")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("apt-get install: %v\n%s", err, lastLines(out, 10))
		}
		return err
	}
	if install() != nil {
		if out, err := exec.Command("apt-get", "update").CombinedOutput(); err != nil {
			testenv.Skipf(t, "apt-get update failed, cannot install chromium: %v\n%s", err, lastLines(out, 5))
		}
		if install() != nil {
			testenv.Skip(t, "apt-get could not install chromium")
		}
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Skip(t, "chromium still not found after apt-get install")
	}
	return p
}

func lastLines(b []byte, n int) string {
	ls := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// runChromium runs headless Chromium on a local file with no network and
// a throw-away profile; it returns stdout (the DOM for --dump-dom) and the
// console messages found in its log.
func runChromium(t *testing.T, bin, page string, args ...string) (string, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), "file://"+page)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, lastLines(stderr.Bytes(), 20))
	}
	var console []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, ":CONSOLE") {
			console = append(console, l)
		}
	}
	return stdout.String(), console
}

func writePage(t *testing.T, r *Report, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	var b bytes.Buffer
	if err := r.HTML(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHTMLReportInHeadlessChromium(t *testing.T) {
	bin := chromium(t)
	for _, lang := range []finding.Lang{finding.EN, finding.ZH} {
		t.Run(string(lang), func(t *testing.T) {
			r := fixture()
			r.Localize(lang)
			page := writePage(t, r, "report-"+string(lang)+".html")
			dom, console := runChromium(t, bin, page, "--dump-dom")
			for _, c := range console {
				t.Errorf("console: %s", c)
			}
			// our script ran (the CSP hash matches) and marked the page ready
			if !regexp.MustCompile(`<html[^>]*data-ready="1"`).MatchString(dom) {
				t.Error("the report's script did not run: CSP hash or script error")
			}
			if n := strings.Count(dom, `class="flow"`); n != 6 {
				t.Errorf("%d flow diagrams in the DOM, want 6", n)
			}
			if !strings.Contains(dom, `class="hop fail"`) {
				t.Error("no failing hop in the diagrams")
			}
			shot := filepath.Join(t.TempDir(), "report.png")
			runChromium(t, bin, page, "--hide-scrollbars", "--screenshot="+shot, "--window-size=1280,1600")
			png, err := os.ReadFile(shot)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 20_000 {
				t.Errorf("screenshot is not a rendered page (%d bytes)", len(png))
			}
		})
	}
}

func TestEmptyHTMLReportInChromium(t *testing.T) {
	bin := chromium(t)
	r := &Report{Bundle: BundleInfo{Path: "healthy.tgz", Nodes: []string{"n1"}}}
	r.Localize(finding.EN)
	dom, console := runChromium(t, bin, writePage(t, r, "empty.html"), "--dump-dom")
	for _, c := range console {
		t.Errorf("console: %s", c)
	}
	if !regexp.MustCompile(`<html[^>]*data-ready="1"`).MatchString(dom) {
		t.Error("the report's script did not run on a report with nothing found")
	}
}

func TestHostileHTMLRunsNoScriptInChromium(t *testing.T) {
	bin := chromium(t)
	r := hostile()
	r.Localize(finding.EN)
	page := writePage(t, r, "hostile.html")
	dom, console := runChromium(t, bin, page, "--dump-dom")
	for _, c := range console {
		t.Errorf("console: %s", c)
	}
	if n := strings.Count(dom, "<script"); n != 1 {
		t.Errorf("%d script elements after parsing, want 1", n)
	}
	if strings.Contains(dom, "<img") {
		t.Error("a hostile <img> became an element")
	}
}

// layoutProbe measures the rendered page and writes what it saw into the
// DOM (data-layout), so --dump-dom carries it out of the browser: the
// window width, the page's scroll width (horizontal overflow), the width
// of the first hop table, and the most lines any Before → After address
// pair takes.
const layoutProbe = `(function(){var r={vw:innerWidth,sw:document.documentElement.scrollWidth,tw:0,moveLines:0,moves:0};` +
	`var t=document.querySelector("table.steps");if(t)r.tw=Math.round(t.getBoundingClientRect().width);` +
	`document.querySelectorAll(".steps td.move code").forEach(function(c){r.moves++;r.moveLines=Math.max(r.moveLines,c.getClientRects().length)});` +
	`document.documentElement.setAttribute("data-layout",JSON.stringify(r));})();`

// withProbe adds layoutProbe to a report page, allowing it by hash in the
// page's own Content Security Policy (the report's script stays allowed).
func withProbe(t *testing.T, page string) string {
	t.Helper()
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(layoutProbe))
	// html/template writes the policy's quotes as &#39;
	const src = "script-src &#39;sha256-"
	if !strings.Contains(string(b), src) {
		t.Fatalf("no %q in the page's policy", src)
	}
	s := strings.Replace(string(b), src, src+base64.StdEncoding.EncodeToString(h[:])+"&#39; &#39;sha256-", 1)
	s = strings.Replace(s, "</body>", "<script>"+layoutProbe+"</script></body>", 1)
	out := strings.TrimSuffix(page, ".html") + "-probe.html"
	if err := os.WriteFile(out, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// At 1400 px the hop tables use the window's width and every Before →
// After address pair stays on its line; at 800 px nothing makes the page
// scroll sideways. Screenshots at both widths must be rendered pages.
func TestHTMLLayoutAt1400And800InChromium(t *testing.T) {
	bin := chromium(t)
	r := fixture()
	r.Localize(finding.EN)
	page := withProbe(t, writePage(t, r, "layout.html"))
	for _, width := range []int{1400, 800} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			dom, console := runChromium(t, bin, page, "--dump-dom", fmt.Sprintf("--window-size=%d,1200", width))
			for _, c := range console {
				t.Errorf("console: %s", c)
			}
			m := regexp.MustCompile(`data-layout="([^"]*)"`).FindStringSubmatch(dom)
			if m == nil {
				t.Fatal("the layout probe did not run")
			}
			var l struct{ VW, SW, TW, MoveLines, Moves int }
			if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &l); err != nil {
				t.Fatalf("layout %q: %v", m[1], err)
			}
			t.Logf("window %d: %+v", width, l)
			if l.Moves == 0 {
				t.Fatal("no Before → After cell in the fixture's hop tables")
			}
			if l.SW > l.VW {
				t.Errorf("the page scrolls sideways: %d px wide in a %d px window", l.SW, l.VW)
			}
			if width == 1400 {
				if l.TW < l.VW*85/100 {
					t.Errorf("the hop table is %d px wide in a %d px window: it does not use the width it has", l.TW, l.VW)
				}
				if l.MoveLines > 1 {
					t.Errorf("a Before → After address takes %d lines at 1400 px", l.MoveLines)
				}
			}
			shot := filepath.Join(t.TempDir(), "report.png")
			runChromium(t, bin, page, "--hide-scrollbars", "--screenshot="+shot, fmt.Sprintf("--window-size=%d,1200", width))
			png, err := os.ReadFile(shot)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 20_000 {
				t.Errorf("screenshot is not a rendered page (%d bytes)", len(png))
			}
		})
	}
}
