// Package pcap reads packet captures (libpcap .pcap in every timestamp
// precision and byte order, pcapng with several sections and interfaces,
// either one gzip-compressed) and decodes each packet into the fields the
// flow analysis and the display filters use.
//
// The record reader is our own rather than gopacket/pcapgo because
// captures from customers are often cut short (tcpdump killed, upload
// limit): pcapgo drops the partial last record and numbers pcapng
// interfaces per section, while we keep what was read of the last record,
// say where the file ends, and number interfaces across sections the way
// Wireshark does. Layer decoding is gopacket's (see decode.go).
//
// Formats: libpcap, https://www.tcpdump.org/manpages/pcap-savefile.5.html;
// pcapng, https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-03.html.
package pcap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"

	"github.com/klauspost/compress/gzip"
)

// LinkType is a DLT/LINKTYPE value (https://www.tcpdump.org/linktypes.html).
type LinkType uint16

// Link types the decoder understands.
const (
	LinkNull     LinkType = 0   // BSD loopback: 4-byte host-order AF
	LinkEthernet LinkType = 1   //
	LinkRaw      LinkType = 101 // raw IPv4/IPv6, version from the first nibble
	LinkRawOld   LinkType = 12  // DLT_RAW on OpenBSD-ish writers
	LinkRawOld2  LinkType = 14  // DLT_RAW as written by some BSDs
	LinkLoop     LinkType = 108 // OpenBSD loopback: 4-byte network-order AF
	LinkSLL      LinkType = 113 // Linux cooked v1 (tcpdump -i any, old)
	LinkIPv4     LinkType = 228
	LinkIPv6     LinkType = 229
	LinkNFLOG    LinkType = 239 // iptables -j NFLOG via nflog:N
	LinkSLL2     LinkType = 276 // Linux cooked v2 (tcpdump -i any, libpcap ≥ 1.10)
)

func (l LinkType) String() string {
	switch l {
	case LinkNull:
		return "null"
	case LinkEthernet:
		return "ether"
	case LinkRaw, LinkRawOld, LinkRawOld2:
		return "raw"
	case LinkLoop:
		return "loop"
	case LinkSLL:
		return "linux-sll"
	case LinkIPv4:
		return "rawip4"
	case LinkIPv6:
		return "rawip6"
	case LinkNFLOG:
		return "nflog"
	case LinkSLL2:
		return "linux-sll2"
	}
	return fmt.Sprintf("linktype-%d", uint16(l))
}

// Interface is one capture interface: the only one of a pcap file or one
// pcapng Interface Description Block. Index is global across sections.
type Interface struct {
	Index       int      `json:"index"`
	Section     int      `json:"section"`
	Name        string   `json:"name,omitempty"`
	Description string   `json:"description,omitempty"`
	Filter      string   `json:"filter,omitempty"`
	OS          string   `json:"os,omitempty"`
	LinkType    LinkType `json:"linktype"`
	SnapLen     uint32   `json:"snaplen"`
	// Received and Dropped come from Interface Statistics Blocks
	// (isb_ifrecv, isb_ifdrop, isb_osdrop): packets the kernel or the
	// capture buffer lost. -1 when the file does not say.
	Received int64 `json:"received"`
	Dropped  int64 `json:"dropped"`

	// tick→ns conversion (if_tsresol, if_tsoffset).
	pow2   bool
	exp    uint8
	offset int64
}

// Record is one packet record. Data is only valid until the next call to
// Next: the reader reuses its buffer so that reading allocates nothing.
type Record struct {
	Number   int   // 1-based frame number, as Wireshark counts
	Time     int64 // ns since the Unix epoch
	CapLen   int   // bytes present in Data
	Len      int   // bytes on the wire
	LinkType LinkType
	Iface    int // global interface index (0 for pcap)
	Data     []byte
	// Cut means the file ended inside this record: Data holds only what
	// was there (CapLen < the record's own captured length).
	Cut     bool
	Comment string // pcapng opt_comment, if any
}

// Reader streams records from a capture.
type Reader struct {
	br     *bufio.Reader
	closer io.Closer
	format string
	gz     bool
	order  binary.ByteOrder

	// pcap
	nano     bool
	modified bool // Kuznetzov's patched libpcap: 8 more bytes per record header
	link     LinkType
	snap     uint32

	// pcapng
	ifaces      []Interface
	sectionBase int // global index of the current section's interface 0
	section     int
	comments    []string
	shbComment  string

	buf     []byte
	pending int // bytes of the last record still in the bufio buffer
	hdr     [32]byte
	n       int // records returned
	off     int64
	problem string
	done    bool
}

