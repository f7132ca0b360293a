package pcapflow

import (
	"cmp"
	"hash/maphash"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"tkesnap/internal/bigmem"
	"tkesnap/parsers/pcap"
)

// Limits bound what one capture's analysis keeps, whatever its size.
type Limits struct {
	Flows      int // flows kept for listing (counts are always complete)
	Issues     int // entries per issue list
	Signatures int // correlation signatures
}

// DefaultLimits suit a report: enough to cite, never the whole file.
func DefaultLimits() Limits { return Limits{Flows: 5000, Issues: 200, Signatures: 50000} }

// Zeek's inactivity timeouts (tcp_inactivity_timeout 5 min,
// udp/icmp_inactivity_timeout 1 min) and tcp_close_delay (5 s).
const (
	tcpIdle    = 300e9
	udpIdle    = 60e9
	closeDelay = 5e9
	synIdle    = 40e9
	dupWindow  = 10e6 // identical frames closer than this are one packet seen twice
)

// PacketInfo is what the analyzer learned about one packet.
type PacketInfo struct {
	Flow           *Flow
	FromOrig       bool
	Retransmission bool // tcp.analysis.retransmission
	Duplicate      bool // the same frame captured twice (not a retransmission)
}

// Analyzer follows the flows of one capture. Feed it every decoded packet
// in order, then call Finish.
type Analyzer struct {
	lim    Limits
	flows  flowTable
	wheel  wheel
	res    *Result
	now    int64
	since  int
	dnsQ   map[dnsKey]*dnsPending
	okName map[string]bool   // names answered NOERROR with data
	names  map[string]string // queried names (most repeat)
	// dnsFree holds pending queries answered or given up: one query in
	// five of a busy node is DNS, each would allocate its record.
	dnsFree []*dnsPending
	strs    map[string]string // methods and Host headers
	uris    map[string]string // request URIs (most repeat)
	info    PacketInfo
	// free holds flows summarized and not kept by the result: most
	// connections of a large capture are counted and forgotten, and
	// reusing their memory spares one allocation (and its GC) per flow.
	free []*Flow
	// slab: new flows are taken from blocks (one allocation per
	// thousands of flows, advised for huge pages: first touching 900-byte
	// flows one by one cost a page fault every few flows).
	slab    []Flow
	slabbed int // flows allocated in slabs
	// sweepMin, when set, sweeps every live flow once per that many
	// packets (or twice as many as there are live flows) besides the
	// wheel: tests sweep after every packet to show that results do not
	// depend on when flows are expired.
	sweepMin int
}

type dnsKey struct {
	flow Key
	id   uint16
}

type dnsPending struct {
	name   string
	server netip.Addr
	client netip.Addr
	pkts   [8]int // the query's packets (retries), bounded
	npkts  int
	time   int64
}

func (q *dnsPending) packets() []int { return q.pkts[:q.npkts] }

type httpReq struct {
	method, uri, host string
	packet            int
}

// NewAnalyzer starts the analysis of one capture.
func NewAnalyzer(lim Limits) *Analyzer {
	return &Analyzer{
		lim:    lim,
		flows:  newFlowTable(),
		res:    &Result{States: map[string]int{}},
		dnsQ:   map[dnsKey]*dnsPending{},
		okName: map[string]bool{},
		names:  map[string]string{},
		strs:   map[string]string{},
		uris:   map[string]string{},
	}
}

// Live is the number of flows held in memory now.
func (a *Analyzer) Live() int { return a.flows.n }

