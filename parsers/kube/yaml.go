package kube

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"

	yaml "go.yaml.in/yaml/v3"
)

// yamlStream splits data (from off) into documents on "---" lines and
// decodes each. A document separator is "---" at column 0, alone or
// followed by a space (YAML 1.2 §9.1.3 "directives end marker"); "..."
// at column 0 ends a document.
func (d *decoder) yamlStream(off int) {
	doc := 0
	start, startLine := off, d.lineAt(off)
	line := startLine
	flush := func(end int) {
		if start < end {
			d.yamlDoc(d.data[start:end], startLine, &doc)
		}
	}
	for pos := off; pos < len(d.data); {
		nl := bytes.IndexByte(d.data[pos:], '\n')
		next := len(d.data)
		if nl >= 0 {
			next = pos + nl + 1
		}
		l := bytes.TrimRight(d.data[pos:next], "\r\n")
		switch {
		case bytes.Equal(l, []byte("---")) || bytes.HasPrefix(l, []byte("--- ")) || bytes.HasPrefix(l, []byte("---\t")):
			flush(pos)
			// "--- value" keeps the rest of the line in the new document
			start, startLine = pos+3, line
		case bytes.Equal(l, []byte("...")) || bytes.HasPrefix(l, []byte("... ")):
			flush(pos)
			start, startLine = next, line+1
		}
		pos = next
		line++
	}
	flush(len(d.data))
	if d.skippedDocs > 0 {
		d.problem(d.lineAt(len(d.data)), "%d more YAML documents not decoded: the file's alias-expansion budget is spent", d.skippedDocs)
	}
}

// yamlDoc decodes one document whose first byte is on line first. Only
// documents with content are counted in *docn (a comment header before the
// first "---" is no document).
func (d *decoder) yamlDoc(text []byte, first int, docn *int) {
	if len(bytes.TrimSpace(text)) == 0 || isComments(text) {
		return
	}
	*docn++
	doc := *docn
	if d.budget.exhausted.Load() {
		// the file's alias budget is spent: the rest is not decoded
		d.skippedDocs++
		return
	}
	if len(text) > d.lim.DocBytes {
		d.problem(first, "YAML document %d is %d bytes, over the %d-byte limit; skipped", doc, len(text), d.lim.DocBytes)
		return
	}
	if items, rest, ok := splitList(text); ok && len(items) > 0 && !d.whole {
		if d.yamlList(text, first, doc, items, rest) {
			return
		}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(text, &root); err != nil {
		d.problem(first+yamlErrLine(err)-1, "YAML document %d: %v", doc, cleanYAMLErr(err))
		return
	}
	n := &root
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	abs := func(l int) int { return first + l - 1 }
	c := newConverter(d.lim, d.budget, len(text))
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.SequenceNode { // a bare list of objects
			for i, it := range n.Content {
				raw, err := c.json(it)
				if err != nil {
					d.problem(abs(it.Line), "YAML document %d: %v", doc, err)
					if d.budget.exhausted.Load() {
						d.skippedItems(abs(it.Line), doc, len(n.Content)-i-1)
						return
					}
					continue
				}
				d.emit(item{raw: raw, line: abs(it.Line)}, "", "", doc)
			}
			return
		}
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		d.problem(abs(n.Line), "YAML document %d is not an object", doc)
		return
	}
	kind, apiVersion := scalarField(n, "kind"), scalarField(n, "apiVersion")
	if items := field(n, "items"); items != nil && (kind == "" || strings.HasSuffix(kind, "List")) {
		itemKind := strings.TrimSuffix(kind, "List")
		if items.Kind == yaml.AliasNode {
			items = items.Alias
		}
		if items.Kind != yaml.SequenceNode {
			if items.Tag != "!!null" {
				d.problem(abs(items.Line), "YAML document %d: items is not a list", doc)
			}
			return
		}
		for i, it := range items.Content {
			raw, err := c.json(it)
			if err != nil {
				d.problem(abs(it.Line), "YAML document %d: %v", doc, err)
				if d.budget.exhausted.Load() {
					d.skippedItems(abs(it.Line), doc, len(items.Content)-i-1)
					return
				}
				continue
			}
			d.emit(item{raw: raw, line: abs(it.Line)}, itemKind, apiVersion, doc)
		}
		return
	}
	raw, err := c.json(n)
	if err != nil {
		d.problem(abs(n.Line), "YAML document %d: %v", doc, err)
		return
	}
	d.emit(item{raw: raw, line: abs(n.Line)}, "", "", doc)
}

