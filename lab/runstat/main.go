// runstat runs a command N times and prints "WALL CPU RSS_KB": the median
// wall time and CPU time (user + sys) in seconds, to the microsecond, and
// the median peak resident set in KiB, from the kernel's accounting of
// each run (wait4). lab/measure.sh uses it: time(1) prints hundredths of
// a second, too coarse for the ~0.06 s of trace --iptables. The
// command's output is discarded; its exit status is not judged (the
// references and tkesnap exit non-zero on purpose).
//
//	runstat 5 tkesnap trace --iptables dump.txt ...
package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: runstat N command [args...]")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[1])
	if err != nil || n < 1 {
		fmt.Fprintf(os.Stderr, "runstat: %q: not a number of runs\n", os.Args[1])
		os.Exit(2)
	}
	var wall, cpu []float64
	var rss []int64
	for range n {
		cmd := exec.Command(os.Args[2], os.Args[3:]...)
		start := time.Now()
		err := cmd.Run()
		w := time.Since(start)
		if cmd.ProcessState == nil {
			fmt.Fprintln(os.Stderr, "runstat:", err)
			os.Exit(1)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		wall = append(wall, w.Seconds())
		cpu = append(cpu, (time.Duration(ru.Utime.Nano()) + time.Duration(ru.Stime.Nano())).Seconds())
		rss = append(rss, ru.Maxrss)
	}
	fmt.Printf("%.6f %.6f %d\n", median(wall), median(cpu), int64(median(toFloat(rss))))
}

func toFloat(v []int64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func median(v []float64) float64 {
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
