package collector

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tkesnap/parsers/bundle"
)

// nodePart is one node's share of the sample bundle, as a folder.
func nodePart(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "n1")
	split(t, "../testdata/bundles/sample", d, "nodes/10.0.1.11/")
	return d
}

// tgzOf packs dir (its contents under top/) with extra tar entries first.
func tgzOf(t *testing.T, dir, top string, extra ...*tar.Header) string {
	t.Helper()
	var buf bytes.Buffer
	if dir != "" {
		if err := Pack(&buf, dir, top); err != nil {
			t.Fatal(err)
		}
	}
	if len(extra) > 0 {
		var raw bytes.Buffer
		zw := gzip.NewWriter(&raw)
		tw := tar.NewWriter(zw)
		for _, h := range extra {
			if err := tw.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				// sparse content: zeros compress ~1000:1
				zero := make([]byte, 1<<20)
				for left := h.Size; left > 0; left -= int64(len(zero)) {
					n := int64(len(zero))
					if left < n {
						n = left
					}
					tw.Write(zero[:n])
				}
			}
		}
		tw.Close()
		zw.Close()
		if dir != "" {
			t.Fatal("tgzOf: extra entries only without dir")
		}
		buf = raw
	}
	p := filepath.Join(t.TempDir(), "in.tgz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func scriptMerge(t *testing.T, out string, inputs ...string) (string, error) {
	t.Helper()
	args := append([]string{writeScript(t), "--merge"}, inputs...)
	args = append(args, "-o", out)
	msg, err := exec.Command("bash", args...).CombinedOutput()
	return string(msg), err
}

// A victim folder that looks like a bundle: a merge that follows a link
// to it deletes its manifest.json (rm -f) and copies its files.
func victim(t *testing.T) string {
	t.Helper()
	v := t.TempDir()
	os.WriteFile(filepath.Join(v, "manifest.json"), []byte(`{"format": "tkesnap-bundle/v1", "files": [
]}`+"\n"), 0o644)
	os.WriteFile(filepath.Join(v, "private.txt"), []byte("not for upload\n"), 0o644)
	return v
}

func TestMergeRefusesLinksAndLeavesTheirTargetsAlone(t *testing.T) {
	v := victim(t)
	linkTgz := tgzOf(t, "", "", &tar.Header{Name: "bundle", Typeflag: tar.TypeSymlink, Linkname: v, Mode: 0o777})
	linkDir := filepath.Join(t.TempDir(), "linked")
	os.Symlink(v, linkDir)
	inner := nodePart(t)
	os.Symlink(filepath.Join(v, "private.txt"), filepath.Join(inner, "nodes", "10.0.1.11", "leak.txt"))
	for name, in := range map[string]string{"archive whose top folder is a link": linkTgz,
		"input folder that is a link": linkDir, "folder holding a link": inner} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "m.tgz")
			msg, err := scriptMerge(t, out, in)
			if err == nil {
				t.Errorf("script merged it: %s", msg)
			}
			if _, err := os.Stat(filepath.Join(v, "manifest.json")); err != nil {
				t.Fatalf("script deleted the link target's manifest.json: %v", err)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("script wrote %s", out)
			}
			goDir := t.TempDir()
			if err := Merge(goDir, []string{in}, time.Now()); err == nil && name != "input folder that is a link" {
				t.Errorf("Go merged it")
			}
			if _, err := os.Stat(filepath.Join(goDir, "nodes", "10.0.1.11", "leak.txt")); err == nil {
				t.Errorf("Go copied the link's target")
			}
			if _, err := os.Stat(filepath.Join(v, "manifest.json")); err != nil {
				t.Fatalf("Go deleted the link target's manifest.json: %v", err)
			}
		})
	}
}

// An archive is refused by its listing, before anything is written, when
// a file exceeds the analyzer's per-file bound (64 MiB of text).
func TestScriptMergeBoundsExtraction(t *testing.T) {
	in := tgzOf(t, "", "",
		&tar.Header{Name: "b/manifest.json", Typeflag: tar.TypeReg, Size: 0, Mode: 0o644},
		&tar.Header{Name: "b/nodes/x/iptables-save.txt", Typeflag: tar.TypeReg, Size: 65 << 20, Mode: 0o644})
	st, _ := os.Stat(in)
	tmp := t.TempDir()
	cmd := exec.Command("bash", writeScript(t), "--merge", in, "-o", filepath.Join(tmp, "m.tgz"))
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	msg, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(msg), "larger than") {
		t.Fatalf("a %d-byte archive unpacking a 65 MiB file was merged: %v %s", st.Size(), err, msg)
	}
	var used int64
	filepath.Walk(tmp, func(_ string, i os.FileInfo, _ error) error {
		if i != nil && i.Mode().IsRegular() {
			used += i.Size()
		}
		return nil
	})
	if used > 1<<20 {
		t.Errorf("the refused merge wrote %d bytes", used)
	}
}

// A truncated input is an error in both collectors, never a merge that
// exits 0 without the lost part.
func TestMergeOfATruncatedInputFails(t *testing.T) {
	full := tgzOf(t, nodePart(t), "tkesnap-node-10.0.1.11-x")
	data, _ := os.ReadFile(full)
	cut := filepath.Join(t.TempDir(), "cut.tgz")
	os.WriteFile(cut, data[:len(data)/2], 0o644)
	if msg, err := scriptMerge(t, filepath.Join(t.TempDir(), "m.tgz"), cut); err == nil {
		t.Errorf("script merged a truncated input: %s", msg)
	}
	err := Merge(t.TempDir(), []string{cut}, time.Now())
	if err == nil {
		t.Fatal("Go merged a truncated input")
	}
	if !strings.Contains(err.Error(), "damaged") {
		t.Errorf("error does not say the input is damaged: %v", err)
	}
	// the complete input still merges
	if err := Merge(t.TempDir(), []string{full}, time.Now()); err != nil {
		t.Fatalf("complete input: %v", err)
	}
}

