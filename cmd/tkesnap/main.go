// Command tkesnap analyzes TKE network-failure bundles offline.
// This package only parses flags and wires packages together.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
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
	stop := startProfile()
	code := run(os.Args[1:])
	stop()
	os.Exit(code)
}

func run(args []string) int {
	root := newRoot()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "tkesnap:", ee.err)
		}
		return ee.code
	}
	// cobra's own flag and argument errors are usage errors.
	fmt.Fprintln(os.Stderr, "tkesnap:", err)
	return 2
}
