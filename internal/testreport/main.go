// Command testreport turns `go test -json` into what plain `go test`
// prints (per package: failing tests' output, then ok/FAIL lines, build
// errors) plus every skipped test with its reason, which plain `go test`
// hides. make test pipes the suite through it so a skip is visible without
// -v; the closing ok/FAIL lines stay as go test prints them. It exits 1
// when a test or a package failed or the stream is broken.
//
//	go test -json ./... | go run ./internal/testreport
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output, build-fail
	Test       string
	Output     string
}

type pkgState struct {
	tests map[string][]string // output of each running test
	skips []string
}

// report copies the meaning of the stream in to out and says whether
// everything passed; it also returns the number of skips.
func report(in io.Reader, out io.Writer) (ok bool, skips int, err error) {
	ok = true
	pkgs := map[string]*pkgState{}
	get := func(p string) *pkgState {
		s := pkgs[p]
		if s == nil {
			s = &pkgState{tests: map[string][]string{}}
			pkgs[p] = s
		}
		return s
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if json.Unmarshal(line, &e) != nil || e.Action == "" {
			// not an event (go vet noise, a crash of go itself): pass it on
			fmt.Fprintln(out, string(line))
			continue
		}
		switch e.Action {
		case "build-output":
			fmt.Fprint(out, e.Output)
			continue
		case "build-fail":
			ok = false
			continue
		}
		s := get(e.Package)
		if e.Test != "" {
			switch e.Action {
			case "output":
				s.tests[e.Test] = append(s.tests[e.Test], e.Output)
			case "fail":
				ok = false
				fmt.Fprint(out, strings.Join(s.tests[e.Test], ""))
				delete(s.tests, e.Test)
			case "skip":
				var reason []string
				for _, o := range s.tests[e.Test] {
					if !strings.HasPrefix(o, "=== ") {
						reason = append(reason, o)
					}
				}
				s.skips = append(s.skips, strings.Join(reason, ""))
				delete(s.tests, e.Test)
			case "pass":
				delete(s.tests, e.Test)
			}
			continue
		}
		switch e.Action {
		case "output":
			// package-level lines: ok/FAIL/"?" lines, panics, timeouts.
			// "PASS" alone is what -v adds; plain go test does not print it.
			if e.Output == "PASS\n" {
				continue
			}
			if strings.HasPrefix(e.Output, "ok  ") || strings.HasPrefix(e.Output, "FAIL\t") || strings.HasPrefix(e.Output, "?   ") {
				// the package is done: its skips go just above its line
				skips += len(s.skips)
				for _, r := range s.skips {
					fmt.Fprint(out, r)
				}
				s.skips = nil
				// output of tests that never ended (a panic or a timeout
				// killed the binary) explains the failure
				names := make([]string, 0, len(s.tests))
				for n := range s.tests {
					names = append(names, n)
				}
				sort.Strings(names)
				if strings.HasPrefix(e.Output, "FAIL") {
					for _, n := range names {
						fmt.Fprint(out, strings.Join(s.tests[n], ""))
					}
				}
				s.tests = map[string][]string{}
			}
			fmt.Fprint(out, e.Output)
		case "fail":
			ok = false
		}
	}
	return ok, skips, sc.Err()
}

func main() {
	ok, skips, err := report(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(1)
	}
	if skips > 0 {
		fmt.Fprintf(os.Stderr, "testreport: %d tests skipped (listed above each package's ok line; under CI=true only internal/testenv.Allowed may skip)\n", skips)
	}
	if !ok {
		os.Exit(1)
	}
}
