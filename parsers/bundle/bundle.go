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
	"sync"
	"syscall"
	"time"

	"tkesnap/internal/membudget"
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
	// sizes bounds each file of a directory bundle to what index saw and
	// allowed (per-file limit, aggregate limit): a file that is bigger or
	// grows while it is read is cut there, as an archive is on unpack.
	sizes map[string]int64
	view  bool // made by Without: shares root with the bundle it came from

	// capped problems: past maxEntryProblems only counted.
	entryProblems, droppedProblems int

	// opened records the files opened for reading (Open, ReadFile), so
	// the caller can tell "nothing could be read" from "nothing was
	// asked"; loaders may open files from several goroutines.
	openedMu sync.Mutex
	opened   map[string]bool

	// OnRead, when set, is called as files opened with Open are read, with
	// the file's name and the bytes just read: the CLI draws its progress
	// bar for reading captures from it. Set it before reading.
	OnRead func(name string, n int)
}

// maxEntryProblems bounds per-entry problems so a hostile archive of
// 200k bad names does not make a 200k-line report.
const maxEntryProblems = 100

// maxDepth and maxNameBytes bound the path of one entry or folder item.
// A real bundle is a few levels deep (nodes/<node>/captures/<file>); a
// path thousands of levels deep made every create walk all its parents
// (quadratic: 2,000 levels took 2M openat calls, 8,000 never finished).
const (
	maxDepth     = 32
	maxNameBytes = 1024
)

// ErrUnreadable means nothing at all could be read from the input.
var ErrUnreadable = errors.New("bundle unreadable")

// ErrMemory is returned by Open and ReadFile once the process is past its
// memory budget (internal/membudget): the file is not read, and the
// analysis goes on with what it has instead of dying of out-of-memory.
var ErrMemory = errors.New("not read: tkesnap's memory budget is used up (the bundle is too large for this machine's memory; set GOMEMLIMIT higher or lower --max-file-bytes)")

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
		tmp, err := newTemp(o.TempDir)
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
		if depth(name) > maxDepth || len(name) > maxNameBytes {
			b.entryProblem(clip(name), fmt.Sprintf("path deeper than %d levels or longer than %d bytes; ignored", maxDepth, maxNameBytes))
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
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
	if b.temp == "" {
		files = b.boundFolder(files)
	}
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

// boundFolder applies the archive limits to a directory bundle: each file
// is read up to its per-file limit, and files past the aggregate limit
// (in sorted order) are left out and named as problems — absent, so the
// analysis treats them as unknown.
func (b *Bundle) boundFolder(files []string) []string {
	b.sizes = make(map[string]int64, len(files))
	var total int64
	kept := files[:0]
	skipped := 0
	for _, f := range files {
		st, err := b.root.Stat(filepath.FromSlash(f))
		if err != nil {
			b.entryProblem(f, err.Error())
			continue
		}
		size := st.Size()
		if lim := b.lim.fileLimit(f); size > lim {
			b.entryProblem(f, fmt.Sprintf("file larger than %d bytes; truncated", lim))
			size = lim
		}
		if total+size > b.lim.TotalBytes {
			skipped++
			continue
		}
		total += size
		b.sizes[f] = size
		kept = append(kept, f)
	}
	if skipped > 0 {
		b.problem("", fmt.Sprintf("bundle folder exceeds %d bytes in all; %d files not read", b.lim.TotalBytes, skipped))
	}
	b.flushProblems()
	return kept
}

func depth(name string) int { return strings.Count(name, "/") + 1 }

// clip shortens a hostile name for a problem line.
func clip(name string) string {
	if len(name) <= 200 {
		return name
	}
	return name[:200] + "…"
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

// Opened returns the files opened for reading so far, sorted.
func (b *Bundle) Opened() []string {
	b.openedMu.Lock()
	defer b.openedMu.Unlock()
	out := make([]string, 0, len(b.opened))
	for f := range b.opened {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Has reports whether the bundle has the file.
func (b *Bundle) Has(name string) bool { return b.set[name] }

// Open opens a file of the bundle for streaming. In a directory bundle
// the stream ends at the size index allowed, even if the file is bigger
// or grows meanwhile.
func (b *Bundle) Open(name string) (io.ReadCloser, error) {
	if !b.set[name] {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	b.openedMu.Lock()
	if b.opened == nil {
		b.opened = map[string]bool{}
	}
	b.opened[name] = true
	b.openedMu.Unlock()
	if !membudget.ReadAllowed() {
		return nil, fmt.Errorf("%s: %w", name, ErrMemory)
	}
	// O_NONBLOCK: a folder item swapped for a FIFO after index must not
	// block the open; it is refused as not regular below.
	f, err := b.root.OpenFile(filepath.FromSlash(name), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("not a regular file")}
	}
	limit := int64(-1)
	if b.sizes != nil {
		limit = b.sizes[name]
	}
	if limit < 0 && b.OnRead == nil {
		return f, nil
	}
	return &boundedReader{f: f, name: name, on: b.OnRead, left: limit}, nil
}

// boundedReader ends a directory bundle's file at its allowed size and
// reports the bytes read to OnRead.
type boundedReader struct {
	f    *os.File
	name string
	on   func(string, int)
	left int64 // -1: unbounded (archives were bounded on unpack)
}

func (c *boundedReader) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	if c.left > 0 && int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.f.Read(p)
	if c.left > 0 {
		c.left -= int64(n)
	}
	if n > 0 && c.on != nil {
		c.on(c.name, n)
	}
	return n, err
}

func (c *boundedReader) Close() error { return c.f.Close() }

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
	if b.sizes != nil && b.Size(name) > int64(len(data)) {
		// cut by index (per-file limit): the problem is recorded there,
		// and the caller still needs to know the text is partial
		return data, fmt.Errorf("%s: %w (%d bytes)", name, ErrTooLarge, len(data))
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
	if b.view {
		return nil
	}
	if b.root != nil {
		b.root.Close()
		b.root = nil
	}
	if b.temp != "" {
		err := removeTemp(b.temp)
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
