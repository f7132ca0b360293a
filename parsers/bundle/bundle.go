// Package bundle opens a tkesnap bundle — a .tgz/.tar.gz/.tar.zst/.tar
// archive or an unpacked directory — and exposes its files as a read-only
// tree of slash-separated paths relative to the bundle root.
//
// Bundles come from strangers. Archives are unpacked only into a private
// temporary root through os.Root, so no entry name can escape it; links
// and device files are never created; sizes, entry counts and the
// compression ratio are bounded; a damaged archive yields the files read so
// far plus a recorded Problem.
package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Limits bound what an archive may expand to.
type Limits struct {
	TotalBytes int64   // all files together, uncompressed
	FileBytes  int64   // one text file
	PcapBytes  int64   // one capture file (.pcap/.pcapng)
	Entries    int     // archive entries of any kind
	Ratio      float64 // uncompressed / compressed bytes, checked past 1 MiB
}

// DefaultLimits fit real bundles with captures.
func DefaultLimits() Limits {
	return Limits{TotalBytes: 2 << 30, FileBytes: 64 << 20, PcapBytes: 1 << 30, Entries: 200_000, Ratio: 200}
}

// Problem is something wrong with the bundle itself.
type Problem struct {
	File    string `json:"file"`
	Message string `json:"message"`
}

// Bundle is an opened bundle. Close removes the private temp root.
type Bundle struct {
	Path     string
	Manifest *Manifest
	Problems []Problem

	root  *os.Root // files, relative to the bundle root
	dir   string   // filesystem path of root
	temp  string   // temp dir to remove on Close ("" for directory bundles)
	files []string // sorted
	set   map[string]bool
	lim   Limits

	// capped problems: past maxEntryProblems only counted.
	entryProblems, droppedProblems int

	// OnRead, when set, is called as files opened with Open are read, with
	// the file's name and the bytes just read: the CLI draws its progress
	// bar for reading captures from it. Set it before reading.
	OnRead func(name string, n int)
}

// maxEntryProblems bounds per-entry problems so a hostile archive of
// 200k bad names does not make a 200k-line report.
const maxEntryProblems = 100

// ErrUnreadable means nothing at all could be read from the input.
var ErrUnreadable = errors.New("bundle unreadable")

// ErrTooLarge is returned by ReadFile for a file above its size limit
// (only possible in directory bundles: archives are truncated on unpack).
var ErrTooLarge = errors.New("file larger than the limit")

// Options tune OpenWith. Zero fields take their defaults.
type Options struct {
	Limits Limits
	// Progress, when set, is called while an archive is unpacked with the
	// compressed bytes read so far and the archive's size, at most every
	// 256 KiB and once at the end. Not called for directory bundles.
	Progress func(done, total int64)
	// TempDir is where the private root is created (default os.TempDir()).
	TempDir string
}

// Open opens a bundle archive or directory.
func Open(p string, lim Limits) (*Bundle, error) {
	return OpenWith(p, Options{Limits: lim})
}

// withDefaults fills zero limits, so a caller setting one limit does not
// accidentally set the others to zero.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.TotalBytes <= 0 {
		l.TotalBytes = d.TotalBytes
	}
	if l.FileBytes <= 0 {
		l.FileBytes = d.FileBytes
	}
	if l.PcapBytes <= 0 {
		l.PcapBytes = d.PcapBytes
	}
	if l.Entries <= 0 {
		l.Entries = d.Entries
	}
	if l.Ratio <= 0 {
		l.Ratio = d.Ratio
	}
	return l
}

