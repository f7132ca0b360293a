package model

// Capture is one captures/<node>/<name>.pcap[ng] with its .json metadata.
type Capture struct {
	Node string
	File string
}

func (c *Cluster) loadCaptures() {}
