package report

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/trace"
)

// MarkdownOptions shape the Markdown report.
type MarkdownOptions struct {
	// Full keeps every traced flow's hop table and every piece of
	// evidence. The default is the ticket view: the summary, the findings
	// (a few pieces of evidence each) and the hops of the flows the
	// customer reported; flows tkesnap traced on its own are one line
	// each, with the command that prints their hops.
	Full bool
}

// ticketEvidence is how many pieces of evidence a finding shows in the
// ticket view; the rest are counted and are in the JSON and HTML reports.
const ticketEvidence = 2

// ticketHops is how many hops a hop table of the ticket view shows: the
// first (where the packet starts), the failing ones and the last ones;
// the hops in between are counted (every hop is in --full, HTML, JSON).
const ticketHops = 6

// ticketCell is how many columns of a hop's detail the ticket view keeps.
const ticketCell = 120

// clipCell cuts s to n columns with an ellipsis.
func clipCell(s string, n int) string {
	if width(s) <= n {
		return s
	}
	c, _ := cutWidth(s, n-1)
	if strings.Count(c, "`")%2 == 1 {
		c += "`" // a cut inside a code span: the span still ends
	}
	return c + "…"
}

// stepPlace is the file:line (or packet) part of a step's evidence text
// when the evidence has a file; else the whole text.
func stepPlace(ev map[string]any, text string) string {
	if _, ok := ev["file"]; !ok {
		return text
	}
	if i := strings.Index(text, " "); i > 0 && !strings.HasPrefix(text[i:], " #") {
		return text[:i]
	}
	if i := strings.Index(text, " #"); i > 0 {
		if j := strings.Index(text[i+2:], " "); j >= 0 {
			return text[:i+2+j]
		}
	}
	return text
}

// ticketList is how many one-line flows and inconclusive items the ticket
// view lists; the rest are counted.
const ticketList = 5

// Markdown writes the ticket view of the report (see MarkdownOptions).
func (r *Report) Markdown(out io.Writer) error { return r.MarkdownWith(out, MarkdownOptions{}) }

