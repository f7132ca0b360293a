package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"tkesnap/analysis/model"
	"tkesnap/internal/safetext"
	"tkesnap/parsers/bundle"
)

// progress draws bars on stderr for the long steps of analyze: unpacking
// the archive (bytes of the compressed file) and loading the bundle, where
// captures are read. It is off (every method a no-op) unless stderr is a
// terminal and --quiet is not given, so pipes, CI logs and files never
// see escape sequences.
type progress struct {
	p      *mpb.Progress
	finish []func() // complete bars that may not have reached their total
}

// newProgress returns a live progress on w when on is true, else a no-op.
func newProgress(w io.Writer, on bool) *progress {
	if !on {
		return &progress{}
	}
	// WithAutoRefresh: we only turn bars on for a terminal (progressFor),
	// so refresh even when mpb cannot see one (tests write to a buffer).
	return &progress{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(32), mpb.WithRefreshRate(120*time.Millisecond), mpb.WithAutoRefresh())}
}

// progressFor is the progress of a command: on when stderr is a terminal.
func progressFor(quiet bool) *progress {
	return newProgress(os.Stderr, !quiet && isTerminal(os.Stderr))
}

// unpack returns the callback for bundle.Options.Progress: the bar is made
// on the first call, when the archive size is known.
func (pr *progress) unpack(label string) func(done, total int64) {
	if pr.p == nil {
		return nil
	}
	var bar *mpb.Bar
	return func(done, total int64) {
		if bar == nil {
			bar = pr.p.AddBar(total,
				mpb.PrependDecorators(decor.Name(label, decor.WCSyncSpaceR), decor.CountersKibiByte("% .1f / % .1f", decor.WCSyncSpace)),
				mpb.AppendDecorators(decor.Percentage(decor.WCSyncSpace), decor.Name(" "), decor.Elapsed(decor.ET_STYLE_GO)),
				mpb.BarFillerClearOnComplete())
		}
		bar.SetCurrent(done)
		if done >= total {
			bar.SetTotal(-1, true)
		}
	}
}

// spin shows a spinner with the elapsed time until stop is called; used
// while the bundle is parsed and captures are read, whose progress the
// loaders do not report.
func (pr *progress) spin(label string) (stop func()) {
	if pr.p == nil {
		return func() {}
	}
	bar := pr.p.AddSpinner(0,
		mpb.PrependDecorators(decor.Name(label, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.Elapsed(decor.ET_STYLE_GO)),
		mpb.BarRemoveOnComplete())
	return func() { bar.SetTotal(-1, true) }
}

// captures draws a bar over the bytes of the bundle's captures as the
// loader reads them (bundle.Bundle.OnRead): on a big bundle, reading
// pcaps is the long part of analyze.
func (pr *progress) captures(b *bundle.Bundle) {
	if pr.p == nil {
		return
	}
	var total int64
	for _, f := range b.Files() {
		if strings.HasPrefix(f, "captures/") && model.IsCaptureFile(f) {
			total += b.Size(f)
		}
	}
	if total == 0 {
		return
	}
	bar := pr.p.AddBar(total,
		mpb.PrependDecorators(decor.Name("reading captures", decor.WCSyncSpaceR), decor.CountersKibiByte("% .1f / % .1f", decor.WCSyncSpace)),
		mpb.AppendDecorators(decor.Percentage(decor.WCSyncSpace)),
		mpb.BarFillerClearOnComplete())
	// Reads come in small pieces; the bar moves every MiB.
	var done, shown int64
	b.OnRead = func(name string, n int) {
		if !strings.HasPrefix(name, "captures/") || !model.IsCaptureFile(name) {
			return
		}
		done += int64(n)
		if done-shown >= 1<<20 || done >= total {
			shown = done
			bar.SetCurrent(min(done, total))
		}
	}
	pr.finish = append(pr.finish, func() { bar.SetTotal(-1, true) })
}

// wait lets the bars draw their last state before the report is printed.
func (pr *progress) wait() {
	for _, f := range pr.finish {
		f()
	}
	pr.finish = nil
	if pr.p != nil {
		pr.p.Wait()
		pr.p = nil
	}
}

// openWith opens a bundle with its unpacking shown on pr.
func (f *bundleFlags) openWith(path string, pr *progress) (*bundle.Bundle, error) {
	b, err := bundle.OpenWith(path, bundle.Options{Limits: f.lim, Progress: pr.unpack("unpacking " + safetext.Line(shortName(path)))})
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return b, nil
}

// loadLabel says what the load step reads, so a long wait has a reason.
func loadLabel(b *bundle.Bundle) string {
	n, size := 0, int64(0)
	for _, f := range b.Files() {
		if strings.HasPrefix(f, "captures/") && model.IsCaptureFile(f) {
			n++
			size += b.Size(f)
		}
	}
	if n == 0 {
		return "reading bundle"
	}
	return fmt.Sprintf("reading bundle and %d capture(s), %.1f MiB", n, float64(size)/(1<<20))
}

func shortName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	if len(p) > 32 {
		p = "…" + p[len(p)-31:]
	}
	return p
}
