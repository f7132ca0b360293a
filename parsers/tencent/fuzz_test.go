package tencent

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Every loader must survive any byte sequence: bundles come from strangers.
func FuzzParsers(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "real", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"Response":{"Error":{"Code":"x"}}}`))
	f.Add([]byte(`[1,2,{"Ingress":[{"PolicyIndex":"7"}]}]`))
	f.Add([]byte("\v")) // CI's fuzz find: TrimSpace called it blank, JSON does not
	f.Fuzz(func(t *testing.T, b []byte) {
		nlines := bytes.Count(b, []byte("\n")) + 1
		// A bare result object and the same object in tccli's
		// {"Response": ...} envelope read the same.
		// JSON whitespace only: \v or U+0085 is not blank to a JSON reader.
		body := bytes.Trim(b, " \t\r\n")
		var top map[string]json.RawMessage
		wrappable := json.Unmarshal(body, &top) == nil && len(body) > 0 && body[0] == '{' && top["Response"] == nil && top["Error"] == nil
		for api, p := range byAPI {
			n, err := p(b)
			var e *Error
			if errors.As(err, &e) && (e.Line < 0 || e.Line > nlines) {
				t.Fatalf("%s: error at line %d of %d: %v", api, e.Line, nlines, err)
			}
			if n < 0 {
				t.Fatalf("%s: %d objects", api, n)
			}
			if len(body) == 0 && (n != 0 || err != nil) {
				t.Fatalf("%s: empty file gave %d objects, %v", api, n, err)
			}
			if wrappable {
				m, err2 := p(append(append([]byte(`{"Response":`), body...), '}'))
				if m != n || (err == nil) != (err2 == nil) {
					t.Fatalf("%s: %d objects (%v) bare, %d (%v) in a Response", api, n, err, m, err2)
				}
			}
		}
		itemLines(b, "Ingress")
		keyLine(b, "Status")
	})
}

func FuzzFields(f *testing.F) {
	for _, s := range []string{"ALL", "80,443", "3000-32768", "tcp:80", "10.0.0.1-10.0.0.9", "10.0.0.0/8", "::ffff:1.2.3.4/120"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if rs, err := ParsePorts(s); err == nil {
			for _, r := range rs {
				if r.From > r.To || r.From < 0 || r.To > 65535 {
					t.Fatalf("%q gave %v", s, r)
				}
			}
		}
		_, _ = ParseService(s)
		_, _ = ParseProtocol(s)
		if r, err := ParseAddress(s); err == nil {
			if r.To.Less(r.From) {
				t.Fatalf("%q gave reversed %v", s, r)
			}
			_ = r.String()
		}
	})
}
