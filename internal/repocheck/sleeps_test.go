package repocheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// notAWait marks a sleep that is not synchronization: the time itself is
// what is wanted (the capture window a user asked for). The reason follows
// on the same line; a bare marker does not count.
const notAWait = "not a wait:"

// A fixed sleep standing in for readiness passes on an idle machine and
// fails under load (the tcpdump race of issue 17). In every Go, shell and
// Python file of the repository a sleep is only allowed as the pause of a
// poll — inside a loop that re-checks a condition — or with a notAWait
// reason on its line.
func TestNoSleepAsSynchronization(t *testing.T) {
	var bad []string
	n := 0
	fset := token.NewFileSet()
	goFiles(t, func(rel string) {
		f, err := parser.ParseFile(fset, filepath.Join(root, rel), nil, 0)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return
		}
		for _, pos := range goSleeps(f) {
			n++
			if pos.bad {
				bad = append(bad, fset.Position(pos.at).String())
			}
		}
	})
	scripts(t, func(rel, text string) {
		var got []int
		switch filepath.Ext(rel) {
		case ".py":
			got = pythonSleeps(text)
		default:
			got = shellSleeps(text)
		}
		for _, l := range got {
			n++
			bad = append(bad, rel+":"+itoa(l))
		}
	})
	for _, b := range bad {
		t.Errorf("%s: a sleep outside a poll loop; wait on readiness with a deadline (or say %q why the time itself is wanted)", b, notAWait)
	}
	if n == 0 {
		t.Error("no sleep found at all: is the scan broken? (internal/readiness polls with one)")
	}
}

type sleepCall struct {
	at  token.Pos
	bad bool // outside every loop of its function
}

// goSleeps returns the time.Sleep calls of a file.
func goSleeps(f *ast.File) []sleepCall {
	var out []sleepCall
	var loops []ast.Node
	ast.Inspect(f, func(nd ast.Node) bool {
		if nd == nil {
			return true
		}
		for len(loops) > 0 && nd.Pos() >= loops[len(loops)-1].End() {
			loops = loops[:len(loops)-1]
		}
		switch x := nd.(type) {
		case *ast.ForStmt, *ast.RangeStmt:
			loops = append(loops, x)
		case *ast.FuncLit:
			// a closure's body is not inside the loop it is defined in
			loops = append(loops, &ast.BadStmt{From: x.Pos(), To: x.End()})
		case *ast.CallExpr:
			if sel, ok := x.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Sleep" {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "time" {
					out = append(out, sleepCall{x.Pos(), !inLoop(loops, x.Pos())})
				}
			}
		}
		return true
	})
	return out
}

func inLoop(loops []ast.Node, p token.Pos) bool {
	for i := len(loops) - 1; i >= 0; i-- {
		if _, closure := loops[i].(*ast.BadStmt); closure {
			return false
		}
		if p >= loops[i].Pos() && p < loops[i].End() {
			return true
		}
	}
	return false
}

// scripts calls fn with every shell and Python file of the repository
// (and the extension-less scripts of .ci).
func scripts(t *testing.T, fn func(rel, text string)) {
	t.Helper()
	keep := func(rel string) bool {
		ext := path.Ext(rel)
		return ext == ".sh" || ext == ".py" || (path.Dir(rel) == ".ci" && ext == "")
	}
	repoFiles(t, keep, func(rel string) {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		fn(rel, string(b))
	})
}

