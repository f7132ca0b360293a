// Package driver runs analyzers over one bundle's model, in the manner of
// golang.org/x/tools/go/analysis: an Analyzer is a value that declares its
// name, what it is for, the bundle inputs it reads (with the command that
// collects each), the analyzers whose results it uses, the finding IDs it
// may report, and Run. The driver owns everything around Run:
//
//   - order: an analyzer runs after the analyzers it requires, whose
//     results it reads from Pass.ResultOf; each runs once per bundle, so a
//     shared fact (node resolution, SG decisions, capture results) is
//     computed once. Independent analyzers run in parallel.
//   - absent inputs: a declared input the bundle lacks is unknown, never
//     evidence. The driver lists it once per bundle as inconclusive, naming
//     the file and the command that collects it, however many analyzers
//     (checks and tracer) needed it.
//   - declared IDs: a finding with an ID the analyzer did not declare is a
//     bug of tkesnap and is recorded as an internal error.
//   - panics: an analyzer that panics is a bug; the driver records it as an
//     internal error (analyze exits 1) and the other analyzers still run
//     (those that require it are skipped).
package driver

import (
	"fmt"
	"path"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/model"
)

// Analyzer is one unit of analysis.
type Analyzer struct {
	// Name is unique among the analyzers of a run ("kube-services").
	Name string
	// Doc says what the analyzer decides, first sentence a summary.
	Doc string
	// Inputs are the bundle files the analyzer concludes from.
	Inputs []Input
	// Requires are analyzers whose results this one reads (ResultOf).
	Requires []*Analyzer
	// IDs are the finding IDs Run may report.
	IDs []string
	// Run reads the model and the required results, reports findings and
	// returns its result for the analyzers that require it.
	Run func(*Pass) (any, error)
	// Finish, when set, runs after every analyzer of the run, in the
	// result assembly, over the run's findings merged one per fault: it
	// may annotate them (a remedy applied to the model and the reported
	// flows re-traced) but neither add nor drop one. Its Pass has the
	// results of Requires, as Run's had.
	Finish func(p *Pass, fs []finding.Finding) []finding.Finding
}

func (a *Analyzer) String() string { return a.Name }

// Input is one bundle file (or pattern) an analyzer reads.
type Input struct {
	// Path is relative to the bundle root. "nodes/*/iptables-save.txt" is
	// read on every node; other '*' patterns (cloud/targets/*.json) stand
	// for one file per object, which Run asks for by name with Pass.Have.
	Path string
	// Command is what collects it (the collector's command line).
	Command string
	// Required: without it Run cannot conclude anything, so the driver
	// does not call Run and lists the input as inconclusive. Only for
	// paths without '*'.
	Required bool
}

// In returns the input for a bundle path with the command the collector
// runs for it (Commands). It panics for a path with no known command, so a
// declaration cannot silently leave the command out.
func In(p string) Input {
	cmd := CommandFor(p)
	if cmd == "" {
		panic("driver: no collecting command known for input " + p)
	}
	return Input{Path: p, Command: cmd}
}

// Need is In with Required set.
func Need(p string) Input {
	in := In(p)
	in.Required = true
	return in
}

// perNode reports whether an input is read on every node folder, and the
// file name below nodes/<name>/.
func (in Input) perNode() (string, bool) {
	rest, ok := strings.CutPrefix(in.Path, "nodes/*/")
	return rest, ok
}

// matches reports whether a concrete bundle path is covered by the input.
func (in Input) matches(p string) bool {
	if in.Path == p {
		return true
	}
	if ok, _ := path.Match(in.Path, p); ok {
		return true
	}
	// a directory input ("nodes/*/cni/") covers what is below it
	if strings.HasSuffix(in.Path, "/") {
		dir := strings.TrimSuffix(in.Path, "/")
		for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
			if ok, _ := path.Match(dir, d); ok {
				return true
			}
		}
	}
	return false
}

