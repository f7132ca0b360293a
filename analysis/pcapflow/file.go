package pcapflow

import (
	"io"

	"tkesnap/parsers/pcap"
)

// Capture describes the file itself, beside the flows.
type Capture struct {
	Format     string           `json:"format"`
	Gzip       bool             `json:"gzip,omitempty"`
	Problem    string           `json:"problem,omitempty"` // why reading stopped early
	Interfaces []pcap.Interface `json:"interfaces"`
	Comments   []string         `json:"comments,omitempty"`
	// Dropped is the sum of kernel/interface drops the file reports
	// (pcapng isb_ifdrop/isb_osdrop), -1 when it does not say.
	Dropped int64 `json:"dropped"`
}

// Analyze reads a whole capture and returns its flows. each, if not nil,
// sees every packet with what the analyzer learned about it (the
// `pcap --filter` command prints from there). A capture that cannot be
// opened at all is an error; a damaged one yields what was read and
// Capture.Problem.
func Analyze(r io.Reader, lim Limits, each func(*pcap.Packet, *PacketInfo)) (*Result, *Capture, error) {
	rd, err := pcap.NewReader(r)
	if err != nil {
		return nil, nil, err
	}
	defer rd.Close()
	dec := pcap.NewDecoder()
	an := NewAnalyzer(lim)
	var rec pcap.Record
	for rd.Next(&rec) == nil {
		p := dec.Decode(&rec)
		info := an.Process(p)
		if each != nil {
			each(p, info)
		}
	}
	res := an.Finish()
	c := &Capture{Format: rd.Format(), Gzip: rd.Gzip(), Problem: rd.Problem(), Interfaces: rd.Interfaces(), Comments: rd.Comments(), Dropped: -1}
	for _, i := range c.Interfaces {
		if i.Dropped >= 0 {
			c.Dropped = max(c.Dropped, 0) + i.Dropped
		}
	}
	return res, c, nil
}
