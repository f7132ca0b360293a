// Package model joins everything a bundle says into one cluster view that
// checks and the tracer read. Checks never open files: every input they
// use is a field here, with the file (and line) it came from so findings
// can cite it.
//
// Each input domain lives in its own file with its own loader:
// kube.go (cluster/), cloud.go (cloud/), node.go + netfilter.go +
// datapath.go (nodes/<name>/), capture.go (captures/).
package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"tkesnap/analysis/finding"
	"tkesnap/parsers/bundle"
	"tkesnap/parsers/iptables"
)

// Cluster is the joined view of one bundle.
type Cluster struct {
	Bundle   *bundle.Bundle
	Manifest *bundle.Manifest
	// ManifestLines[i] is the line of manifest.json where Manifest.Files[i]
	// starts, so findings about a collection command can cite it.
	ManifestLines []int

	Kube     Kube
	Cloud    Cloud
	Nodes    []*Node // sorted by name
	Captures []*Capture
	Flows    []Flow

	Problems []finding.Problem

	// RulesBudget bounds the estimated memory of the iptables rules held
	// for all nodes (0: DefaultRulesBudget); a dump that would go over it
	// is not loaded and says so.
	RulesBudget int64
	rules       *iptables.Interner
}

// DefaultRulesBudget keeps the parsed iptables rules of a bundle within
// 1 GiB (estimated), so the whole analysis stays under 2 GiB even for
// dumps that share nothing (identical rules across nodes and backends
// count once). Nodes load in parallel: when a bundle goes over it, which
// dumps were loaded first and which are cut depends on that order.
const DefaultRulesBudget = 1 << 30

// Flow is one failing flow the customer reported (flows.json) or one given
// with --flow FROM=TO.
type Flow struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Proto   string `json:"proto,omitempty"`
	Symptom string `json:"symptom,omitempty"`
	// Host and Path narrow an ingress:ns/name target (HTTP 404 cases).
	Host string `json:"host,omitempty"`
	Path string `json:"path,omitempty"`
}

// Problem records that a file of the bundle could not be read or parsed.
func (c *Cluster) Problem(file string, line int, format string, a ...any) {
	c.Problems = append(c.Problems, finding.Problem{File: file, Line: line, Message: fmt.Sprintf(format, a...)})
}

// Node returns a node by name (the folder name below nodes/), or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// LayoutParts are the top-level entries of a tkesnap bundle (docs/design.md §2).
var LayoutParts = []string{"manifest.json", "flows.json", "cluster/", "cloud/", "nodes/", "captures/"}

// Layout returns the parts of LayoutParts that b has. A bundle with none
// of them cannot be analysed at all.
func Layout(b *bundle.Bundle) []string {
	var have []string
	for _, p := range LayoutParts {
		if dir, ok := strings.CutSuffix(p, "/"); ok {
			if len(b.Glob(dir+"/*")) > 0 || len(b.Dir(dir)) > 0 {
				have = append(have, p)
			}
		} else if b.Has(p) {
			have = append(have, p)
		}
	}
	return have
}

// Load builds the model from an opened bundle. It never fails: whatever
// cannot be read is a Problem, and checks see what is missing.
func Load(b *bundle.Bundle) *Cluster {
	c := &Cluster{Bundle: b, Manifest: b.Manifest, RulesBudget: DefaultRulesBudget}
	for _, p := range b.Problems {
		c.Problems = append(c.Problems, finding.Problem{File: p.File, Message: p.Message})
	}
	c.loadManifestLines()
	c.loadFlows()
	c.loadKube()
	c.loadCloud()
	c.loadNodes()
	c.loadCaptures()
	return c
}

func (c *Cluster) loadManifestLines() {
	if c.Manifest == nil {
		return
	}
	data, err := c.Bundle.ReadFile("manifest.json")
	if err != nil {
		return
	}
	// Records are the only objects with a "path" key; the collector writes
	// one key per line, a compact manifest gets line 1 for every record.
	line := 1
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '\n':
			line++
		case '"':
			if bytes.HasPrefix(data[i:], []byte(`"path"`)) {
				c.ManifestLines = append(c.ManifestLines, line)
			}
		}
	}
	if len(c.ManifestLines) != len(c.Manifest.Files) {
		c.ManifestLines = nil
	}
}

func (c *Cluster) loadFlows() {
	const name = "flows.json"
	if !c.Bundle.Has(name) {
		return
	}
	data, err := c.Bundle.ReadFile(name)
	if err != nil {
		c.Problem(name, 0, "%v", err)
		return
	}
	var fl []Flow
	if err := json.Unmarshal(data, &fl); err != nil {
		c.Problem(name, 0, "not a JSON list of flows: %v", err)
		return
	}
	for i, f := range fl {
		if f.From == "" || f.To == "" {
			c.Problem(name, 0, "flow %d: from and to are required", i+1)
			continue
		}
		f.Proto = strings.ToLower(f.Proto)
		c.Flows = append(c.Flows, f)
	}
}