// skippedItems names the items of a list left undecoded once the file's
// alias budget is spent.
func (d *decoder) skippedItems(line, doc, n int) {
	if n > 0 {
		d.problem(line, "YAML document %d: %d more List items not decoded: the file's alias-expansion budget is spent", doc, n)
	}
}

func isComments(text []byte) bool {
	for _, l := range bytes.Split(text, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) > 0 && l[0] != '#' {
			return false
		}
	}
	return true
}

func field(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalarField(m *yaml.Node, key string) string {
	if v := field(m, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// yamlErrLine digs "line N:" out of a yaml.v3 error (it has no typed
// position).
func yamlErrLine(err error) int {
	s := err.Error()
	if i := strings.Index(s, "line "); i >= 0 {
		j := i + 5
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if n, e := strconv.Atoi(s[i+5 : j]); e == nil && n > 0 {
			return n
		}
	}
	return 1
}

func cleanYAMLErr(err error) string { return strings.TrimPrefix(err.Error(), "yaml: ") }

// converter turns a yaml.v3 node tree into JSON, bounded in depth and by
// the budget of the file it comes from (aliases are expanded, so their
// cost is counted each time they are used: the billion-laughs defence).
type converter struct {
	lim Limits
	b   *budget
	buf bytes.Buffer
	// spent by the current json call: nodes written inside an alias's
	// expansion, and the JSON bytes of finished expansions
	nodes, aliasBytes int
	inAlias           int // expansions the writer is inside of
	aliasStart        int // buf offset where the outermost one began
}

// budget is the alias-expansion allowance of one whole file, shared by all
// its documents and List items (also items decoded in parallel): one
// budget per document or per item let 8,000 billion-laughs documents or a
// list of items aliasing one big anchor each spend it again (minutes of
// CPU). Only what aliases add is counted — a node or byte of the text
// itself costs its own length to write — so the allowance is a constant,
// not a share of the file: a 16 MB list of aliases spent a budget grown
// with its size for minutes. kubectl never writes anchors; hand-written
// YAML merges a few.
type budget struct {
	nodes, bytes       atomic.Int64
	maxNodes, maxBytes int64
	size               int
	exhausted          atomic.Bool
	skipped            atomic.Int64 // List items not decoded once exhausted
}

// Alias allowance of one file: nodes and JSON bytes produced by expanding
// aliases.
const (
	aliasNodes = 1_000_000
	aliasBytes = 16 << 20
)

func newBudget(lim Limits, size int) *budget {
	return &budget{maxNodes: int64(min(lim.Nodes, aliasNodes)), maxBytes: aliasBytes, size: size}
}

// newConverter makes a converter spending b (a fresh budget for size
// bytes when b is nil).
func newConverter(lim Limits, b *budget, size int) *converter {
	if b == nil {
		b = newBudget(lim, size)
	}
	return &converter{lim: lim, b: b}
}

// errBudget is the alias-bomb stop; the decoder then skips the rest of
// the file.
type errBudget struct {
	line int
	b    *budget
}

func (e *errBudget) Error() string {
	return fmt.Sprintf("line %d: alias expansion exceeds this file's budget (%d YAML nodes or %d bytes of JSON made by aliases; alias bomb?); skipped",
		e.line, e.b.maxNodes, e.b.maxBytes)
}

func (c *converter) json(n *yaml.Node) ([]byte, error) {
	c.buf.Reset()
	c.nodes, c.aliasBytes, c.inAlias = 0, 0, 0
	err := c.write(n, 0)
	if c.inAlias > 0 { // stopped inside an expansion
		c.aliasBytes += c.buf.Len() - c.aliasStart
	}
	c.b.nodes.Add(int64(c.nodes))
	c.b.bytes.Add(int64(c.aliasBytes))
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), c.buf.Bytes()...), nil
}

func (c *converter) write(n *yaml.Node, depth int) error {
	if c.b.exhausted.Load() {
		return &errBudget{line: n.Line, b: c.b}
	}
	if c.inAlias > 0 {
		c.nodes++
		if int64(c.nodes)+c.b.nodes.Load() > c.b.maxNodes ||
			int64(c.aliasBytes+c.buf.Len()-c.aliasStart)+c.b.bytes.Load() > c.b.maxBytes {
			c.b.exhausted.Store(true)
			return &errBudget{line: n.Line, b: c.b}
		}
	}
	if depth > c.lim.Depth {
		return fmt.Errorf("line %d: nesting deeper than %d; skipped", n.Line, c.lim.Depth)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			c.buf.WriteString("null")
			return nil
		}
		return c.write(n.Content[0], depth)
	case yaml.AliasNode:
		if n.Alias == nil {
			return fmt.Errorf("line %d: unknown alias", n.Line)
		}
		if c.inAlias == 0 {
			c.aliasStart = c.buf.Len()
		}
		c.inAlias++
		err := c.write(n.Alias, depth+1)
		if err != nil {
			return err // json counts the partial expansion
		}
		c.inAlias--
		if c.inAlias == 0 {
			c.aliasBytes += c.buf.Len() - c.aliasStart
		}
		return nil
	case yaml.SequenceNode:
		c.buf.WriteByte('[')
		for i, e := range n.Content {
			if i > 0 {
				c.buf.WriteByte(',')
			}
			if err := c.write(e, depth+1); err != nil {
				return err
			}
		}
		c.buf.WriteByte(']')
		return nil
	case yaml.MappingNode:
		c.buf.WriteByte('{')
		first := true
		// duplicate keys are invalid YAML (yaml.v3 refuses them when
		// decoding into a map, but not into a Node): refuse too, rather
		// than let JSON's last-one-wins pick a value
		var seen map[string]bool
		if len(n.Content) > 16 {
			seen = make(map[string]bool, len(n.Content)/2)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				// "<<: *base" merge keys: kubectl never writes them;
				// expanding them would need override rules, so refuse
				// rather than guess.
				return fmt.Errorf("line %d: YAML merge keys (<<) are not supported", k.Line)
			}
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: mapping key is not a scalar", k.Line)
			}
			dup := false
			if seen != nil {
				dup = seen[k.Value]
				seen[k.Value] = true
			} else {
				for j := 0; j < i; j += 2 {
					if n.Content[j].Value == k.Value {
						dup = true
					}
				}
			}
			if dup {
				return fmt.Errorf("line %d: mapping key %q already defined", k.Line, k.Value)
			}
			if !first {
				c.buf.WriteByte(',')
			}
			first = false
			kb, _ := json.Marshal(k.Value)
			c.buf.Write(kb)
			c.buf.WriteByte(':')
			if err := c.write(v, depth+1); err != nil {
				return err
			}
		}
		c.buf.WriteByte('}')
		return nil
	case yaml.ScalarNode:
		return c.scalar(n)
	}
	return fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

