package bundle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// progressEvery throttles Options.Progress calls.
const progressEvery = 256 << 10

// ratioFloor is the uncompressed size below which the ratio is not
// checked: tiny archives of text compress far better than 200:1.
const ratioFloor = 1 << 20

// rawMeter counts the compressed bytes read from the archive file, for
// the ratio limit and progress reports.
type rawMeter struct {
	r        io.Reader
	n        int64
	total    int64
	next     int64
	progress func(done, total int64)
}

func (m *rawMeter) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	m.n += int64(n)
	if m.progress != nil && m.n >= m.next {
		m.progress(m.n, m.total)
		m.next = m.n + progressEvery
	}
	return n, err
}

// ratioReader counts the bytes coming out of the decompressor — tar
// headers, written data and data skipped for truncated entries alike — and
// fails once they exceed Ratio times the compressed bytes consumed. It
// sits below the tar reader, so a bomb is stopped even inside an entry
// that is being skipped (tar.Reader.Next discards the rest of an entry by
// reading it).
type ratioReader struct {
	r     io.Reader
	raw   *rawMeter
	ratio float64
	n     int64
}

var errRatio = errors.New("compression ratio limit")

func (r *ratioReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	if r.exceeded(r.n) {
		return n, errRatio
	}
	return n, err
}

func (r *ratioReader) exceeded(n int64) bool {
	return r.ratio > 0 && n > ratioFloor && float64(n) > r.ratio*float64(max(r.raw.n, 1))
}

// extractor holds the state of one unpack.
type extractor struct {
	b     *Bundle
	lim   Limits
	root  *os.Root
	ratio *ratioReader
	buf   []byte
	dirs  map[string]bool // folders already created
	seen  map[string]bool // files already written (duplicates)

	total     int64 // bytes written
	entries   int   // archive entries seen
	extracted int   // regular files written
	refused   int   // entries refused (unsafe, unsupported, failed)
	aborted   bool  // Abort was called: stop, the root is gone
}

// extract unpacks the archive at p into b.dir. Only regular files and
// folders are created; every name must be local (filepath.IsLocal) and is
// created through os.Root, which refuses escapes even via symlinks or
// races. It returns ErrUnreadable when nothing at all could be read.
func (b *Bundle) extract(p string, size int64, lim Limits, progress func(done, total int64)) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	defer f.Close()
	raw := &rawMeter{r: f, total: size, progress: progress}
	br := bufio.NewReaderSize(raw, 64<<10)
	magic, _ := br.Peek(6)
	var r io.Reader = br
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		gz, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%w: gzip: %v", ErrUnreadable, err)
		}
		defer gz.Close()
		r = gz
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		// Bound the decoder's window so a frame header cannot make it
		// allocate gigabytes (zstd frames declare their window size).
		zr, err := zstd.NewReader(br, zstd.WithDecoderMaxMemory(256<<20),
			zstd.WithDecoderMaxWindow(128<<20), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return fmt.Errorf("%w: zstd: %v", ErrUnreadable, err)
		}
		defer zr.Close()
		r = zr
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return fmt.Errorf("%w: xz-compressed; recompress as .tar.gz or .tar.zst", ErrUnreadable)
	case bytes.HasPrefix(magic, []byte("BZh")):
		return fmt.Errorf("%w: bzip2-compressed; recompress as .tar.gz or .tar.zst", ErrUnreadable)
	case bytes.HasPrefix(magic, []byte("PK\x03\x04")):
		return fmt.Errorf("%w: a zip file; the collector makes .tar.gz", ErrUnreadable)
	}
	root, err := os.OpenRoot(b.dir)
	if err != nil {
		return err
	}
	defer root.Close()

	rr := &ratioReader{r: r, raw: raw, ratio: lim.Ratio}
	x := &extractor{b: b, lim: lim, root: root, ratio: rr, buf: make([]byte, 64<<10),
		dirs: map[string]bool{}, seen: map[string]bool{}}
	err = x.run(tar.NewReader(rr))
	b.flushProblems()
	if err != nil {
		return err
	}
	if x.aborted {
		return fmt.Errorf("%w: %v", ErrUnreadable, errAborted)
	}
	if progress != nil {
		progress(size, size)
	}
	if x.extracted == 0 && x.refused > 0 {
		return fmt.Errorf("%w: none of %d archive entries could be read (%s)", ErrUnreadable, x.entries, firstProblem(b))
	}
	return nil
}

