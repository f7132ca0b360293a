package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"tkesnap/analysis/analyzers"
	"tkesnap/analysis/driver"
	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/analysis/report"
	"tkesnap/parsers/bundle"
)

// bundleFlags are the archive limits every bundle-reading command takes.
type bundleFlags struct{ lim bundle.Limits }

func (f *bundleFlags) add(cmd *cobra.Command) {
	f.lim = bundle.DefaultLimits()
	fl := cmd.Flags()
	fl.Int64Var(&f.lim.TotalBytes, "max-total-bytes", f.lim.TotalBytes, "refuse to unpack more than this many bytes in all")
	fl.Int64Var(&f.lim.FileBytes, "max-file-bytes", f.lim.FileBytes, "truncate a text file of the bundle past this size")
	fl.Int64Var(&f.lim.PcapBytes, "max-pcap-bytes", f.lim.PcapBytes, "truncate a capture past this size")
	fl.IntVar(&f.lim.Entries, "max-entries", f.lim.Entries, "read at most this many archive entries")
	fl.Float64Var(&f.lim.Ratio, "max-ratio", f.lim.Ratio, "stop unpacking past this compression ratio (bomb guard)")
}

func (f *bundleFlags) open(path string) (*bundle.Bundle, error) {
	b, err := bundle.Open(path, f.lim)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return b, nil
}

type analyzeOpts struct {
	bundleFlags
	format  string
	out     string
	flows   []string
	noColor bool
	brief   bool
	full    bool
	lang    string
	quiet   bool
}

func init() {
	commands = append(commands, func() *cobra.Command {
		o := &analyzeOpts{}
		cmd := &cobra.Command{
			Use:   "analyze BUNDLE",
			Short: "Analyze a bundle and explain why flows fail",
			Long: `Analyze a bundle and explain why flows fail: a one-paragraph summary (what
fails, where, why, what to change), the findings by severity with evidence and
remedy, each traced flow hop by hop, what could not be decided and what to
collect for it, and problems of the bundle itself.

Exit codes: 0 nothing above info, 3 at least one error finding, 4 warnings
only, 2 the bundle could not be read at all or bad usage, 1 internal error.`,
			Example: `  tkesnap analyze bundle.tgz
  tkesnap analyze bundle.tgz --format markdown -o report.md   # paste into the ticket
  tkesnap analyze bundle.tgz --format html -o report.html     # one file, works offline
  tkesnap analyze bundle.tgz --lang zh --no-color
  tkesnap analyze bundle.tgz --flow pod:default/web-0=svc:default/api:80`,
			Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0]) },
		}
		o.add(cmd)
		fl := cmd.Flags()
		fl.StringVar(&o.format, "format", "text", "report format: text, markdown, json or html")
		fl.StringVarP(&o.out, "output", "o", "", "write the report to this file instead of stdout")
		fl.StringArrayVar(&o.flows, "flow", nil, "a failing flow FROM=TO to trace (repeatable), in addition to flows.json")
		fl.BoolVar(&o.noColor, "no-color", false, "never color the text report")
		fl.BoolVar(&o.brief, "brief", false, "text: the ticket view (flows tkesnap traced on its own as one line each)")
		fl.BoolVar(&o.full, "full", false, "markdown: every traced flow's hops and all evidence (default: the ticket view)")
		fl.StringVar(&o.lang, "lang", "", "report language: en or zh (default from LANG, else en)")
		fl.BoolVarP(&o.quiet, "quiet", "q", false, "print only the report (no progress bars)")
		_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "markdown", "json", "html"}, cobra.ShellCompDirectiveNoFileComp))
		_ = cmd.RegisterFlagCompletionFunc("lang", cobra.FixedCompletions([]string{"en", "zh"}, cobra.ShellCompDirectiveNoFileComp))
		return cmd
	})
}

