package collector

import (
	"fmt"
	"io"
	"strings"

	"tkesnap/parsers/bundle"
)

// Failed returns the records of commands that ran and failed: a non-zero
// exit code without a skip reason (a tool missing on purpose is not a
// failure). These are what the analyzer reports as COLLECTION_FAILED.
func Failed(recs []bundle.ManifestRecord) []bundle.ManifestRecord {
	var out []bundle.ManifestRecord
	for _, r := range recs {
		if r.ExitCode != 0 && r.Skipped == "" {
			out = append(out, r)
		}
	}
	return out
}

// maxListed bounds the list printed to the customer; manifest.json keeps
// every record.
const maxListed = 20

// ReportFailures writes, like the script's report_failures, the short list
// of failed commands (path, command, exit code, last stderr line) that
// tells the customer the bundle at dest is incomplete before they upload
// it. prog prefixes the header lines. It writes nothing when no command
// failed and returns the number of failed commands.
func ReportFailures(w io.Writer, prog string, recs []bundle.ManifestRecord, dest string) int {
	failed := Failed(recs)
	if len(failed) == 0 {
		return 0
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: WARNING: %d command(s) failed, the bundle is INCOMPLETE (the analyzer reports them as COLLECTION_FAILED):\n", prog, len(failed))
	for i, r := range failed {
		if i == maxListed {
			fmt.Fprintf(&b, "  ... and %d more (see manifest.json)\n", len(failed)-maxListed)
			break
		}
		b.WriteString(FailureLine(r) + "\n")
	}
	fmt.Fprintf(&b, "%s: fix the cause if you can (kubeconfig/--context, tccli credentials, run as root) and run again; otherwise upload %s as it is.\n", prog, dest)
	io.WriteString(w, b.String())
	return len(failed)
}

// FailureLine is one entry of the list: "  PATH: `COMMAND` exit N: LAST".
func FailureLine(r bundle.ManifestRecord) string {
	cmd := strings.Map(func(c rune) rune {
		if c == '\t' || (c >= 0x20 && c <= 0x7e) {
			return c
		}
		return -1
	}, r.Command)
	s := fmt.Sprintf("  %s: `%s` exit %d", r.Path, cmd, r.ExitCode)
	if l := LastLine(r.Stderr); l != "" {
		s += ": " + l
	}
	return s
}

// LastLine is the last non-blank line of a stderr tail, trimmed, printable
// ASCII, cut at 200 bytes: the line that usually says why (the script's
// last_line).
func LastLine(s string) string {
	s = strings.Map(func(c rune) rune {
		if c == '\t' || c == '\n' || (c >= 0x20 && c <= 0x7e) {
			return c
		}
		return -1
	}, s)
	last := ""
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			last = l
		}
	}
	last = strings.Trim(last, " \t")
	if len(last) > 200 {
		last = last[:200] + "..."
	}
	return last
}