func firstProblem(b *Bundle) string {
	for _, p := range b.Problems {
		if p.File != "" {
			return p.File + ": " + p.Message
		}
		return p.Message
	}
	return "no details"
}

func (x *extractor) run(tr *tar.Reader) error {
	b, lim := x.b, x.lim
	for {
		h, err := tr.Next()
		if err == io.EOF {
			x.trailer()
			return nil
		}
		if err != nil {
			if errors.Is(err, errRatio) {
				b.problem("", fmt.Sprintf("compression ratio above %.0f: archive looks like a bomb; extraction stopped after %d entries", lim.Ratio, x.entries))
				x.refused++
				return nil
			}
			if x.entries == 0 {
				return fmt.Errorf("%w: not a tar archive (or .tar.gz/.tar.zst): %v", ErrUnreadable, err)
			}
			b.problem("", fmt.Sprintf("archive truncated or damaged after %d entries: %v (files read so far are used)", x.entries, err))
			return nil
		}
		x.entries++
		if x.entries > lim.Entries {
			b.problem("", fmt.Sprintf("archive has more than %d entries; the rest is ignored", lim.Entries))
			return nil
		}
		name, ok := cleanName(h.Name)
		if !ok {
			b.entryProblem(clip(h.Name), "entry name escapes the bundle or is not a plain relative path; ignored")
			x.refused++
			continue
		}
		if name == "" {
			continue
		}
		if depth(name) > maxDepth || len(name) > maxNameBytes {
			b.entryProblem(clip(h.Name), fmt.Sprintf("entry path deeper than %d levels or longer than %d bytes; ignored", maxDepth, maxNameBytes))
			x.refused++
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := guard(func() error { return x.mkdirAll(name) }); err != nil {
				if errors.Is(err, errAborted) {
					x.aborted = true
					return nil
				}
				b.entryProblem(h.Name, "cannot create folder: "+err.Error())
			}
			continue
		case tar.TypeReg, tar.TypeRegA:
		case tar.TypeSymlink, tar.TypeLink:
			b.entryProblem(h.Name, "link entry ignored (links are never followed or created)")
			x.refused++
			continue
		case tar.TypeXGlobalHeader:
			continue
		default:
			b.entryProblem(h.Name, fmt.Sprintf("special entry type %q ignored", h.Typeflag))
			x.refused++
			continue
		}
		if stop := x.file(h, name, tr); stop {
			return nil
		}
	}
}

// trailer reads what follows the tar end marker so a damaged or cut
// compressed stream (gzip CRC and size trailer, zstd checksum) is reported
// even when every entry was read. The ratio reader bounds it.
func (x *extractor) trailer() {
	if _, err := io.Copy(io.Discard, x.ratio); err != nil {
		x.b.problem("", fmt.Sprintf("archive ends damaged after its last entry (all %d entries were read): %v", x.entries, err))
	}
}