// Process accounts one packet. The returned info is reused by the next
// call.
func (a *Analyzer) Process(p *pcap.Packet) *PacketInfo {
	r := a.res
	r.Packets++
	if r.Packets == 1 {
		r.First = p.Time
	}
	if p.Time > r.Last {
		r.Last = p.Time
	}
	a.now = p.Time
	a.info = PacketInfo{}
	if p.Malformed != "" {
		if p.Snapped || p.Cut {
			r.HeaderCut++
			r.addPacket(&r.HeaderCutPackets, p.Number)
		} else {
			r.Malformed++
		}
	}
	if p.IPVersion == 0 {
		// A frame already counted as malformed (its IP header could not
		// be decoded) is not also non-IP traffic: each packet is counted
		// in at most one of the two.
		if p.Malformed == "" {
			r.NonIP++
		}
		return &a.info
	}
	// Flows are handed to the result as they time out (the wheel), so
	// memory stays bounded by the connections open at one time. Whether
	// a flow timed out does not depend on when that happens (Process
	// checks the flow it finds), only when its memory is given back.
	if a.now >= a.wheel.next {
		a.advance()
	}
	if a.sweepMin > 0 {
		if a.since++; a.since >= max(a.sweepMin, 2*a.flows.n) {
			a.expire(false)
		}
	}
	if p.IsICMPError() {
		a.icmpError(p)
	}
	var sp, dp uint16
	switch {
	case p.Proto == pcap.ProtoTCP || p.Proto == pcap.ProtoUDP:
		if !p.HasTCP() && !p.HasUDP() {
			return &a.info
		}
		sp, dp = p.SrcPort, p.DstPort
	case p.HasICMP && !p.IsICMPError():
		// Echo and the like: the identifier pairs request and reply.
		sp, dp = p.ICMPID, p.ICMPID
	case p.IsICMPError():
		return &a.info
	}
	k, _ := MakeKey(p.Proto, p.Src, p.Dst, sp, dp)
	h := a.flows.hash(&k)
	f := a.flows.get(&k, h)
	if f != nil && p.Proto == pcap.ProtoTCP && f.closed() && p.TCPFlags&(pcap.SYN|pcap.ACK) == pcap.SYN && p.Seq != f.Orig.isn {
		// Port reuse: a new connection on the same 5-tuple.
		a.emit(k, f)
		f = nil
	}
	if f != nil && a.timedOut(f, false) {
		// Idle past its timeout: this packet starts a new connection,
		// as in Zeek, whether or not a sweep has come by since.
		a.emit(k, f)
		f = nil
	}
	if f == nil {
		f = a.newFlow(k, h, p)
	}
	isOrig := p.Src == f.Orig.Addr && sp == f.Orig.Port
	switch {
	case p.HasICMP:
		// Echo: the request goes from the originator, whatever the
		// addresses (a ping to oneself has the same on both sides).
		isOrig = p.Src == f.Orig.Addr
		if p.Src == p.Dst {
			isOrig = !(p.ICMPType == 0 || p.ICMPType == 129)
		}
	case f.Orig.Addr == f.Resp.Addr && f.Orig.Port == f.Resp.Port:
		isOrig = true
	}
	e := &f.Resp
	if isOrig {
		e = &f.Orig
	}
	// The same frame captured twice (tcpdump -i any sees it on the veth
	// and on the bridge): count it once.
	if e.Pkts > 0 && p.Time-e.lastTime < dupWindow && e.lastID == p.IPID && p.Proto == pcap.ProtoTCP &&
		e.lastSeq == p.Seq && e.lastAck == p.Ack && e.lastFlags == p.TCPFlags && e.lastLen == p.PayloadLen && p.IPVersion == 4 {
		f.Duplicates++
		f.LastPkt, f.LastTime = p.Number, p.Time
		a.info = PacketInfo{Flow: f, FromOrig: isOrig, Duplicate: true}
		return &a.info
	}
	e.lastID, e.lastSeq, e.lastAck, e.lastFlags, e.lastLen, e.lastTime = p.IPID, p.Seq, p.Ack, p.TCPFlags, p.PayloadLen, p.Time
	e.Pkts++
	e.Bytes += int64(max(p.IPLen, 0))
	e.Data += int64(p.PayloadLen)
	f.LastPkt, f.LastTime = p.Number, p.Time
	if p.FragOff != 0 {
		f.Fragments++
		a.info = PacketInfo{Flow: f, FromOrig: isOrig}
		return &a.info
	}
	rx := false
	switch p.Proto {
	case pcap.ProtoTCP:
		rx = a.tcp(f, p, isOrig)
	}
	if isOrig && f.FirstPayloadHash == 0 && p.PayloadLen > 0 && len(p.Payload) > 0 {
		f.FirstPayloadHash = payloadHash(p.Payload[:min(len(p.Payload), 256)])
	}
	if p.IsDNS {
		a.dns(f, k, p)
	}
	if p.Proto == pcap.ProtoTCP && !rx {
		a.http(f, k, p)
	}
	a.wheel.touched(f)
	a.info = PacketInfo{Flow: f, FromOrig: isOrig, Retransmission: rx}
	return &a.info
}

// payloadSeed keys the hash of first payloads: one per process, so the
// same bytes hash alike in every capture this process reads, which is
// all that correlation across captures compares (the hashes are never
// written out).
var payloadSeed = maphash.MakeSeed()

// payloadHash is never 0 (0: no payload seen).
func payloadHash(b []byte) uint64 {
	h := maphash.Bytes(payloadSeed, b)
	if h == 0 {
		h = 1
	}
	return h
}

