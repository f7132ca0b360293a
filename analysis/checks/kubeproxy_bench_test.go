package checks

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tkesnap/analysis/driver/drivertest"
	"tkesnap/internal/testenv"
)

// writeBigCluster writes a bundle with nsvc ClusterIP Services (3 ready
// endpoints each, on node-1/node-2) and node-1's matching IPVS table.
func writeBigCluster(tb testing.TB, dir string, nsvc int, dropDestOf int) {
	tb.Helper()
	mk := func(name string, fn func(w *bufio.Writer)) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		f, err := os.Create(p)
		if err != nil {
			tb.Fatal(err)
		}
		w := bufio.NewWriter(f)
		fn(w)
		if err := w.Flush(); err != nil {
			tb.Fatal(err)
		}
		f.Close()
	}
	vip := func(i int) string { return fmt.Sprintf("10.96.%d.%d", i>>8, i&255) }
	ep := func(i, j int) string { return fmt.Sprintf("172.16.%d.%d", (i*3+j)>>8&255, (i*3+j)&255) }
	mk("cluster/nodes.yaml", func(w *bufio.Writer) {
		fmt.Fprint(w, "apiVersion: v1\nkind: List\nitems:\n")
		for i, n := range []string{"node-1", "node-2"} {
			fmt.Fprintf(w, "- apiVersion: v1\n  kind: Node\n  metadata: {name: %s}\n  spec: {podCIDR: 172.%d.0.0/16}\n  status:\n    addresses:\n    - {type: InternalIP, address: 10.0.1.%d}\n", n, 16+i, 5+i)
		}
	})
	mk("cluster/services.yaml", func(w *bufio.Writer) {
		fmt.Fprint(w, "apiVersion: v1\nkind: List\nitems:\n")
		for i := 0; i < nsvc; i++ {
			fmt.Fprintf(w, "- apiVersion: v1\n  kind: Service\n  metadata: {name: s%d, namespace: default}\n  spec:\n    type: ClusterIP\n    clusterIP: %s\n    clusterIPs: [%s]\n    ports:\n    - {name: http, port: 80, protocol: TCP, targetPort: 8080}\n", i, vip(i), vip(i))
		}
	})
	mk("cluster/endpointslices.yaml", func(w *bufio.Writer) {
		fmt.Fprint(w, "apiVersion: v1\nkind: List\nitems:\n")
		for i := 0; i < nsvc; i++ {
			fmt.Fprintf(w, "- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  metadata:\n    name: s%d-x\n    namespace: default\n    labels: {kubernetes.io/service-name: s%d}\n  addressType: IPv4\n  endpoints:\n", i, i)
			for j := 0; j < 3; j++ {
				fmt.Fprintf(w, "  - addresses: [%s]\n    conditions: {ready: true}\n    nodeName: node-%d\n", ep(i, j), 1+j%2)
			}
			fmt.Fprint(w, "  ports:\n  - {name: http, port: 8080, protocol: TCP}\n")
		}
	})
	mk("nodes/node-1/ipvsadm.txt", func(w *bufio.Writer) {
		for i := 0; i < nsvc; i++ {
			fmt.Fprintf(w, "-A -t %s:80 -s rr\n", vip(i))
			for j := 0; j < 3; j++ {
				if i == dropDestOf && j == 1 {
					continue
				}
				fmt.Fprintf(w, "-a -t %s:80 -r %s:8080 -m -w 1\n", vip(i), ep(i, j))
			}
		}
	})
	mk("nodes/node-1/kube-proxy.txt", func(w *bufio.Writer) { fmt.Fprint(w, "found: true\nmode: ipvs\nmode_source: flag --proxy-mode\n") })
}

// BenchmarkReconcileIPVS10kServices: the kube-proxy check over a node
// with 10,000 virtual services (the bundle is loaded once, outside the
// timer; its load time is reported as a metric).
func BenchmarkReconcileIPVS10kServices(b *testing.B) {
	dir := b.TempDir()
	writeBigCluster(b, dir, 10000, -1)
	start := time.Now()
	c := loadBundle(b, dir)
	load := time.Since(start)
	ch := drivertest.Named("kube-proxy-rules", All())
	b.ResetTimer()
	for b.Loop() {
		res := drivertest.RunModel(b, c, ch...)
		if len(res.Findings) != 0 {
			b.Fatalf("healthy table: %d findings, first %+v", len(res.Findings), res.Findings[0])
		}
	}
	b.ReportMetric(load.Seconds()*1000, "load-ms")
}

func TestBigClusterFindsTheOneMissingRealServer(t *testing.T) {
	if testing.Short() {
		testenv.Skip(t, testenv.ShortMode)
	}
	dir := t.TempDir()
	writeBigCluster(t, dir, 300, 123)
	res := runChecks(t, loadBundle(t, dir))
	got := kubeProxyFindings(res)
	if len(got) != 1 || got[0] != "MISSING node-1 default/s123:http/tcp "+fmt.Sprintf("172.16.%d.%d:8080", (123*3+1)>>8, (123*3+1)&255) {
		t.Fatalf("%d findings: %v", len(got), got[:min(5, len(got))])
	}
}
