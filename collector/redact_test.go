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
		// JSON inside strings: escapes other than \" and \\, a lone
		// backslash, bytes the unescaping reserves, unbalanced and too deep
		`{"a": "{\"password\":\"p\u0041\\n\/x\",\n\t\"b\":[1,\"\\\\\"]}", "c": "[\"--token\", \"t\"]"}` + "\n",
		`{"a": "{\"token\":\"x\"\\", "b": "{\"token\": [1, 2"}` + "\n",
		"{\"a\": \"{\\\"token\\\":\\\"x\x01\\\"}\", \"b\": \"[\\\"x\x02\\\"]\"}\n",
		`{"d": "{\"e\":\"{\\\"f\\\":\\\"{\\\\\\\"g\\\\\\\":\\\\\\\"{\\\\\\\\\\\\\\\"token\\\\\\\\\\\\\\\":1}\\\\\\\"}\\\"}\"}"}` + "\n",
		"k: \"{\\\"password\\\": \\\"x\\\"}\" # c\n- \"[\\\"--password\\\", \\\"y\\\"]\"\n",
		// env entries value first (redacted whatever the name), auth
		"env:\n- value: kept-or-not\n  name: MODE\n- foo: 1\n  value: v\n  name: X\nother:\n- value: 1\n  name: T\n",
		"auth: {mode: webhook, user: u}\nauth: x\nauth:\n  token: t\nx: {auth: [a], auth: b}\n",
		"a: {env: [{value: 1, key: K}, {key: DB_PASS, value: 2}], b: [{value: 3}]}\n",
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

// An env entry that gives its value before its name: the value is
// redacted whatever the name, since the name comes too late to decide (a
// value-first entry of a harmless name loses its value, never a secret);
// outside an env list "value" is not touched.
func TestValueBeforeNameInEnvListIsRedacted(t *testing.T) {
	in := "env:\n- value: a1\n  name: MODE\n- name: B\n  value: b1\nspec:\n  values:\n  - value: c1\n    name: DB_TOKEN_NAME_ONLY_IN_SPEC\n"
	out := RedactString(in)
	for _, want := range []string{"- value: <redacted>\n  name: MODE", "value: b1", "value: c1"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
	if script := redactWithScript(t, in); script != out {
		t.Errorf("script and Go differ:\n%s\n%s", script, out)
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
