package collector

import (
	"archive/tar"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"tkesnap/parsers/bundle"
)

// Version is the collector_version the Go collector writes.
const Version = "tkesnap-collect/1 (go)"

// WriteManifest writes manifest.json in the script's layout: a header and
// one record a line, so the script's --merge can combine Go-made bundles.
func WriteManifest(w io.Writer, m *bundle.Manifest) error {
	str := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	var b strings.Builder
	fmt.Fprintf(&b, "{\n\"format\": %s,\n\"created\": %s,\n\"collector_version\": %s,\n",
		str(m.Format), str(m.Created.UTC().Format(time.RFC3339)), str(m.CollectorVersion))
	fmt.Fprintf(&b, "\"cluster\": {\"id\": %s, \"type\": %s, \"region\": %s},\n\"files\": [\n",
		str(m.Cluster.ID), str(m.Cluster.Type), str(m.Cluster.Region))
	for i, r := range m.Files {
		line, err := json.Marshal(record(r))
		if err != nil {
			return err
		}
		b.Write(line)
		if i < len(m.Files)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// record is a ManifestRecord with the script's field set: node, bytes and
// truncated always present.
type record struct {
	Path       string `json:"path"`
	Command    string `json:"command"`
	Node       string `json:"node"`
	ExitCode   int    `json:"exit_code"`
	DurationMS int64  `json:"duration_ms"`
	Bytes      int64  `json:"bytes"`
	Truncated  bool   `json:"truncated"`
	Stderr     string `json:"stderr,omitempty"`
	Skipped    string `json:"skipped,omitempty"`
}

// Pack writes the tree below dir as a gzip'd tar whose entries sit under
// one top-level folder named top.
func Pack(out io.Writer, dir, top string) error {
	zw := gzip.NewWriter(out)
	tw := tar.NewWriter(zw)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := top
		if rel != "." {
			name = top + "/" + filepath.ToSlash(rel)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() && !info.IsDir() {
			return nil // never pack links or devices
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = name
		if info.IsDir() {
			h.Name += "/"
		}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// Destination resolves -o like the script: "" → ./NAME.tgz, an existing
// directory or a path ending in / → DIR/NAME.tgz, anything else is the file.
func Destination(out, name string) (string, error) {
	if out == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		return filepath.Join(wd, name+".tgz"), nil
	}
	if st, err := os.Stat(out); (err == nil && st.IsDir()) || strings.HasSuffix(out, "/") {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return "", err
		}
		return filepath.Join(out, name+".tgz"), nil
	}
	return out, nil
}

// WriteTarball packs dir into dest atomically: a fresh temp file next to
// dest, then rename. The temp name is random and opened with
// O_EXCL|O_NOFOLLOW: in a shared -o folder a planted link (or file) at a
// predictable dest.part would make root write through it.
func WriteTarball(dest, dir, top string) error {
	f, part, err := createPart(dest)
	if err != nil {
		return err
	}
	if err := Pack(f, dir, top); err != nil {
		f.Close()
		os.Remove(part)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(part)
		return err
	}
	if err := os.Rename(part, dest); err != nil {
		os.Remove(part)
		return err
	}
	return nil
}

// createPart creates dest.part.<random> exclusively, never through a link.
func createPart(dest string) (*os.File, string, error) {
	for i := 0; i < 100; i++ {
		var r [6]byte
		if _, err := rand.Read(r[:]); err != nil {
			return nil, "", err
		}
		part := dest + ".part." + hex.EncodeToString(r[:])
		f, err := os.OpenFile(part, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, part, err
	}
	return nil, "", fmt.Errorf("cannot create a temp file next to %s", dest)
}

// Merge combines node and cluster bundles (archives or directories) into
// one bundle tree at dir, the way the script's --merge does: files are
// copied (later inputs win on a clash), manifest records concatenated, the
// cluster id/type/region taken from whichever input knows them.
func Merge(dir string, inputs []string, now time.Time) error {
	return MergeWithin(dir, inputs, now, bundle.DefaultLimits())
}

// MergeWithin is Merge under lim, whose total bytes and entries bound the
// merged bundle (all inputs together), so the analyzer reads all of it.
func MergeWithin(dir string, inputs []string, now time.Time, lim bundle.Limits) error {
	m := &bundle.Manifest{Format: "tkesnap-bundle/v1", Created: now, CollectorVersion: Version}
	var usedBytes int64
	usedEntries := 0
	for _, in := range inputs {
		left := lim
		left.TotalBytes -= usedBytes
		left.Entries -= usedEntries
		if left.TotalBytes <= 0 || left.Entries <= 0 {
			return fmt.Errorf("%s: not merged: the inputs before it fill the merged bundle's bounds (%d bytes, %d entries)", in, lim.TotalBytes, lim.Entries)
		}
		b, err := bundle.Open(in, left)
		if err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
		if b.Manifest == nil {
			b.Close()
			return fmt.Errorf("%s: no manifest.json", in)
		}
		// A damaged input (truncated archive, link, file over a bound)
		// must not merge silently: the part it lost would vanish.
		if len(b.Problems) > 0 {
			var ps []string
			for _, p := range b.Problems {
				ps = append(ps, strings.TrimPrefix(p.File+": ", ": ")+p.Message)
			}
			b.Close()
			return fmt.Errorf("%s: not merged, the input is damaged or exceeds what is left of the bounds (%d of %d bytes, %d of %d entries): %s",
				in, left.TotalBytes, lim.TotalBytes, left.Entries, lim.Entries, strings.Join(ps, "; "))
		}
		m.Files = append(m.Files, b.Manifest.Files...)
		if c := b.Manifest.Cluster; c.ID != "" {
			m.Cluster.ID = c.ID
		}
		if c := b.Manifest.Cluster; c.Type != "" {
			m.Cluster.Type = c.Type
		}
		if c := b.Manifest.Cluster; c.Region != "" {
			m.Cluster.Region = c.Region
		}
		dirs := map[string]bool{}
		for _, f := range b.Files() {
			usedBytes += b.Size(f)
			usedEntries++
			for d := path.Dir(f); d != "." && !dirs[d]; d = path.Dir(d) {
				dirs[d] = true
				usedEntries++
			}
			if f == "manifest.json" {
				continue
			}
			if err := copyOut(b, f, filepath.Join(dir, filepath.FromSlash(f))); err != nil {
				b.Close()
				return fmt.Errorf("%s: %s: %w", in, f, err)
			}
		}
		b.Close()
	}
	f, err := os.Create(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return err
	}
	if err := WriteManifest(f, m); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// copyOut streams one bundle file to p (captures can be large).
func copyOut(b *bundle.Bundle, name, p string) error {
	r, err := b.Open(name)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	w, err := os.Create(p)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
