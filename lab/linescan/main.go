// linescan is the floor make bench compares the iptables parser with: a
// bare Go line scanner over the same files (read, split into lines,
// nothing else). It prints the number of lines.
package main

import (
	"bufio"
	"fmt"
	"os"
)

func main() {
	n := 0
	for _, name := range os.Args[1:] {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			n++
		}
		f.Close()
		if err := sc.Err(); err != nil {
			fmt.Fprintln(os.Stderr, name+":", err)
			os.Exit(1)
		}
	}
	fmt.Println(n)
}