// file writes one regular entry; it reports whether extraction must stop.
func (x *extractor) file(h *tar.Header, name string, tr *tar.Reader) bool {
	b, lim := x.b, x.lim
	if x.seen[name] {
		b.entryProblem(h.Name, "duplicate entry; the later copy is used")
	}
	limit := lim.fileLimit(name)
	if rem := lim.TotalBytes - x.total; rem < limit {
		limit = rem
	}
	var w *os.File
	err := guard(func() (err error) { w, err = x.create(name); return err })
	if errors.Is(err, errAborted) {
		x.aborted = true
		return true
	}
	if err != nil {
		// Creation failures are about this name only (its parent is a
		// file, it names a folder, it is too long): go on with the rest.
		b.entryProblem(h.Name, "cannot create file: "+err.Error())
		x.refused++
		return false
	}
	n, truncated, rerr, werr := x.copy(w, tr, limit)
	cerr := w.Close()
	x.total += n
	switch {
	case errors.Is(werr, errAborted):
		x.aborted = true
		return true
	case errors.Is(rerr, errRatio):
		// The bytes written so far are a bomb's padding, not data.
		x.root.Remove(filepath.FromSlash(name))
		x.total -= n
		b.problem(h.Name, fmt.Sprintf("compression ratio above %.0f: archive looks like a bomb; extraction stopped", lim.Ratio))
		x.refused++
		return true
	case rerr != nil:
		x.seen[name] = true
		x.extracted++
		b.problem(h.Name, fmt.Sprintf("archive truncated or damaged inside this entry after %d bytes: %v (the partial file is kept)", n, rerr))
		return true
	case werr != nil || cerr != nil:
		// Disk full or the like: nothing after this can be written either.
		b.problem(h.Name, fmt.Sprintf("cannot write: %v", errors.Join(werr, cerr)))
		x.refused++
		return true
	}
	x.seen[name] = true
	x.extracted++
	if truncated {
		if x.total >= lim.TotalBytes {
			b.problem(h.Name, fmt.Sprintf("bundle exceeds %d bytes uncompressed; extraction stopped", lim.TotalBytes))
			return true
		}
		b.problem(h.Name, fmt.Sprintf("file larger than %d bytes; truncated", limit))
	}
	return false
}

// cleanName turns an entry name into a clean slash path relative to the
// root, or reports it unsafe. "" means the root itself ("./").
func cleanName(n string) (string, bool) {
	if strings.ContainsAny(n, "\\\x00") {
		// A backslash is a separator on Windows and a NUL ends a C string:
		// both make the name mean different things to different readers.
		return "", false
	}
	if path.IsAbs(n) {
		return "", false
	}
	c := path.Clean(n)
	if c == "." {
		return "", true
	}
	if !filepath.IsLocal(filepath.FromSlash(c)) {
		return "", false
	}
	return c, true
}

func (x *extractor) mkdirAll(dir string) error {
	if x.dirs[dir] {
		return nil
	}
	if err := x.root.MkdirAll(filepath.FromSlash(dir), 0o700); err != nil {
		return err
	}
	for d := dir; d != "." && !x.dirs[d]; d = path.Dir(d) {
		x.dirs[d] = true
	}
	return nil
}

func (x *extractor) create(name string) (*os.File, error) {
	if dir := path.Dir(name); dir != "." {
		if err := x.mkdirAll(dir); err != nil {
			return nil, err
		}
	}
	return x.root.OpenFile(filepath.FromSlash(name), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
}

// copy copies at most limit bytes of an entry and reports whether it was
// cut. The rest of a cut entry is skipped by the next tr.Next, through the
// ratio reader. A second check on the bytes written catches sparse
// entries, whose holes the tar reader expands without reading anything.
func (x *extractor) copy(w io.Writer, r io.Reader, limit int64) (n int64, truncated bool, rerr, werr error) {
	for {
		m, err := r.Read(x.buf)
		if m > 0 {
			if n+int64(m) > limit {
				m = int(limit - n)
				truncated = true
			}
			chunk := x.buf[:m]
			if werr = guard(func() error { _, err := w.Write(chunk); return err }); werr != nil {
				return n, false, nil, werr
			}
			n += int64(m)
			if x.ratio.exceeded(x.total + n) {
				return n, false, errRatio, nil
			}
			if truncated {
				return n, true, nil, nil
			}
		}
		if err == io.EOF {
			return n, false, nil, nil
		}
		if err != nil {
			return n, false, err, nil
		}
	}
}