// A link planted at <dest>.part in a shared output folder is not written
// through: both collectors write a fresh temp file and rename it.
func TestPlantedPartLinkIsNotFollowed(t *testing.T) {
	in := nodePart(t)
	for _, who := range []string{"script", "go"} {
		t.Run(who, func(t *testing.T) {
			shared := t.TempDir()
			target := filepath.Join(t.TempDir(), "target")
			os.WriteFile(target, []byte("precious\n"), 0o644)
			dest := filepath.Join(shared, "bundle.tgz")
			if err := os.Symlink(target, dest+".part"); err != nil {
				t.Fatal(err)
			}
			if who == "script" {
				if msg, err := scriptMerge(t, dest, in); err != nil {
					t.Fatalf("%v %s", err, msg)
				}
			} else {
				dir := filepath.Join(t.TempDir(), "b")
				os.MkdirAll(dir, 0o755)
				if err := Merge(dir, []string{in}, time.Now()); err != nil {
					t.Fatal(err)
				}
				if err := WriteTarball(dest, dir, "b"); err != nil {
					t.Fatal(err)
				}
			}
			if got, _ := os.ReadFile(target); string(got) != "precious\n" {
				t.Errorf("the link's target was overwritten: %q", got)
			}
			b, err := bundle.Open(dest, bundle.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if len(b.Problems) > 0 || !b.Has("nodes/10.0.1.11/iptables-save.txt") {
				t.Errorf("bundle: problems %+v, files %v", b.Problems, b.Files())
			}
			left, _ := filepath.Glob(dest + ".part*")
			if len(left) != 1 {
				t.Errorf("temp files left: %v", left)
			}
		})
	}
}

// synthBundle writes a folder bundle of n files of size bytes each.
func synthBundle(t *testing.T, node string, n, size int) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), node)
	nd := filepath.Join(d, "nodes", node)
	if err := os.MkdirAll(nd, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(d, "manifest.json"), []byte(`{"format": "tkesnap-bundle/v1", "files": [
]}`+"\n"), 0o644)
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(nd, fmt.Sprintf("f%03d.txt", i)), bytes.Repeat([]byte("x"), size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// The merged bundle is bounded as the analyzer bounds a bundle: total
// bytes and entries, all inputs together (each input may fit alone), in
// both collectors, for folders and archives; the same inputs merge under
// bounds they fit.
func TestMergeBoundsTotalBytesAndEntries(t *testing.T) {
	a := synthBundle(t, "10.0.1.11", 3, 100_000) // 300 kB, 6 entries with folders
	b := synthBundle(t, "10.0.1.12", 3, 100_000)
	many := synthBundle(t, "10.0.1.13", 40, 10)
	aTgz, bTgz := tgzOf(t, a, "a"), tgzOf(t, b, "b")
	lim := func(total int64, entries int) bundle.Limits {
		l := bundle.DefaultLimits()
		l.TotalBytes, l.Entries = total, entries
		return l
	}
	for _, c := range []struct {
		name    string
		inputs  []string
		lim     bundle.Limits
		refused string // what the script says; "" merges
	}{
		{"one input over the total", []string{a}, lim(250_000, 1000), "would exceed 250000 bytes"},
		{"one archive over the total", []string{aTgz}, lim(250_000, 1000), "would exceed 250000 bytes"},
		{"two inputs together over the total", []string{a, b}, lim(500_000, 1000), "would exceed 500000 bytes"},
		{"two archives together over the total", []string{aTgz, bTgz}, lim(500_000, 1000), "would exceed 500000 bytes"},
		{"two inputs under the total", []string{a, b}, lim(700_000, 1000), ""},
		{"an input over the entries", []string{many}, lim(1<<30, 20), "more than 20 entries"},
		{"two inputs together over the entries", []string{a, b}, lim(1<<30, 11), "more than 11 entries"},
		{"inputs under the entries", []string{a, b, many}, lim(1<<30, 100), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "m.tgz")
			args := append([]string{writeScript(t), "--merge"}, c.inputs...)
			args = append(args, "-o", out, "--max-total-bytes", fmt.Sprint(c.lim.TotalBytes), "--max-entries", fmt.Sprint(c.lim.Entries))
			msg, err := exec.Command("bash", args...).CombinedOutput()
			_, statErr := os.Stat(out)
			if c.refused == "" {
				if err != nil || statErr != nil {
					t.Errorf("script refused: %v %s", err, msg)
				}
			} else {
				if err == nil || !strings.Contains(string(msg), c.refused) {
					t.Errorf("script: want refusal %q, got %v: %s", c.refused, err, msg)
				}
				if statErr == nil {
					t.Errorf("script wrote %s", out)
				}
			}
			goErr := MergeWithin(t.TempDir(), c.inputs, time.Now(), c.lim)
			if (goErr == nil) != (c.refused == "") {
				t.Errorf("Go: refused %q, error %v", c.refused, goErr)
			}
		})
	}
}