// MaxRecord bounds one record: GSO/GRO super-packets reach 64 KiB (256 KiB
// with BIG TCP); anything past this is a corrupt length field, and reading
// it would let a hostile file make us allocate gigabytes.
const MaxRecord = 4 << 20

// ErrNotCapture means the input is neither pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng capture")

// NewReader detects the format and reads the file header.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{br: bufio.NewReaderSize(r, 256<<10)}
	magic, err := rd.br.Peek(4)
	if len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, zerr := gzip.NewReader(rd.br)
		if zerr != nil {
			return nil, fmt.Errorf("gzip: %w", zerr)
		}
		rd.gz = true
		rd.closer = zr
		rd.br = bufio.NewReaderSize(zr, 256<<10)
		magic, err = rd.br.Peek(4)
	}
	if err != nil {
		if len(magic) == 0 {
			return nil, fmt.Errorf("%w: empty file", ErrNotCapture)
		}
		return nil, fmt.Errorf("%w: %d bytes", ErrNotCapture, len(magic))
	}
	switch binary.LittleEndian.Uint32(magic) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0xa1b2cd34, 0x34cdb2a1:
		rd.format = "pcap"
		return rd, rd.readPcapHeader()
	case 0x0a0d0d0a:
		rd.format = "pcapng"
		return rd, rd.readFirstSection()
	}
	return nil, fmt.Errorf("%w: magic %x", ErrNotCapture, magic)
}

// Format is "pcap" or "pcapng".
func (r *Reader) Format() string { return r.format }

// Gzip reports whether the capture was gzip-compressed.
func (r *Reader) Gzip() bool { return r.gz }

// Interfaces lists the interfaces seen so far (all of them after EOF).
func (r *Reader) Interfaces() []Interface { return r.ifaces }

// Comments are the section and packet comments read so far.
func (r *Reader) Comments() []string { return r.comments }

// Problem says why reading stopped before a clean end of file ("" when
// the file ended cleanly): a record cut short or a corrupt block.
func (r *Reader) Problem() string { return r.problem }

// Close releases the gzip stream, if any (not the underlying reader).
func (r *Reader) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

func (r *Reader) fail(format string, a ...any) error {
	if r.problem == "" {
		r.problem = fmt.Sprintf(format, a...)
	}
	r.done = true
	return io.EOF
}

// readFull reads exactly len(b) bytes; n says how many arrived.
func (r *Reader) readFull(b []byte) (int, error) {
	r.release()
	n, err := io.ReadFull(r.br, b)
	r.off += int64(n)
	return n, err
}

// take returns the next n bytes (fewer at end of file, with the error).
// Records that fit the read buffer are handed out in place (bufio.Peek)
// and skipped on the next call: reading then copies nothing.
func (r *Reader) take(n int) ([]byte, error) {
	r.release()
	if n <= r.br.Size() {
		b, err := r.br.Peek(n)
		r.pending = len(b)
		r.off += int64(len(b))
		if err != nil && err != io.EOF {
			return b, err
		}
		if len(b) < n {
			return b, io.ErrUnexpectedEOF
		}
		return b, nil
	}
	b := r.grow(n)
	got, err := r.readFull(b)
	return b[:got], err
}

func (r *Reader) release() {
	if r.pending > 0 {
		r.br.Discard(r.pending)
		r.pending = 0
	}
}

func (r *Reader) grow(n int) []byte {
	if cap(r.buf) < n {
		r.buf = make([]byte, n, n+n/4)
	}
	return r.buf[:n]
}

// ---- libpcap ----

