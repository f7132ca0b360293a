// Command gen writes a kube-proxy style iptables-save dump with N Services
// to stdout (lab/netfilter/bench.sh).
package main

import (
	"flag"
	"fmt"
	"os"

	"tkesnap/lab/netfilter/kubeproxygen"
)

func main() {
	n := flag.Int("services", 10000, "number of Services")
	flag.Parse()
	rules, err := kubeproxygen.Write(os.Stdout, *n)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "%d rules\n", rules)
}
