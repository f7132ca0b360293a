// Package tencent reads Tencent Cloud API responses (tke, cvm, vpc, clb) as
// tccli prints them: either wrapped in {"Response": {...}} or the bare
// result object, possibly several pages concatenated in one file.
//
// Only the fields tkesnap uses are declared, by hand (no SDK). Field types
// follow the API reference; where the published examples drift between
// versions (SecurityGroupPolicySet.Version is 60 in one and "60" in
// another, LoadBalancerPassToTarget is false or 0) the Flex types accept
// both. Every list item remembers the line of the input it starts on so
// that findings can cite it.
//
// The package knows nothing about analysis: it turns bytes into structs.
package tencent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxBytes bounds one response file; bigger inputs are refused rather than
// decoded (the bundle reader already bounds files, this guards direct use).
const MaxBytes = 64 << 20

// Error is a decoding error with the line of the input it happened on.
type Error struct {
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// APIError is the {"Response": {"Error": {"Code", "Message"}}} form tccli
// prints when the call itself failed (no permission, wrong region ...).
type APIError struct {
	Code, Message, RequestID string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("API error %s: %s", e.Code, e.Message)
}

// LineOf returns the 1-based line of byte offset off in data.
func LineOf(data []byte, off int64) int {
	if off < 0 {
		return 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	return bytes.Count(data[:off], []byte{'\n'}) + 1
}

// documents splits data into its top-level JSON values and unwraps each
// {"Response": {...}}. It returns the raw result objects in order.
// A file holding nothing but whitespace yields no documents and no error.
func documents(data []byte) ([]json.RawMessage, error) {
	if len(data) > MaxBytes {
		return nil, &Error{Msg: fmt.Sprintf("file larger than %d bytes", MaxBytes)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []json.RawMessage
	for {
		start := dec.InputOffset()
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, syntaxError(data, start, err)
		}
		body := bytes.TrimSpace(raw)
		if len(body) == 0 || body[0] != '{' {
			return out, &Error{Line: LineOf(data, skipSpace(data, start)), Msg: "expected a JSON object (tccli response)"}
		}
		var wrap struct {
			Response json.RawMessage `json:"Response"`
		}
		if err := json.Unmarshal(raw, &wrap); err != nil {
			return out, syntaxError(data, start, err)
		}
		obj := raw
		if len(wrap.Response) > 0 && !bytes.Equal(bytes.TrimSpace(wrap.Response), []byte("null")) {
			obj = wrap.Response
		}
		var e struct {
			Error *struct{ Code, Message string } `json:"Error"`
			ReqID string                          `json:"RequestId"`
		}
		// Only error responses carry "Error": skip the extra parse otherwise.
		if bytes.Contains(obj, []byte(`"Error"`)) && json.Unmarshal(obj, &e) == nil && e.Error != nil && e.Error.Code != "" {
			return out, &APIError{Code: e.Error.Code, Message: e.Error.Message, RequestID: e.ReqID}
		}
		out = append(out, obj)
	}
}

func skipSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

func syntaxError(data []byte, base int64, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &Error{Line: LineOf(data, base+se.Offset), Msg: se.Error()}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &Error{Line: LineOf(data, base+te.Offset), Msg: te.Error()}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Line: LineOf(data, int64(len(data))), Msg: "truncated JSON"}
	}
	return &Error{Line: LineOf(data, base), Msg: err.Error()}
}

// decodeInto unmarshals every document into a fresh value made by mk and
// hands it to add. Type mismatches in single fields do not stop decoding
// (encoding/json fills what it can); the first one is returned as a
// warning with its line so the caller can record it.
func decodeInto(data []byte, mk func() any, add func(v any)) error {
	docs, err := documents(data)
	var warn error
	for _, d := range docs {
		v := mk()
		if e := json.Unmarshal(d, v); e != nil && warn == nil {
			off := bytes.Index(data, d)
			warn = syntaxError(data, int64(max(off, 0)), e)
		}
		add(v)
	}
	if err != nil {
		return err
	}
	return warn
}

// itemLines walks data and returns, for every array value of an object
// member named key (at any depth, in document order), the line on which
// each element starts. Decoding the same data into structs visits those
// arrays in the same order, so the i-th decoded item gets the i-th line.
//
// It is a byte-level walk of the JSON structure (strings, nesting,
// separators), linear and allocation-light: encoding/json's Token API
// costs an allocation per token. Malformed input yields whatever was
// found; callers only use the lines when the counts match the decode.
func itemLines(data []byte, key string) [][]int {
	type frame struct {
		obj, wantKey bool
		rec          int // index into out of the array being recorded, or -1
	}
	var (
		out   [][]int
		stack []frame
		last  string // the most recent object key
		line  = 1
	)
	done := func() {
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].wantKey = true
		}
	}
	for i := 0; i < len(data); {
		ch := data[i]
		switch ch {
		case '\n':
			line++
			i++
			continue
		case ' ', '\t', '\r', ',', ':':
			i++
			continue
		}
		n := len(stack)
		if n > 0 && stack[n-1].obj && stack[n-1].wantKey {
			switch ch {
			case '}':
				stack = stack[:n-1]
				done()
				i++
			case '"':
				a, b, nl := scanString(data, i)
				last = string(data[a:b])
				line += nl
				stack[n-1].wantKey = false
				i = b + 1
			default:
				i++ // garbage where a key should be
			}
			continue
		}
		if ch == ']' || ch == '}' {
			if n > 0 {
				stack = stack[:n-1]
			}
			done()
			i++
			continue
		}
		if n > 0 && !stack[n-1].obj && stack[n-1].rec >= 0 {
			out[stack[n-1].rec] = append(out[stack[n-1].rec], line)
		}
		switch ch {
		case '{':
			stack = append(stack, frame{obj: true, wantKey: true, rec: -1})
			i++
		case '[':
			rec := -1
			if n > 0 && stack[n-1].obj && last == key {
				out = append(out, nil)
				rec = len(out) - 1
			}
			stack = append(stack, frame{rec: rec})
			i++
		case '"':
			_, b, nl := scanString(data, i)
			line += nl
			i = b + 1
			done()
		default: // number, true, false, null (or garbage)
			for i < len(data) && !isDelim(data[i]) {
				i++
			}
			done()
		}
	}
	return out
}