// scalar writes a scalar the way sigs.k8s.io/yaml (YAML→JSON) would for
// kubectl output: resolved tags of YAML 1.2's core schema (yaml.v3's
// ShortTag), plain strings otherwise.
func (c *converter) scalar(n *yaml.Node) error { return writeScalar(&c.buf, n) }

func writeScalar(buf *bytes.Buffer, n *yaml.Node) error {
	c := struct{ buf *bytes.Buffer }{buf}
	switch n.ShortTag() {
	case "!!null":
		c.buf.WriteString("null")
		return nil
	case "!!bool":
		switch strings.ToLower(n.Value) {
		case "true":
			c.buf.WriteString("true")
			return nil
		case "false":
			c.buf.WriteString("false")
			return nil
		}
		var b bool
		if err := n.Decode(&b); err == nil {
			c.buf.WriteString(strconv.FormatBool(b))
			return nil
		}
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			c.buf.WriteString(strconv.FormatInt(i, 10))
			return nil
		}
		var i int64
		if err := n.Decode(&i); err == nil {
			c.buf.WriteString(strconv.FormatInt(i, 10))
			return nil
		}
		var u uint64
		if err := n.Decode(&u); err == nil {
			c.buf.WriteString(strconv.FormatUint(u, 10))
			return nil
		}
	case "!!float":
		var f float64
		if err := n.Decode(&f); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			c.buf.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
			return nil
		}
	}
	b, _ := json.Marshal(n.Value)
	c.buf.Write(b)
	return nil
}

// YAMLToJSON converts one YAML (or JSON) document to JSON under the same
// bounds as Decode; for configuration embedded in ConfigMaps
// (ip-masq-agent, kube-proxy). It returns the line of the first error.
func YAMLToJSON(data []byte, lim Limits) ([]byte, error) {
	if lim.Depth <= 0 {
		lim = DefaultLimits()
	}
	if len(data) > lim.DocBytes {
		return nil, fmt.Errorf("document is %d bytes, over the %d-byte limit", len(data), lim.DocBytes)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s", cleanYAMLErr(err))
	}
	c := newConverter(lim, nil, len(data))
	return c.json(&root)
}
