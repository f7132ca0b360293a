package iptables

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const realDir = "../../testdata/netfilter/real"

func parseString(t *testing.T, s string) *Ruleset {
	t.Helper()
	rs, err := Parse(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func onlyRule(t *testing.T, rs *Ruleset) *Rule {
	t.Helper()
	var rules []*Rule
	for _, tb := range rs.Tables {
		for _, c := range tb.Chains {
			rules = append(rules, c.Rules...)
		}
	}
	if len(rules) != 1 {
		t.Fatalf("want 1 rule, got %d (problems %v)", len(rules), rs.Problems)
	}
	return rules[0]
}

func wrap(rule string) string {
	return "*filter\n:INPUT ACCEPT [0:0]\n:X - [0:0]\n" + rule + "\nCOMMIT\n"
}

func TestRealAKSDumpsParseWithoutProblems(t *testing.T) {
	for _, tc := range []struct {
		file          string
		tables, rules int
	}{
		{"aks-azure-npm-2021-filter-only-iptables-save.txt", 1, 80},
		{"aks-azure-npm-2022-04-full-iptables-save.txt", 4, 270},
	} {
		t.Run(tc.file, func(t *testing.T) {
			rs, err := ParseFile(filepath.Join(realDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(rs.Problems) != 0 {
				t.Errorf("problems: %v", rs.Problems)
			}
			if len(rs.Tables) != tc.tables || rs.NumRules() != tc.rules {
				t.Errorf("tables %d rules %d, want %d %d", len(rs.Tables), rs.NumRules(), tc.tables, tc.rules)
			}
			if rs.Version != "v1.8.4" {
				t.Errorf("version %q", rs.Version)
			}
			// Every module the dump uses other than owner is decoded.
			for _, tb := range rs.Tables {
				for _, c := range tb.Chains {
					for _, r := range c.Rules {
						for _, m := range r.Matches {
							if m.Decoded == nil && m.Name != "owner" {
								t.Errorf("line %d: -m %s not decoded (%s)", r.Line, m.Name, m.DecodeErr)
							}
						}
					}
				}
			}
		})
	}
}

func TestGoldpingerWithoutEndpointsIsRejectedInRealDump(t *testing.T) {
	rs, err := ParseFile(filepath.Join(realDir, "aks-azure-npm-2021-filter-only-iptables-save.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var found *Rule
	for _, r := range rs.Table("filter").Chain("KUBE-SERVICES").Rules {
		if c, ok := r.match("comment").(*Comment); ok && strings.Contains(c.Text, "goldpinger") {
			found = r
		}
	}
	if found == nil {
		t.Fatal("no goldpinger rule in KUBE-SERVICES")
	}
	if found.Target.Name != "REJECT" || found.Target.Decoded.(*Reject).With != "icmp-port-unreachable" {
		t.Errorf("target %+v", found.Target)
	}
	if found.Dst.Prefix != netip.MustParsePrefix("10.0.153.59/32") {
		t.Errorf("dst %v", found.Dst.Prefix)
	}
	pm := found.match("tcp").(*ProtoMatch)
	if pm.Dport == nil || pm.Dport.Ranges[0] != (PortRange{8080, 8080}) {
		t.Errorf("dport %+v", pm.Dport)
	}
	// the text line is the one cited
	data, _ := os.ReadFile(filepath.Join(realDir, "aks-azure-npm-2021-filter-only-iptables-save.txt"))
	if got := strings.Split(string(data), "\n")[found.Line-1]; strings.TrimSpace(got) != found.Text {
		t.Errorf("line %d is %q, rule text %q", found.Line, got, found.Text)
	}
}

func (r *Rule) match(name string) any {
	for _, m := range r.Matches {
		if m.Name == name {
			return m.Decoded
		}
	}
	return nil
}

func TestFlattenedDumpIsReportedOnItsLine(t *testing.T) {
	rs, err := ParseFile(filepath.Join(realDir, "aks-azure-npm-2022-05-flattened-single-line-iptables-save.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Problems) != 1 || rs.Problems[0].Line != 1 || !strings.Contains(rs.Problems[0].Message, "one line") {
		t.Fatalf("problems %v", rs.Problems)
	}
	if rs.NumRules() != 0 {
		t.Errorf("rules %d", rs.NumRules())
	}
}

func TestKEPFragmentKeepsRulesAndReportsElisions(t *testing.T) {
	rs, err := ParseFile(filepath.Join(realDir, "kep2086-kind-worker2-iptables-save-fragment-itp-featuregate-off.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := map[int]string{}
	for _, p := range rs.Problems {
		lines[p.Line] = p.Message
	}
	for _, l := range []int{1, 2, 3, 4} {
		if lines[l] == "" {
			t.Errorf("no problem on line %d (%v)", l, rs.Problems)
		}
	}
	c := rs.Tables[0].Chain("KUBE-SVC-VPG43MSD43N5Z7KJ")
	if c == nil || len(c.Rules) != 4 {
		t.Fatalf("chain %+v", c)
	}
	st := c.Rules[1].match("statistic").(*Statistic)
	if st.Mode != "random" || st.Probability != 0.33333333349 {
		t.Errorf("statistic %+v", st)
	}
	if c.Rules[3].Pos != 4 || c.Rules[3].Line != 8 || c.Rules[3].Target.Name != "KUBE-SEP-KTGIEIH27TIG3JO7" {
		t.Errorf("last rule %+v", c.Rules[3])
	}
}

func TestRuleOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rule  string
		check func(t *testing.T, r *Rule)
	}{
		{"comment with escaped quotes and backslash", `-A X -m comment --comment "say \"hi\" \\o/ -j DROP" -j ACCEPT`, func(t *testing.T, r *Rule) {
			if c := r.match("comment").(*Comment); c.Text != `say "hi" \o/ -j DROP` {
				t.Errorf("comment %q", c.Text)
			}
			if r.Target.Name != "ACCEPT" {
				t.Errorf("target %q", r.Target.Name)
			}
		}},
		{"negation before option", `-A X ! -s 10.0.0.0/8 ! -i eth+ -j DROP`, func(t *testing.T, r *Rule) {
			if !r.Src.Neg || r.Src.Prefix.String() != "10.0.0.0/8" || !r.In.Neg || r.In.Name != "eth+" {
				t.Errorf("%+v %+v", r.Src, r.In)
			}
		}},
		{"old negation after option", `-A X -s ! 10.1.2.3 -p tcp --dport ! 80 -j DROP`, func(t *testing.T, r *Rule) {
			if !r.Src.Neg || r.Src.Prefix.String() != "10.1.2.3/32" {
				t.Errorf("src %+v", r.Src)
			}
			pm := r.match("tcp").(*ProtoMatch)
			if !pm.Dport.Neg {
				t.Errorf("dport %+v", pm.Dport)
			}
		}},
		{"implicit tcp match without -m tcp", `-A X -p tcp --dport 30000:32767 -j DROP`, func(t *testing.T, r *Rule) {
			pm := r.match("tcp").(*ProtoMatch)
			if pm.Dport.Ranges[0] != (PortRange{30000, 32767}) {
				t.Errorf("%+v", pm.Dport)
			}
		}},
		{"target before matches", `-j DNAT --to-destination 10.244.1.4:80 -A X -p tcp -m tcp --dport 80`, func(t *testing.T, r *Rule) {
			nt := r.Target.Decoded.(*NATTarget)
			if nt.To[0].Lo.String() != "10.244.1.4" || nt.To[0].Ports.Lo != 80 {
				t.Errorf("%+v", nt.To)
			}
			if r.match("tcp").(*ProtoMatch).Dport.Ranges[0].Lo != 80 {
				t.Error("dport lost")
			}
		}},
		{"option after another module finds its module", `-A X -p tcp -m tcp -m comment --comment x --dport 53 -j ACCEPT`, func(t *testing.T, r *Rule) {
			if pm := r.match("tcp").(*ProtoMatch); pm.Dport == nil || pm.Dport.Ranges[0].Lo != 53 {
				t.Errorf("%+v", pm)
			}
		}},
		{"netmask form", `-A X -d 10.0.0.0/255.255.0.0 -j ACCEPT`, func(t *testing.T, r *Rule) {
			if r.Dst.Prefix.String() != "10.0.0.0/16" {
				t.Errorf("%v", r.Dst.Prefix)
			}
		}},
		{"unknown module kept raw", `-A X -m owner --uid-owner 0 -m frob --wiggle a b -j ACCEPT`, func(t *testing.T, r *Rule) {
			if len(r.Matches) != 2 || r.Matches[1].Name != "frob" || r.Matches[1].Decoded != nil ||
				strings.Join(r.Matches[1].Opts[0].Args, " ") != "a b" {
				t.Errorf("%+v", r.Matches[1])
			}
		}},
		{"set-xmark and mark match", `-A X -m mark ! --mark 0x4000/0x4000 -j MARK --set-xmark 0x4000/0x4000`, func(t *testing.T, r *Rule) {
			mm := r.match("mark").(*MarkMatch)
			mt := r.Target.Decoded.(*MarkTarget)
			if !mm.Neg || mm.Value != 0x4000 || mm.Mask != 0x4000 || mt.Xor != 0x4000 || mt.Mask != 0x4000 {
				t.Errorf("%+v %+v", mm, mt)
			}
		}},
		{"or-mark", `-A X -j MARK --or-mark 0x10`, func(t *testing.T, r *Rule) {
			mt := r.Target.Decoded.(*MarkTarget)
			if mt.Xor != 0x10 || mt.Mask != 0x10 {
				t.Errorf("%+v", mt)
			}
		}},
		{"match-set negated with flags", `-A X -m set ! --match-set KUBE-LOOP src,dst -j RETURN`, func(t *testing.T, r *Rule) {
			sm := r.match("set").(*SetMatch)
			if !sm.Neg || sm.Name != "KUBE-LOOP" || len(sm.Flags) != 2 {
				t.Errorf("%+v", sm)
			}
		}},
		{"masquerade random-fully", `-A X -j MASQUERADE --random-fully`, func(t *testing.T, r *Rule) {
			if !r.Target.Decoded.(*NATTarget).RandomFully {
				t.Error("random-fully lost")
			}
		}},
		{"goto", `-A X -g INPUT`, func(t *testing.T, r *Rule) {
			if !r.Target.Goto || r.Target.Name != "INPUT" {
				t.Errorf("%+v", r.Target)
			}
		}},
		{"counters prefix", `[12:3456] -A X -j ACCEPT`, func(t *testing.T, r *Rule) {
			if r.Counters == nil || r.Counters.Packets != 12 || r.Counters.Bytes != 3456 || r.Text != "-A X -j ACCEPT" {
				t.Errorf("%+v %q", r.Counters, r.Text)
			}
		}},
		{"multiport and addrtype", `-A X -p udp -m multiport --dports 53,5353:5360 -m addrtype --dst-type LOCAL -j ACCEPT`, func(t *testing.T, r *Rule) {
			mp := r.match("multiport").(*Multiport)
			if !mp.Dports.Contains(5355) || mp.Dports.Contains(54) {
				t.Errorf("%+v", mp.Dports)
			}
			at := r.match("addrtype").(*Addrtype)
			if at.Dst[0] != "LOCAL" {
				t.Errorf("%+v", at)
			}
		}},
		{"CT notrack", `-A X -p udp --dport 53 -j CT --notrack`, func(t *testing.T, r *Rule) {
			if _, ok := r.Target.Decoded.(*Notrack); !ok {
				t.Errorf("%T", r.Target.Decoded)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := parseString(t, wrap(tc.rule))
			r := onlyRule(t, rs)
			if len(rs.Problems) != 0 {
				t.Errorf("problems %v", rs.Problems)
			}
			tc.check(t, r)
		})
	}
}

func TestBrokenInputBecomesLineNumberedProblems(t *testing.T) {
	for _, tc := range []struct {
		name, dump string
		line       int
		want       string
	}{
		{"unterminated quote", wrap(`-A X -m comment --comment "oops -j ACCEPT`), 4, "unterminated quote"},
		{"bad prefix", wrap(`-A X -s 10.0.0.300 -j ACCEPT`), 4, "not an IP"},
		{"bad port", wrap(`-A X -p tcp --dport 99999 -j ACCEPT`), 4, "bad port"},
		{"undeclared chain", wrap(`-A Y -j ACCEPT`), 4, "not declared"},
		{"jump to undeclared chain", wrap(`-A X -j NOPE`), 4, "NOPE"},
		{"missing commit", "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n", 1, "no COMMIT"},
		{"garbage", wrap("hello world"), 4, "not an iptables-save line"},
		{"two commands", wrap("-A X -j ACCEPT -A Y"), 4, "the first one (-A X) is kept"},
		{"declared policy", wrap(":Y BOGUS [0:0]"), 4, `chain Y: policy "BOGUS" is not ACCEPT or DROP`},
		{"declared counters", wrap(":Y - [1:x]"), 4, `chain Y: bad counters "[1:x]"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := parseString(t, tc.dump)
			for _, p := range rs.Problems {
				if p.Line == tc.line && strings.Contains(p.Message, tc.want) {
					return
				}
			}
			t.Errorf("no problem %q on line %d: %v", tc.want, tc.line, rs.Problems)
		})
	}
	// iptables refuses the line; its first -A names the chain it is kept
	// in, in both parses (a lazy parse reads only the line's start)
	for _, lazy := range []bool{false, true} {
		rs, err := ParseString(wrap("-A X -j ACCEPT -A Y"), Options{Limits: DefaultLimits(), Lazy: lazy})
		if err != nil {
			t.Fatal(err)
		}
		rs.LoadAll()
		if x := rs.Table("filter").Chain("X"); x == nil || len(x.Rules) != 1 {
			t.Errorf("lazy %v: the rule is not in chain X: %+v", lazy, x)
		}
	}
}

func TestLegacyWarningAndNftHeader(t *testing.T) {
	rs := parseString(t, "# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n# Generated by iptables-nft-save v1.8.7 on Mon\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n")
	if len(rs.Warnings) != 1 || rs.Warnings[0].Line != 1 || rs.Backend != "nf_tables" || rs.Version != "v1.8.7" {
		t.Errorf("%+v", rs)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"aks-azure-npm-2021-filter-only-iptables-save.txt", "kep2086-kind-worker2-iptables-save-fragment-itp-local.txt"} {
		data, err := os.ReadFile(filepath.Join(realDir, name))
		if err == nil {
			f.Add(data[:min(len(data), 4000)])
		}
	}
	f.Add([]byte(wrap(`-A X -m comment --comment "a \" b" -s ! 1.2.3.4 -m set --match-set s src,dst -j DNAT --to-destination [::1]:80`)))
	f.Add([]byte("*nat\n:S - [0:0]\n-A S ! -d 10.0.0.1/32 -j RETURN\n-A S -d ! 10.0.0.2 -j RETURN\n-A S -d 10.0.0.3/32 -d 10.0.0.4/32\n-A S -m -d 10.0.0.7 -j X\n-A S -d 10.0.0.5/32 -j RETURN\nCOMMIT\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParseLimits(strings.NewReader(string(data)), Limits{LineBytes: 4096, Problems: 50})
		if err != nil {
			t.Fatal(err)
		}
		// parsing chains on use, then all of them, is the eager parse
		sameAsEager(t, "input", string(data), Limits{LineBytes: 4096, Problems: 50})
		for _, tb := range rs.Tables {
			for _, c := range tb.Chains {
				for i, r := range c.Rules {
					if r.Pos != i+1 {
						t.Fatalf("position %d at index %d", r.Pos, i)
					}
				}
			}
		}
	})
}

func TestTokenizeLikeIptablesRestore(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		ok   bool
	}{
		{`-A X -j ACCEPT`, []string{"-A", "X", "-j", "ACCEPT"}, true},
		{`--comment "a b"  -j X`, []string{"--comment", "a b", "-j", "X"}, true},
		{`--comment ""`, []string{"--comment", ""}, true},
		{`--comment "say \"hi\" \\ ok"`, []string{"--comment", `say "hi" \ ok`}, true},
		{`--comment ab"c d"e f`, []string{"--comment", "abc de", "f"}, true},
		{`--comment "\n"`, []string{"--comment", `\n`}, true},
		{`--comment "open`, []string{"--comment", "open"}, false},
	} {
		toks, ok := tokenize(tc.in)
		var got []string
		for _, tk := range toks {
			got = append(got, tk.s)
		}
		if ok != tc.ok || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: got %q %v, want %q %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
