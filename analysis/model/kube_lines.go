package model

import (
	"bytes"
	"strconv"
	"sync"
)

// Field-level lines: findings cite the line of the field at fault
// (spec.ports[0].targetPort), not only the object's first line. Objects
// keep only their start line (50,000 pods stay cheap); a field's line is
// looked up on demand by walking the block YAML from there by
// indentation, the way kubectl writes it. When the walk cannot follow
// (JSON, flow style, unexpected layout), the deepest field found — at
// worst the object's own line — is returned.

var fieldMu sync.Mutex

// maxFieldLineFile bounds the files FieldLine reads again.
const maxFieldLineFile = 8 << 20

// FieldLine returns the evidence for a field of an object: its file and
// the line of path (keys, or decimal indexes into sequences), with the
// text of that line as excerpt.
func (c *Cluster) FieldLine(src Source, path ...string) Source {
	lines := c.kubeLines(src.File)
	if lines == nil || src.Line < 1 || src.Line > len(lines) {
		return src
	}
	line, _ := walkYAML(lines, src.Line-1, path)
	return Source{File: src.File, Line: line + 1}
}

// kubeLines caches the lines of a cluster/ file that findings cite.
func (c *Cluster) kubeLines(file string) [][]byte {
	fieldMu.Lock()
	defer fieldMu.Unlock()
	k := &c.Kube
	if k.lines == nil {
		k.lines = map[string][][]byte{}
	}
	if l, ok := k.lines[file]; ok {
		return l
	}
	// a huge file (50,000 pods) is not held twice for a few citations:
	// its objects are cited by their first line
	if c.Bundle.Size(file) > maxFieldLineFile {
		k.lines[file] = nil
		return nil
	}
	data, err := c.Bundle.ReadFile(file)
	var l [][]byte
	if err == nil && len(data) > 0 && data[0] != '{' && data[0] != '[' {
		l = bytes.Split(data, []byte("\n"))
	}
	k.lines[file] = l
	return l
}

func lineIndent(l []byte) int {
	for i, c := range l {
		if c != ' ' {
			if c == '#' {
				return -1
			}
			return i
		}
	}
	return -1
}

// walkYAML follows path from the object starting at line start (0-based)
// and returns the line reached and how many path elements were found.
func walkYAML(lines [][]byte, start int, path []string) (int, int) {
	l := lines[start]
	ind := lineIndent(l)
	if ind < 0 {
		return start, 0
	}
	// "- apiVersion: v1": the object's keys sit after the dash
	if bytes.HasPrefix(l[ind:], []byte("- ")) {
		ind += 2
	}
	cur, found := start, 0
	from := start // first line of the current block
	for _, el := range path {
		if n, err := strconv.Atoi(el); err == nil {
			// the n-th "- " at the block's indent (kubectl puts a
			// sequence at its key's indent; also accept deeper)
			next, nind, ok := seqItem(lines, from, ind, n)
			if !ok {
				return cur, found
			}
			cur, from, ind = next, next, nind
			found++
			continue
		}
		next, ok := findKey(lines, from, ind, el)
		if !ok {
			return cur, found
		}
		cur, from = next, next+1
		found++
		// the value's block starts on the next line, indented more (or
		// a sequence at the same indent)
		if from < len(lines) {
			if ni := lineIndent(lines[from]); ni > ind || ni == ind && bytes.HasPrefix(lines[from][ni:], []byte("- ")) {
				ind = ni
			}
		}
	}
	return cur, found
}

// findKey finds "key:" at indent ind, from line from, staying inside the
// block (stops at a line indented less). The first line of a "- " item
// carries a key at ind too.
func findKey(lines [][]byte, from, ind int, key string) (int, bool) {
	for i := from; i < len(lines); i++ {
		l := lines[i]
		li := lineIndent(l)
		if li < 0 {
			continue
		}
		c := l[li:]
		if li == ind-2 && bytes.HasPrefix(c, []byte("- ")) {
			if i != from {
				return 0, false // the next item of the parent sequence
			}
			li, c = ind, c[2:]
		}
		if li < ind {
			return 0, false
		}
		if li == ind && bytes.HasPrefix(c, []byte(key)) && len(c) > len(key) && c[len(key)] == ':' {
			return i, true
		}
	}
	return 0, false
}

// seqItem finds the n-th item of the sequence whose dashes sit at ind
// (or the first deeper indent used), returning its line and the indent of
// the item's keys.
func seqItem(lines [][]byte, from, ind, n int) (int, int, bool) {
	dash := -1
	count := 0
	for i := from; i < len(lines); i++ {
		l := lines[i]
		li := lineIndent(l)
		if li < 0 {
			continue
		}
		if li < ind {
			return 0, 0, false
		}
		isDash := bytes.HasPrefix(l[li:], []byte("- ")) || bytes.Equal(l[li:], []byte("-"))
		if dash < 0 {
			if !isDash {
				return 0, 0, false
			}
			dash = li
		}
		if li < dash {
			return 0, 0, false
		}
		if li == dash {
			if !isDash {
				return 0, 0, false
			}
			if count == n {
				return i, dash + 2, true
			}
			count++
		}
	}
	return 0, 0, false
}