// MarkdownWith writes the report as GitHub-flavoured Markdown that pastes
// into ticket systems: no HTML, no wider-than-needed tables (empty columns
// are left out, cells are not padded), `|` escaped in table cells, rules,
// files and object names in code spans, bundle text escaped so that it
// cannot become links, emphasis or headings.
func (r *Report) MarkdownWith(out io.Writer, o MarkdownOptions) error {
	r = r.printable()
	bw := bufio.NewWriter(out)
	w := wordsFor(r.Lang)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }

	p("# %s\n\n", mdText(w.Title))
	nodes := mdText(w.None)
	if len(r.Bundle.Nodes) > 0 {
		nodes = codeList(r.Bundle.Nodes)
	}
	p("**%s%s** %s · %s %s · %s (%d)%s%s\n\n", mdText(w.Bundle), strings.TrimSpace(w.Colon), code(r.Bundle.Path), mdText(w.Format),
		code(r.Bundle.Format), mdText(w.Nodes), len(r.Bundle.Nodes), w.Colon, nodes)

	p("## %s\n\n%s\n\n", mdText(w.Summary), mdRich(r.Summary))

	reported := false
	for _, t := range r.Traces {
		reported = reported || !t.Implicit
	}
	// aside: beside the reported flows' faults, what a capture saw or
	// hygiene; the ticket view lists it in the table only
	aside := func(f finding.Finding) bool { return !o.Full && reported && len(f.Explains) == 0 && f.Fix == nil }
	p("## %s\n\n", mdText(w.Findings+countsSuffix(w, r.Findings)))
	if len(r.Findings) == 0 {
		p("%s\n\n", mdText(w.None))
	} else {
		p("| %s | %s | %s | %s | %s |\n|---|---|---|---|---|\n", w.Step, mdCell(w.Severity), w.ID, mdCell(w.FindingTitle), mdCell(w.Objects))
		for i, f := range r.Findings {
			objs := codeListCell(f.Objects)
			if !o.Full && len(f.Objects) > 2 {
				objs = codeListCell(f.Objects[:2]) + ", +" + strconv.Itoa(len(f.Objects)-2)
			}
			p("| %d | %s | %s | %s | %s |\n", i+1, mdCell(w.SevName[f.Severity]), codeCell(f.ID), mdCell(f.Title), objs)
		}
		p("\n")
	}
	seenID := map[string]bool{}
	var asideNums []string
	for _, g := range bySeverity(r.Findings) {
		for _, it := range g.Items {
			if aside(it.F) {
				asideNums = append(asideNums, strconv.Itoa(it.N))
			}
		}
	}
	if len(asideNums) > 0 {
		sep := w.Comma
		if w == labels[finding.ZH] {
			sep = "、" // an enumeration
		}
		p("%s\n\n", mdText(execText(w.Aside, struct{ List string }{strings.Join(asideNums, sep)})))
	}
	for _, g := range bySeverity(r.Findings) {
		shownAny := false
		for _, it := range g.Items {
			shownAny = shownAny || !aside(it.F)
		}
		if !shownAny {
			continue
		}
		p("### %s\n\n", mdText(w.Sev[g.Sev]))
		for _, it := range g.Items {
			f := it.F
			if aside(f) {
				continue
			}
			// the ticket view says a fault seen again (same ID, another
			// node, capture or object) with its message and fix; the
			// first of its kind carries the evidence worth reading
			again := !o.Full && seenID[f.ID]
			seenID[f.ID] = true
			p("#### %d. %s %s\n\n", it.N, mdText(f.Title), code(f.ID))
			p("%s\n\n", mdRich(f.Message))
			explains, notes := w.judgedNotes(f)
			if explains != "" {
				p("**%s%s** %s\n\n", mdText(w.Explains), strings.TrimSpace(w.Colon), mdText(explains))
			}
			// how many reports were merged is bookkeeping: --full says it
			for _, n := range notes {
				if o.Full || f.BaseSeverity != nil {
					p("_%s_\n\n", mdText(n))
				}
			}
			p("**%s%s** %s\n\n", mdText(w.Fix), strings.TrimSpace(w.Colon), mdRich(f.Remedy))
			if f.Fix != nil {
				for _, c := range f.Fix.Commands {
					p("**%s%s** %s\n\n", mdText(w.Command), strings.TrimSpace(w.Colon), code(c))
				}
				mode := retraceCountImplicit
				if o.Full {
					mode = retraceAll
				}
				// the ticket view says a re-trace once: the summary's
				// cause already carries its own
				if v := w.retraced(f.Fix, mode); v != "" && (o.Full || !strings.Contains(r.Summary, v)) {
					p("%s\n\n", mdText(v))
				}
			}
			// The ticket view leaves the objects to the table above, and
			// a finding that explains none of the reported flows (what a
			// capture saw, hygiene) keeps one piece of evidence.
			if len(f.Objects) > 0 && o.Full {
				p("**%s%s** %s\n\n", mdText(w.Objects), strings.TrimSpace(w.Colon), codeList(f.Objects))
			}
			if len(f.Evidence) > 0 {
				p("**%s%s**\n\n", mdText(w.Evidence), strings.TrimSpace(w.Colon))
				ev, keep := f.Evidence, ticketEvidence
				if reported && len(f.Explains) == 0 || again {
					keep = 1
				}
				if !o.Full && len(ev) > keep {
					ev = ev[:keep]
				}
				for _, e := range ev {
					p("- %s", code(location(e)))
					if ex := clipExcerpt(e.Excerpt, 20); ex != "" {
						if strings.Contains(ex, "\n") {
							p("\n\n%s", indentBlock(fence(ex), "  "))
						} else {
							p(" — %s", code(ex))
						}
					}
					p("\n")
				}
				if more := len(f.Evidence) - len(ev); more > 0 {
					p("- %s\n", mdText(execText(w.MoreEvidence, struct{ N int }{more})))
				}
				p("\n")
			}
		}
	}

	if len(r.Traces) > 0 {
		p("## %s\n\n", mdText(w.Traces))
		var oneLine []int
		// (verdict, reason) → the flow shown in full that fails that way
		shown := map[[2]string]string{}
		for i, t := range r.Traces {
			if quietFlow(t) || !o.Full && t.Implicit {
				oneLine = append(oneLine, i)
				continue
			}
			mdTrace(bw, w, strconv.Itoa(i+1), t, o.Full, shown)
		}
		if len(oneLine) > 0 {
			p("### %s\n\n", mdText(w.OtherFlows))
			cmd := false
			// failing flows first: when the list is cut, they stay
			sort.SliceStable(oneLine, func(a, b int) bool {
				return !quietFlow(r.Traces[oneLine[a]]) && quietFlow(r.Traces[oneLine[b]])
			})
			shown := oneLine
			if !o.Full {
				// flows tkesnap added itself: one count line, grouped by
				// outcome, with the command that shows them
				var own []trace.Trace
				shown = nil
				for _, i := range oneLine {
					if r.Traces[i].Implicit {
						own = append(own, r.Traces[i])
					} else {
						shown = append(shown, i)
					}
				}
				if len(own) > 0 {
					p("- %s\n", implicitCount(w, own))
					cmd = true
				}
				if len(shown) > ticketList {
					shown = shown[:ticketList]
				}
			}
			for _, i := range shown {
				t := r.Traces[i]
				proto := ""
				if t.Proto != "" {
					proto = " (" + mdText(t.Proto) + ")"
				}
				line := mdText(quietLine(w, t))
				if !quietFlow(t) {
					line, cmd = mdText(execText(w.HopsOf, struct{ Hops int }{len(t.Steps)})), true
				}
				reason := ""
				if t.Reason != "" {
					reason = " " + code(t.Reason)
				}
				p("- %d\\. %s%s: **%s**%s (%s)\n", i+1, mdFlow(t), proto, w.tag(t.Verdict), reason, line)
			}
			if more := len(oneLine) - len(shown); more > 0 {
				p("- %s\n", mdText(execText(w.MoreItems, struct{ N int }{more})))
			}
			if cmd {
				p("\n%s %s\n", mdText(w.HopsCommand), code("tkesnap trace "+shellWord(r.Bundle.Path)+" --from FROM --to TO"))
			}
			p("\n")
		}
	}
	if len(r.Inconclusive) > 0 {
		p("## %s\n\n", mdText(w.Inconclusive))
		inc := r.Inconclusive
		if !o.Full && len(inc) > ticketList {
			inc = inc[:ticketList]
		}
		for _, in := range inc {
			// Need and Node are file and node names: code spans.
			in.Need, in.Node = code(in.Need), codeIf(in.Node)
			in.Why = mdRich(in.Why)
			p("- %s\n", execText(w.Collect, in))
		}
		if more := len(r.Inconclusive) - len(inc); more > 0 {
			p("- %s\n", mdText(execText(w.MoreItems, struct{ N int }{more})))
		}
		p("\n")
	}
	if len(r.Bundle.Problems) > 0 {
		p("## %s\n\n", mdText(w.Problems))
		for _, pr := range r.Bundle.Problems {
			loc := pr.File
			if pr.Line > 0 {
				loc += ":" + strconv.Itoa(pr.Line)
			}
			if loc != "" {
				p("- %s: %s\n", code(loc), mdText(pr.Message))
			} else {
				p("- %s\n", mdText(pr.Message))
			}
		}
		p("\n")
	}
	return bw.Flush()
}

