package main

import (
	"bytes"
	"strings"
	"testing"
)

func runRoot(t *testing.T, args ...string) string {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out.String())
	}
	return out.String()
}

func TestShellCompletionScripts(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "__start_tkesnap", "zsh": "#compdef tkesnap", "fish": "complete -c tkesnap", "powershell": "Register-ArgumentCompleter",
	} {
		if out := runRoot(t, "completion", shell); !strings.Contains(out, want) {
			t.Errorf("completion %s: no %q in the script", shell, want)
		}
	}
}

func TestCompletionOffersReportFormatsAndLanguages(t *testing.T) {
	out := runRoot(t, "__complete", "analyze", "bundle.tgz", "--format", "")
	for _, f := range []string{"text", "markdown", "json", "html"} {
		if !strings.Contains(out, f+"\n") {
			t.Errorf("--format completion lacks %s:\n%s", f, out)
		}
	}
	if out := runRoot(t, "__complete", "analyze", "bundle.tgz", "--lang", ""); !strings.Contains(out, "zh\n") {
		t.Errorf("--lang completion lacks zh:\n%s", out)
	}
}

func TestEveryCommandHasHelpWithExamples(t *testing.T) {
	for _, c := range newRoot().Commands() {
		switch c.Name() {
		case "help", "completion", "version":
			continue
		}
		if c.Example == "" && !strings.Contains(c.Long, "tkesnap "+c.Name()) {
			t.Errorf("%s --help has no example", c.Name())
		}
	}
}