func (a *Analyzer) newFlow(k Key, h uint64, p *pcap.Packet) *Flow {
	var f *Flow
	if n := len(a.free); n > 0 {
		f, a.free = a.free[n-1], a.free[:n-1]
		*f = Flow{Key: k, Proto: p.Proto, FirstPkt: p.Number, FirstTime: p.Time, Iface: p.Iface, FirstIPID: p.IPID, SLLIf: p.SLLIf}
	} else {
		if len(a.slab) == 0 {
			// Small first (most captures hold a few hundred flows),
			// then blocks as large as all the flows so far.
			a.slab = bigmem.Make[Flow](min(max(64, a.slabbed), 4096))
			a.slabbed += len(a.slab)
		}
		f, a.slab = &a.slab[0], a.slab[1:]
		*f = Flow{Key: k, Proto: p.Proto, FirstPkt: p.Number, FirstTime: p.Time, Iface: p.Iface, FirstIPID: p.IPID, SLLIf: p.SLLIf}
	}
	f.hist, f.SYNs, f.httpQ, f.dnsIDs = f.histBuf[:0], f.synBuf[:0], f.httpBuf[:0], f.dnsBuf[:0]
	f.Orig = Endpoint{Addr: p.Src, Port: p.SrcPort}
	f.Resp = Endpoint{Addr: p.Dst, Port: p.DstPort}
	if p.HasICMP {
		f.Orig.Port, f.Resp.Port = 0, 0
		f.ICMPType, f.ICMPCode = p.ICMPType, p.ICMPCode
		// A reply seen first: the other side asked.
		if (p.Proto == pcap.ProtoICMP && p.ICMPType == 0) || (p.Proto == pcap.ProtoICMPv6 && p.ICMPType == 129) {
			f.Orig, f.Resp = f.Resp, f.Orig
			f.flipped = true
			if p.Proto == pcap.ProtoICMP {
				f.ICMPType = 8
			} else {
				f.ICMPType = 128
			}
		}
	}
	if p.NEncap > 0 {
		var s []string
		for i := 0; i < min(p.NEncap, len(p.Encaps)); i++ {
			s = append(s, p.Encaps[i].String())
		}
		f.Tunnel = strings.Join(s, "+")
	}
	// Who is the originator: the sender of the first packet, except that
	// a SYN-ACK, or a packet from a well-known port to a high one, comes
	// from the server (Zeek flips roles the same way, using its
	// likely_server_ports).
	flip := false
	switch p.Proto {
	case pcap.ProtoTCP:
		if p.TCPFlags&(pcap.SYN|pcap.ACK) == pcap.SYN|pcap.ACK {
			flip = true
		} else if p.TCPFlags&pcap.SYN == 0 && likelyServer(p.SrcPort) && !likelyServer(p.DstPort) {
			flip = true
		}
	case pcap.ProtoUDP:
		flip = likelyServer(p.SrcPort) && !likelyServer(p.DstPort)
	}
	if flip {
		f.Orig, f.Resp = f.Resp, f.Orig
		f.flipped = true
	}
	a.flows.put(f, h)
	f.LastTime = p.Time
	a.wheel.start(f, p.Time)
	return f
}

// likelyServer: ports below 1024 plus the usual service ports seen in
// Kubernetes clusters.
func likelyServer(port uint16) bool {
	switch port {
	case 2379, 3000, 3306, 5432, 6379, 6443, 8080, 8443, 9090, 9153, 10250, 27017:
		return true
	}
	return port < 1024
}

func (a *Analyzer) tcp(f *Flow, p *pcap.Packet, isOrig bool) bool {
	fl := p.TCPFlags
	syn, ack, rst := fl&pcap.SYN != 0, fl&pcap.ACK != 0, fl&pcap.RST != 0
	if isOrig && syn && !ack {
		f.SynCount++
		if len(f.SYNs) < 16 {
			f.SYNs = append(f.SYNs, Attempt{Packet: p.Number, Time: p.Time, ISN: p.Seq, IPID: p.IPID})
		}
	}
	if !isOrig && syn && ack && f.SynAck == 0 {
		f.SynAck, f.SynAckTime = p.Number, p.Time
		if n := len(f.SYNs); n > 0 {
			f.RTTResp = p.Time - f.SYNs[n-1].Time
		}
	}
	if isOrig && ack && !syn && f.SynAck != 0 && f.AckTime == 0 {
		f.AckTime = p.Time
		f.RTTOrig = p.Time - f.SynAckTime
	}
	if rst && f.Reset == 0 {
		f.Reset, f.ResetByResp = p.Number, !isOrig
	}
	rx := f.tcp(p, isOrig)
	// A repeated SYN with the same ISN is a retransmission too.
	if syn && !rx && len(f.SYNs) > 1 && isOrig && !ack && f.SYNs[len(f.SYNs)-2].ISN == p.Seq {
		rx = true
	}
	if rx {
		f.Retransmissions++
	}
	return rx
}