// mdTrace writes one flow with its hop table and its branches. Unless
// full, a branch that fails like a flow or branch already shown in full
// (same verdict, same reason: every endpoint refuses, or the branch drops
// at the SG that drops a reported flow) is one line that points to it.
func mdTrace(bw *bufio.Writer, w *words, num string, t trace.Trace, full bool, shown map[[2]string]string) {
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	level := "###"
	if strings.Contains(num, ".") {
		level = "####"
	}
	head := fmt.Sprintf("%s %s. %s", level, num, mdFlow(t))
	if t.Proto != "" {
		head += " (" + mdText(t.Proto) + ")"
	}
	head += ": **" + w.tag(t.Verdict) + "**"
	if t.Reason != "" {
		head += " " + code(t.Reason)
	}
	p("%s\n\n", head)
	if note := traceNote(w, t); note != "" {
		p("%s\n\n", mdText(note))
	}
	if len(t.Steps) > 0 {
		detail, move, decision, evidence := stepColumns(t.Steps)
		cols := []string{w.Step, mdCell(w.Where), mdCell(w.Component)}
		if detail {
			cols = append(cols, mdCell(w.Detail))
		}
		if move {
			cols = append(cols, mdCell(w.BeforeAfter))
		}
		if decision {
			cols = append(cols, mdCell(w.Decision))
		}
		if evidence {
			cols = append(cols, mdCell(w.Evidence))
		}
		p("| %s |\n|%s\n", strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
		cut := 0 // hops left out since the last row printed
		for i, s := range t.Steps {
			if !full && len(t.Steps) > ticketHops && i > 0 && i < len(t.Steps)-ticketHops+2 && !s.Failed {
				cut++
				continue
			}
			if cut > 0 {
				p("| … | %s |%s\n", mdText(execText(w.HopsCut, struct{ N int }{cut})), strings.Repeat(" |", len(cols)-2))
				cut = 0
			}
			n := strconv.Itoa(i + 1)
			dec := mdCell(w.decision(s.DecisionText()))
			if s.Failed {
				n += " ✗"
				if dec != "" {
					dec = "**" + dec + "**"
				}
			}
			row := []string{n, codeCell(s.At), mdCell(w.component(s.Component))}
			if detail {
				d := s.Detail
				if !full {
					d = clipCell(d, ticketCell)
				}
				row = append(row, richCell(d))
			}
			if move {
				row = append(row, codeCell(transition(s)))
			}
			if decision {
				row = append(row, dec)
			}
			if evidence {
				ev := stepEvidence(s.Evidence)
				if !full {
					// the place (file:line, packet) is the citation; the
					// keys after it are in the JSON and HTML reports
					ev = stepPlace(s.Evidence, ev)
				}
				row = append(row, codeCell(ev))
			}
			p("| %s |\n", strings.Join(row, " | "))
		}
		p("\n")
	}
	if hasFailedStep(t) {
		if _, ok := shown[[2]string{string(t.Verdict), t.Reason}]; !ok {
			shown[[2]string{string(t.Verdict), t.Reason}] = num
		}
	}
	for i, b := range t.Branches {
		n := fmt.Sprintf("%s.%d", num, i+1)
		if quiet(b) {
			p("- %s. %s: **%s** (%s)\n\n", n, mdFlow(b), w.tag(b.Verdict), mdText(quietLine(w, b)))
			continue
		}
		key := [2]string{string(b.Verdict), b.Reason}
		if like, ok := shown[key]; ok && !full {
			p("- %s. %s: **%s** %s (%s)\n\n", n, mdFlow(b), w.tag(b.Verdict), code(b.Reason), mdText(execText(w.LikeBranch, struct {
				Hops int
				Like string
			}{len(b.Steps), like})))
			continue
		}
		mdTrace(bw, w, n, b, full, shown)
	}
}

// mdFlow is "`from` → `to`" (or "→ `to`" for a branch), proto omitted.
func mdFlow(t trace.Trace) string {
	if t.From == "" {
		return "→ " + code(t.To)
	}
	return code(t.From) + " → " + code(t.To)
}

// mdText escapes bundle or catalog text so Markdown shows it literally.
// `_` is escaped only where it could start or end emphasis (GFM does not
// treat intraword underscores as emphasis), which keeps IDs and names
// readable when pasted into systems that show the source.
func mdText(s string) string {
	s = oneLine(s)
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		switch r {
		case '\\', '`', '*', '[', ']', '<', '>', '|', '~':
			b.WriteRune('\\')
		case '_':
			inWord := i > 0 && i < len(rs)-1 && isWordRune(rs[i-1]) && isWordRune(rs[i+1])
			if !inWord {
				b.WriteRune('\\')
			}
		case '#', '+', '-', '=':
			if i == 0 {
				b.WriteRune('\\')
			}
		case '!':
			if i+1 < len(rs) && rs[i+1] == '[' {
				b.WriteRune('\\')
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isWordRune(r rune) bool {
	return r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 0x7f
}

// mdRich renders catalog text: prose escaped, `code` kept as code spans.
func mdRich(s string) string {
	var b strings.Builder
	for _, sg := range segments(oneLine(s)) {
		if sg.Code {
			b.WriteString(code(sg.Text))
			continue
		}
		b.WriteString(spaced(sg.Text, mdText))
	}
	return b.String()
}

// spaced is esc(s) keeping one space where s starts or ends with one:
// mdText trims, and those spaces separate prose from a code span.
func spaced(s string, esc func(string) string) string {
	out := esc(s)
	if out == "" {
		return s
	}
	if strings.HasPrefix(s, " ") {
		out = " " + out
	}
	if strings.HasSuffix(s, " ") {
		out += " "
	}
	return out
}

// code makes a CommonMark code span that survives backticks inside s: the
// fence is one backtick longer than the longest run inside, padded with
// spaces when s starts or ends with a backtick.
func code(s string) string {
	s = oneLine(s)
	if s == "" {
		return ""
	}
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			if run > longest {
				longest = run
			}
		} else {
			run = 0
		}
	}
	f := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return f + " " + s + " " + f
	}
	return f + s + f
}

func codeIf(s string) string {
	if s == "" {
		return ""
	}
	return code(s)
}

// In a GFM table a `|` ends the cell even inside a code span, so it is
// escaped as `\|` there too (GFM spec, tables extension, example 200).
func mdCell(s string) string { return mdText(s) }

// richCell is catalog text in a table cell: `code` kept as code spans.
func richCell(s string) string {
	var b strings.Builder
	for _, sg := range segments(oneLine(s)) {
		if sg.Code {
			b.WriteString(codeCell(sg.Text))
		} else {
			b.WriteString(spaced(sg.Text, mdText))
		}
	}
	return b.String()
}

func codeCell(s string) string { return strings.ReplaceAll(code(s), "|", `\|`) }

func codeList(xs []string) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = code(x)
	}
	return strings.Join(out, ", ")
}

