// Command scale generates the scale cluster (50 nodes, 5,000
// Services, 50,000 pods, in kubectl YAML) and times loading it and
// running every check, printing wall time and peak RSS. Used by
// `make bench-kube`; the budget is 10 s and 1 GiB on 2 cores.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	"tkesnap/analysis/analyzers"
	"tkesnap/analysis/driver"
	"tkesnap/analysis/model"
	"tkesnap/lab/kube/gen"
	"tkesnap/parsers/bundle"
)

func main() {
	dir := flag.String("dir", "", "generate into (and keep) this directory; default a temp dir")
	scale := flag.Float64("scale", 1, "fraction of the target size")
	flag.Parse()
	d := *dir
	if d == "" {
		var err error
		if d, err = os.MkdirTemp("", "tkesnap-kube-scale"); err != nil {
			fail(err)
		}
		defer os.RemoveAll(d)
	}
	s := gen.Scale
	if *scale != 1 {
		f := *scale
		s = gen.Size{Nodes: max(1, int(float64(s.Nodes)*f)), Services: max(1, int(float64(s.Services)*f)), Pods: max(1, int(float64(s.Pods)*f)),
			Namespaces: s.Namespaces, Ingresses: max(1, int(float64(s.Ingresses)*f)), Flows: max(1, int(float64(s.Flows)*f))}
	}
	n, err := gen.Write(d, s)
	if err != nil {
		fail(err)
	}
	runtime.GC()
	var ru0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	b, err := bundle.Open(d, bundle.DefaultLimits())
	if err != nil {
		fail(err)
	}
	c := model.Load(b)
	loaded := time.Since(start)
	res := driver.Run(c, analyzers.All())
	total := time.Since(start)
	b.Close()
	// one per fault, as the report counts them (the driver's merge)
	byID := map[string]int{}
	for _, f := range res.Merged {
		byID[f.ID]++
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("kube scale: %d nodes, %d Services, %d pods, %.1f MB of YAML, GOMAXPROCS=%d\n",
		len(c.Kube.Nodes), len(c.Kube.Services), len(c.Kube.Pods), float64(n)/1e6, runtime.GOMAXPROCS(0))
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	fmt.Printf("kube scale: load %.2fs, load+checks %.2fs wall (budget 10s), %.2fs CPU for load+checks, peak RSS %.0f MiB (budget 1024 MiB)\n",
		loaded.Seconds(), total.Seconds(), cpu.Seconds(), float64(ru.Maxrss)/1024)
	if l, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("kube scale: load average %s (other work on the machine inflates wall time)\n", strings.Fields(string(l))[0])
	}
	fmt.Printf("kube scale: findings %v (%d reports merged into %d), problems %d\n", byID, len(res.Findings), len(res.Merged), len(c.Problems))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "scale:", err)
	os.Exit(1)
}