func (r *Reader) readPcapHeader() error {
	var h [24]byte
	if n, err := r.readFull(h[:]); err != nil {
		return fmt.Errorf("pcap header: only %d of 24 bytes", n)
	}
	switch binary.LittleEndian.Uint32(h[:]) {
	case 0xa1b2c3d4:
		r.order = binary.LittleEndian
	case 0xd4c3b2a1:
		r.order = binary.BigEndian
	case 0xa1b23c4d:
		r.order, r.nano = binary.LittleEndian, true
	case 0x4d3cb2a1:
		r.order, r.nano = binary.BigEndian, true
	case 0xa1b2cd34:
		r.order, r.modified = binary.LittleEndian, true
	case 0x34cdb2a1:
		r.order, r.modified = binary.BigEndian, true
	}
	r.snap = r.order.Uint32(h[16:])
	// The upper bits of the link type field carry FCS length flags
	// (pcap-savefile(5) "LinkType and additional information").
	r.link = LinkType(r.order.Uint32(h[20:]) & 0x0000ffff)
	r.ifaces = []Interface{{LinkType: r.link, SnapLen: r.snap, Received: -1, Dropped: -1, exp: 6}}
	if r.nano {
		r.ifaces[0].exp = 9
	}
	return nil
}

func (r *Reader) nextPcap(rec *Record) error {
	hl := 16
	if r.modified {
		hl = 24
	}
	n, err := r.readFull(r.hdr[:hl])
	if err != nil {
		if n == 0 && err == io.EOF {
			r.done = true
			return io.EOF
		}
		return r.fail("file ends inside the header of packet %d (%d of %d bytes)", r.n+1, n, hl)
	}
	sec := int64(r.order.Uint32(r.hdr[0:]))
	frac := int64(r.order.Uint32(r.hdr[4:]))
	caplen := r.order.Uint32(r.hdr[8:])
	wire := r.order.Uint32(r.hdr[12:])
	if caplen > MaxRecord {
		return r.fail("packet %d: captured length %d is not plausible (corrupt record header at offset %d)", r.n+1, caplen, r.off-int64(hl))
	}
	if r.nano {
		rec.Time = sec*1e9 + frac
	} else {
		rec.Time = sec*1e9 + frac*1e3
	}
	data, err := r.take(int(caplen))
	got := len(data)
	r.n++
	rec.Number = r.n
	rec.LinkType = r.link
	rec.Iface = 0
	rec.Comment = ""
	rec.Data = data[:got]
	rec.CapLen = got
	rec.Len = int(wire)
	if rec.Len < got {
		rec.Len = got
	}
	rec.Cut = false
	if err != nil {
		rec.Cut = true
		r.fail("file ends inside packet %d: %d of %d captured bytes present", r.n, got, caplen)
		return nil
	}
	return nil
}

// ---- pcapng ----

const (
	blkSHB = 0x0a0d0d0a
	blkIDB = 1
	blkPB  = 2 // obsolete Packet Block
	blkSPB = 3
	blkISB = 5
	blkEPB = 6
)

func (r *Reader) readFirstSection() error {
	typ, body, err := r.readBlock()
	if err != nil || typ != blkSHB {
		if r.problem != "" {
			return fmt.Errorf("pcapng: %s", r.problem)
		}
		return fmt.Errorf("pcapng: no section header")
	}
	return r.section0(body)
}

// section0 handles a Section Header Block body (after the byte-order magic
// was used to set r.order).
func (r *Reader) section0(body []byte) error {
	// body: major, minor, section length (the byte-order magic was
	// consumed by readBlock).
	if len(body) < 12 {
		return fmt.Errorf("pcapng: short section header")
	}
	r.sectionBase = len(r.ifaces)
	r.section++
	opts := body[12:]
	walkOptions(r.order, opts, func(code uint16, v []byte) {
		if code == 1 {
			r.comments = append(r.comments, string(v))
		}
	})
	return nil
}