func codeListCell(xs []string) string { return strings.ReplaceAll(codeList(xs), "|", `\|`) }

// fence wraps a multi-line excerpt in a fenced code block longer than any
// backtick run inside it.
func fence(s string) string {
	s = strings.TrimRight(s, "\n")
	n := 3
	for _, l := range strings.Split(s, "\n") {
		t := strings.TrimLeft(l, " ")
		run := len(t) - len(strings.TrimLeft(t, "`"))
		if run >= n {
			n = run + 1
		}
	}
	f := strings.Repeat("`", n)
	return f + "\n" + s + "\n" + f
}

func indentBlock(s, pad string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = pad + lines[i]
	}
	return strings.Join(lines, "\n")
}

// shellWord quotes s for a POSIX shell when it holds anything but the
// characters of plain paths.
func shellWord(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=+@,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// implicitCount is the ticket view's line for the flows tkesnap traced on
// its own: how many, by outcome and reason.
func implicitCount(w *words, ts []trace.Trace) string {
	type key struct{ tag, reason string }
	var order []key
	n := map[key]int{}
	for _, t := range ts {
		k := key{w.tag(t.Verdict), t.Reason}
		if n[k] == 0 {
			order = append(order, k)
		}
		n[k]++
	}
	var parts []string
	for _, k := range order {
		s := "**" + mdText(k.tag) + "**"
		if k.reason != "" {
			s += " " + code(k.reason)
		}
		parts = append(parts, s+" ×"+strconv.Itoa(n[k]))
	}
	lead := mdText(execText(w.Implicit, struct{ N int }{len(ts)}))
	if strings.HasSuffix(lead, ":") {
		lead += " " // an ASCII colon is followed by a space, a full-width one is not
	}
	return lead + strings.Join(parts, w.Comma)
}