var (
	shellWord = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_.]*`)
	pySleep   = regexp.MustCompile(`\btime\.sleep\(`)
	pyLoop    = regexp.MustCompile(`^(for|while|async for)\b`)
	pyExit    = regexp.MustCompile(`^(break|return)\b`)
)

// shellSleeps returns the lines of a shell script where `sleep` runs
// outside a poll: a poll is a loop that re-checks something — a while or
// until with a condition other than `:`/true, or a loop whose body can
// break, return or exit. Loops are found by their words (quotes and
// comments dropped), which is how every script here is written, one-line
// loops included.
func shellSleeps(text string) []int {
	type loop struct {
		poll   bool
		sleeps []int
	}
	var bad []int
	var stack []*loop
	for i, line := range strings.Split(text, "\n") {
		words := shellWord.FindAllString(shellCode(line), -1)
		for j, w := range words {
			switch w {
			case "while", "until":
				forever := j+1 < len(words) && words[j+1] == "true" || strings.Contains(shellCode(line), w+" :")
				stack = append(stack, &loop{poll: !forever})
			case "for":
				stack = append(stack, &loop{})
			case "break", "return", "exit":
				if len(stack) > 0 {
					stack[len(stack)-1].poll = true
				}
			case "done":
				if len(stack) > 0 {
					l := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					if !l.poll {
						bad = append(bad, l.sleeps...)
					}
				}
			case "sleep":
				switch {
				case marked(line):
				case len(stack) == 0:
					bad = append(bad, i+1)
				default:
					stack[len(stack)-1].sleeps = append(stack[len(stack)-1].sleeps, i+1)
				}
			}
		}
	}
	for _, l := range stack {
		bad = append(bad, l.sleeps...)
	}
	sort.Ints(bad)
	return bad
}

// shellCode is a line without its comment and quoted strings.
func shellCode(line string) string {
	var b strings.Builder
	var q byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '\'' || c == '"':
			q = c
			b.WriteByte(' ')
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// pythonSleeps returns the lines where time.sleep runs outside a poll: a
// while with a condition other than True, or a loop whose block breaks or
// returns (blocks follow indentation).
func pythonSleeps(text string) []int {
	type block struct {
		indent int
		loop   bool
		poll   bool
		sleeps []int
	}
	var bad []int
	var stack []*block
	pop := func() {
		b := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch {
		case b.poll:
		case !b.loop && len(stack) > 0: // an if/def/with: its parent decides
			up := stack[len(stack)-1]
			up.sleeps = append(up.sleeps, b.sleeps...)
		default:
			bad = append(bad, b.sleeps...)
		}
	}
	for i, line := range strings.Split(text, "\n") {
		s := strings.TrimLeft(line, " \t")
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		indent := len(line) - len(s)
		for len(stack) > 0 && indent <= stack[len(stack)-1].indent {
			pop()
		}
		code := strings.TrimSpace(strings.SplitN(s, "#", 2)[0])
		if pyExit.MatchString(code) {
			for k := len(stack) - 1; k >= 0; k-- {
				if stack[k].loop {
					stack[k].poll = true
					break
				}
			}
		}
		if pySleep.MatchString(s) && !marked(line) {
			if len(stack) == 0 {
				bad = append(bad, i+1)
			} else {
				stack[len(stack)-1].sleeps = append(stack[len(stack)-1].sleeps, i+1)
			}
		}
		if strings.HasSuffix(code, ":") {
			loop := pyLoop.MatchString(s)
			stack = append(stack, &block{indent: indent, loop: loop, poll: loop && strings.HasPrefix(s, "while") && !strings.HasPrefix(s, "while True")})
		}
	}
	for len(stack) > 0 {
		pop()
	}
	sort.Ints(bad)
	return bad
}

func marked(line string) bool {
	_, why, ok := strings.Cut(line, notAWait)
	return ok && len(strings.TrimSpace(why)) >= 10
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// The detectors themselves, on the shapes the scripts use.
func TestSleepDetectors(t *testing.T) {
	sh := "sleep 1\n" + // 1: bad
		"for _ in $(seq 10); do grep -q x f && break; sleep 0.1; done\n" +
		"while ! f; do\n  sleep 0.2\ndone\n" +
		"echo 'do not sleep'\n" + // quoted: not a command, not a loop
		"sleep 2 # not a wait: the capture window the user asked for\n" +
		"sleep 3 # not a wait:\n" + // 8: a marker without a reason
		"x # sleep 4\n" +
		"for n in a b; do\n  sleep 5\n  for _ in 1 2; do f && break; sleep 0.1; done\ndone\n" + // 11: the outer loop is no poll
		"while :; do sleep 3600 & wait; done\n" // 14: forever is no poll
	if got := shellSleeps(sh); fmt.Sprint(got) != "[1 8 11 14]" {
		t.Errorf("shell: %v, want [1 8 11 14]", got)
	}
	py := "import time\n" +
		"def send(n):\n" +
		"    for i in range(n):\n" +
		"        s.send()\n" +
		"        time.sleep(0.2)\n" +
		"    time.sleep(1)\n" + // 6: after the loop
		"time.sleep(1)\n" + // 7
		"while True:\n    time.sleep(1)\n" + // 9: forever
		"while True:\n    if ok():\n        break\n    time.sleep(1)\n" // a poll
	if got := pythonSleeps(py); fmt.Sprint(got) != "[5 6 7 9]" {
		t.Errorf("python: %v, want [5 6 7 9]", got)
	}
	src := "package p\nimport \"time\"\nfunc f() {\n\ttime.Sleep(1)\n\tfor {\n\t\ttime.Sleep(1)\n\t\tgo func() { time.Sleep(1) }()\n\t}\n}\n"
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, c := range goSleeps(f) {
		if c.bad {
			lines = append(lines, fset.Position(c.at).Line)
		}
	}
	if len(lines) != 2 || lines[0] != 4 || lines[1] != 7 {
		t.Errorf("go: %v, want [4 7]", lines)
	}
}