func (o *analyzeOpts) run(cmd *cobra.Command, path string) error {
	switch o.format {
	case "text", "markdown", "md", "json", "html":
	default:
		return usageErr("unknown --format %q (text, markdown, json, html)", o.format)
	}
	lang, err := pickLang(o.lang)
	if err != nil {
		return err
	}
	pr := progressFor(o.quiet)
	defer pr.wait()
	b, err := o.openWith(path, pr)
	if err != nil {
		return err
	}
	defer b.Close()
	if len(model.Layout(b)) == 0 {
		return &exitError{code: 2, err: notABundle(path, b)}
	}
	pr.captures(b)
	stop := pr.spin(loadLabel(b))
	defer stop()
	c := model.Load(b)
	for _, f := range o.flows {
		from, to, ok := strings.Cut(f, "=")
		if !ok || from == "" || to == "" {
			return usageErr("--flow %q: want FROM=TO", f)
		}
		c.Flows = append(c.Flows, model.Flow{From: from, To: to})
	}
	// the driver merges one finding per fault and re-traces each remedy
	// (remedy.Analyzer's Finish)
	res := driver.Run(c, analyzers.All())
	traces := analyzers.Traces(res)
	stop()
	pr.wait() // the bars are done before the report is printed
	r := report.New(c, path, res.Merged, traces, res.Inconclusive, lang)

	if o.out != "" {
		err = writeAtomic(o.out, func(w io.Writer) error {
			return render(r, o.format, w, view{Brief: o.brief, Full: o.full})
		})
	} else {
		err = render(r, o.format, cmd.OutOrStdout(), view{Color: o.colors(), Brief: o.brief, Full: o.full})
	}
	if err != nil {
		return err
	}
	if code := r.ExitCode(); code == 0 && c.NothingRead() {
		// every file failed to parse: "no problem found" would be a lie
		return &exitError{code: 2, err: fmt.Errorf("nothing in %s could be read: none of its %d files is readable (damaged, or not what its name says; see the bundle problems in the report)", path, len(b.Files()))}
	}
	if res.InternalError() {
		return &exitError{code: 1, err: internalError(res)}
	}
	if code := r.ExitCode(); code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// colors is true only for a text report going to a terminal.
func (o *analyzeOpts) colors() bool {
	if o.noColor || os.Getenv("NO_COLOR") != "" {
		return false
	}
	return isTerminal(os.Stdout)
}

func pickLang(flag string) (finding.Lang, error) {
	switch strings.ToLower(flag) {
	case "en":
		return finding.EN, nil
	case "zh", "zh-cn", "cn":
		return finding.ZH, nil
	case "":
		for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
			if s := os.Getenv(v); s != "" {
				if strings.HasPrefix(strings.ToLower(s), "zh") {
					return finding.ZH, nil
				}
				break
			}
		}
		return finding.EN, nil
	}
	return "", usageErr("unknown --lang %q (en, zh)", flag)
}

// notABundle explains an input with none of the bundle layout (docs/design.md
// §2): nothing in it can be analysed, so analyze exits 2 instead of
// printing "no problem found".
func notABundle(path string, b *bundle.Bundle) error {
	top := b.Dir("")
	what := "it is empty"
	if len(top) > 0 {
		if len(top) > 8 {
			top = append(top[:8:8], "…")
		}
		what = "it holds " + strings.Join(top, ", ")
	}
	return fmt.Errorf("%s is not a tkesnap bundle: none of %s found (%s); make one with `tkesnap collect-script`",
		path, strings.Join(model.LayoutParts, ", "), what)
}

// internalError is the exit-1 message for an analyzer that failed: a bug
// of tkesnap, reported with the rest of the report already written.
func internalError(res *driver.Result) error {
	what := "internal error: the analysis produced no result"
	if len(res.Problems) > 0 {
		what = res.Problems[0].Message
	}
	return fmt.Errorf("%s (a bug of tkesnap: please report it with the bundle)", what)
}

var errNotYet = errors.New("not yet supported")

func notYet(what string) error {
	return &exitError{code: 2, err: fmt.Errorf("%s: %w", what, errNotYet)}
}
