// Package kube decodes kubectl output (`kubectl get -o yaml|json`) into
// typed Kubernetes API objects from k8s.io/api, remembering the line each
// object starts on so findings can cite it.
//
// Accepted shapes: a single object, a List (kind "List" or "<Kind>List",
// items with or without their own kind), a JSON array of objects, and
// multi-document YAML. sigs.k8s.io/yaml reads only the first document of a
// stream, so documents are split here on "---" lines and decoded one by
// one; a bad document is reported with its line and skipped, the others
// are kept.
//
// Decoding is bounded: YAML is parsed into go.yaml.in/yaml/v3 nodes and
// converted to JSON by our own walker, which caps nesting depth and the
// number of nodes produced after alias expansion, so a "billion laughs"
// document fails fast instead of exhausting memory.
//
// The package knows nothing about analysis: it returns objects and
// problems; analysis/model decides what they mean.
package kube

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Limits bound the work one file may cause.
type Limits struct {
	// DocBytes caps one YAML document (JSON files are streamed and only
	// bounded by the bundle's per-file limit).
	DocBytes int
	// Depth caps nesting of mappings and sequences. Real objects stay
	// below 30; encoding/json itself stops at 10000.
	Depth int
	// Nodes caps YAML nodes produced by one document after expanding
	// aliases: the defence against alias bombs.
	Nodes int
}

// DefaultLimits fit the largest real kubectl lists (tens of thousands of
// pods in one document).
func DefaultLimits() Limits {
	return Limits{DocBytes: 256 << 20, Depth: 100, Nodes: 50_000_000}
}

// Object is one decoded API object.
type Object struct {
	Kind       string
	APIVersion string
	Namespace  string
	Name       string
	// Line is the 1-based line of the file where the object starts; Doc
	// the 1-based YAML document (1 for JSON).
	Line int
	Doc  int
	// Obj is the typed object (*corev1.Pod, *networkingv1.Ingress, ...;
	// see Kinds), or nil for a kind this package does not type. Ingress of
	// extensions/v1beta1 and networking.k8s.io/v1beta1 is converted to
	// networking.k8s.io/v1 and Converted says from what.
	Obj       any
	Converted string
	// Raw is the object's JSON when Obj is nil (unknown kinds are kept).
	Raw json.RawMessage
}

// Problem is a document or object that could not be decoded.
type Problem struct {
	Line    int
	Message string
}

func (p Problem) Error() string { return fmt.Sprintf("line %d: %s", p.Line, p.Message) }

// Decode reads one file's content and calls fn for every object in file
// order. It never fails as a whole: what it cannot read is a Problem.
func Decode(data []byte, lim Limits, fn func(Object)) []Problem {
	ps, _ := decodeBudget(data, lim, fn)
	return ps
}

// decodeBudget is Decode that also returns the alias budget, whose spending
// the tests bound.
func decodeBudget(data []byte, lim Limits, fn func(Object)) ([]Problem, *budget) {
	if lim.Depth <= 0 {
		lim = DefaultLimits()
	}
	d := &decoder{lim: lim, fn: fn, data: data, budget: newBudget(lim, len(data))}
	return d.decode(), d.budget
}

func (d *decoder) decode() []Problem {
	data := d.data
	body := bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	off := len(data) - len(body)
	trim := bytes.TrimLeft(body, " \t\r\n")
	if len(trim) == 0 {
		return nil
	}
	if trim[0] == '{' || trim[0] == '[' {
		// JSON (kubectl -o json). A YAML flow document also starts like
		// this; if it is not valid JSON, try it as YAML.
		if d.json(off+len(body)-len(trim), 1) {
			return d.problems
		}
		d.problems = nil
	}
	d.yamlStream(off)
	return d.problems
}

type decoder struct {
	lim      Limits
	fn       func(Object)
	data     []byte
	problems []Problem
	// line counting cache: lines before offset lastOff
	lastOff, lastLine int
	// whole disables the per-item List path (tests compare both)
	whole bool
	// budget bounds alias expansion over the whole file
	budget      *budget
	skippedDocs int
}

func (d *decoder) problem(line int, format string, a ...any) {
	d.problems = append(d.problems, Problem{Line: line, Message: fmt.Sprintf(format, a...)})
}

// lineAt returns the 1-based line of byte offset off. Offsets are asked
// for in increasing order, so counting resumes where it stopped.
func (d *decoder) lineAt(off int) int {
	if off < d.lastOff {
		d.lastOff, d.lastLine = 0, 0
	}
	if off > len(d.data) {
		off = len(d.data)
	}
	d.lastLine += bytes.Count(d.data[d.lastOff:off], []byte{'\n'})
	d.lastOff = off
	return d.lastLine + 1
}

// item is one object's JSON with where it starts.
type item struct {
	raw  []byte
	line int
}