// Result is what one run of the driver produced.
type Result struct {
	// Findings are as the analyzers reported them (a finding two
	// analyzers reported identically listed once): what a check's test
	// looks at.
	Findings []finding.Finding
	// Merged is what a report lists: Findings one per fault
	// (finding.Merge: same ID and primary object from several nodes,
	// sources, files or analyzers), annotated by the analyzers' Finish
	// (each remedy applied to the model and the reported flows re-traced).
	Merged       []finding.Finding
	Inconclusive []finding.Inconclusive
	// Problems are internal errors (a panic, an undeclared ID, an error
	// returned by Run): bugs of tkesnap, analyze exits 1 on them. They
	// are also added to the model's problems.
	Problems []finding.Problem
	results  map[*Analyzer]any
	passes   map[*Analyzer]*Pass
	origins  map[string][]*Analyzer
}

// Origin returns the analyzer that reported a finding of Findings or
// Merged (the first one, when the finding merges reports of several).
func (r *Result) Origin(f finding.Finding) *Analyzer {
	if as := r.origins[mergeKey(f)]; len(as) > 0 {
		return as[0]
	}
	return nil
}

// ReportedBy says whether analyzer a reported a finding of Findings or
// (one of the reports merged into) a finding of Merged.
func (r *Result) ReportedBy(f finding.Finding, a *Analyzer) bool {
	for _, x := range r.origins[mergeKey(f)] {
		if x == a {
			return true
		}
	}
	return false
}

func mergeKey(f finding.Finding) string { return f.ID + "\x00" + finding.PrimaryObject(f) }

// FindingsOf returns the findings one analyzer reported (fallbacks
// included), before the run's duplicates were merged.
func (r *Result) FindingsOf(a *Analyzer) []finding.Finding {
	p := r.passes[a]
	if p == nil {
		return nil
	}
	out := append([]finding.Finding(nil), p.findings...)
	for _, fb := range p.fallbacks {
		out = append(out, fb.f)
	}
	return out
}

// InconclusiveOf returns what one analyzer could not decide, each missing
// input once.
func (r *Result) InconclusiveOf(a *Analyzer) []finding.Inconclusive {
	p := r.passes[a]
	if p == nil {
		return nil
	}
	var out []finding.Inconclusive
	seen := map[string]bool{}
	for _, in := range p.inconclusive {
		if k := inconclusiveKey(in); !seen[k] {
			seen[k] = true
			out = append(out, in)
		}
	}
	sortInconclusive(out)
	return out
}

// ResultOf returns an analyzer's result (nil when it did not run).
func (r *Result) ResultOf(a *Analyzer) any { return r.results[a] }

// InternalError reports whether an analyzer failed (a bug of tkesnap).
func (r *Result) InternalError() bool { return len(r.Problems) > 0 }

// InternalPrefix starts the message of every problem the driver records
// for a bug of tkesnap, so the report and the exit code can tell them
// from problems of the bundle.
const InternalPrefix = "internal error: "

// Options tune Run.
type Options struct {
	// Parallel bounds how many analyzers run at once (default GOMAXPROCS).
	Parallel int
}

// Run runs the analyzers (and, first, every analyzer they require) over c.
func Run(c *model.Cluster, analyzers []*Analyzer) *Result {
	return RunWith(c, analyzers, Options{})
}

