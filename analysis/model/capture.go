package model

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"tkesnap/analysis/pcapflow"
)

// Capture is one captures/<node>/<name>.pcap[ng][.gz] with the
// <name>.json the collector writes beside it. Result, Info and Err are
// filled by the capture-flows analyzer (analysis/capture), not by Load.
type Capture struct {
	Node string // folder below captures/ (the node name)
	File string // bundle path of the capture
	Name string // file name without extension
	Meta CaptureMeta
	// MetaFile is the bundle path of the metadata ("" when absent).
	MetaFile string

	// Result and Info are nil when the file could not be read at all
	// (then Err says why).
	Result *pcapflow.Result
	Info   *pcapflow.Capture
	Err    error
	// Ifaces maps SLL2 interface indexes (tcpdump -i any) to names from
	// the node's ip -j link, when the node folder has it.
	Ifaces map[int]string
}

// CaptureMeta is <name>.json (the collector's finish_captures).
type CaptureMeta struct {
	Node      string    `json:"node"`
	Interface string    `json:"interface"`
	Pod       string    `json:"pod"` // ns/name when captured in a pod's netns
	Filter    string    `json:"filter"`
	Start     time.Time `json:"start"`
	Stop      time.Time `json:"stop"`
	Seconds   int       `json:"seconds"`
	MaxBytes  int64     `json:"max_bytes"`
	Captured  int64     `json:"packets_captured"`
	Received  int64     `json:"packets_received"`
	// KernelDrops: "packets dropped by kernel" from tcpdump's summary.
	KernelDrops int64  `json:"packets_dropped_by_kernel"`
	Truncated   bool   `json:"truncated"` // the byte limit cut the file
	Command     string `json:"command"`
}

// Where names the capture point: "node/pod ns/name" or "node eth0".
func (c *Capture) Where() string {
	switch {
	case c.Meta.Pod != "":
		return c.Node + " pod " + c.Meta.Pod
	case c.Meta.Interface != "":
		return c.Node + " " + c.Meta.Interface
	}
	return c.Node + " " + c.Name
}

// IfaceName names the interface a packet came from: the SLL2 index
// resolved through ip -j link, else the capture's interface.
func (c *Capture) IfaceName(sllIf int32) string {
	if sllIf > 0 {
		if n, ok := c.Ifaces[int(sllIf)]; ok {
			return n
		}
		return fmt.Sprintf("ifindex %d", sllIf)
	}
	return c.Meta.Interface
}

// IsCaptureFile reports names the capture loader reads.
func IsCaptureFile(name string) bool {
	n := strings.TrimSuffix(name, ".gz")
	return strings.HasSuffix(n, ".pcap") || strings.HasSuffix(n, ".pcapng") || strings.HasSuffix(n, ".cap")
}

func captureBase(name string) string {
	n := strings.TrimSuffix(name, ".gz")
	return strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, ".pcapng"), ".pcap"), ".cap")
}

func (c *Cluster) loadCaptures() {
	for _, f := range c.Bundle.Files() {
		if !strings.HasPrefix(f, "captures/") || !IsCaptureFile(f) {
			continue
		}
		rest := strings.TrimPrefix(f, "captures/")
		node := ""
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			node = rest[:i]
		}
		cp := &Capture{Node: node, File: f, Name: captureBase(path.Base(f))}
		c.loadCaptureMeta(cp)
		if cp.Meta.Node != "" && cp.Node == "" {
			cp.Node = cp.Meta.Node
		}
		cp.Ifaces = c.ifaceNames(cp.Node)
		// decoding the packets is the capture-flows analyzer's job
		// (analysis/capture): loading only lists the captures
		c.Captures = append(c.Captures, cp)
	}
	sort.Slice(c.Captures, func(i, j int) bool { return c.Captures[i].File < c.Captures[j].File })
}

func (c *Cluster) loadCaptureMeta(cp *Capture) {
	dir := path.Dir(cp.File)
	m := dir + "/" + cp.Name + ".json"
	if !c.Bundle.Has(m) {
		return
	}
	data, err := c.Bundle.ReadFile(m)
	if err != nil {
		c.Problem(m, 0, "%v", err)
		return
	}
	if err := json.Unmarshal(data, &cp.Meta); err != nil {
		c.Problem(m, 0, "capture metadata is not valid JSON: %v", err)
		return
	}
	cp.MetaFile = m
}

// ifaceNames maps interface indexes of a node from its ip -j link/addr.
func (c *Cluster) ifaceNames(node string) map[int]string {
	n := c.Node(node)
	if n == nil {
		return nil
	}
	out := map[int]string{}
	for _, l := range n.Links {
		if l != nil && l.Index > 0 {
			out[l.Index] = l.Name
		}
	}
	return out
}
