package kube

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
)

// kubectl writes a List as
//
//	apiVersion: v1
//	items:
//	- apiVersion: v1
//	  kind: Pod
//	  ...
//	kind: List
//	metadata: ...
//
// Parsing that as one YAML tree costs memory proportional to the whole
// file (tens of millions of nodes for 50,000 pods). Each item is a block
// whose first line starts with "- " at column 0 and whose other lines are
// indented or empty, so the items can be cut out by text and parsed one
// by one (in parallel), keeping memory bounded by one batch of items. Any
// line that does not fit this layout makes splitList give up, and the
// document is parsed as a whole.

// span is one item's bytes in the document and its first line (relative
// to the document, 1-based).
type span struct {
	start, end int
	line       int
}

// splitList returns the items of a kubectl List document and the
// document without them (to read kind and apiVersion from).
func splitList(text []byte) (items []span, rest []byte, ok bool) {
	const (
		top = iota
		inItems
	)
	state := top
	var restBuf bytes.Buffer
	cur := -1
	line := 0
	sawItems := false
	for pos := 0; pos < len(text); {
		line++
		nl := bytes.IndexByte(text[pos:], '\n')
		next := len(text)
		if nl >= 0 {
			next = pos + nl + 1
		}
		l := text[pos:next]
		c := byte(' ')
		if len(bytes.TrimRight(l, "\r\n")) > 0 {
			c = l[0]
		}
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			// continuation of the current item or top-level key
			if cur < 0 {
				restBuf.Write(l)
			}
		case c == '#':
			if cur < 0 {
				restBuf.Write(l)
			}
		case state == inItems && (bytes.HasPrefix(l, []byte("- ")) || bytes.Equal(bytes.TrimRight(l, "\r\n"), []byte("-"))):
			if cur >= 0 {
				items[cur].end = pos
			}
			items = append(items, span{start: pos, line: line})
			cur = len(items) - 1
		case c == '-' || c == '[' || c == '{' || c == '&' || c == '*' || c == '!' || c == '?' || c == '|' || c == '>' || c == '%' || c == '"' || c == '\'':
			return nil, nil, false
		default:
			// a top-level key
			if cur >= 0 {
				items[cur].end = pos
				cur = -1
			}
			key := string(bytes.TrimRight(l, "\r\n"))
			if key == "items:" {
				if sawItems {
					return nil, nil, false
				}
				sawItems = true
				state = inItems
				pos = next
				continue
			}
			if strings.HasPrefix(key, "items:") {
				return nil, nil, false // items: [] or a flow list: let the full parser read it
			}
			state = top
			restBuf.Write(l)
		}
		pos = next
	}
	if cur >= 0 {
		items[cur].end = len(text)
	}
	if !sawItems {
		return nil, nil, false
	}
	return items, restBuf.Bytes(), true
}

// listBatch bounds how many items are decoded (and held as trees) at once.
const listBatch = 256

// yamlList decodes a split List. It returns false when the rest of the
// document does not parse (the caller then parses the whole document and
// reports its error).
func (d *decoder) yamlList(text []byte, first, doc int, items []span, rest []byte) bool {
	var head yaml.Node
	if err := yaml.Unmarshal(rest, &head); err != nil {
		return false
	}
	n := &head
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	kind, apiVersion := "", ""
	if n.Kind == yaml.MappingNode {
		kind, apiVersion = scalarField(n, "kind"), scalarField(n, "apiVersion")
	}
	if kind != "" && !strings.HasSuffix(kind, "List") {
		return false
	}
	itemKind := strings.TrimSuffix(kind, "List")
	parallel(len(items), func(i int) (Object, *Problem, bool) {
		sp := items[i]
		return d.decodeYAMLItem(text[sp.start:sp.end], first+sp.line-1, itemKind, apiVersion, doc)
	}, d.collect)
	if n := d.budget.skipped.Swap(0); n > 0 {
		d.problem(first, "YAML document %d: %d more List items not decoded: the file's alias-expansion budget is spent", doc, n)
	}
	return true
}

// parallel runs decode(0..n-1) on GOMAXPROCS workers in batches of
// listBatch and hands the results to emit in index order, so memory holds
// one batch of decoded items at a time beyond what emit keeps.
func parallel(n int, decode func(i int) (Object, *Problem, bool), emit func(Object, *Problem, bool)) {
	type result struct {
		o    Object
		prob *Problem
		ok   bool
	}
	workers := runtime.GOMAXPROCS(0)
	if n < 2*workers || workers == 1 {
		for i := 0; i < n; i++ {
			emit(decode(i))
		}
		return
	}
	res := make([]result, listBatch)
	for b := 0; b < n; b += listBatch {
		m := min(listBatch, n-b)
		var wg sync.WaitGroup
		next := make(chan int, m)
		for i := 0; i < m; i++ {
			next <- i
		}
		close(next)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					o, p, ok := decode(b + i)
					res[i] = result{o, p, ok}
				}
			}()
		}
		wg.Wait()
		for i := 0; i < m; i++ {
			emit(res[i].o, res[i].prob, res[i].ok)
			res[i] = result{}
		}
	}
}

// decodeYAMLItem parses one "- ..." block: the dash becomes a space, so
// the item is a mapping at the indentation its other lines already have.
func (d *decoder) decodeYAMLItem(raw []byte, line int, defKind, defAPI string, doc int) (Object, *Problem, bool) {
	b := make([]byte, len(raw))
	copy(b, raw)
	b[0] = ' '
	if len(bytes.TrimSpace(b)) == 0 {
		return Object{}, nil, false // a null item, skipped as in a whole document
	}
	if len(b) > d.lim.DocBytes {
		return Object{}, &Problem{line, fmt.Sprintf("YAML document %d: item of %d bytes over the %d-byte limit; skipped", doc, len(b), d.lim.DocBytes)}, false
	}
	var fast bytes.Buffer
	if fastJSON(b, d.lim, &fast) {
		// the object starts on its first line with content (as the
		// node line of a whole-document parse)
		first := line
		for _, l := range bytes.Split(b, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				break
			}
			first++
		}
		return decodeItem(item{raw: fast.Bytes(), line: first}, defKind, defAPI, doc)
	}
	if d.budget.exhausted.Load() {
		// counted, and named once for the whole list by yamlList
		d.budget.skipped.Add(1)
		return Object{}, nil, false
	}
	var root yaml.Node
	c := newConverter(d.lim, d.budget, len(b))
	if err := yaml.Unmarshal(b, &root); err != nil {
		return Object{}, &Problem{line + yamlErrLine(err) - 1, fmt.Sprintf("YAML document %d: %s", doc, cleanYAMLErr(err))}, false
	}
	if root.Kind == 0 || root.Kind == yaml.DocumentNode && len(root.Content) == 0 {
		return Object{}, nil, false // only a comment: a null item
	}
	if root.Kind == yaml.DocumentNode && root.Content[0].Line > 0 {
		line += root.Content[0].Line - 1 // where the object's node starts
	}
	js, err := c.json(&root)
	if err != nil {
		return Object{}, &Problem{line, fmt.Sprintf("YAML document %d: %v", doc, err)}, false
	}
	return decodeItem(item{raw: js, line: line}, defKind, defAPI, doc)
}
