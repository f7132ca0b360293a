package tencent

import (
	"fmt"
	"net/netip"
	"testing"
)

func TestParsePortsForms(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  bool
	}{
		{"ALL", "[ALL]", false},
		{"all", "[ALL]", false},
		{"", "[ALL]", false},
		{"80", "[80]", false},
		{"80,443", "[80 443]", false},
		{"3000-32768", "[3000-32768]", false},
		{" 22 , 80-90 ", "[22 80-90]", false},
		{"90-80", "", true},
		{"65536", "", true},
		{"http", "", true},
		{"80,", "", true},
	} {
		got, err := ParsePorts(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("%q: err %v", tc.in, err)
			continue
		}
		if !tc.err && fmt.Sprint(got) != tc.want {
			t.Errorf("%q = %v, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseProtocolAnyCase(t *testing.T) {
	for in, want := range map[string]string{"TCP": "tcp", "tcp": "tcp", "Udp": "udp", "ICMPv6": "icmpv6", "ALL": "all", "all": "all", "GRE": "gre", "": ""} {
		if got, err := ParseProtocol(in); err != nil || got != want {
			t.Errorf("%q = %q %v", in, got, err)
		}
	}
	if _, err := ParseProtocol("sctp"); err == nil {
		t.Error("sctp accepted")
	}
}

func TestParseServiceEntries(t *testing.T) {
	for in, want := range map[string]string{
		"tcp:8080": "{tcp [8080]}", "udp:99": "{udp [99]}", "tcp:80,443": "{tcp [80 443]}",
		"tcp:3000-32768": "{tcp [3000-32768]}", "icmp": "{icmp [ALL]}", "ALL": "{all [ALL]}",
	} {
		got, err := ParseService(in)
		if err != nil || fmt.Sprint(got) != want {
			t.Errorf("%q = %v %v, want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "foo:80", "tcp:x"} {
		if _, err := ParseService(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseAddressForms(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.1":            "10.0.0.1",
		"10.0.0.0/16":         "10.0.0.0/16",
		"192.128.8.8/17":      "192.128.0.0/17", // host bits, as in the real AddressTemplate example
		"10.0.0.1-10.0.0.100": "10.0.0.1-10.0.0.100",
		"0.0.0.0/0":           "0.0.0.0/0",
		"::/0":                "::/0",
		"2402:4e00:1000::/48": "2402:4e00:1000::/48",
		"::ffff:10.0.0.0/104": "10.0.0.0/8",
	} {
		got, err := ParseAddress(in)
		if err != nil || got.String() != want {
			t.Errorf("%q = %v %v, want %s", in, got, err, want)
		}
	}
	r, _ := ParseAddress("10.0.0.0/16")
	if !r.Contains(netip.MustParseAddr("10.0.255.255")) || r.Contains(netip.MustParseAddr("10.1.0.0")) || r.Contains(netip.MustParseAddr("::1")) {
		t.Error("Contains wrong")
	}
	for _, bad := range []string{"10.0.0.300", "10.0.0.9-10.0.0.1", "10.0.0.1-::1", "x/8", "::ffff:0.0.0.0/8"} {
		if _, err := ParseAddress(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDecodeWrappedBareAndErrors(t *testing.T) {
	bare := []byte("{\"InstanceSet\": [\n {\"InstanceId\": \"ins-1\"},\n {\"InstanceId\": \"ins-2\"}]}")
	is, err := ParseInstances(bare)
	if err != nil || len(is) != 2 || is[1].Line != 3 {
		t.Fatalf("bare: %+v %v", is, err)
	}
	pages := []byte(`{"Response":{"InstanceSet":[{"InstanceId":"ins-1"}]}}` + "\n" + `{"Response":{"InstanceSet":[{"InstanceId":"ins-2"}]}}`)
	is, err = ParseInstances(pages)
	if err != nil || len(is) != 2 || is[1].Line != 2 {
		t.Fatalf("pages: %+v %v", is, err)
	}
	_, err = ParseInstances([]byte(`{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"bad"},"RequestId":"x"}}`))
	if _, ok := err.(*APIError); !ok {
		t.Fatalf("API error not reported: %v", err)
	}
	_, err = ParseInstances([]byte("{\n\"InstanceSet\": [\n{\"InstanceId\": \"ins-1\",\n"))
	if e, ok := err.(*Error); !ok || e.Line != 4 {
		t.Fatalf("truncated: %#v", err)
	}
	// A wrong type in one field is reported with its line, the rest decodes.
	is, err = ParseInstances([]byte("{\"InstanceSet\": [\n{\"InstanceId\": \"ins-1\",\n\"SecurityGroupIds\": \"sg-1\"}]}"))
	if e, ok := err.(*Error); !ok || e.Line != 3 || len(is) != 1 || is[0].InstanceId != "ins-1" {
		t.Fatalf("type mismatch: %#v %+v", err, is)
	}
	if is, err := ParseInstances([]byte("  \n")); err != nil || len(is) != 0 {
		t.Fatalf("empty: %v %v", is, err)
	}
	if _, err := ParseInstances([]byte("[TencentCloudSDKException] code:AuthFailure message:x")); err == nil {
		t.Fatal("tccli error text accepted")
	}
}

func TestItemLinesNested(t *testing.T) {
	data := []byte("{\"A\": [\n {\"Targets\": [\n  {\"x\": [1,2]},\n  {\"y\": {\"Targets\": []}}\n ]},\n {\"Targets\": [\n  3]}\n]}")
	got := fmt.Sprint(itemLines(data, "Targets"))
	if got != "[[3 4] [] [7]]" {
		t.Errorf("itemLines = %s", got)
	}
}

func TestParseNetworkAccountType(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"NetworkAccountType": "LEGACY", "RequestId": "x"}`, "LEGACY"},
		{`{"Response": {"NetworkAccountType": "standard", "RequestId": "x"}}`, "STANDARD"},
		{`{"RequestId": "x"}`, ""},
	} {
		got, err := ParseNetworkAccountType([]byte(c.in))
		if err != nil || got.NetworkAccountType != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.in, got.NetworkAccountType, err, c.want)
		}
	}
	if _, err := ParseNetworkAccountType([]byte(`{"Response":{"Error":{"Code":"UnauthorizedOperation","Message":"no"}}}`)); err == nil {
		t.Error("an error response must be an error")
	}
	if got, _ := ParseNetworkAccountType([]byte("{\n  \"NetworkAccountType\": \"LEGACY\"\n}")); got.Line != 2 {
		t.Errorf("line %d, want 2", got.Line)
	}
}
