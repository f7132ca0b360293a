package pcap

import (
	"bytes"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"tkesnap/internal/realdata"
)

// FuzzCapture: no byte sequence may panic the reader or the decoder,
// reading ends (bounded records), frames are numbered 1, 2, ... as
// Wireshark numbers them, and a classic pcap's records written again by
// gopacket's pcapgo read back the same (time, lengths, link type, bytes).
func FuzzCapture(f *testing.F) {
	for _, file := range realdata.Glob(f, "pcap/*.pcap*") {
		if b, err := os.ReadFile(file); err == nil && len(b) < 16<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		d := NewDecoder()
		var recs []Record
		var rec Record
		for i := 0; r.Next(&rec) == nil; i++ {
			if i > len(data) {
				t.Fatal("more records than bytes")
			}
			if rec.Number != i+1 || len(rec.Data) != rec.CapLen {
				t.Fatalf("record %d: number %d, %d bytes for caplen %d", i+1, rec.Number, len(rec.Data), rec.CapLen)
			}
			c := rec
			c.Data = append([]byte(nil), rec.Data...)
			recs = append(recs, c)
			d.Decode(&rec)
		}
		if r.Format() != "pcap" {
			return
		}
		var buf bytes.Buffer
		w := pcapgo.NewWriterNanos(&buf)
		lt := LinkIPv4
		if len(recs) > 0 {
			lt = recs[0].LinkType
		}
		if err := w.WriteFileHeader(1<<30, layers.LinkType(lt)); err != nil {
			return
		}
		for _, x := range recs {
			if x.Cut || x.CapLen > x.Len || x.LinkType != lt || x.Time < 0 || x.Time/1e9 > 1<<32-1 {
				return // not a record a well-formed pcap can hold
			}
			ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, x.Time), CaptureLength: x.CapLen, Length: x.Len}
			if err := w.WritePacket(ci, x.Data); err != nil {
				t.Fatalf("pcapgo refuses record %d: %v", x.Number, err)
			}
		}
		again, err := NewReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("pcapgo's file: %v", err)
		}
		for i := 0; again.Next(&rec) == nil; i++ {
			if i >= len(recs) {
				t.Fatalf("read back %d+ records of %d", i+1, len(recs))
			}
			want := recs[i]
			if rec.Number != want.Number || rec.Time != want.Time || rec.CapLen != want.CapLen || rec.Len != want.Len ||
				rec.LinkType != want.LinkType || !bytes.Equal(rec.Data, want.Data) {
				t.Fatalf("record %d read back as %+v, was %+v", i+1, rec, want)
			}
			recs[i].Number = -1
		}
		for _, x := range recs {
			if x.Number != -1 {
				t.Fatalf("record %d not read back", x.Number)
			}
		}
	})
}

// FuzzDecode feeds raw frames of every link type to the decoder.
func FuzzDecode(f *testing.F) {
	f.Add(uint16(1), []byte{})
	f.Add(uint16(276), bytes.Repeat([]byte{0x45}, 80))
	f.Add(uint16(101), []byte{0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0, 80, 0x1f, 0x90})
	f.Add(uint16(239), []byte{2, 0, 0, 0, 8, 0, 9, 0, 0x45, 0, 0, 0})
	// A decoder is reused for every packet of a capture: what it says of
	// a packet must not depend on the packet decoded before (a field the
	// reset forgets would leak from one packet into the next).
	prev := []byte{0x45, 0, 0, 52, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0, 80, 0x1f, 0x90, 0, 0, 0, 1, 0, 0, 0, 2, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0, 'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1'}
	f.Fuzz(func(t *testing.T, lt uint16, data []byte) {
		rec := Record{Number: 1, LinkType: LinkType(lt), Data: data, CapLen: len(data), Len: len(data)}
		fresh := *NewDecoder().Decode(&rec)
		used := NewDecoder()
		used.Decode(&Record{Number: 7, LinkType: LinkIPv4, Data: prev, CapLen: len(prev), Len: len(prev)})
		again := *used.Decode(&rec)
		if !reflect.DeepEqual(fresh, again) {
			t.Fatalf("decoding depends on the previous packet:\nfresh %+v\nreused %+v", fresh, again)
		}
		switch fresh.IPVersion {
		case 0:
		case 4:
			if !fresh.Src.Is4() || !fresh.Dst.Is4() {
				t.Fatalf("IPv4 packet with addresses %v %v", fresh.Src, fresh.Dst)
			}
		case 6:
			if !fresh.Src.Is6() || !fresh.Dst.Is6() {
				t.Fatalf("IPv6 packet with addresses %v %v", fresh.Src, fresh.Dst)
			}
		default:
			t.Fatalf("IP version %d", fresh.IPVersion)
		}
		if fresh.NEncap < 0 || fresh.NEncap > len(fresh.Encaps) {
			t.Fatalf("%d encapsulations", fresh.NEncap)
		}
	})
}

func BenchmarkDecodeTCP(b *testing.B) {
	frame := []byte{
		// Ethernet
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00,
		// IPv4, 20 bytes, total 52
		0x45, 0, 0, 52, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		// TCP, 20 bytes, ACK|PSH, then 12 bytes payload
		0xc3, 0x50, 0, 80, 0, 0, 0, 1, 0, 0, 0, 2, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0,
		'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '!',
	}
	d := NewDecoder()
	rec := Record{LinkType: LinkEthernet, Data: frame, CapLen: len(frame), Len: len(frame)}
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for i := 0; i < b.N; i++ {
		rec.Number = i
		p := d.Decode(&rec)
		if p.DstPort != 80 {
			b.Fatal("decode")
		}
	}
}

func BenchmarkReadAndDecode(b *testing.B) {
	var buf bytes.Buffer
	buf.Write([]byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}[:0])
	// little-endian µs pcap header
	buf.Write([]byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0})
	frame := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00,
		0x45, 0, 0, 40, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0xc3, 0x50, 0, 80, 0, 0, 0, 1, 0, 0, 0, 2, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0}
	for i := 0; i < 10000; i++ {
		buf.Write([]byte{1, 0, 0, 0, 0, 0, 0, 0, byte(len(frame)), 0, 0, 0, byte(len(frame)), 0, 0, 0})
		buf.Write(frame)
	}
	data := buf.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		d := NewDecoder()
		var rec Record
		for r.Next(&rec) == nil {
			d.Decode(&rec)
		}
	}
}
