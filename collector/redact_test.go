package collector

import (
	"strings"
	"testing"
)

// The Go node collector must redact exactly like the script, or the two
// collectors' files would differ.
func TestGoRedactionMatchesTheScript(t *testing.T) {
	extra := []string{
		"",
		"no newline at end: token: abc",
		"  - name: API_TOKEN\n    value: \"quoted secret\"\n  - name: OTHER\n    value: kept\n",
		"--secret-key=x --access-key y --api_key=z --client-key=/etc/k.pem plain=1\n",
		`{"a":"x\ntoken: abc\n","Password":"p", "ip": "10.0.0.1"}` + "\n",
		"-----BEGIN EC PRIVATE KEY-----\nabc\n-----END EC PRIVATE KEY-----\nafter\n",
		"authorization: bearer  aaa.bbb.ccc and Bearer x\n",
		"SecretId: AKID0123456789abcdef, ok\n",
		"\x00\xff binary \xfe token=1\n",
	}
	var inputs []string
	for _, c := range redactCases {
		inputs = append(inputs, c.in)
	}
	inputs = append(inputs, extra...)
	for i, in := range inputs {
		want := redactWithScript(t, in)
		if got := RedactString(in); got != want {
			t.Errorf("input %d %q:\nscript: %q\ngo:     %q", i, in, want, got)
		}
	}
}

func FuzzRedact(f *testing.F) {
	for _, c := range redactCases {
		f.Add(c.in)
	}
	f.Add("-----BEGIN RSA PRIVATE KEY-----\nx")
	f.Fuzz(func(t *testing.T, in string) {
		out := RedactString(in)
		// Redaction never adds lines: each input line gives at most one.
		if n, m := strings.Count(out, "\n"), strings.Count(in, "\n")+1; n > m {
			t.Fatalf("%d output lines for %d input lines", n, m)
		}
	})
}
