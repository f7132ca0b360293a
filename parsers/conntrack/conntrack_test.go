package conntrack

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const lab = "../../testdata/datapath/bundle/nodes"

func TestLabConntrackOutputParses(t *testing.T) {
	nodes, _ := filepath.Glob(filepath.Join(lab, "*"))
	for _, n := range nodes {
		b, err := os.ReadFile(filepath.Join(n, "conntrack-stats.txt"))
		if err != nil {
			t.Fatal(err)
		}
		s := ParseStats(bytes.NewReader(b))
		if len(s.Problems) > 0 || len(s.CPUs) == 0 {
			t.Errorf("%s: %d cpus, %v", n, len(s.CPUs), s.Problems)
		}
		if _, ok := s.CPUs[0].Counters["insert_failed"]; !ok {
			t.Errorf("%s: no insert_failed counter", n)
		}
		b, err = os.ReadFile(filepath.Join(n, "conntrack.txt"))
		if err != nil {
			t.Fatal(err)
		}
		l := ParseList(bytes.NewReader(b))
		if len(l.Problems) > 0 || l.ReportedCount != l.Entries {
			t.Errorf("%s: %d entries, conntrack said %d; %v", n, l.Entries, l.ReportedCount, l.Problems)
		}
	}
	b, _ := os.ReadFile(filepath.Join(lab, "healthy-a", "conntrack.txt"))
	l := ParseList(bytes.NewReader(b))
	if l.ByProto["icmp"] == 0 || l.Unreplied == 0 {
		t.Errorf("healthy-a saw pings to failing nodes, unanswered: %+v", l)
	}
}

func TestStatsTotalsAndEvidenceLines(t *testing.T) {
	in := "cpu=0   \tfound=0 invalid=3 insert=0 insert_failed=2 drop=0 early_drop=0 error=0 search_restart=1\n" +
		"cpu=1   \tfound=0 invalid=0 insert=0 insert_failed=0 drop=7 early_drop=0 error=0 search_restart=0\n" +
		"123456\n"
	s := ParseStats(strings.NewReader(in))
	if len(s.Problems) > 0 {
		t.Fatal(s.Problems)
	}
	if v, at := s.Total("drop"); v != 7 || len(at) != 1 || at[0] != 2 {
		t.Fatalf("drop %d at %v", v, at)
	}
	if v, _ := s.Total("insert_failed"); v != 2 {
		t.Fatalf("insert_failed %d", v)
	}
	if s.Count != 123456 || s.CountLine != 3 {
		t.Fatalf("count %d line %d", s.Count, s.CountLine)
	}
}

func TestListSummaryCountsStatesAndDestinations(t *testing.T) {
	in := "tcp      6 431999 ESTABLISHED src=172.16.0.2 dst=10.96.0.1 sport=40000 dport=443 src=10.0.1.5 dst=172.16.0.2 sport=6443 dport=40000 [ASSURED] mark=0 use=1\n" +
		"tcp      6 118 SYN_SENT src=172.16.0.2 dst=10.96.0.1 sport=40002 dport=443 [UNREPLIED] src=10.0.1.9 dst=172.16.0.2 sport=6443 dport=40002 mark=0 use=1\n" +
		"ipv4     2 udp      17 29 src=172.16.0.2 dst=10.96.0.10 sport=5353 dport=53 [UNREPLIED] src=172.16.1.7 dst=172.16.0.2 sport=53 dport=5353 mark=0 use=1\n" +
		"conntrack v1.4.6 (conntrack-tools): 3 flow entries have been shown.\n"
	s := ParseList(strings.NewReader(in))
	if len(s.Problems) > 0 || s.Entries != 3 || s.ReportedCount != 3 || s.Unreplied != 2 {
		t.Fatalf("%+v", s)
	}
	if s.ByState["ESTABLISHED"] != 1 || s.ByState["SYN_SENT"] != 1 || s.ByProto["udp"] != 1 {
		t.Fatalf("%+v", s)
	}
	if top := s.TopDsts(1); len(top) != 1 || top[0] != "10.96.0.1:443/tcp" {
		t.Fatalf("%v", top)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("cpu=0 found=1 drop=2\n42\nentries 7\n"))
	f.Add([]byte("tcp 6 1 ESTABLISHED src=1.1.1.1 dst=::1 dport=1 [UNREPLIED]\nconntrack v1 (x): 1 flow entries have been shown.\n"))
	f.Add([]byte("tcp 6 1 SYN_SENT SYN_SENT src=1.1.1.1 dst=2.2.2.2 sport=1 dport=80 [UNREPLIED] src=2.2.2.2 dst=1.1.1.1 [UNREPLIED]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st := ParseStats(bytes.NewReader(b))
		// the -S lines written back read the same
		var w strings.Builder
		for _, c := range st.CPUs {
			fmt.Fprintf(&w, "cpu=%d", c.CPU)
			for k, v := range c.Counters {
				fmt.Fprintf(&w, " %s=%d", k, v)
			}
			w.WriteByte('\n')
		}
		again := ParseStats(strings.NewReader(w.String()))
		if len(again.CPUs) != len(st.CPUs) || len(again.Problems) != 0 {
			t.Fatalf("%q read back as %+v, was %+v", w.String(), again, st)
		}
		for i, c := range st.CPUs {
			if again.CPUs[i].CPU != c.CPU || !maps.Equal(again.CPUs[i].Counters, c.Counters) {
				t.Fatalf("cpu %d read back as %+v, was %+v", i, again.CPUs[i], c)
			}
		}
		// every entry is counted once: by protocol, at most once by state,
		// unreplied and destination
		s := ParseList(bytes.NewReader(b))
		if len(s.ByDst) > MaxDsts {
			t.Fatal("unbounded destinations")
		}
		sum := func(m map[string]int) (n int) {
			for _, v := range m {
				n += v
			}
			return n
		}
		if sum(s.ByProto) != s.Entries || sum(s.ByState) > s.ByProto["tcp"] || s.Unreplied > s.Entries || sum(s.ByDst) > s.Entries {
			t.Fatalf("%d entries: proto %v state %v unreplied %d dst %d", s.Entries, s.ByProto, s.ByState, s.Unreplied, sum(s.ByDst))
		}
	})
}
