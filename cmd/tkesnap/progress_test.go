package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tkesnap/parsers/bundle"
)

func TestProgressIsSilentWhenOff(t *testing.T) {
	var b bytes.Buffer
	pr := newProgress(&b, false)
	if cb := pr.unpack("unpacking x"); cb != nil {
		t.Error("unpack callback given while progress is off")
	}
	pr.spin("reading")()
	pr.wait()
	if b.Len() != 0 {
		t.Errorf("wrote %q while off", b.String())
	}
}

func TestProgressDrawsUnpackingBar(t *testing.T) {
	var b bytes.Buffer
	pr := newProgress(&b, true)
	cb := pr.unpack("unpacking big.tgz")
	for done := int64(0); done <= 4<<20; done += 1 << 20 {
		cb(done, 4<<20)
	}
	pr.spin("reading bundle")()
	pr.wait()
	if !strings.Contains(b.String(), "unpacking big.tgz") {
		t.Errorf("no unpacking bar in %q", b.String())
	}
}

func TestProgressFollowsCaptureReads(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "captures", "n1"), 0o755)
	os.WriteFile(filepath.Join(dir, "captures", "n1", "eth0.pcap"), bytes.Repeat([]byte{0}, 3<<20), 0o644)
	os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"format":"tkesnap-bundle/v1"}`), 0o644)
	b, err := bundle.Open(dir, bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var out bytes.Buffer
	pr := newProgress(&out, true)
	pr.captures(b)
	if b.OnRead == nil {
		t.Fatal("no read hook set for a bundle with a capture")
	}
	rc, err := b.Open("captures/n1/eth0.pcap")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, rc)
	rc.Close()
	pr.wait()
	if n != 3<<20 || !strings.Contains(out.String(), "reading captures") || !strings.Contains(out.String(), "3.0 MiB /") {
		t.Errorf("read %d bytes; bar output %q", n, out.String())
	}
}
