package main

import (
	"strings"
	"testing"
)

// A stream as `go test -json` writes it for three packages: one with a
// skip, one with a failing test, one that does not build.
const stream = `{"Action":"start","Package":"a"}
{"Action":"run","Package":"a","Test":"TestSkips"}
{"Action":"output","Package":"a","Test":"TestSkips","Output":"=== RUN   TestSkips\n"}
{"Action":"output","Package":"a","Test":"TestSkips","Output":"    a_test.go:9: tcpdump not installed\n"}
{"Action":"output","Package":"a","Test":"TestSkips","Output":"--- SKIP: TestSkips (0.00s)\n"}
{"Action":"skip","Package":"a","Test":"TestSkips"}
{"Action":"run","Package":"a","Test":"TestPasses"}
{"Action":"output","Package":"a","Test":"TestPasses","Output":"=== RUN   TestPasses\n"}
{"Action":"output","Package":"a","Test":"TestPasses","Output":"--- PASS: TestPasses (0.00s)\n"}
{"Action":"pass","Package":"a","Test":"TestPasses"}
{"Action":"output","Package":"a","Output":"PASS\n"}
{"Action":"output","Package":"a","Output":"ok  \ta\t0.01s\n"}
{"Action":"pass","Package":"a"}
{"Action":"run","Package":"b","Test":"TestFails"}
{"Action":"output","Package":"b","Test":"TestFails","Output":"=== RUN   TestFails\n"}
{"Action":"output","Package":"b","Test":"TestFails","Output":"    b_test.go:5: got 2, want 3\n"}
{"Action":"output","Package":"b","Test":"TestFails","Output":"--- FAIL: TestFails (0.00s)\n"}
{"Action":"fail","Package":"b","Test":"TestFails"}
{"Action":"output","Package":"b","Output":"FAIL\n"}
{"Action":"output","Package":"b","Output":"FAIL\tb\t0.02s\n"}
{"Action":"fail","Package":"b"}
{"ImportPath":"c [c.test]","Action":"build-output","Output":"# c [c.test]\n"}
{"ImportPath":"c [c.test]","Action":"build-output","Output":"c/c_test.go:3:1: syntax error\n"}
{"ImportPath":"c [c.test]","Action":"build-fail"}
{"Action":"output","Package":"c","Output":"FAIL\tc [build failed]\n"}
{"Action":"fail","Package":"c"}
`

func TestReportShowsSkipsAndKeepsGoTestLines(t *testing.T) {
	var out strings.Builder
	ok, skips, err := report(strings.NewReader(stream), &out)
	if err != nil || ok || skips != 1 {
		t.Fatalf("ok=%v skips=%d err=%v, want a failure and one skip", ok, skips, err)
	}
	want := "    a_test.go:9: tcpdump not installed\n--- SKIP: TestSkips (0.00s)\n" +
		"ok  \ta\t0.01s\n" +
		"=== RUN   TestFails\n    b_test.go:5: got 2, want 3\n--- FAIL: TestFails (0.00s)\n" +
		"FAIL\n" + "FAIL\tb\t0.02s\n" +
		"# c [c.test]\nc/c_test.go:3:1: syntax error\n" +
		"FAIL\tc [build failed]\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestReportPassesWhenAllPass(t *testing.T) {
	var out strings.Builder
	pass := `{"Action":"output","Package":"a","Output":"ok  \ta\t0.01s\n"}
{"Action":"pass","Package":"a"}
`
	ok, skips, err := report(strings.NewReader(pass), &out)
	if !ok || skips != 0 || err != nil || out.String() != "ok  \ta\t0.01s\n" {
		t.Errorf("ok=%v skips=%d err=%v out=%q", ok, skips, err, out.String())
	}
}
