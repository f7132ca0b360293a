package collector

import (
	"strings"
	"testing"
)

func BenchmarkRedactPodsYAML(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 200; i++ {
		sb.WriteString("  - name: POD_IP\n    value: 172.16.0.7\n    image: ccr.ccs.tencentyun.com/tkeimages/hyperkube:v1.30.0\n    args: [\"--proxy-mode=iptables\", \"--cluster-cidr=172.16.0.0/16\"]\n    token: abc\n")
	}
	in := sb.String()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		RedactString(in)
	}
}
