package netlink

import (
	"bytes"
	"fmt"
	"testing"
)

// routes100k is `ip -j route show table all` of a node with 100,000
// routes (a VPC-CNI node with many ENI host routes, or a BGP-fed node),
// in iproute2's one-line JSON. lab/datapath/bench.sh writes the same
// document for jq.
func routes100k() []byte {
	var b bytes.Buffer
	b.WriteString(`[{"dst":"default","gateway":"10.0.1.1","dev":"eth0","flags":[]}`)
	for i := 0; i < 100000; i++ {
		fmt.Fprintf(&b, `,{"dst":"172.%d.%d.%d","dev":"eni%d","scope":"link","flags":[]}`, 16+i>>16, i>>8&255, i&255, i%8)
	}
	b.WriteString("]\n")
	return b.Bytes()
}

func BenchmarkParseRoutes100k(b *testing.B) {
	data := routes100k()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rs, probs := ParseRoutes(bytes.NewReader(data))
		if len(rs) != 100001 || len(probs) > 0 {
			b.Fatal(len(rs), probs)
		}
	}
}