func (a *Analyzer) dns(f *Flow, k Key, p *pcap.Packet) {
	dk := dnsKey{k, p.DNSID}
	if !p.DNSResponse {
		q := a.dnsQ[dk]
		if q == nil {
			if len(a.dnsQ) >= 100000 {
				return // bounded: a flood of queries does not grow memory
			}
			q = a.newPending()
			*q = dnsPending{name: a.intern(a.names, p.DNSQName), server: p.Dst, client: p.Src, time: p.Time}
			a.dnsQ[dk] = q
			f.dnsIDs = append(f.dnsIDs, p.DNSID)
		}
		if q.npkts < len(q.pkts) {
			q.pkts[q.npkts] = p.Number
			q.npkts++
		}
		return
	}
	q := a.dnsQ[dk]
	var name string
	if q != nil {
		delete(a.dnsQ, dk)
		name = q.name
		defer a.freePending(q) // after its packets are copied
	} else {
		name = a.intern(a.names, p.DNSQName)
	}
	switch p.DNSRcode {
	case 0:
		if p.DNSAnswers > 0 {
			a.okName[strings.ToLower(strings.TrimSuffix(name, "."))] = true
		}
	default:
		pk := []int{p.Number}
		if q != nil {
			pk = append(append([]int{}, q.packets()...), p.Number)
		}
		a.res.addDNSError(a.lim, DNSIssue{Server: p.Src, Client: p.Dst, Name: name, Rcode: p.DNSRcode, Count: 1, Packets: pk})
	}
}

func (a *Analyzer) newPending() *dnsPending {
	if n := len(a.dnsFree); n > 0 {
		q := a.dnsFree[n-1]
		a.dnsFree = a.dnsFree[:n-1]
		return q
	}
	return new(dnsPending)
}

// freePending takes back a query no longer in dnsQ (what was reported
// from it was copied).
func (a *Analyzer) freePending(q *dnsPending) {
	if len(a.dnsFree) < 4096 {
		a.dnsFree = append(a.dnsFree, q)
	}
}

func (a *Analyzer) http(f *Flow, k Key, p *pcap.Packet) {
	if len(p.HTTPMethod) > 0 {
		if len(f.httpQ) < 16 {
			f.httpQ = append(f.httpQ, httpReq{a.intern(a.strs, p.HTTPMethod), a.intern(a.uris, p.HTTPURI), a.intern(a.strs, p.HTTPHost), p.Number})
		}
		return
	}
	if p.HTTPStatus == 0 || p.HTTPStatus == 100 {
		return
	}
	var req httpReq
	if q := f.httpQ; len(q) > 0 {
		req = q[0]
		if len(q) == 1 {
			f.httpQ = f.httpBuf[:0]
		} else {
			f.httpQ = q[1:]
		}
	}
	if p.HTTPStatus >= 400 {
		h := HTTPIssue{Status: int(p.HTTPStatus), Reason: string(p.HTTPReason), Method: req.method, URI: req.uri, Host: req.host,
			Server: netip.AddrPortFrom(p.Src, p.SrcPort), Client: p.Dst, Count: 1}
		if req.packet != 0 {
			h.Packets = append(h.Packets, req.packet)
		}
		h.Packets = append(h.Packets, p.Number)
		a.res.addHTTPError(a.lim, h)
	}
}

