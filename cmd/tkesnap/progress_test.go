package main

import (
	"bytes"
	"strings"
	"testing"
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
