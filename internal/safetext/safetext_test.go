package safetext

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// The characters the red team used, and their neighbours: every one must
// come out escaped, in String, Line and the Writer.
var hostile = []struct {
	in, want string
}{
	{"a\x1b]0;owned\x07b", `a\u001b]0;owned\u0007b`}, // OSC title + BEL
	{"\x1b[2J", `\u001b[2J`},                         // clear screen
	{"x\u009b31m", `x\u009b31m`},
	{"x\x9b31m", `x\x9b31m`}, // the same byte alone is invalid UTF-8
	// C1 CSI
	{"\x7f", `\u007f`},                   // DEL
	{"\r", `\u000d`},                     // carriage return overwrites the line
	{"a\u202egnp.exe", `a\u202egnp.exe`}, // RLO
	{"\u061c", `\u061c`},                 // Arabic letter mark
	{"\u200e\u200f\u202a\u202b\u202c\u202d", `\u200e\u200f\u202a\u202b\u202c\u202d`},
	{"\u2066\u2067\u2068\u2069", `\u2066\u2067\u2068\u2069`}, // isolates
	{"a\u2028b\u2029c", `a\u2028b\u2029c`},                   // line/paragraph separators
	{"we\u200bb", `we\u200bb`},                               // zero-width space
	{"\ufeffname", `\ufeffname`},                             // BOM
	{"soft\u00adhyphen", `soft\u00adhyphen`},
	{"\u2060\u200c\u200d", `\u2060\u200c\u200d`},
	{"tag\U000e0041", `tag\udb40\udc41`}, // tag characters (ASCII smuggling)
	{"\u3164", `\u3164`},                 // Hangul filler
	{"bad\xffbyte", `bad\xffbyte`},
	{"\xe4\xb8", `\xe4\xb8`}, // cut UTF-8
	{"\ufffd", `\ufffd`},
}

// Text that must pass unchanged: Chinese, accents, arrows, box drawing,
// emoji, tab and newline.
var benign = []string{"web-0 → api:80", "默认命名空间（default）。", "café ñ", "│ ├─ ✔ ✘", "🙂", "a\tb\nc", ""}

func TestStringEscapesEveryUnsafeCharacter(t *testing.T) {
	for _, tc := range hostile {
		if got := String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
		var b bytes.Buffer
		w := NewWriter(&b)
		w.Write([]byte(tc.in))
		w.Flush()
		if b.String() != tc.want {
			t.Errorf("Writer(%q) = %q, want %q", tc.in, b.String(), tc.want)
		}
	}
	for _, s := range benign {
		if got := String(s); got != s {
			t.Errorf("String(%q) = %q, changed benign text", s, got)
		}
	}
	if got := Line("cap\x1b[31m\nfake line\t.pcap"); got != `cap\u001b[31m\u000afake line\u0009.pcap` {
		t.Errorf("Line kept a newline or tab: %q", got)
	}
}

// A rune split across two writes is joined, not escaped as two bad bytes.
func TestWriterJoinsSplitRunes(t *testing.T) {
	in := []byte("中\u202e文")
	for cut := 0; cut <= len(in); cut++ {
		var b bytes.Buffer
		w := NewWriter(&b)
		if n, err := w.Write(in[:cut]); n != cut || err != nil {
			t.Fatalf("Write returned %d, %v", n, err)
		}
		w.Write(in[cut:])
		w.Flush()
		if b.String() != `中\u202e文` {
			t.Errorf("cut at %d: %q", cut, b.String())
		}
	}
}

// The properties every output relies on: nothing unsafe survives, safe
// text is kept, and JSON stays valid JSON with the same values.
func FuzzSanitize(f *testing.F) {
	for _, tc := range hostile {
		f.Add(tc.in, 3)
	}
	for _, s := range benign {
		f.Add(s, 1)
	}
	f.Fuzz(func(t *testing.T, s string, cut int) {
		for _, oneLine := range []bool{false, true} {
			out := clean(s, oneLine)
			if !utf8.ValidString(out) {
				t.Fatalf("invalid UTF-8 out of %q", s)
			}
			for _, r := range out {
				if Unsafe(r) || oneLine && (r == '\n' || r == '\t') {
					t.Fatalf("%q survives in %q", r, out)
				}
			}
			if firstUnsafe(s, oneLine) < 0 && out != s {
				t.Fatalf("safe %q changed to %q", s, out)
			}
		}
		// the Writer, fed in two pieces, agrees with String
		var b bytes.Buffer
		w := NewWriter(&b)
		if cut < 0 {
			cut = -cut
		}
		cut %= len(s) + 1
		w.Write([]byte(s[:cut]))
		w.Write([]byte(s[cut:]))
		w.Flush()
		if b.String() != String(s) {
			t.Fatalf("Writer %q != String %q", b.String(), String(s))
		}
		// JSON through the Writer decodes to the same value
		js, _ := json.Marshal(map[string]string{"k": s})
		b.Reset()
		w = NewWriter(&b)
		w.Write(js)
		w.Flush()
		var back map[string]string
		if err := json.Unmarshal(b.Bytes(), &back); err != nil {
			t.Fatalf("JSON broken by the Writer: %v: %s", err, b.String())
		}
		var want map[string]string
		json.Unmarshal(js, &want)
		if back["k"] != want["k"] {
			t.Fatalf("JSON value changed: %q != %q", back["k"], want["k"])
		}
		if strings.ContainsAny(b.String(), "\x1b\x07\u202e") {
			t.Fatal("raw escape in sanitized JSON")
		}
	})
}