// readBlock reads one whole block into r.buf and returns its type and
// body (without type, length and trailing length). For a Section Header
// Block it first sets the byte order from its magic.
func (r *Reader) readBlock() (uint32, []byte, error) {
	n, err := r.readFull(r.hdr[:8])
	if err != nil {
		if n == 0 && err == io.EOF {
			r.done = true
			return 0, nil, io.EOF
		}
		return 0, nil, r.fail("file ends inside a block header after packet %d (offset %d)", r.n, r.off)
	}
	typ := binary.LittleEndian.Uint32(r.hdr[0:])
	if typ == blkSHB {
		if _, err := r.readFull(r.hdr[8:12]); err != nil {
			return 0, nil, r.fail("file ends inside a section header (offset %d)", r.off)
		}
		switch binary.LittleEndian.Uint32(r.hdr[8:]) {
		case 0x1a2b3c4d:
			r.order = binary.LittleEndian
		case 0x4d3c2b1a:
			r.order = binary.BigEndian
		default:
			return 0, nil, r.fail("section header with a bad byte-order magic at offset %d", r.off-12)
		}
	} else if r.order == nil {
		return 0, nil, r.fail("pcapng block before any section header")
	} else {
		typ = r.order.Uint32(r.hdr[0:])
	}
	total := r.order.Uint32(r.hdr[4:])
	if total < 12 || total%4 != 0 || total > MaxRecord+64 {
		return 0, nil, r.fail("corrupt block after packet %d: length %d at offset %d", r.n, total, r.off-8)
	}
	rest := int(total) - 8
	if typ == blkSHB {
		rest -= 4
		if rest < 4 {
			return 0, nil, r.fail("corrupt section header length %d", total)
		}
	}
	b, err := r.take(rest)
	if err != nil {
		// The caller decides whether a partial block is usable (packets).
		return typ, b, errCut
	}
	body := b[:rest-4]
	if r.order.Uint32(b[rest-4:]) != total {
		return 0, nil, r.fail("corrupt block after packet %d: trailing length differs (offset %d)", r.n, r.off-int64(total))
	}
	return typ, body, nil
}

var errCut = errors.New("block cut")

func (r *Reader) nextPcapng(rec *Record) error {
	for {
		typ, body, err := r.readBlock()
		if err == io.EOF {
			return io.EOF
		}
		cut := err == errCut
		switch typ {
		case blkSHB:
			if cut {
				return r.fail("file ends inside a section header")
			}
			if err := r.section0(body); err != nil {
				return r.fail("%v", err)
			}
		case blkIDB:
			if cut || len(body) < 8 {
				return r.fail("file ends inside an interface description")
			}
			r.addInterface(body)
		case blkISB:
			if cut || len(body) < 12 {
				return r.fail("file ends inside interface statistics")
			}
			r.addStats(body)
		case blkEPB, blkPB:
			if len(body) < 20 {
				return r.fail("file ends inside the header of packet %d", r.n+1)
			}
			var local int
			if typ == blkEPB {
				local = int(r.order.Uint32(body[0:]))
			} else {
				local = int(r.order.Uint16(body[0:]))
			}
			caplen := int(r.order.Uint32(body[12:]))
			wire := int(r.order.Uint32(body[16:]))
			gi := r.sectionBase + local
			if local < 0 || gi >= len(r.ifaces) {
				return r.fail("packet %d names interface %d, which the section does not describe", r.n+1, local)
			}
			if !cut && caplen > len(body)-20 {
				return r.fail("corrupt packet block %d: captured length %d exceeds the block", r.n+1, caplen)
			}
			ifc := &r.ifaces[gi]
			ts := uint64(r.order.Uint32(body[4:]))<<32 | uint64(r.order.Uint32(body[8:]))
			rec.Time = ifc.toNanos(ts)
			data := body[20:]
			r.n++
			rec.Number = r.n
			rec.LinkType = ifc.LinkType
			rec.Iface = gi
			rec.Comment = ""
			rec.Len = wire
			rec.Cut = cut
			if caplen <= len(data) {
				data = data[:caplen]
			}
			rec.Data = data
			rec.CapLen = len(data)
			if rec.Len < rec.CapLen {
				rec.Len = rec.CapLen
			}
			if cut {
				r.fail("file ends inside packet %d: %d of %d captured bytes present", r.n, len(data), caplen)
				return nil
			}
			if typ == blkEPB {
				pad := (caplen + 3) &^ 3
				if 20+pad <= len(body) {
					walkOptions(r.order, body[20+pad:], func(code uint16, v []byte) {
						if code == 1 {
							rec.Comment = string(v)
							r.comments = append(r.comments, fmt.Sprintf("packet %d: %s", r.n, v))
						}
					})
				}
			}
			return nil
		case blkSPB:
			if len(body) < 4 {
				return r.fail("file ends inside the header of packet %d", r.n+1)
			}
			if r.sectionBase >= len(r.ifaces) {
				return r.fail("simple packet block %d before any interface", r.n+1)
			}
			ifc := &r.ifaces[r.sectionBase]
			wire := int(r.order.Uint32(body[0:]))
			data := body[4:]
			caplen := wire
			if ifc.SnapLen != 0 && caplen > int(ifc.SnapLen) {
				caplen = int(ifc.SnapLen)
			}
			if caplen < len(data) {
				data = data[:caplen]
			}
			r.n++
			*rec = Record{Number: r.n, LinkType: ifc.LinkType, Iface: r.sectionBase, Data: data, CapLen: len(data), Len: wire, Cut: cut}
			if cut {
				r.fail("file ends inside packet %d", r.n)
			}
			return nil
		default:
			if cut {
				return r.fail("file ends inside a block of type 0x%x after packet %d", typ, r.n)
			}
			// Name resolution, decryption secrets, custom blocks: skipped.
		}
	}
}