// OpenWith opens a bundle archive or directory with options. On error
// nothing is left behind: the private temp root is removed.
func OpenWith(p string, o Options) (*Bundle, error) {
	lim := o.Limits.withDefaults()
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	b := &Bundle{Path: p, lim: lim}
	switch {
	case st.IsDir():
		b.dir = p
	case !st.Mode().IsRegular():
		// A FIFO or device would block or never end.
		return nil, fmt.Errorf("%w: %s is not a regular file or folder", ErrUnreadable, p)
	case st.Size() == 0:
		return nil, fmt.Errorf("%w: %s is empty (0 bytes)", ErrUnreadable, p)
	default:
		tmp, err := os.MkdirTemp(o.TempDir, "tkesnap-bundle-")
		if err != nil {
			return nil, err
		}
		b.temp, b.dir = tmp, tmp
		if err := b.extract(p, st.Size(), lim, o.Progress); err != nil {
			b.Close()
			return nil, err
		}
	}
	if b.root, err = os.OpenRoot(b.dir); err != nil {
		b.Close()
		return nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	if err := b.index(); err != nil {
		b.Close()
		return nil, err
	}
	b.readManifest()
	return b, nil
}

// index lists regular files below the root, stripping a single top-level
// folder of any name. Symlinks in directory bundles are listed as problems
// and never followed.
func (b *Bundle) index() error {
	var files []string
	seen := 0
	err := fs.WalkDir(b.root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			b.entryProblem(name, err.Error())
			return nil
		}
		// Archives were bounded on unpack; a folder given as the bundle
		// is bounded here.
		if seen++; b.temp == "" && seen > b.lim.Entries {
			b.problem("", fmt.Sprintf("bundle folder has more than %d entries; the rest is ignored", b.lim.Entries))
			return fs.SkipAll
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			// Never followed: a link may point anywhere on the host.
			b.entryProblem(name, "symbolic link ignored (links are never followed)")
		case d.Type().IsRegular():
			files = append(files, name)
		case !d.IsDir():
			b.entryProblem(name, "special file ignored")
		}
		return nil
	})
	b.flushProblems()
	if err != nil {
		return err
	}
	prefix := commonTop(files)
	if prefix != "" {
		sub, err := b.root.OpenRoot(prefix)
		if err != nil {
			return err
		}
		b.root.Close()
		b.root = sub
		b.dir = filepath.Join(b.dir, filepath.FromSlash(prefix))
		for i, f := range files {
			files[i] = strings.TrimPrefix(f, prefix+"/")
		}
	}
	sort.Strings(files)
	b.files = files
	b.set = make(map[string]bool, len(files))
	for _, f := range files {
		b.set[f] = true
	}
	if len(files) == 0 {
		b.problem("", "bundle holds no files")
	}
	return nil
}

// commonTop returns the single top-level folder all files share, unless
// the bundle already has its own layout at the top (manifest.json etc.).
func commonTop(files []string) string {
	top := ""
	for _, f := range files {
		i := strings.IndexByte(f, '/')
		if i < 0 {
			return ""
		}
		if top == "" {
			top = f[:i]
		} else if f[:i] != top {
			return ""
		}
	}
	switch top {
	case "cluster", "cloud", "nodes", "captures":
		return ""
	}
	return top
}

func (b *Bundle) problem(file, msg string) {
	b.Problems = append(b.Problems, Problem{File: file, Message: msg})
}

// entryProblem records a problem about one archive entry or folder item,
// keeping at most maxEntryProblems of them.
func (b *Bundle) entryProblem(file, msg string) {
	if b.entryProblems >= maxEntryProblems {
		b.droppedProblems++
		return
	}
	b.entryProblems++
	b.problem(file, msg)
}

func (b *Bundle) flushProblems() {
	if b.droppedProblems > 0 {
		b.problem("", fmt.Sprintf("%d more entries had problems (not listed)", b.droppedProblems))
		b.droppedProblems = 0
	}
}

// Problem records a problem found while reading a file of the bundle.
func (b *Bundle) Problem(file, msg string) { b.problem(file, msg) }

// Files returns every regular file, sorted.
func (b *Bundle) Files() []string { return b.files }

// Has reports whether the bundle has the file.
func (b *Bundle) Has(name string) bool { return b.set[name] }

// Open opens a file of the bundle for streaming.
func (b *Bundle) Open(name string) (io.ReadCloser, error) {
	if !b.set[name] {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	f, err := b.root.Open(filepath.FromSlash(name))
	if err != nil || b.OnRead == nil {
		return f, err
	}
	return &countingReader{f: f, name: name, on: b.OnRead}, nil
}

// countingReader reports the bytes read from a bundle file to OnRead.
type countingReader struct {
	f    *os.File
	name string
	on   func(string, int)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	if n > 0 {
		c.on(c.name, n)
	}
	return n, err
}

func (c *countingReader) Close() error { return c.f.Close() }

// ReadFile reads a whole file, at most the per-file limit (Limits.FileBytes,
// or PcapBytes for a capture). Archives were already truncated to it on
// unpack; a bigger file in a directory bundle gives ErrTooLarge.
func (b *Bundle) ReadFile(name string) ([]byte, error) {
	f, err := b.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	limit := b.lim.fileLimit(name)
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return data, err
	}
	if int64(len(data)) > limit {
		return data[:limit], fmt.Errorf("%s: %w (%d bytes)", name, ErrTooLarge, limit)
	}
	return data, nil
}

