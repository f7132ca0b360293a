// pcapdecode is the floor make bench compares `tkesnap pcap` with: the
// project's capture reader and packet decoder over the same files and
// nothing else (no flows, no findings, no output but a count). It prints
// the number of packets decoded.
package main

import (
	"fmt"
	"os"

	"tkesnap/parsers/pcap"
)

func main() {
	n := 0
	for _, name := range os.Args[1:] {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		rd, err := pcap.NewReader(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, name+":", err)
			os.Exit(1)
		}
		dec := pcap.NewDecoder()
		var rec pcap.Record
		var p pcap.Packet
		for rd.Next(&rec) == nil {
			dec.DecodeInto(&rec, &p)
			n++
		}
		if msg := rd.Problem(); msg != "" {
			fmt.Fprintln(os.Stderr, name+":", msg)
		}
		rd.Close()
		f.Close()
	}
	fmt.Println(n)
}