func (r *Reader) addInterface(body []byte) {
	ifc := Interface{
		Index:    len(r.ifaces),
		Section:  r.section,
		LinkType: LinkType(r.order.Uint16(body[0:])),
		SnapLen:  r.order.Uint32(body[4:]),
		Received: -1, Dropped: -1,
		exp: 6,
	}
	walkOptions(r.order, body[8:], func(code uint16, v []byte) {
		switch code {
		case 2:
			ifc.Name = string(v)
		case 3:
			ifc.Description = string(v)
		case 9: // if_tsresol
			if len(v) >= 1 {
				ifc.pow2 = v[0]&0x80 != 0
				ifc.exp = v[0] & 0x7f
			}
		case 11: // if_filter: first byte is the filter type (0 = libpcap string)
			if len(v) > 1 {
				ifc.Filter = string(v[1:])
			}
		case 12:
			ifc.OS = string(v)
		case 14: // if_tsoffset, seconds
			if len(v) >= 8 {
				ifc.offset = int64(r.order.Uint64(v)) * 1e9
			}
		}
	})
	r.ifaces = append(r.ifaces, ifc)
}

func (r *Reader) addStats(body []byte) {
	gi := r.sectionBase + int(r.order.Uint32(body[0:]))
	if gi >= len(r.ifaces) {
		return
	}
	ifc := &r.ifaces[gi]
	walkOptions(r.order, body[12:], func(code uint16, v []byte) {
		if len(v) < 8 {
			return
		}
		x := int64(r.order.Uint64(v))
		switch code {
		case 4: // isb_ifrecv
			ifc.Received = x
		case 5: // isb_ifdrop
			ifc.Dropped = max(ifc.Dropped, 0) + x
		case 7: // isb_osdrop
			ifc.Dropped = max(ifc.Dropped, 0) + x
		}
	})
}

// toNanos converts a pcapng timestamp in the interface's resolution.
func (ifc *Interface) toNanos(ts uint64) int64 {
	if !ifc.pow2 {
		switch {
		case ifc.exp == 9:
			return int64(ts) + ifc.offset
		case ifc.exp < 9:
			return int64(ts)*pow10[9-ifc.exp] + ifc.offset
		case ifc.exp <= 18:
			return int64(ts/uint64(pow10[ifc.exp-9])) + ifc.offset
		}
		return ifc.offset
	}
	if ifc.exp > 63 {
		return ifc.offset
	}
	hi, lo := bits.Mul64(ts, 1e9)
	if hi >= 1<<ifc.exp && ifc.exp < 64 {
		return ifc.offset // would overflow: a corrupt timestamp
	}
	q, _ := bits.Div64(hi, lo, 1<<ifc.exp)
	return int64(q) + ifc.offset
}

var pow10 = [...]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10}

// walkOptions calls f for each pcapng option until opt_endofopt.
func walkOptions(order binary.ByteOrder, b []byte, f func(code uint16, v []byte)) {
	for len(b) >= 4 {
		code := order.Uint16(b[0:])
		l := int(order.Uint16(b[2:]))
		if code == 0 {
			return
		}
		b = b[4:]
		if l > len(b) {
			return
		}
		f(code, b[:l])
		pad := (l + 3) &^ 3
		if pad > len(b) {
			return
		}
		b = b[pad:]
	}
}

// Next reads the next record into rec. It returns io.EOF at the end of the
// capture, whether clean or not; Problem says which.
func (r *Reader) Next(rec *Record) error {
	r.release()
	if r.done {
		return io.EOF
	}
	if r.format == "pcap" {
		return r.nextPcap(rec)
	}
	return r.nextPcapng(rec)
}
