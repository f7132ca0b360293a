// Command tkesnap analyzes TKE network-failure bundles offline.
// This package only parses flags and wires packages together.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"tkesnap/internal/membudget"
	"tkesnap/internal/safetext"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries a specific exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// usageErr is bad input or usage: exit 2 (docs/design.md §3).
func usageErr(format string, a ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, a...)}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "tkesnap",
		Short: "Explain why a TKE network flow fails, offline, from one collected bundle",
		Long: `tkesnap reads a bundle made by its collector (kubectl objects, Tencent Cloud
security groups/CVM/VPC/CLB, node iptables/IPVS/routes/sysctls, packet captures)
and explains why a flow fails: the exact security-group policy, iptables rule,
missing endpoint, route or packet, and what to change.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Every command prints text derived from bundles, captures and
		// dumps made by strangers: all of it goes through the one
		// sanitizer (internal/safetext), whatever the command or format.
		// JSON stays valid JSON with the same values through it.
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			r := cmd.Root()
			r.SetOut(safetext.NewWriter(r.OutOrStdout()))
			r.SetErr(safetext.NewWriter(r.ErrOrStderr()))
		},
	}
	for _, add := range commands {
		root.AddCommand(add())
	}
	return root
}

// commands is filled by each command's file in init, so commands owned by
// different packages do not share one file.
var commands []func() *cobra.Command

func main() {
	budget := membudget.Default()
	membudget.Apply(budget)
	stopWatch := membudget.Watch(budget.Hard, 200*time.Millisecond, func(total int64) {
		abort(1, fmt.Sprintf("stopped: memory use reached %d MiB, above this run's budget of %d MiB (GOMEMLIMIT, else 60%% of the machine's memory); "+
			"lower --max-file-bytes/--max-total-bytes or run on a machine with more memory", total>>20, budget.Soft>>20))
	})
	stopSignals := handleSignals()
	stop := startProfile()
	code := run(os.Args[1:])
	stop()
	stopSignals()
	stopWatch()
	os.Exit(code)
}

// run executes one command line and returns the exit code. A panic
// anywhere in the command is a bug: exit 1 with a "please report" message,
// never 2 (which tells the user that the input is bad).
func run(args []string) int { return runWith(args, os.Stdout, os.Stderr) }

func runWith(args []string, stdout, stderr io.Writer) (code int) {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	defer func() {
		if p := recover(); p != nil {
			// deferred Close calls have removed the unpacked bundle and
			// any half-written -o file on the way up
			fmt.Fprintf(stderr, "tkesnap: internal error: %s\n%s\n", safetext.String(fmt.Sprint(p)), safetext.String(string(debug.Stack())))
			fmt.Fprintln(stderr, "tkesnap: this is a bug in tkesnap, not a problem of your input: please report it with the command line and the message above (version "+version+")")
			code = 1
		}
		flush(root.OutOrStdout())
		flush(root.ErrOrStderr())
	}()
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "tkesnap:", safetext.String(ee.err.Error()))
		}
		return ee.code
	}
	// cobra's own flag and argument errors are usage errors.
	fmt.Fprintln(stderr, "tkesnap:", safetext.String(err.Error()))
	return 2
}

func flush(w io.Writer) {
	if sw, ok := w.(*safetext.Writer); ok {
		sw.Flush()
	}
}

// rawWriter is the writer below the sanitizer, for output that carries
// the program's own escape sequences (the colored text report, whose
// untrusted fields it sanitizes itself).
func rawWriter(w io.Writer) io.Writer {
	if sw, ok := w.(*safetext.Writer); ok {
		return sw.Raw()
	}
	return w
}
