package tencent

import (
	"bytes"
	"fmt"
	"testing"
)

// A policy file with 2000 rules (the API maximum per direction is far
// lower; this bounds the cost of lines and decoding).
func BenchmarkParsePolicies2000(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("{\n    \"Response\": {\n        \"SecurityGroupPolicySet\": {\n            \"Version\": \"7\",\n            \"Ingress\": [\n")
	for i := 0; i < 2000; i++ {
		if i > 0 {
			buf.WriteString(",\n")
		}
		fmt.Fprintf(&buf, `                {"PolicyIndex": %d, "Protocol": "TCP", "Port": "%d", "CidrBlock": "10.%d.%d.0/24", "SecurityGroupId": "", "AddressTemplate": {"AddressId": "", "AddressGroupId": ""}, "ServiceTemplate": {"ServiceId": "", "ServiceGroupId": ""}, "Action": "ACCEPT", "PolicyDescription": ""}`, i, 1000+i, i/256, i%256)
	}
	buf.WriteString("\n            ],\n            \"Egress\": []\n        },\n        \"RequestId\": \"x\"\n    }\n}\n")
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := ParsePolicies(data)
		if err != nil || len(s.Ingress) != 2000 || s.Ingress[1999].Line == 0 {
			b.Fatal(err)
		}
	}
}
