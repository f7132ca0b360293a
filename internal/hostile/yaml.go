// Package hostile generates the large inputs of the hostile corpus
// (testdata/hostile): what the red team of issue 16 fed the analyzer,
// rebuilt byte for byte by code so that megabytes of attack data are not
// committed. Tests write them into temporary folders.
package hostile

import (
	"bytes"
	"fmt"
	"strings"
)

// Laughs is one "billion laughs" YAML document: nine levels of anchors,
// each aliasing the previous one nine times (9^9 ≈ 387M nodes expanded)
// in a few hundred bytes.
func Laughs(prefix string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\n", prefix)
	b.WriteString("data:\n")
	b.WriteString("  a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n")
	for l := 'b'; l <= 'i'; l++ {
		p := string(l - 1)
		fmt.Fprintf(&b, "  %c: &%c [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", l, l, p, p, p, p, p, p, p, p, p)
	}
	return b.String()
}

// LaughsStream is n billion-laughs documents in one file (8,000 make
// 3.3 MB): a budget reset per document lets each spend it again.
func LaughsStream(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		b.WriteString("---\n")
		b.WriteString(Laughs(fmt.Sprintf("l%d", i)))
	}
	return b.Bytes()
}

// AliasList is a List whose items each alias one big anchor, grown by
// nested aliases to about nodes nodes: a budget reset per List item lets
// every item spend it again. items items make the file; 14 KB is ~3,000.
func AliasList(items, nodes int) []byte {
	var b bytes.Buffer
	b.WriteString("apiVersion: v1\nkind: List\n")
	// the anchor: levels of 10 aliases of the level below
	b.WriteString("big:\n  l0: &l0 {apiVersion: v1, kind: Pod, metadata: {name: p, labels: {a: b, c: d, e: f, g: h}}}\n")
	level, size := 0, 12
	for size < nodes {
		level++
		fmt.Fprintf(&b, "  l%d: &l%d [", level, level)
		for i := range 10 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "*l%d", level-1)
		}
		b.WriteString("]\n")
		size *= 10
	}
	// each item is a Pod whose spec aliases the anchor
	b.WriteString("items: [")
	for i := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "{kind: Pod, metadata: {name: p%d}, spec: {x: *l%d}}", i, level)
	}
	b.WriteString("]\n")
	return b.Bytes()
}

// ScalarAliases is a List of items that each alias one long scalar: one
// node per alias, but each copies the scalar (quadratic bytes).
func ScalarAliases(scalar, items int) []byte {
	var b bytes.Buffer
	b.WriteString("apiVersion: v1\nkind: List\nbig: &s ")
	b.WriteString(strings.Repeat("x", scalar))
	b.WriteString("\nitems: [")
	for i := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("{kind: ConfigMap, metadata: {name: *s}}")
	}
	b.WriteString("]\n")
	return b.Bytes()
}
