package model

import (
	"bytes"
	"encoding/json"
	"sync"
)

var flowLinesMu sync.Mutex

type flowAt struct {
	from, to string
	line     int
}

// FlowLine returns the 1-based line of flows.json where a reported flow
// starts (matched by from and to), or 0 when the flow is not in the file
// (given with --flow) or the file is unreadable.
func (c *Cluster) FlowLine(f Flow) int {
	flowLinesMu.Lock()
	defer flowLinesMu.Unlock()
	k := &c.Kube
	if k.flowLines == nil {
		k.flowLines = []flowAt{}
		if data, err := c.Bundle.ReadFile("flows.json"); err == nil {
			k.flowLines = jsonArrayLines(data)
		}
	}
	for _, x := range k.flowLines {
		if x.from == f.From && x.to == f.To {
			return x.line
		}
	}
	return 0
}

// jsonArrayLines lists the elements of a top-level JSON array of flows
// with the line each starts on.
func jsonArrayLines(data []byte) []flowAt {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return nil
	}
	var out []flowAt
	for dec.More() {
		off := int(dec.InputOffset())
		for off < len(data) && bytes.IndexByte([]byte(" \t\r\n,"), data[off]) >= 0 {
			off++
		}
		var f Flow
		if dec.Decode(&f) != nil {
			break
		}
		out = append(out, flowAt{f.From, f.To, bytes.Count(data[:off], []byte("\n")) + 1})
	}
	return out
}
