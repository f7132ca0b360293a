package driver

import (
	"strings"
	"sync/atomic"
	"testing"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
	"tkesnap/internal/testbundle"
	"tkesnap/parsers/bundle"
)

// bundleWith writes files into a fresh bundle directory and loads it.
func bundleWith(t *testing.T, files map[string]string) *model.Cluster {
	t.Helper()
	dir := testbundle.Write(t, files)
	b, err := bundle.Open(dir, bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return model.Load(b)
}

const anID = "IP_FORWARD_DISABLED" // any ID of the catalog

func TestRequiredRunsOnceBeforeItsDependents(t *testing.T) {
	var runs atomic.Int32
	base := &Analyzer{Name: "base", Doc: "d", Run: func(p *Pass) (any, error) {
		runs.Add(1)
		return 42, nil
	}}
	var got []any
	a := &Analyzer{Name: "a", Doc: "d", Requires: []*Analyzer{base}, Run: func(p *Pass) (any, error) {
		return p.ResultOf[base], nil
	}}
	b := &Analyzer{Name: "b", Doc: "d", Requires: []*Analyzer{base}, Run: func(p *Pass) (any, error) {
		return p.ResultOf[base], nil
	}}
	res := Run(bundleWith(t, map[string]string{"cluster/version.json": "{}"}), []*Analyzer{a, b})
	got = append(got, res.ResultOf(a), res.ResultOf(b))
	if runs.Load() != 1 || got[0] != 42 || got[1] != 42 {
		t.Errorf("base ran %d times, dependents saw %v; want once and 42", runs.Load(), got)
	}
}

func TestCycleIsRefused(t *testing.T) {
	a := &Analyzer{Name: "a", Doc: "d", Run: func(*Pass) (any, error) { return nil, nil }}
	b := &Analyzer{Name: "b", Doc: "d", Requires: []*Analyzer{a}, Run: func(*Pass) (any, error) { return nil, nil }}
	a.Requires = []*Analyzer{b}
	if err := Validate([]*Analyzer{a}); err == nil || !strings.Contains(err.Error(), "require each other") {
		t.Errorf("Validate = %v, want a cycle error", err)
	}
}

func TestPanicIsAnInternalErrorAndTheOthersStillRun(t *testing.T) {
	bad := &Analyzer{Name: "bad", Doc: "d", Run: func(*Pass) (any, error) { panic("boom") }}
	after := &Analyzer{Name: "after-bad", Doc: "d", Requires: []*Analyzer{bad}, IDs: []string{anID},
		Run: func(p *Pass) (any, error) {
			p.Report(finding.New(anID, nil, nil))
			return nil, nil
		}}
	good := &Analyzer{Name: "good", Doc: "d", IDs: []string{anID}, Run: func(p *Pass) (any, error) {
		p.Report(finding.New(anID, finding.Args{"node": "n1"}, []string{"node/n1"}))
		return nil, nil
	}}
	c := bundleWith(t, map[string]string{"cluster/version.json": "{}"})
	res := Run(c, []*Analyzer{bad, after, good})
	if !res.InternalError() || !strings.Contains(res.Problems[0].Message, "boom") {
		t.Fatalf("problems = %+v, want the panic", res.Problems)
	}
	if len(res.Findings) != 1 || res.Findings[0].Objects[0] != "node/n1" {
		t.Errorf("findings = %+v, want only the good analyzer's (its dependent is skipped)", res.Findings)
	}
	found := false
	for _, p := range c.Problems {
		found = found || strings.HasPrefix(p.Message, InternalPrefix)
	}
	if !found {
		t.Errorf("the internal error is not among the model's problems: %+v", c.Problems)
	}
}

func TestUndeclaredIDIsDroppedAndReported(t *testing.T) {
	a := &Analyzer{Name: "a", Doc: "d", IDs: []string{"ROUTE_MISSING"}, Run: func(p *Pass) (any, error) {
		p.Report(finding.New(anID, nil, nil))
		return nil, nil
	}}
	res := Run(bundleWith(t, map[string]string{"cluster/version.json": "{}"}), []*Analyzer{a})
	if len(res.Findings) != 0 || !res.InternalError() || !strings.Contains(res.Problems[0].Message, "undeclared ID "+anID) {
		t.Errorf("findings %+v problems %+v", res.Findings, res.Problems)
	}
}

// A file two analyzers need (a check and the tracer, each on several
// nodes' behalf) is one inconclusive item, naming the command.
func TestMissingInputIsOneItemPerBundle(t *testing.T) {
	ask := func(name string) *Analyzer {
		return &Analyzer{Name: name, Doc: "d", Inputs: []Input{In("cloud/cluster-routes.json"), In("nodes/*/ipvsadm.txt")},
			Run: func(p *Pass) (any, error) {
				for _, n := range p.Cluster.Nodes {
					if p.Have("cloud/cluster-routes.json") {
						t.Errorf("%s: Have says an absent file is there", name)
					}
					p.HaveNode(n, "ipvsadm.txt")
				}
				return nil, nil
			}}
	}
	c := bundleWith(t, map[string]string{
		"nodes/n1/ip-addr.json": "[]", "nodes/n2/ip-addr.json": "[]", "nodes/n2/ipvsadm.txt": "-A -t 10.0.0.1:80 -s rr\n",
	})
	res := Run(c, []*Analyzer{ask("check"), ask("trace")})
	var got []string
	for _, in := range res.Inconclusive {
		got = append(got, in.Node+":"+in.Need)
		if !strings.Contains(in.Why, in.Command) || in.Command == "" {
			t.Errorf("%+v does not name the command", in)
		}
	}
	if want := ":cloud/cluster-routes.json n1:ipvsadm.txt"; strings.Join(got, " ") != want {
		t.Errorf("inconclusive = %v, want %s", got, want)
	}
}

func TestRequiredInputMissingSkipsRun(t *testing.T) {
	ran := false
	a := &Analyzer{Name: "a", Doc: "d", Inputs: []Input{Need("cluster/services.yaml")}, Run: func(*Pass) (any, error) {
		ran = true
		return nil, nil
	}}
	res := Run(bundleWith(t, map[string]string{"cluster/version.json": "{}"}), []*Analyzer{a})
	if ran || len(res.Inconclusive) != 1 || res.Inconclusive[0].Need != "cluster/services.yaml" ||
		!strings.Contains(res.Inconclusive[0].Command, "kubectl get services") {
		t.Errorf("ran=%v inconclusive=%+v", ran, res.Inconclusive)
	}
}

// A command the manifest records as failed with nothing written is not
// collected, and the item says how it failed.
func TestFailedEmptyOutputIsNotCollected(t *testing.T) {
	c := bundleWith(t, map[string]string{
		"manifest.json":           `{"format":"tkesnap-bundle/v1","files":[{"path":"cloud/route-tables.json","command":"tccli vpc DescribeRouteTables","exit_code":1,"stderr":"AuthFailure"}]}`,
		"cloud/route-tables.json": "",
	})
	a := &Analyzer{Name: "a", Doc: "d", Inputs: []Input{In("cloud/route-tables.json")}, Run: func(p *Pass) (any, error) {
		return p.Have("cloud/route-tables.json"), nil
	}}
	res := Run(c, []*Analyzer{a})
	if res.ResultOf(a) != false || len(res.Inconclusive) != 1 || !strings.Contains(res.Inconclusive[0].Why, "AuthFailure") {
		t.Errorf("have=%v inconclusive=%+v", res.ResultOf(a), res.Inconclusive)
	}
}

func TestUndeclaredInputIsAnInternalError(t *testing.T) {
	a := &Analyzer{Name: "a", Doc: "d", Run: func(p *Pass) (any, error) {
		p.Have("cloud/vpcs.json")
		return nil, nil
	}}
	res := Run(bundleWith(t, map[string]string{"cluster/version.json": "{}"}), []*Analyzer{a})
	if !res.InternalError() || !strings.Contains(res.Problems[0].Message, "undeclared input cloud/vpcs.json") {
		t.Errorf("problems = %+v", res.Problems)
	}
}

func TestFallbackGivesWayToAnotherAnalyzersFinding(t *testing.T) {
	check := &Analyzer{Name: "check", Doc: "d", IDs: []string{anID}, Run: func(p *Pass) (any, error) {
		p.Report(finding.New(anID, nil, []string{"node/n1"}))
		return nil, nil
	}}
	tracer := &Analyzer{Name: "tracer", Doc: "d", IDs: []string{anID, "ROUTE_MISSING"}, Run: func(p *Pass) (any, error) {
		p.ReportFallback(finding.New(anID, nil, []string{"node/n2"}))
		p.ReportFallback(finding.New("ROUTE_MISSING", nil, []string{"vpc"}))
		return nil, nil
	}}
	res := Run(bundleWith(t, map[string]string{"cluster/version.json": "{}"}), []*Analyzer{check, tracer})
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.ID+"@"+f.Objects[0])
	}
	if strings.Join(got, " ") != anID+"@node/n1 ROUTE_MISSING@vpc" {
		t.Errorf("findings = %v", got)
	}
}