// json streams a JSON document starting at off. It returns false when
// the text is not JSON at all (so the caller may try YAML).
func (d *decoder) json(off, doc int) bool {
	dec := json.NewDecoder(bytes.NewReader(d.data[off:]))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return false
	}
	switch tok {
	case json.Delim('['):
		// a bare array of objects
		for dec.More() {
			it, err := d.nextRaw(dec, off)
			if err != nil {
				d.problem(it.line, "JSON: %v", err)
				return true
			}
			d.emit(it, "", "", doc)
		}
		return true
	case json.Delim('{'):
	default:
		return false
	}
	var kind, apiVersion string
	var items []item
	var hasItems bool
	top := item{line: d.lineAt(off)}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			d.problem(d.lineAt(off+int(dec.InputOffset())), "JSON: %v", err)
			return true
		}
		key, _ := kt.(string)
		if key == "items" {
			t, err := dec.Token()
			if err != nil {
				d.problem(d.lineAt(off+int(dec.InputOffset())), "JSON: %v", err)
				return true
			}
			if t == nil { // "items": null
				hasItems = true
				continue
			}
			if t != json.Delim('[') {
				d.problem(d.lineAt(off+int(dec.InputOffset())), "JSON: items is not a list")
				return true
			}
			hasItems = true
			for dec.More() {
				it, err := d.nextRaw(dec, off)
				if err != nil {
					d.problem(it.line, "JSON: %v", err)
					return true
				}
				items = append(items, it)
			}
			if _, err := dec.Token(); err != nil {
				d.problem(d.lineAt(off+int(dec.InputOffset())), "JSON: %v", err)
				return true
			}
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			d.problem(d.lineAt(off+int(dec.InputOffset())), "JSON: %v", err)
			return true
		}
		switch key {
		case "kind":
			_ = json.Unmarshal(raw, &kind)
		case "apiVersion":
			_ = json.Unmarshal(raw, &apiVersion)
		}
	}
	if _, err := dec.Token(); err != nil {
		d.problem(d.lineAt(off+int(dec.InputOffset())), "JSON: %v", err)
		return true
	}
	if hasItems && (kind == "List" || strings.HasSuffix(kind, "List") || kind == "") {
		d.emitAll(items, strings.TrimSuffix(kind, "List"), apiVersion, doc)
		return true
	}
	top.raw = d.data[off : off+int(dec.InputOffset())]
	d.emit(top, "", "", doc)
	return true
}

// nextRaw decodes the next array element as raw JSON and finds its line.
func (d *decoder) nextRaw(dec *json.Decoder, base int) (item, error) {
	start := base + int(dec.InputOffset())
	// InputOffset points after the previous token; skip the separator
	for start < len(d.data) && strings.IndexByte(" \t\r\n,", d.data[start]) >= 0 {
		start++
	}
	it := item{line: d.lineAt(start)}
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return it, err
	}
	it.raw = raw
	return it, nil
}

// typeMeta is what every object says about itself.
type typeMeta struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// emit decodes one object. defKind/defAPI apply to List items that do not
// name their own kind (typed lists from the API omit it).
func (d *decoder) emit(it item, defKind, defAPI string, doc int) {
	o, prob, ok := decodeItem(it, defKind, defAPI, doc)
	if prob != nil {
		d.problems = append(d.problems, *prob)
	}
	if ok {
		d.fn(o)
	}
}

// emitAll decodes List items in parallel batches and emits them in order.
func (d *decoder) emitAll(items []item, defKind, defAPI string, doc int) {
	parallel(len(items), func(i int) (Object, *Problem, bool) {
		return decodeItem(items[i], defKind, defAPI, doc)
	}, d.collect)
}

// collect records one decoded item, in order.
func (d *decoder) collect(o Object, p *Problem, ok bool) {
	if p != nil {
		d.problems = append(d.problems, *p)
	}
	if ok {
		d.fn(o)
	}
}

// decodeItem turns one object's JSON into an Object; it touches no shared
// state, so List items can be decoded in parallel.
func decodeItem(it item, defKind, defAPI string, doc int) (Object, *Problem, bool) {
	if len(bytes.TrimSpace(it.raw)) == 0 || bytes.Equal(bytes.TrimSpace(it.raw), []byte("null")) {
		return Object{}, nil, false
	}
	var tm typeMeta
	if err := json.Unmarshal(it.raw, &tm); err != nil {
		return Object{}, &Problem{it.line, fmt.Sprintf("not a Kubernetes object: %v", err)}, false
	}
	return decodeTyped(it, tm, defKind, defAPI, doc)
}

// decodeTyped decodes an object whose type and name are already known.
func decodeTyped(it item, tm typeMeta, defKind, defAPI string, doc int) (Object, *Problem, bool) {
	if tm.Kind == "" {
		tm.Kind = defKind
	}
	if tm.APIVersion == "" {
		tm.APIVersion = defAPI
	}
	if tm.Kind == "" {
		return Object{}, &Problem{it.line, "object without kind skipped"}, false
	}
	o := Object{Kind: tm.Kind, APIVersion: tm.APIVersion, Namespace: tm.Metadata.Namespace, Name: tm.Metadata.Name, Line: it.line, Doc: doc}
	obj, conv, err := typed(tm.Kind, tm.APIVersion, it.raw)
	if err != nil {
		return Object{}, &Problem{it.line, fmt.Sprintf("%s %s: %v", tm.Kind, objName(tm.Metadata.Namespace, tm.Metadata.Name), err)}, false
	}
	if obj == nil {
		o.Raw = append(json.RawMessage(nil), it.raw...)
	}
	o.Obj, o.Converted = obj, conv
	return o, nil, true
}

func objName(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}
