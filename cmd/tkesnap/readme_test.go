package main

import (
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"tkesnap/analysis/trace"
)

// readmeSections returns the README's command sections ("### `tkesnap
// NAME ...`" up to the next heading) by command name; a heading naming
// several commands gives each the same text.
func readmeSections(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	name := regexp.MustCompile("`tkesnap ([a-z-]+)")
	var cur []string
	var body strings.Builder
	flush := func() {
		for _, c := range cur {
			out[c] = body.String()
		}
		cur = nil
		body.Reset()
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "#") {
			flush()
			if strings.HasPrefix(l, "### `tkesnap ") {
				for _, m := range name.FindAllStringSubmatch(l, -1) {
					cur = append(cur, m[1])
				}
				body.WriteString(l + "\n")
			}
			continue
		}
		if cur != nil {
			body.WriteString(l + "\n")
		}
	}
	flush()
	return out
}

// The README's command sections and `--help` say the same: every command
// has a section, every flag a section names exists, and every flag of a
// command is named in its section (a flag added without a README line, or
// a README line for a flag that is gone, fails here).
func TestREADMECommandSectionsMatchHelp(t *testing.T) {
	sections := readmeSections(t)
	root := newRoot()
	root.InitDefaultCompletionCmd()
	flagRe := regexp.MustCompile(`--([a-z][a-z0-9-]+)`)
	for _, cmd := range root.Commands() {
		if cmd.Hidden || cmd.Name() == "help" {
			continue
		}
		text, ok := sections[cmd.Name()]
		if !ok {
			t.Errorf("README has no section for `tkesnap %s`", cmd.Name())
			continue
		}
		named := map[string]bool{}
		for _, m := range flagRe.FindAllStringSubmatch(text, -1) {
			named[m[1]] = true
		}
		for f := range named {
			if f == "help" {
				continue
			}
			if cmd.Flags().Lookup(f) == nil && cmd.InheritedFlags().Lookup(f) == nil {
				t.Errorf("README section of `tkesnap %s` names --%s, which `tkesnap %s --help` does not have", cmd.Name(), f, cmd.Name())
			}
		}
		var missing []string
		cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
			short := f.Shorthand != "" && regexp.MustCompile("(^|[\\s\\[|`(])-"+f.Shorthand+"\\b").MatchString(text)
			if !f.Hidden && f.Name != "help" && !named[f.Name] && !short {
				missing = append(missing, "--"+f.Name)
			}
		})
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("`tkesnap %s --help` has %s, which its README section does not name", cmd.Name(), strings.Join(missing, ", "))
		}
	}
	for name := range sections {
		if c, _, err := root.Find([]string{name}); err != nil || c == root {
			t.Errorf("README has a section for `tkesnap %s`, which is not a command", name)
		}
	}
}

// Every endpoint form the tracer accepts and every --proto value is in the
// README's trace section and in `trace --help`.
func TestTraceEndpointsAndProtocolsAreDocumented(t *testing.T) {
	text := readmeSections(t)["trace"]
	help := runRoot(t, "trace", "--help")
	var forms []string
	for _, f := range strings.Split(strings.ReplaceAll(trace.EndpointForms, " or ", ", "), ", ") {
		forms = append(forms, f)
	}
	if len(forms) < 9 {
		t.Fatalf("endpoint forms %q", forms)
	}
	for _, f := range forms {
		if !strings.Contains(text, "`"+f+"`") {
			t.Errorf("README trace section does not list the endpoint form `%s`", f)
		}
		if strings.Count(help, f) < 2 {
			t.Errorf("trace --help does not list %s for --from and --to", f)
		}
	}
	for _, p := range iptablesProtos {
		if !strings.Contains(text, p) || !strings.Contains(help, p) {
			t.Errorf("--proto %s is accepted but not documented (README: %v, --help: %v)", p, strings.Contains(text, p), strings.Contains(help, p))
		}
	}
	if !slices.Contains(iptablesProtos, "sctp") || slices.Contains(bundleProtos, "sctp") {
		t.Errorf("bundle protocols %v, iptables protocols %v", bundleProtos, iptablesProtos)
	}
}