// RunWith is Run with options.
func RunWith(c *model.Cluster, analyzers []*Analyzer, o Options) *Result {
	order, err := sortAnalyzers(analyzers)
	if err != nil {
		// a cycle or a duplicate name is a bug in the declarations
		panic(err)
	}
	par := o.Parallel
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	st := &state{c: c, col: newCollected(c), results: map[*Analyzer]any{}, failed: map[*Analyzer]bool{}}
	passes := make([]*Pass, len(order))
	done := make(map[*Analyzer]chan struct{}, len(order))
	for _, a := range order {
		done[a] = make(chan struct{})
	}
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, a := range order {
		p := &Pass{Analyzer: a, Cluster: c, st: st, ResultOf: map[*Analyzer]any{}}
		passes[i] = p
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[a])
			for _, r := range a.Requires {
				<-done[r]
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			st.run(p)
		}()
	}
	wg.Wait()

	res := &Result{results: st.results, passes: map[*Analyzer]*Pass{}, origins: map[string][]*Analyzer{}}
	for _, p := range passes {
		res.passes[p.Analyzer] = p
	}
	// findings and inconclusive items in the analyzers' order, so a
	// report does not depend on scheduling
	// a finding of one analyzer with the same ID, objects and evidence
	// as one another analyzer reported says nothing new (the tracer and a
	// check citing the same rule): it is listed once. Findings of one
	// analyzer are its own business (it may report one fault per flow).
	owner := map[string]*Pass{}
	haveID := map[string]bool{}
	add := func(p *Pass, f finding.Finding) {
		k := findingKey(f)
		if o, ok := owner[k]; ok && o != p {
			return
		}
		owner[k] = p
		mk := mergeKey(f)
		if !hasAnalyzer(res.origins[mk], p.Analyzer) {
			res.origins[mk] = append(res.origins[mk], p.Analyzer)
		}
		res.Findings = append(res.Findings, f)
	}
	for _, p := range passes {
		for _, f := range p.findings {
			add(p, f)
			haveID[f.ID] = true
		}
		res.Problems = append(res.Problems, p.problems...)
		p.assembled = len(p.problems)
	}
	for _, p := range passes {
	next:
		for _, fb := range p.fallbacks {
			for _, id := range append([]string{fb.f.ID}, fb.unless...) {
				if haveID[id] {
					continue next
				}
			}
			add(p, fb.f)
		}
	}
	seen := map[string]bool{}
	for _, p := range passes {
		for _, in := range p.inconclusive {
			k := inconclusiveKey(in)
			if seen[k] {
				continue
			}
			seen[k] = true
			if p := BundlePath(in); isFileLike(p) && !strings.HasPrefix(p, "nodes/") {
				// a cluster or cloud file is missing for the whole
				// bundle, not for the node whose hop asked first
				in.Node = ""
			}
			if p := BundlePath(in); in.Command == "" && isFileLike(p) {
				// an item a check wrote by hand names the file; the
				// command that collects it is the collector's
				in.Command = CommandFor(p)
			}
			res.Inconclusive = append(res.Inconclusive, in)
		}
	}
	finding.Sort(res.Findings)
	// one finding per fault: the same ID on the same primary object from
	// several nodes, sources, files or analyzers is one finding with
	// every object and piece of evidence
	res.Merged = finding.Merge(res.Findings)
	for _, p := range passes {
		if p.Analyzer.Finish != nil && !st.failed[p.Analyzer] && st.c != nil {
			res.Merged = finish(p, res.Merged)
		}
	}
	sortInconclusive(res.Inconclusive)
	res.Problems = append(res.Problems, finishProblems(passes)...)
	c.Problems = append(c.Problems, res.Problems...)
	return res
}

// finish runs one analyzer's Finish over the merged findings; a panic or
// a Finish that adds, drops or re-identifies findings is an internal
// error and leaves the findings as they were.
func finish(p *Pass, fs []finding.Finding) (out []finding.Finding) {
	out = fs
	in := append([]finding.Finding(nil), fs...)
	defer func() {
		if r := recover(); r != nil {
			p.internal("analyzer %s: Finish panic: %v\n%s", p.Analyzer.Name, r, firstFrames(debug.Stack()))
			out = fs
		}
	}()
	got := p.Analyzer.Finish(p, in)
	if len(got) != len(fs) {
		p.internal("analyzer %s: Finish returned %d findings for %d", p.Analyzer.Name, len(got), len(fs))
		return fs
	}
	for i := range got {
		if mergeKey(got[i]) != mergeKey(fs[i]) {
			p.internal("analyzer %s: Finish changed finding %d from %s to %s", p.Analyzer.Name, i, fs[i].ID, got[i].ID)
			return fs
		}
	}
	return got
}

// finishProblems are the internal errors Finish recorded (after the
// findings were assembled, so not yet in Problems).
func finishProblems(passes []*Pass) []finding.Problem {
	var out []finding.Problem
	for _, p := range passes {
		out = append(out, p.problems[p.assembled:]...)
	}
	return out
}

func hasAnalyzer(as []*Analyzer, a *Analyzer) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

