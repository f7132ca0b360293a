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

// countingReader counts the compressed bytes consumed, for the ratio limit.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// extract unpacks the archive at p into b.dir. Only regular files and
// folders are created; every name must be local (filepath.IsLocal) and is
// created through os.Root, which refuses escapes even via races.
func (b *Bundle) extract(p string, lim Limits) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	defer f.Close()
	raw := &countingReader{r: f}
	br := bufio.NewReader(raw)
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
		zr, err := zstd.NewReader(br, zstd.WithDecoderMaxMemory(256<<20), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return fmt.Errorf("%w: zstd: %v", ErrUnreadable, err)
		}
		defer zr.Close()
		r = zr
	}
	root, err := os.OpenRoot(b.dir)
	if err != nil {
		return err
	}
	defer root.Close()

	tr := tar.NewReader(r)
	var total int64
	entries := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if entries == 0 {
				return fmt.Errorf("%w: not a tar archive: %v", ErrUnreadable, err)
			}
			b.problem("", fmt.Sprintf("archive damaged after %d entries: %v (files read so far are used)", entries, err))
			break
		}
		entries++
		if entries > lim.Entries {
			b.problem("", fmt.Sprintf("archive has more than %d entries; the rest is ignored", lim.Entries))
			break
		}
		name := strings.TrimPrefix(path.Clean(strings.TrimPrefix(h.Name, "./")), "./")
		if name == "." || name == "" {
			continue
		}
		if !filepath.IsLocal(filepath.FromSlash(name)) || strings.Contains(h.Name, "\\") {
			b.problem(h.Name, "entry name escapes the bundle; ignored")
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(filepath.FromSlash(name), 0o700); err != nil {
				b.problem(h.Name, "cannot create folder: "+err.Error())
			}
			continue
		case tar.TypeReg, tar.TypeRegA:
		case tar.TypeSymlink, tar.TypeLink:
			b.problem(h.Name, "link entry ignored (links are never followed)")
			continue
		case tar.TypeXGlobalHeader:
			continue
		default:
			b.problem(h.Name, fmt.Sprintf("special entry type %q ignored", h.Typeflag))
			continue
		}
		limit := lim.FileBytes
		if ext := strings.ToLower(path.Ext(name)); ext == ".pcap" || ext == ".pcapng" || strings.HasSuffix(strings.ToLower(name), ".pcap.gz") {
			limit = lim.PcapBytes
		}
		if rem := lim.TotalBytes - total; rem < limit {
			limit = rem
		}
		n, truncated, err := writeEntry(root, name, tr, limit, func(written int64) error {
			if lim.Ratio > 0 && total+written > 1<<20 && raw.n > 0 && float64(total+written)/float64(raw.n) > lim.Ratio {
				return errRatio
			}
			return nil
		})
		total += n
		if errors.Is(err, errRatio) {
			b.problem(h.Name, fmt.Sprintf("compression ratio above %.0f: archive looks like a bomb; extraction stopped", lim.Ratio))
			return nil
		}
		if err != nil {
			b.problem(h.Name, "read: "+err.Error())
			if !truncated {
				break
			}
		}
		if truncated {
			if total >= lim.TotalBytes {
				b.problem(h.Name, fmt.Sprintf("bundle exceeds %d bytes uncompressed; extraction stopped", lim.TotalBytes))
				return nil
			}
			b.problem(h.Name, fmt.Sprintf("file larger than %d bytes; truncated", limit))
		}
	}
	return nil
}

var errRatio = errors.New("compression ratio limit")

// writeEntry copies at most limit bytes of an entry and reports whether it
// was cut. check is called as bytes arrive so a bomb stops early.
func writeEntry(root *os.Root, name string, r io.Reader, limit int64, check func(int64) error) (int64, bool, error) {
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(filepath.FromSlash(dir), 0o700); err != nil {
			return 0, false, err
		}
	}
	w, err := root.OpenFile(filepath.FromSlash(name), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, false, err
	}
	defer w.Close()
	buf := make([]byte, 64<<10)
	var n int64
	for {
		m, rerr := r.Read(buf)
		if m > 0 {
			if n+int64(m) > limit {
				m = int(limit - n)
				w.Write(buf[:m])
				n += int64(m)
				return n, true, nil
			}
			if _, err := w.Write(buf[:m]); err != nil {
				return n, false, err
			}
			n += int64(m)
			if err := check(n); err != nil {
				return n, false, err
			}
		}
		if rerr == io.EOF {
			return n, false, nil
		}
		if rerr != nil {
			return n, false, rerr
		}
	}
}