func TestEveryInputPatternHasACommand(t *testing.T) {
	for _, c := range Commands {
		if c.Command == "" {
			t.Errorf("%s has no command", c.Path)
		}
	}
	if CommandFor("nodes/10.0.1.5/iptables-save.txt") != "iptables-save -c" {
		t.Errorf("node file pattern not matched")
	}
}

// The result assembly merges one finding per (ID, primary object) across
// analyzers and nodes, then runs Finish over the merged findings; a Finish
// that drops a finding is an internal error and changes nothing.
func TestAssemblyMergesThenFinishes(t *testing.T) {
	report := func(name, node string) *Analyzer {
		return &Analyzer{Name: name, Doc: "d", IDs: []string{anID}, Run: func(p *Pass) (any, error) {
			p.Report(finding.New(anID, finding.Args{"node": node}, []string{"cm/ip-masq", "node/" + node}))
			return nil, nil
		}}
	}
	a, b := report("a", "n1"), report("b", "n2")
	var saw int
	fin := &Analyzer{Name: "fin", Doc: "d", Requires: []*Analyzer{a}, Run: func(*Pass) (any, error) { return nil, nil },
		Finish: func(p *Pass, fs []finding.Finding) []finding.Finding {
			saw = len(fs)
			for i := range fs {
				fs[i].Fix = &finding.Fix{Kind: "sysctl", Node: "n1"}
			}
			return fs
		}}
	c := bundleWith(t, map[string]string{"cluster/version.json": "{}"})
	res := Run(c, []*Analyzer{a, b, fin})
	if len(res.Findings) != 2 || len(res.Merged) != 1 || res.Merged[0].Count != 2 || len(res.Merged[0].Objects) != 3 {
		t.Fatalf("findings %d, merged %+v; want 2 reports merged into one with both nodes", len(res.Findings), res.Merged)
	}
	if saw != 1 || res.Merged[0].Fix == nil {
		t.Errorf("Finish saw %d findings (want the 1 merged), fix %v", saw, res.Merged[0].Fix)
	}
	if !res.ReportedBy(res.Merged[0], a) || !res.ReportedBy(res.Merged[0], b) || res.ReportedBy(res.Merged[0], fin) {
		t.Errorf("origins of the merged finding wrong")
	}
	drop := &Analyzer{Name: "drop", Doc: "d", Run: func(*Pass) (any, error) { return nil, nil },
		Finish: func(*Pass, []finding.Finding) []finding.Finding { return nil }}
	res = Run(bundleWith(t, map[string]string{"cluster/version.json": "{}"}), []*Analyzer{a, drop})
	if !res.InternalError() || len(res.Merged) != 1 {
		t.Errorf("a Finish dropping findings: problems %+v, findings %d; want an internal error and the finding kept", res.Problems, len(res.Merged))
	}
}