// scanString returns the bounds of the string body starting at the quote
// data[q], and how many newlines it spans (raw newlines are invalid JSON
// but counted so that lines stay right).
func scanString(data []byte, q int) (start, end, newlines int) {
	i := q + 1
	for i < len(data) {
		switch data[i] {
		case '\\':
			i += 2
			continue
		case '"':
			return q + 1, i, newlines
		case '\n':
			newlines++
		}
		i++
	}
	return q + 1, len(data), newlines
}

func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', ':', ']', '}', '[', '{', '"':
		return true
	}
	return false
}

// FlexString accepts a JSON string, number, bool or null and keeps its
// text: API versions disagree on whether Version, ProjectId, Port ... are
// strings or numbers.
type FlexString string

func (f *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*f = ""
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = FlexString(s)
		return nil
	}
	if b[0] == '{' || b[0] == '[' {
		return fmt.Errorf("expected a string or number, got %.20s", b)
	}
	*f = FlexString(b)
	return nil
}

func (f FlexString) String() string { return string(f) }

// FlexBool accepts true/false, 0/1 and "true"/"false"/"0"/"1":
// DescribeLoadBalancers says LoadBalancerPassToTarget is a Boolean,
// DescribeLoadBalancersDetail prints it as 0/1.
type FlexBool bool

func (f *FlexBool) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	switch strings.ToLower(s) {
	case "true", "1":
		*f = true
	case "false", "0", "", "null":
		*f = false
	default:
		return fmt.Errorf("expected a boolean, got %.20s", b)
	}
	return nil
}

// FlexInt accepts a number, a numeric string or null.
type FlexInt int64

func (f *FlexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("expected a number, got %.20s", b)
	}
	*f = FlexInt(n)
	return nil
}

// keyLine returns the line of the first object member named key, or 0.
func keyLine(data []byte, key string) int {
	pat := []byte(`"` + key + `"`)
	off := 0
	for {
		i := bytes.Index(data[off:], pat)
		if i < 0 {
			return 0
		}
		j := off + i + len(pat)
		for j < len(data) && (data[j] == ' ' || data[j] == '\t' || data[j] == '\r' || data[j] == '\n') {
			j++
		}
		if j < len(data) && data[j] == ':' {
			return LineOf(data, int64(off+i))
		}
		off = off + i + 1
	}
}
