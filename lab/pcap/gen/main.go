// Command gen writes a synthetic but realistic capture for `make bench`
// (lab/pcap/capgen says what it holds).
//
//	go run ./lab/pcap/gen -n 1000000 -o /tmp/bench.pcap
package main

import (
	"flag"
	"fmt"
	"os"

	"tkesnap/lab/pcap/capgen"
)

func main() {
	n := flag.Int("n", 1_000_000, "packets to write")
	out := flag.String("o", "bench.pcap", "output file")
	conc := flag.Int("c", 300, "concurrent sessions (300: about 8k packets/s, a busy node)")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sessions, err := capgen.Write(f, *n, *conc, *seed)
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d packets, %d sessions\n", *out, *n, sessions)
}
