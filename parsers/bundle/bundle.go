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
}

// ErrUnreadable means nothing at all could be read from the input.
var ErrUnreadable = errors.New("bundle unreadable")

// Open opens a bundle archive or directory.
func Open(p string, lim Limits) (*Bundle, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	b := &Bundle{Path: p}
	if st.IsDir() {
		b.dir = p
	} else {
		tmp, err := os.MkdirTemp("", "tkesnap-bundle-")
		if err != nil {
			return nil, err
		}
		b.temp, b.dir = tmp, tmp
		if err := b.extract(p, lim); err != nil {
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
	err := fs.WalkDir(b.root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			b.problem(name, err.Error())
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			b.problem(name, "symbolic link ignored")
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, name)
		}
		return nil
	})
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
	return b.root.Open(filepath.FromSlash(name))
}

// ReadFile reads a whole file; callers use it for text inputs, which the
// extraction already bounded by Limits.FileBytes.
func (b *Bundle) ReadFile(name string) ([]byte, error) {
	f, err := b.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
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

// Close releases the bundle and removes the private temp root.
func (b *Bundle) Close() error {
	if b.root != nil {
		b.root.Close()
	}
	if b.temp != "" {
		return os.RemoveAll(b.temp)
	}
	return nil
}

// Manifest is manifest.json (design.md §2).
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
