package collector

import (
	"encoding/json"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
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
		"crlf: yes\r\ntoken: abc\r\n--password=x\r\n",
		`{"args": "--token=ab\"cd --x=1"}` + "\n",
		"auth: {token: x, n: [1, {password: 2}]}\n",
		"a: [\n  {\"name\": \"X_TOKEN\", \"value\": 3},\n  [[[[]]]]\n]\n",
		"data:\n  c: |\n    {\"password\": \"p\",\n     \"x\": [\n  back: 1\nafter: [token, x]\n",
		"- - - password: x\n    - y\n",
		strings.Repeat("[", 100) + "\"--token\", \"x\"" + strings.Repeat("]", 100) + "\n",
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
	for _, c := range redactCorpus {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := RedactString(in)
		// each input line gives one output line (awk ends the last one)
		lines := strings.Count(in, "\n")
		if in != "" && !strings.HasSuffix(in, "\n") {
			lines++
		}
		if n := strings.Count(out, "\n"); n != lines {
			t.Fatalf("%d output lines for %d input lines", n, lines)
		}
		// JSON stays JSON with every key and element, secrets redacted
		// and the rest unchanged (the oracle parses it)
		if json.Valid([]byte(in)) {
			if !json.Valid([]byte(out)) {
				t.Fatalf("valid JSON became invalid:\n%s\n%s", in, out)
			}
			var v any
			if yaml.Unmarshal([]byte(in), &v) != nil {
				return // JSON that YAML refuses (a key twice): validity is all we check
			}
			if bad := checkStructure(in, out, false); len(bad) > 0 {
				t.Fatalf("%s\n%s\n%s", strings.Join(bad, "\n"), in, out)
			}
		}
	})
}
