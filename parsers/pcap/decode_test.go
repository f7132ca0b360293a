package pcap

import (
	"encoding/binary"
	"testing"
)

func ipv4Frame(id uint16, mf bool, off uint16, proto byte, payload []byte) []byte {
	b := make([]byte, 14+20+len(payload))
	b[12], b[13] = 0x08, 0x00
	ip := b[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(ip[4:], id)
	fo := off
	if mf {
		fo |= 0x2000
	}
	binary.BigEndian.PutUint16(ip[6:], fo)
	ip[8], ip[9] = 64, proto
	copy(ip[12:], []byte{10, 244, 1, 10})
	copy(ip[16:], []byte{10, 96, 0, 10})
	copy(ip[20:], payload)
	return b
}

// A datagram larger than the MTU (DNS over UDP with big answers, VXLAN
// without room for the header) arrives in fragments: the later ones carry
// no UDP header, yet belong to the same flow.
func TestLaterFragmentsKeepTheirFlow(t *testing.T) {
	udp := make([]byte, 8+64)
	binary.BigEndian.PutUint16(udp[0:], 40000)
	binary.BigEndian.PutUint16(udp[2:], 9999)
	binary.BigEndian.PutUint16(udp[4:], 8+64+100)
	d := NewDecoder()
	first := ipv4Frame(77, true, 0, 17, udp)
	rec := Record{Number: 1, LinkType: LinkEthernet, Data: first, CapLen: len(first), Len: len(first)}
	p := d.Decode(&rec)
	if !p.HasUDP() || p.DstPort != 9999 || !p.MoreFrag {
		t.Fatalf("first fragment: %+v", p)
	}
	second := ipv4Frame(77, false, 9, 17, make([]byte, 100))
	rec = Record{Number: 2, LinkType: LinkEthernet, Data: second, CapLen: len(second), Len: len(second)}
	p = d.Decode(&rec)
	if !p.HasUDP() || p.SrcPort != 40000 || p.DstPort != 9999 || p.FragOff != 9 {
		t.Fatalf("later fragment lost its ports: %+v", p)
	}
	// Another datagram's fragment (other IP ID) is not given those ports.
	other := ipv4Frame(78, false, 9, 17, make([]byte, 100))
	rec = Record{Number: 3, LinkType: LinkEthernet, Data: other, CapLen: len(other), Len: len(other)}
	if p = d.Decode(&rec); p.HasUDP() {
		t.Fatalf("unrelated fragment got ports %d→%d", p.SrcPort, p.DstPort)
	}
}

func TestHTTPLines(t *testing.T) {
	cases := []struct {
		payload, method, uri, host string
		status                     int
	}{
		{"GET /mytest HTTP/1.1\r\nhost: web.example.com\r\n\r\n", "GET", "/mytest", "web.example.com", 0},
		{"POST /api?q=1 HTTP/1.0\r\nUser-Agent: x\r\nHost:  a.b:8080 \r\n\r\n", "POST", "/api?q=1", "a.b:8080", 0},
		{"HTTP/1.1 504 Gateway Time-out\r\nServer: nginx\r\n\r\n", "", "", "", 504},
		{"HTTP/1.1 404 Not Found\r\n", "", "", "", 404},
		{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 tls hello", "", "", "", 0},
		{"get / HTTP/1.1\r\n\r\n", "", "", "", 0},
		{"GET /no-version\r\n\r\n", "", "", "", 0},
		// a request line filling the whole segment, no newline (found by FuzzCapture)
		{"GET / HTTP/1.1", "GET", "/", "", 0},
	}
	for _, c := range cases {
		p := &Packet{Payload: []byte(c.payload)}
		parseHTTP(p)
		if string(p.HTTPMethod) != c.method || string(p.HTTPURI) != c.uri || string(p.HTTPHost) != c.host || int(p.HTTPStatus) != c.status {
			t.Errorf("%q: %q %q %q %d", c.payload, p.HTTPMethod, p.HTTPURI, p.HTTPHost, p.HTTPStatus)
		}
	}
}