// fileLimit is the size bound for one file of the bundle.
func (l Limits) fileLimit(name string) int64 {
	if isCapture(name) {
		return l.PcapBytes
	}
	return l.FileBytes
}

func isCapture(name string) bool {
	n := strings.ToLower(name)
	return strings.HasSuffix(n, ".pcap") || strings.HasSuffix(n, ".pcapng") ||
		strings.HasSuffix(n, ".pcap.gz") || strings.HasSuffix(n, ".pcapng.gz")
}

// Size returns a file's size in bytes.
func (b *Bundle) Size(name string) int64 {
	if !b.set[name] {
		return -1
	}
	st, err := b.root.Stat(filepath.FromSlash(name))
	if err != nil {
		return -1
	}
	return st.Size()
}

// Dir lists the names directly below dir ("" for the root): files and
// folders, sorted, without duplicates.
func (b *Bundle) Dir(dir string) []string {
	dir = strings.Trim(dir, "/")
	prefix := dir + "/"
	if dir == "" {
		prefix = ""
	}
	var out []string
	seen := map[string]bool{}
	for _, f := range b.files {
		if !strings.HasPrefix(f, prefix) {
			continue
		}
		rest := f[len(prefix):]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i]
		}
		if !seen[rest] {
			seen[rest] = true
			out = append(out, rest)
		}
	}
	return out
}

// Glob returns files matching a path.Match pattern, sorted.
func (b *Bundle) Glob(pattern string) []string {
	var out []string
	for _, f := range b.files {
		if ok, _ := path.Match(pattern, f); ok {
			out = append(out, f)
		}
	}
	return out
}

// Close releases the bundle and removes the private temp root. It is safe
// to call more than once.
func (b *Bundle) Close() error {
	if b.root != nil {
		b.root.Close()
		b.root = nil
	}
	if b.temp != "" {
		err := os.RemoveAll(b.temp)
		b.temp = ""
		return err
	}
	return nil
}

// Manifest is manifest.json (docs/design.md §2).
type Manifest struct {
	Format           string           `json:"format"`
	Created          time.Time        `json:"created"`
	CollectorVersion string           `json:"collector_version"`
	Cluster          ManifestCluster  `json:"cluster"`
	Files            []ManifestRecord `json:"files"`
}

// ManifestCluster is what the collector knew of the cluster.
type ManifestCluster struct {
	ID     string `json:"id,omitempty"`
	Type   string `json:"type,omitempty"`
	Region string `json:"region,omitempty"`
}

// ManifestRecord is one collected file and the command that produced it.
type ManifestRecord struct {
	Path       string `json:"path"`
	Command    string `json:"command,omitempty"`
	Node       string `json:"node,omitempty"`
	ExitCode   int    `json:"exit_code"`
	DurationMS int64  `json:"duration_ms,omitempty"`
	Bytes      int64  `json:"bytes,omitempty"`
	Truncated  bool   `json:"truncated,omitempty"`
	Stderr     string `json:"stderr,omitempty"`
	Skipped    string `json:"skipped,omitempty"`
}

// ParseManifest decodes manifest.json. Unknown fields are ignored so newer
// collectors stay readable.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

func (b *Bundle) readManifest() {
	if !b.Has("manifest.json") {
		b.problem("manifest.json", "missing: the bundle was not made by the tkesnap collector or is incomplete")
		return
	}
	data, err := b.ReadFile("manifest.json")
	if err != nil {
		b.problem("manifest.json", err.Error())
		return
	}
	m, err := ParseManifest(data)
	if err != nil {
		b.problem("manifest.json", "not valid JSON: "+err.Error())
		return
	}
	b.Manifest = m
}