func findingKey(f finding.Finding) string {
	var b strings.Builder
	b.WriteString(f.ID)
	for _, o := range f.Objects {
		b.WriteString("|" + o)
	}
	for _, e := range f.Evidence {
		fmt.Fprintf(&b, "|%s:%d:%d", e.File, e.Line, e.Packet)
	}
	return b.String()
}

// inconclusiveKey is what makes two items the same missing input: the
// bundle path (node file names are joined to their folder), so a file
// named by a check and again by a trace hop is listed once. Items that
// name no file (a decision the bundle cannot support) are kept apart by
// their reason.
func inconclusiveKey(in finding.Inconclusive) string {
	p := BundlePath(in)
	if isFileLike(p) {
		return p
	}
	return p + "\x00" + in.Why
}

// BundlePath is the bundle path an inconclusive item names: Need, below
// nodes/<node>/ when it names a node's file by its base name.
func BundlePath(in finding.Inconclusive) string {
	if in.Node != "" && !strings.Contains(strings.TrimSuffix(in.Need, "/"), "/") && isFileLike(in.Need) {
		return "nodes/" + in.Node + "/" + in.Need
	}
	return in.Need
}

// isFileLike: a bundle path, not a word ("flow", "cluster/").
func isFileLike(p string) bool {
	return strings.Contains(p, ".") && !strings.ContainsAny(p, " *")
}

func sortInconclusive(in []finding.Inconclusive) {
	sort.SliceStable(in, func(i, j int) bool {
		a, b := in[i], in[j]
		if a.Node != b.Node {
			return a.Node < b.Node
		}
		if a.Need != b.Need {
			return a.Need < b.Need
		}
		return a.Why < b.Why
	})
}

// sortAnalyzers returns the analyzers and everything they require in a
// dependency order (requirements first, otherwise by name).
func sortAnalyzers(roots []*Analyzer) ([]*Analyzer, error) {
	var all []*Analyzer
	names := map[string]*Analyzer{}
	state := map[*Analyzer]int{} // 1 visiting, 2 done
	var visit func(a *Analyzer, chain []string) error
	visit = func(a *Analyzer, chain []string) error {
		switch state[a] {
		case 1:
			return fmt.Errorf("driver: analyzers require each other: %s → %s", strings.Join(chain, " → "), a.Name)
		case 2:
			return nil
		}
		if b, ok := names[a.Name]; ok && b != a {
			return fmt.Errorf("driver: two analyzers named %s", a.Name)
		}
		names[a.Name] = a
		state[a] = 1
		reqs := append([]*Analyzer(nil), a.Requires...)
		sort.Slice(reqs, func(i, j int) bool { return reqs[i].Name < reqs[j].Name })
		for _, r := range reqs {
			if err := visit(r, append(chain, a.Name)); err != nil {
				return err
			}
		}
		state[a] = 2
		all = append(all, a)
		return nil
	}
	rs := append([]*Analyzer(nil), roots...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Name < rs[j].Name })
	for _, a := range rs {
		if err := visit(a, nil); err != nil {
			return nil, err
		}
	}
	return all, nil
}

// Validate checks the declarations of analyzers: unique names, no cycle,
// IDs present in the catalog, inputs with a command. A test runs it over
// every registered analyzer.
func Validate(analyzers []*Analyzer) error {
	order, err := sortAnalyzers(analyzers)
	if err != nil {
		return err
	}
	var errs []string
	for _, a := range order {
		if a.Doc == "" {
			errs = append(errs, a.Name+": no Doc")
		}
		if a.Run == nil {
			errs = append(errs, a.Name+": no Run")
		}
		for _, id := range a.IDs {
			if _, ok := finding.Lookup(id); !ok {
				errs = append(errs, a.Name+": ID "+id+" is not in the finding catalog")
			}
		}
		for _, in := range a.Inputs {
			if in.Command == "" {
				errs = append(errs, a.Name+": input "+in.Path+" names no command")
			}
			if in.Required && strings.Contains(in.Path, "*") {
				errs = append(errs, a.Name+": required input "+in.Path+" is a pattern")
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}
