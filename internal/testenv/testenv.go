// Package testenv is the one place a test may skip. Under CI=true a skip
// of a test that is not on the Allowed list fails it instead: a moved
// fixture, a missing tool CI should have installed, or netns tests run as
// non-root must not turn into a silent pass. Everywhere else a skip is a
// visible t.Skip (make test prints a summary of them).
package testenv

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Reasons of the allowed skips (Allowed maps a test to one of them).
const (
	// Chromium is large and slow: make test runs these tests a second
	// time in `make test-report-html` with TKESNAP_CHROMIUM=1 (-p 1),
	// where any skip of theirs (chromium missing) fails under CI=true.
	ChromiumGate = "set TKESNAP_CHROMIUM=1 to open HTML reports in headless Chromium (make test-report-html does)"
	// Writing a 1 GiB gzip bomb, 100k files or a 5000-node cluster is
	// the point of these; -short (a quick local run) leaves them out and
	// CI never passes -short.
	ShortMode = "heavy: left out under -short"
)

// Allowed names the only tests that may skip under CI=true and the one
// reason each may skip for. Keys are top-level test names (a subtest is
// allowed when its top-level test is); a skip for any other reason still
// fails under CI=true.
var Allowed = map[string]string{
	"TestHTMLReportInHeadlessChromium":           ChromiumGate,
	"TestEmptyHTMLReportInChromium":              ChromiumGate,
	"TestHostileHTMLRunsNoScriptInChromium":      ChromiumGate,
	"TestHTMLLayoutAt1400And800InChromium":       ChromiumGate,
	"TestLabBundleHTMLInChromium":                ChromiumGate,
	"TestGzipBombStopsWithBoundedMemory":         ShortMode,
	"TestManyTinyEntries":                        ShortMode,
	"TestBigClusterFindsTheOneMissingRealServer": ShortMode,
}

// CI reports whether the suite runs in CI (CI=true, as GitHub and most
// runners set it).
func CI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// top is the top-level test name of t (before the first '/').
func top(t testing.TB) string {
	n := t.Name()
	if i := strings.IndexByte(n, '/'); i >= 0 {
		n = n[:i]
	}
	return n
}

// Skip skips t with the reason, or fails it under CI=true unless t is on
// the Allowed list.
func Skip(t testing.TB, args ...any) {
	t.Helper()
	Skipf(t, "%s", fmt.Sprint(args...))
}

// Skipf is Skip with a format.
func Skipf(t testing.TB, format string, args ...any) {
	t.Helper()
	reason := fmt.Sprintf(format, args...)
	if CI() {
		if Allowed[top(t)] != reason {
			t.Fatalf("required test would skip under CI=true (%s); only internal/testenv.Allowed may skip, for its listed reason", reason)
		}
	}
	t.Skip(reason)
}

// NeedRoot skips (fails in CI, which runs as root) when the test is not
// run as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "needs root (CI runs as root)")
	}
}