// intern shares the strings that repeat (methods, Host headers) instead
// of allocating one per request; bounded like everything else.
func (a *Analyzer) intern(m map[string]string, b []byte) string {
	if s, ok := m[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	if len(m) < 4096 {
		m[s] = s
	}
	return s
}

func (a *Analyzer) icmpError(p *pcap.Packet) {
	ev := ICMPEvent{From: p.Src, To: p.Dst, Type: p.ICMPType, Code: p.ICMPCode, V6: p.Proto == pcap.ProtoICMPv6, Quote: p.Quote, Count: 1, Packets: []int{p.Number}}
	if p.Quote.Valid {
		sp, dp := p.Quote.SrcPort, p.Quote.DstPort
		k, _ := MakeKey(p.Quote.Proto, p.Quote.Src, p.Quote.Dst, sp, dp)
		f := a.flows.get(&k, a.flows.hash(&k))
		if f != nil && a.timedOut(f, false) {
			// Over, though not yet handed to the result: the error is
			// about no live connection, whenever the wheel comes by.
			a.emit(k, f)
			f = nil
		}
		if f != nil {
			f.icmpErr++
			ev.FlowPacket = f.FirstPkt
			// DNS queries answered by an ICMP error (port unreachable
			// from a REJECT, a Service without endpoints) were refused,
			// not left unanswered.
			for _, id := range f.dnsIDs {
				dk := dnsKey{k, id}
				if q := a.dnsQ[dk]; q != nil {
					delete(a.dnsQ, dk)
					a.freePending(q)
				}
			}
			f.dnsIDs = f.dnsIDs[:0]
		}
	}
	a.res.addICMP(a.lim, ev)
}

// expire hands flows that are finished or idle to the result; all of
// them when final.
func (a *Analyzer) expire(final bool) {
	a.since = 0
	var due []*Flow
	a.flows.each(func(f *Flow) {
		if a.timedOut(f, final) {
			due = append(due, f)
		}
	})
	// In the order connections started, not the table's (random per
	// run): what ends together is reported the same on every run.
	slices.SortFunc(due, func(x, y *Flow) int { return cmp.Compare(x.FirstPkt, y.FirstPkt) })
	for _, f := range due {
		a.emit(f.Key, f)
	}
}

// timedOut: the flow is finished or idle past its timeout at a.now.
func (a *Analyzer) timedOut(f *Flow, final bool) bool {
	idle := a.now - f.LastTime
	switch {
	case final,
		f.closed() && idle > closeDelay,
		// A DNS exchange is over once answered; keeping such flows
		// for the full UDP timeout would hold one per query.
		f.Proto == pcap.ProtoUDP && f.Resp.Pkts > 0 && (f.Resp.Port == 53 || f.Orig.Port == 53) && idle > closeDelay,
		// A SYN unanswered for longer than Linux's largest retry gap
		// (32 s with tcp_syn_retries=6) will not be answered.
		f.Proto == pcap.ProtoTCP && f.Resp.Pkts == 0 && f.Orig.state == stSynSent && idle > synIdle,
		f.Proto == pcap.ProtoTCP && idle > tcpIdle,
		f.Proto != pcap.ProtoTCP && idle > udpIdle:
		return true
	}
	return false
}

func (a *Analyzer) emit(k Key, f *Flow) {
	a.flows.del(f)
	a.wheel.unlink(f)
	// Queries of this flow still pending will never be answered on it.
	for _, id := range f.dnsIDs {
		dk := dnsKey{k, id}
		if q := a.dnsQ[dk]; q != nil {
			delete(a.dnsQ, dk)
			a.unanswered(q)
			a.freePending(q)
		}
	}
	f.dnsIDs = nil
	f.finish()
	// Every flow not kept is reused: flows live in slabs, which stay
	// allocated anyway, so memory is bounded by the most connections open
	// at one time (plus those kept), not by the capture's length.
	if !a.res.addFlow(a.lim, f) {
		a.free = append(a.free, f)
	}
}

// Finish ends the capture: every flow still open is summarized, queries
// still pending are unanswered.
func (a *Analyzer) Finish() *Result {
	a.expire(true)
	r := a.res
	// Unanswered DNS queries, grouped by server and name.
	pending := make([]*dnsPending, 0, len(a.dnsQ))
	for _, q := range a.dnsQ {
		pending = append(pending, q)
	}
	// in capture order, not the map's: which are listed is then the same
	// on every run
	slices.SortFunc(pending, func(x, y *dnsPending) int { return cmp.Compare(x.pkts[0], y.pkts[0]) })
	for _, q := range pending {
		a.unanswered(q)
	}
	a.dnsQ = map[dnsKey]*dnsPending{}
	// NXDOMAIN for a search-path expansion of a name that then resolved
	// (resolv.conf ndots:5 in pods tries web.default.svc.cluster.local
	// before web) is normal, not an error.
	kept := r.DNSErrors[:0]
	for _, e := range r.DNSErrors {
		if e.Rcode == 3 && a.expansionOfResolved(e.Name) {
			r.DNSSearchMisses += e.Count
			continue
		}
		// NXDOMAIN for a reverse (PTR) lookup is what most addresses
		// have; tools ask and move on. SERVFAIL/REFUSED stay errors.
		if e.Rcode == 3 && isReverse(e.Name) {
			r.DNSReverseMisses += e.Count
			continue
		}
		kept = append(kept, e)
	}
	r.DNSErrors = kept
	r.sort()
	return r
}

func (a *Analyzer) unanswered(q *dnsPending) {
	if q.server.IsMulticast() {
		return // mDNS/LLMNR: silence is the normal "nobody has that name"
	}
	a.res.addDNSNoResponse(a.lim, DNSIssue{Server: q.server, Client: q.client, Name: q.name, Count: q.npkts, Packets: append([]int(nil), q.packets()...), time: q.time})
}

func isReverse(name string) bool {
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	return strings.HasSuffix(n, ".in-addr.arpa") || strings.HasSuffix(n, ".ip6.arpa")
}

func (a *Analyzer) expansionOfResolved(name string) bool {
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	for i := 0; i < len(n); i++ {
		if n[i] == '.' && a.okName[n[:i]] {
			return true
		}
	}
	return false
}

// ---- result ----

// Result is everything one capture showed.
type Result struct {
	Packets   int   `json:"packets"`
	NonIP     int   `json:"non_ip"`
	Malformed int   `json:"malformed"`
	First     int64 `json:"first_time"`
	Last      int64 `json:"last_time"`
	// HeaderCut counts packets the snap length cut inside their headers.
	HeaderCut        int   `json:"header_cut"`
	HeaderCutPackets []int `json:"header_cut_packets,omitempty"`

	FlowCount    int            `json:"flow_count"`
	States       map[string]int `json:"states"`
	Flows        []*Flow        `json:"flows"`
	FlowsOmitted int            `json:"flows_omitted,omitempty"`

	Unanswered []*Flow `json:"syn_unanswered,omitempty"` // SYNs, no reply
	Refused    []*Flow `json:"refused,omitempty"`        // SYN answered by RST
	OneWay     []*Flow `json:"one_way,omitempty"`
	// sigs are the correlation signatures, in packet order; Signatures
	// expands them (only correlation across capture points needs them).
	sigs sigList

	ICMP            []ICMPEvent `json:"icmp_errors,omitempty"`
	DNSNoResponse   []DNSIssue  `json:"dns_no_response,omitempty"`
	DNSErrors       []DNSIssue  `json:"dns_errors,omitempty"`
	DNSSearchMisses int         `json:"dns_search_misses,omitempty"`
	// DNSReverseMisses counts NXDOMAIN answers to PTR lookups (not errors).
	DNSReverseMisses int         `json:"dns_reverse_misses,omitempty"`
	HTTPErrors       []HTTPIssue `json:"http_errors,omitempty"`
	Omitted          int         `json:"issues_omitted,omitempty"`
}

// ICMPEvent is one kind of ICMP error from one sender about one flow.
type ICMPEvent struct {
	From, To   netip.Addr
	Type, Code uint8
	V6         bool
	Quote      pcap.Quote
	Count      int
	Packets    []int
	FlowPacket int // first packet of the quoted flow when it was captured
}

// PortUnreachable: the quoted destination port is closed (RFC 792 type 3
// code 3; RFC 4443 type 1 code 4), which is what a REJECT with the
// default icmp-port-unreachable or a closed UDP port sends.
func (e ICMPEvent) PortUnreachable() bool {
	if e.V6 {
		return e.Type == 1 && e.Code == 4
	}
	return e.Type == 3 && e.Code == 3
}

// Unreachable: destination unreachable other than port unreachable and
// fragmentation needed (path MTU discovery, not a failure).
func (e ICMPEvent) Unreachable() bool {
	if e.V6 {
		return e.Type == 1 && e.Code != 4
	}
	return e.Type == 3 && e.Code != 3 && e.Code != 4
}

// What names the ICMP message.
func (e ICMPEvent) What() string {
	if e.V6 {
		if e.Type == 1 {
			if int(e.Code) < len(unreach6) {
				return "destination unreachable (" + unreach6[e.Code] + ")"
			}
			return "destination unreachable"
		}
		return "ICMPv6 error"
	}
	switch e.Type {
	case 3:
		if int(e.Code) < len(unreach4) {
			return "destination unreachable (" + unreach4[e.Code] + ")"
		}
		return "destination unreachable"
	case 11:
		return "time exceeded"
	case 12:
		return "parameter problem"
	case 4:
		return "source quench"
	case 5:
		return "redirect"
	}
	return "ICMP error"
}

// RFC 792 / RFC 1812 codes; RFC 4443 §3.1.
var (
	unreach4 = []string{"net unreachable", "host unreachable", "protocol unreachable", "port unreachable",
		"fragmentation needed", "source route failed", "net unknown", "host unknown", "source host isolated",
		"net administratively prohibited", "host administratively prohibited", "net unreachable for TOS",
		"host unreachable for TOS", "communication administratively prohibited", "host precedence violation",
		"precedence cutoff"}
	unreach6 = []string{"no route", "administratively prohibited", "beyond scope of source", "address unreachable",
		"port unreachable", "source address failed policy", "reject route"}
)

// DNSIssue is one (server, name, rcode) with how often it happened.
type DNSIssue struct {
	Server  netip.Addr
	Client  netip.Addr
	Name    string
	Rcode   uint8
	Count   int
	Packets []int
	time    int64
}

// RcodeName is the DNS RCODE mnemonic (RFC 1035 §4.1.1, RFC 6895).
func RcodeName(rc uint8) string {
	names := []string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"}
	if int(rc) < len(names) {
		return names[rc]
	}
	return "RCODE" + itoa(int(rc))
}

// HTTPIssue is one (status, host, uri) error answer with its count.
type HTTPIssue struct {
	Status  int
	Reason  string
	Method  string
	URI     string
	Host    string
	Server  netip.AddrPort
	Client  netip.Addr
	Count   int
	Packets []int
}

// Sig is what identifies a connection across captures taken at several
// points of its path, NAT or not: the originator's ISN for TCP, the hash
// of the first payload for UDP, plus the IP ID of the first packet.
type Sig struct {
	Proto       uint8
	Orig, Resp  netip.AddrPort
	ISN         uint32
	HasISN      bool
	PayloadHash uint64
	IPID        uint32
	Time        int64
	Packet      int
	Answered    bool // the responder sent anything
	State       string
	SynCount    int
	SLLIf       int32 // interface index in a tcpdump -i any capture, -1 otherwise
}

// sigRaw is a Sig without pointers while the capture is read: appending
// tens of thousands of them then costs no GC write barriers.
type sigRaw struct {
	orig, resp   [16]byte
	op, rp       uint16
	v4           bool
	proto        uint8
	hasISN       bool
	answered     bool
	state        uint8
	isn, ipid    uint32
	hash         uint64
	time         int64
	packet, syns int
	sllIf        int32
}

var stateNames = []string{"", "S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"}

func stateCode(s string) uint8 {
	for i, n := range stateNames {
		if n == s {
			return uint8(i)
		}
	}
	return 0
}

// Signatures identify the capture's connections across capture points,
// in packet order.
func (r *Result) Signatures() []Sig {
	out := make([]Sig, r.sigs.n)
	for i := range out {
		out[i] = r.sigs.at(i).sig()
	}
	return out
}

// SignatureInterfaces are the distinct SLL2 interface indexes of the
// signatures, ascending (-1: not a tcpdump -i any capture).
func (r *Result) SignatureInterfaces() []int32 {
	var ifs []int32
	for i := range r.sigs.n {
		if x := r.sigs.at(i); !slices.Contains(ifs, x.sllIf) {
			ifs = append(ifs, x.sllIf)
		}
	}
	slices.Sort(ifs)
	return ifs
}

func (x sigRaw) sig() Sig {
	addr := func(b [16]byte) netip.Addr {
		a := netip.AddrFrom16(b)
		if x.v4 {
			a = a.Unmap()
		}
		return a
	}
	return Sig{Proto: x.proto, Orig: netip.AddrPortFrom(addr(x.orig), x.op), Resp: netip.AddrPortFrom(addr(x.resp), x.rp),
		ISN: x.isn, HasISN: x.hasISN, PayloadHash: x.hash, IPID: x.ipid, Time: x.time, Packet: x.packet,
		Answered: x.answered, State: stateNames[x.state], SynCount: x.syns, SLLIf: x.sllIf}
}

func (r *Result) addPacket(list *[]int, n int) {
	if len(*list) < 20 {
		*list = append(*list, n)
	}
}

// addFlow accounts a finished flow; it reports whether the result keeps
// a pointer to it. The lists keep the connections that started first
// (smallest first packet), not the first to end: which connections a
// report lists then does not depend on when idle flows are swept.
func (r *Result) addFlow(lim Limits, f *Flow) (kept bool) {
	r.FlowCount++
	r.States[f.State]++
	if r.Flows, kept = keepFirst(r.Flows, lim.Flows, f, flowFirst); kept {
		f.describe()
	}
	if len(r.Flows) == lim.Flows {
		r.FlowsOmitted = r.FlowCount - lim.Flows
	}
	if f.Proto == pcap.ProtoTCP && len(f.SYNs) > 0 || f.Proto == pcap.ProtoUDP && f.FirstPayloadHash != 0 {
		s := sigRaw{proto: f.Proto, orig: f.Orig.Addr.As16(), resp: f.Resp.Addr.As16(), v4: f.Orig.Addr.Is4(),
			op: f.Orig.Port, rp: f.Resp.Port, hash: f.FirstPayloadHash, ipid: f.FirstIPID, time: f.FirstTime,
			packet: f.FirstPkt, answered: f.Resp.Pkts > 0, state: stateCode(f.State), syns: f.SynCount, sllIf: f.SLLIf}
		if len(f.SYNs) > 0 {
			s.isn, s.hasISN, s.ipid, s.time, s.packet = f.SYNs[0].ISN, true, f.SYNs[0].IPID, f.SYNs[0].Time, f.SYNs[0].Packet
		}
		r.sigs.keepFirst(lim.Signatures, s)
	}
	switch {
	case f.Proto == pcap.ProtoTCP && f.SynCount > 0 && f.SynAck == 0 && f.Resp.Pkts == 0 && f.Reset == 0 && f.icmpErr == 0:
		kept = r.addIssue(lim, &r.Unanswered, f) || kept
	case f.State == "REJ" && f.SynCount > 0 && f.ResetByResp:
		kept = r.addIssue(lim, &r.Refused, f) || kept
	case f.Resp.Pkts == 0 && f.Orig.Pkts >= 3 && f.icmpErr == 0 && !f.Resp.Addr.IsMulticast() && !isBroadcast(f.Resp.Addr) &&
		(f.Proto == pcap.ProtoTCP && f.SynCount == 0 || f.Proto == pcap.ProtoUDP && !quietUDP(f.Resp.Port, f.Orig.Port) || f.Proto == pcap.ProtoICMP || f.Proto == pcap.ProtoICMPv6):
		kept = r.addIssue(lim, &r.OneWay, f) || kept
	}
	return kept
}

func flowFirst(f *Flow) int { return f.FirstPkt }

// keepFirst adds x to h, a max-heap by key of at most lim elements: once
// full, x replaces the largest element if its key is smaller. It reports
// whether x is in h.
func keepFirst[T any](h []T, lim int, x T, key func(T) int) ([]T, bool) {
	if lim <= 0 {
		return h, false
	}
	if len(h) < lim {
		h = append(h, x)
		for i := len(h) - 1; i > 0; { // sift up
			up := (i - 1) / 2
			if key(h[up]) >= key(h[i]) {
				break
			}
			h[up], h[i] = h[i], h[up]
			i = up
		}
		return h, true
	}
	if key(x) >= key(h[0]) {
		return h, false
	}
	h[0] = x
	for i := 0; ; { // sift down
		big, l, rr := i, 2*i+1, 2*i+2
		if l < len(h) && key(h[l]) > key(h[big]) {
			big = l
		}
		if rr < len(h) && key(h[rr]) > key(h[big]) {
			big = rr
		}
		if big == i {
			break
		}
		h[big], h[i] = h[i], h[big]
		i = big
	}
	return h, true
}

// quietUDP: services whose requests are not answered on the same
// 5-tuple (DHCP answers to broadcast or from another address) or are
// covered by the DNS findings.
func quietUDP(dport, sport uint16) bool {
	switch dport {
	case 53, 5353, 5355, 67, 68, 123, 137, 138, 1900, 514:
		return true
	}
	return sport == 67 || sport == 68
}

func isBroadcast(a netip.Addr) bool {
	if !a.Is4() {
		return false
	}
	b := a.As4()
	return b[3] == 255
}

func (r *Result) addIssue(lim Limits, list *[]*Flow, f *Flow) bool {
	full := len(*list) == lim.Issues
	var kept bool
	if *list, kept = keepFirst(*list, lim.Issues, f, flowFirst); kept {
		f.describe()
	}
	if full || !kept {
		r.Omitted++ // f, or the flow it replaced
	}
	return kept
}

func (r *Result) addICMP(lim Limits, e ICMPEvent) {
	for i := range r.ICMP {
		x := &r.ICMP[i]
		if x.From == e.From && x.Type == e.Type && x.Code == e.Code && x.Quote.Dst == e.Quote.Dst && x.Quote.DstPort == e.Quote.DstPort && x.Quote.Proto == e.Quote.Proto {
			x.Count++
			r.addPacket(&x.Packets, e.Packets[0])
			return
		}
	}
	if len(r.ICMP) < lim.Issues {
		r.ICMP = append(r.ICMP, e)
	} else {
		r.Omitted++
	}
}

func (r *Result) addDNSError(lim Limits, e DNSIssue) {
	for i := range r.DNSErrors {
		x := &r.DNSErrors[i]
		if x.Server == e.Server && x.Rcode == e.Rcode && strings.EqualFold(x.Name, e.Name) {
			x.Count++
			for _, n := range e.Packets {
				r.addPacket(&x.Packets, n)
			}
			return
		}
	}
	if len(r.DNSErrors) < lim.Issues {
		r.DNSErrors = append(r.DNSErrors, e)
	} else {
		r.Omitted++
	}
}

func (r *Result) addDNSNoResponse(lim Limits, e DNSIssue) {
	for i := range r.DNSNoResponse {
		x := &r.DNSNoResponse[i]
		if x.Server == e.Server && strings.EqualFold(x.Name, e.Name) {
			// The group is its queries whatever order they were given
			// up in: named by the earliest, citing the earliest packets.
			x.Count += e.Count
			if e.Packets[0] < x.Packets[0] {
				x.Client, x.Name, x.time = e.Client, e.Name, e.time
			}
			for _, n := range e.Packets {
				x.Packets = addEarliest(x.Packets, n)
			}
			return
		}
	}
	if len(r.DNSNoResponse) < lim.Issues {
		r.DNSNoResponse = append(r.DNSNoResponse, e)
	} else {
		r.Omitted++
	}
}

// addEarliest inserts n into the ascending list l, which keeps the
// earliest packets addPacket would keep as many of.
func addEarliest(l []int, n int) []int {
	i, found := slices.BinarySearch(l, n)
	if found || i >= 20 {
		return l
	}
	l = slices.Insert(l, i, n)
	return l[:min(len(l), 20)]
}

func (r *Result) addHTTPError(lim Limits, e HTTPIssue) {
	for i := range r.HTTPErrors {
		x := &r.HTTPErrors[i]
		if x.Status == e.Status && x.Host == e.Host && x.URI == e.URI && x.Method == e.Method && x.Server == e.Server {
			x.Count++
			for _, n := range e.Packets {
				r.addPacket(&x.Packets, n)
			}
			return
		}
	}
	if len(r.HTTPErrors) < lim.Issues {
		r.HTTPErrors = append(r.HTTPErrors, e)
	} else {
		r.Omitted++
	}
}

func (r *Result) sort() {
	byFirst := func(l []*Flow) {
		sort.Slice(l, func(i, j int) bool { return l[i].FirstPkt < l[j].FirstPkt })
	}
	byFirst(r.Flows)
	byFirst(r.Unanswered)
	byFirst(r.Refused)
	byFirst(r.OneWay)
	sort.Slice(r.DNSNoResponse, func(i, j int) bool { return r.DNSNoResponse[i].Packets[0] < r.DNSNoResponse[j].Packets[0] })
	r.sigs.sort()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
