package hostile

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Files is a bundle's files by slash path.
type Files map[string][]byte

// WriteDir writes files as a folder bundle below dir.
func WriteDir(dir string, fs Files) error {
	for name, data := range fs {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// TarEntry is one entry of a hand-made archive.
type TarEntry struct {
	Name string
	Dir  bool
	Data []byte
}

// WriteTar writes entries as an uncompressed tar file.
func WriteTar(p string, es []TarEntry) error {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range es {
		h := &tar.Header{Name: e.Name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e.Data)), Format: tar.FormatPAX}
		if e.Dir {
			h.Typeflag, h.Size, h.Mode = tar.TypeDir, 0, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(e.Data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(p, b.Bytes(), 0o644)
}

// Deep is an archive with one good file and a file levels folders deep
// (d/d/…/f).
func Deep(levels int) []TarEntry {
	return []TarEntry{
		{Name: "manifest.json", Data: []byte(`{"format":"tkesnap-bundle/v1","files":[]}`)},
		{Name: "flows.json", Data: []byte(`[{"from":"pod:default/a","to":"svc:default/b:80"}]`)},
		{Name: strings.Repeat("d/", levels) + "f", Data: []byte("x")},
	}
}

// Manifest is a manifest.json with n records of failed commands.
func Manifest(n int) []byte {
	type rec struct {
		Path     string `json:"path"`
		Command  string `json:"command"`
		Node     string `json:"node,omitempty"`
		ExitCode int    `json:"exit_code"`
		Stderr   string `json:"stderr,omitempty"`
	}
	m := struct {
		Format string `json:"format"`
		Files  []rec  `json:"files"`
	}{Format: "tkesnap-bundle/v1"}
	for i := range n {
		m.Files = append(m.Files, rec{Path: fmt.Sprintf("nodes/n%d/iptables-save.txt", i), Command: "iptables-save -c", Node: fmt.Sprintf("n%d", i), ExitCode: 1, Stderr: "iptables-save: permission denied"})
	}
	b, _ := json.Marshal(m)
	return b
}

// Garbage is a bundle with the collector's layout whose every file is
// random bytes: nothing in it can be read.
func Garbage(seed uint64) Files {
	r := rand.New(rand.NewPCG(seed, seed))
	junk := func() []byte {
		b := make([]byte, 200+r.IntN(2000))
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		return b
	}
	fs := Files{"manifest.json": junk(), "flows.json": junk()}
	for _, f := range []string{"pods.yaml", "services.yaml", "endpoints.yaml", "nodes.yaml", "configmaps.yaml", "networkpolicies.yaml", "ingresses.yaml"} {
		fs["cluster/"+f] = junk()
	}
	for _, f := range []string{"security-groups.json", "instances.json", "route-tables.json", "load-balancers.json", "clusters.json", "subnets.json"} {
		fs["cloud/"+f] = junk()
	}
	for _, n := range []string{"node-a", "node-b"} {
		for _, f := range []string{"iptables-save.txt", "ipvsadm.txt", "ip-route.json", "ip-addr.json", "sysctl.txt", "ipset.txt", "conntrack.txt", "ss.txt"} {
			fs["nodes/"+n+"/"+f] = junk()
		}
	}
	return fs
}

// HugeFlow is flows.json with one flow whose endpoint is an n-byte token
// (no space to wrap at).
func HugeFlow(n int) []byte {
	b, _ := json.Marshal([]map[string]string{{"from": "pod:default/" + strings.Repeat("a", n), "to": "svc:default/b:80"}})
	return b
}
