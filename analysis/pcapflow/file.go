package pcapflow

import (
	"io"
	"runtime"

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
//
// With more than one CPU, reading and decoding run on one goroutine and
// flow tracking on another (packets handed over in batches); the result
// is the same either way.
func Analyze(r io.Reader, lim Limits, each func(*pcap.Packet, *PacketInfo)) (*Result, *Capture, error) {
	return analyze(r, lim, each, runtime.GOMAXPROCS(0) > 1, 0)
}

func analyze(r io.Reader, lim Limits, each func(*pcap.Packet, *PacketInfo), pipelined bool, sweepMin int) (*Result, *Capture, error) {
	rd, err := pcap.NewReader(r)
	if err != nil {
		return nil, nil, err
	}
	defer rd.Close()
	an := NewAnalyzer(lim)
	if sweepMin > 0 {
		an.sweepMin = sweepMin
	}
	if pipelined {
		pipeline(rd, func(p *pcap.Packet) {
			info := an.Process(p)
			if each != nil {
				each(p, info)
			}
		})
	} else {
		dec := pcap.NewDecoder()
		var rec pcap.Record
		for rd.Next(&rec) == nil {
			p := dec.Decode(&rec)
			info := an.Process(p)
			if each != nil {
				each(p, info)
			}
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

// A batch is packets decoded by the reading goroutine; their bytes live
// in buf, which the reader's reused buffer cannot overwrite.
type batch struct {
	pkts []pcap.Packet
	n    int
	buf  []byte
}

// Two batches of 2048 packets: one decoded while the other is
// followed. Each hand-over can park and wake a goroutine (a context
// switch each, costly on a loaded machine); with 256-packet batches four
// ahead the 1M-packet bench capture made ~6k switches and ~40 ms more CPU
// than with these (~2k), for 2 MiB more memory, whatever the file size.
const (
	batchPackets = 2048
	batchBytes   = 1 << 20
	batchesAhead = 1 // bounds memory: at most this many batches in flight
)

// pipeline reads and decodes on a second goroutine and calls process
// for every packet, in order, on this one. It returns when the reader
// is done (Reader.Problem is then safe to read).
func pipeline(rd *pcap.Reader, process func(*pcap.Packet)) {
	full := make(chan *batch, batchesAhead)
	free := make(chan *batch, batchesAhead+1)
	for range batchesAhead + 1 {
		free <- &batch{pkts: make([]pcap.Packet, batchPackets), buf: make([]byte, 0, batchBytes)}
	}
	go func() {
		defer close(full)
		dec := pcap.NewDecoder()
		var rec pcap.Record
		b := <-free
		for rd.Next(&rec) == nil {
			if b.n == len(b.pkts) || cap(b.buf)-len(b.buf) < len(rec.Data) {
				full <- b
				b = <-free
				if cap(b.buf) < len(rec.Data) {
					b.buf = make([]byte, 0, len(rec.Data)) // one oversized record (GSO)
				}
			}
			off := len(b.buf)
			b.buf = append(b.buf, rec.Data...)
			rec.Data = b.buf[off:len(b.buf):len(b.buf)]
			dec.DecodeInto(&rec, &b.pkts[b.n])
			b.n++
		}
		full <- b
	}()
	for b := range full {
		for i := range b.n {
			process(&b.pkts[i])
		}
		b.n, b.buf = 0, b.buf[:0]
		if cap(b.buf) > batchBytes {
			b.buf = make([]byte, 0, batchBytes)
		}
		free <- b
	}
}
