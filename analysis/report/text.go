package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/trace"
)

// TextOptions shape the terminal report.
type TextOptions struct {
	// Color adds ANSI colors; the caller decides (TTY, --no-color, NO_COLOR).
	Color bool
	// Width is the line width in columns; 0 means DefaultWidth.
	Width int
	// Trace is the view of `tkesnap trace`: the traced flows first, each
	// with every hop (delivered ones too: there the hops are the answer),
	// then the findings that explain them.
	Trace bool
	// Brief is the ticket view of the Markdown report in text: flows
	// tkesnap traced on its own are one line each.
	Brief bool
}

// DefaultWidth is the text width when output is not a terminal.
const DefaultWidth = 100

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiDim    = "\x1b[2m"
)

type textWriter struct {
	// bundle is the analysed bundle's path, for the commands the report
	// suggests.
	bundle string
	w      *bufio.Writer
	o      TextOptions
	words  *words
}

func (t *textWriter) paint(code, s string) string {
	if !t.o.Color || s == "" {
		return s
	}
	return code + s + ansiReset
}

func (t *textWriter) sevColor(s finding.Severity) string {
	switch s {
	case finding.Error:
		return ansiRed
	case finding.Warning:
		return ansiYellow
	}
	return ansiCyan
}

func (t *textWriter) heading(s string) {
	fmt.Fprintf(t.w, "\n%s\n", t.paint(ansiBold, strings.ToUpper(s)))
}

// para writes s wrapped to the width with a left indent; the first line
// may carry a label ("Fix: ", "- ") and the next lines hang under the text.
func (t *textWriter) para(indent int, label, s string) {
	pad := strings.Repeat(" ", indent)
	hang := pad
	if label == "- " {
		hang += "  "
	}
	lines := wrap(label+plain(s), t.o.Width-len(hang))
	for i, l := range lines {
		if i == 0 {
			if label != "" && label != "- " && strings.HasPrefix(l, strings.TrimSpace(label)) {
				label = strings.TrimSpace(label)
				l = t.paint(ansiBold, label) + l[len(label):]
			}
			fmt.Fprintf(t.w, "%s%s\n", pad, l)
			continue
		}
		fmt.Fprintf(t.w, "%s%s\n", hang, l)
	}
}

// command writes a command on one line whatever its length: wrapped, a
// command pasted from the terminal would break inside its JSON argument.
func (t *textWriter) command(indent int, label, c string) {
	fmt.Fprintf(t.w, "%s%s%s\n", strings.Repeat(" ", indent), t.paint(ansiBold, strings.TrimSpace(label)), strings.TrimPrefix(label, strings.TrimSpace(label))+oneLine(plain(c)))
}

// Text writes the terminal report.
func (r *Report) Text(out io.Writer, o TextOptions) error {
	if o.Width <= 0 {
		o.Width = DefaultWidth
	}
	if o.Width < 40 {
		o.Width = 40
	}
	r = r.printable()
	t := &textWriter{bundle: r.Bundle.Path, w: bufio.NewWriter(out), o: o, words: wordsFor(r.Lang)}
	w := t.words

	for i, l := range wrapAt(w.Title+" — "+oneLine(r.Bundle.Path), t.o.Width, "/") {
		if i == 0 {
			l = strings.Replace(l, w.Title, t.paint(ansiBold, w.Title), 1)
		}
		fmt.Fprintln(t.w, l)
	}
	if o.Trace {
		t.traces(r.Traces, true)
		t.findings(r.Findings)
	} else {
		nodes := w.None
		if len(r.Bundle.Nodes) > 0 {
			nodes = strings.Join(r.Bundle.Nodes, ", ")
		}
		t.para(0, "", fmt.Sprintf("%s%s%s %s · %s (%d)%s%s", w.Bundle, w.Colon, w.Format, r.Bundle.Format, w.Nodes, len(r.Bundle.Nodes), w.Colon, nodes))
		t.heading(w.Summary)
		t.para(2, "", r.Summary)
		t.findings(r.Findings)
		t.traces(r.Traces, false)
	}
	if len(r.Inconclusive) > 0 {
		t.heading(w.Inconclusive)
		for _, in := range r.Inconclusive {
			t.para(2, "- ", w.collect(in))
		}
	}
	if len(r.Bundle.Problems) > 0 {
		t.heading(w.Problems)
		for _, p := range r.Bundle.Problems {
			t.para(2, "- ", problemLine(p))
		}
	}
	return t.w.Flush()
}

func (t *textWriter) findings(fs []finding.Finding) {
	w := t.words
	t.heading(w.Findings + countsSuffix(w, fs))
	if len(fs) == 0 {
		fmt.Fprintf(t.w, "  %s\n", w.None)
	}
	for _, g := range bySeverity(fs) {
		fmt.Fprintf(t.w, "\n  %s\n", t.paint(ansiBold+t.sevColor(g.Sev), w.Sev[g.Sev]))
		for i, it := range g.Items {
			if i > 0 {
				fmt.Fprintln(t.w)
			}
			t.finding(it)
		}
	}
}

// traces writes the traced flows: in full when they fail (or all of them
// when every hop is asked for), the quiet delivered ones — and, brief, the
// ones tkesnap traced on its own — as one line each.
func (t *textWriter) traces(ts []trace.Trace, allHops bool) {
	if len(ts) == 0 {
		return
	}
	w := t.words
	t.heading(w.Traces)
	var short []int
	brief := false
	for i, tr := range ts {
		if !allHops && (quietFlow(tr) || t.o.Brief && tr.Implicit) {
			short = append(short, i)
			brief = brief || !quietFlow(tr)
			continue
		}
		t.trace(strconv.Itoa(i+1), tr, allHops)
	}
	if len(short) == 0 {
		return
	}
	head := w.AlsoDelivered
	if brief {
		head = w.OtherFlows
	}
	fmt.Fprintf(t.w, "\n  %s\n", t.paint(ansiBold, head))
	for _, i := range short {
		tr := ts[i]
		line, color := quietLine(w, tr), ansiGreen
		if !quietFlow(tr) {
			line, color = execText(w.HopsOf, struct{ Hops int }{len(tr.Steps)}), t.verdictColor(tr.Verdict)
		}
		v := t.paint(color, w.tag(tr.Verdict))
		if tr.Reason != "" {
			v += " — " + tr.Reason
		}
		t.para(2, "- ", fmt.Sprintf("%d. %s: %s (%s)", i+1, flowTitle(tr), v, line))
	}
	if brief {
		t.para(2, "", w.HopsCommand+" tkesnap trace "+shellWord(t.bundle)+" --from FROM --to TO")
	}
}

func countsSuffix(w *words, fs []finding.Finding) string {
	if len(fs) == 0 {
		return ""
	}
	return " (" + w.counts(fs) + ")"
}

func problemLine(p finding.Problem) string {
	loc := p.File
	if p.Line > 0 {
		loc += ":" + strconv.Itoa(p.Line)
	}
	if loc == "" {
		return p.Message
	}
	return loc + ": " + p.Message
}

func (t *textWriter) finding(it numbered) {
	w, f := t.words, it.F
	ind := 2 + len(strconv.Itoa(it.N)) + 2
	sevName := w.SevName[f.Severity]
	head := fmt.Sprintf("%d. [%s] %s — %s", it.N, sevName, f.ID, f.Title)
	lines := wrap(head, t.o.Width-ind)
	for i, l := range lines {
		if i == 0 {
			pre := fmt.Sprintf("%d. ", it.N)
			tag := "[" + sevName + "]"
			l = strings.Replace(l, pre+tag, pre+t.paint(t.sevColor(f.Severity), tag), 1)
			l = strings.Replace(l, f.ID, t.paint(ansiBold, f.ID), 1)
			fmt.Fprintf(t.w, "  %s\n", l)
			continue
		}
		fmt.Fprintf(t.w, "%s%s\n", strings.Repeat(" ", ind), l)
	}
	t.para(ind, "", f.Message)
	explains, notes := w.judgedNotes(f)
	if explains != "" {
		t.para(ind, w.Explains+w.Colon, explains)
	}
	for _, n := range notes {
		t.para(ind, "", "("+n+")")
	}
	t.para(ind, w.Fix+w.Colon, f.Remedy)
	if f.Fix != nil {
		for _, c := range f.Fix.Commands {
			t.command(ind, w.Command+w.Colon, c)
		}
		if v := w.retraced(f.Fix, retraceAll); v != "" {
			t.para(ind, "", v)
		}
	}
	if len(f.Objects) > 0 {
		t.para(ind, w.Objects+w.Colon, strings.Join(f.Objects, ", "))
	}
	if len(f.Evidence) > 0 {
		fmt.Fprintf(t.w, "%s%s\n", strings.Repeat(" ", ind), t.paint(ansiBold, strings.TrimSpace(w.Evidence+w.Colon)))
		for _, e := range f.Evidence {
			t.para(ind+2, "- ", location(e))
			if e.Excerpt != "" {
				for _, l := range strings.Split(clipExcerpt(e.Excerpt, 20), "\n") {
					for _, wl := range wrap(l, t.o.Width-ind-4) {
						fmt.Fprintf(t.w, "%s%s\n", strings.Repeat(" ", ind+4), t.paint(ansiDim, wl))
					}
				}
			}
		}
	}
}

func (t *textWriter) verdictColor(v trace.Verdict) string {
	switch v {
	case trace.Delivered:
		return ansiGreen
	case trace.Ambiguous, trace.Undetermined:
		return ansiYellow
	}
	return ansiRed
}

func (t *textWriter) trace(num string, tr trace.Trace, allHops bool) {
	w := t.words
	tag := w.tag(tr.Verdict)
	head := fmt.Sprintf("%s. %s: %s", num, flowTitle(tr), tag)
	if tr.Reason != "" {
		head += " — " + tr.Reason
	}
	fmt.Fprintln(t.w)
	for i, l := range wrap(head, t.o.Width-2) {
		if i == 0 {
			l = strings.Replace(l, tag, t.paint(ansiBold+t.verdictColor(tr.Verdict), tag), 1)
		}
		fmt.Fprintf(t.w, "  %s\n", l)
	}
	if note := traceNote(w, tr); note != "" {
		t.para(4, "", note)
	}
	if len(tr.Steps) > 0 {
		t.stepTable(tr.Steps)
	}
	for i, b := range tr.Branches {
		n := fmt.Sprintf("%s.%d", num, i+1)
		if !allHops && quiet(b) {
			fmt.Fprintln(t.w)
			t.para(2, "", fmt.Sprintf("%s. %s: %s (%s)", n, flowTitle(b), t.paint(ansiGreen, w.tag(b.Verdict)), quietLine(w, b)))
			continue
		}
		t.trace(n, b, allHops)
	}
}

// stepTable prints a trace's hops as a table. When the whole table does
// not fit the width without cutting words, Detail and Evidence move out of
// the table into numbered notes under it: a narrow terminal then still
// shows one hop per row.
func (t *textWriter) stepTable(steps []trace.Step) {
	w := t.words
	detail, move, decision, evidence := stepColumns(steps)
	header, rows := t.stepRows(steps, detail, move, decision, evidence)
	all := append([][]string{header}, rows...)
	notes := false
	if !fits(all, t.o.Width-4) && (detail || evidence) {
		notes = true
		header, rows = t.stepRows(steps, false, move, decision, false)
		all = append([][]string{header}, rows...)
	}
	widths := fitColumns(all, t.o.Width-4)
	cell := func(s string, col int) string { return strings.Join(wrapAt(s, widths[col], "→/,"), "\n") }

	var b strings.Builder
	tb := tablewriter.NewTable(&b,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleLight)})),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithTrimSpace(tw.Off),
	)
	hs := make([]string, len(header))
	for i, h := range header {
		hs[i] = cell(h, i)
	}
	tb.Header(hs)
	for i, row := range rows {
		out := make([]string, len(row))
		for c, v := range row {
			out[c] = cell(v, c)
			if steps[i].Failed && (c == 0 || header[c] == w.Decision) {
				out[c] = t.paintLines(ansiRed+ansiBold, out[c])
			}
		}
		if err := tb.Append(out); err != nil {
			fmt.Fprintf(t.w, "    %v\n", err)
		}
	}
	if err := tb.Render(); err != nil {
		fmt.Fprintf(t.w, "    %v\n", err)
	}
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		fmt.Fprintf(t.w, "    %s\n", l)
	}
	if !notes {
		return
	}
	for i, s := range steps {
		text := plain(oneLine(s.Detail))
		if ev := stepEvidence(s.Evidence); ev != "" {
			if text != "" {
				text += " — "
			}
			text += w.Evidence + w.Colon + ev
		}
		if text == "" {
			continue
		}
		num := strconv.Itoa(i+1) + ". "
		pad := strings.Repeat(" ", 4+width(num))
		for j, l := range wrap(text, t.o.Width-len(pad)) {
			if j == 0 {
				fmt.Fprintf(t.w, "    %s%s\n", num, l)
				continue
			}
			fmt.Fprintf(t.w, "%s%s\n", pad, l)
		}
	}
}

func (t *textWriter) stepRows(steps []trace.Step, detail, move, decision, evidence bool) ([]string, [][]string) {
	w := t.words
	header := []string{w.Step, w.Where, w.Component}
	if detail {
		header = append(header, w.Detail)
	}
	if move {
		header = append(header, w.BeforeAfter)
	}
	if decision {
		header = append(header, w.Decision)
	}
	if evidence {
		header = append(header, w.Evidence)
	}
	rows := make([][]string, 0, len(steps))
	for i, s := range steps {
		n := strconv.Itoa(i + 1)
		if s.Failed {
			n += " ✗"
		}
		row := []string{n, s.At, w.component(s.Component)}
		if detail {
			row = append(row, plain(oneLine(s.Detail)))
		}
		if move {
			row = append(row, transition(s))
		}
		if decision {
			row = append(row, w.decision(s.DecisionText()))
		}
		if evidence {
			row = append(row, stepEvidence(s.Evidence))
		}
		rows = append(rows, row)
	}
	return header, rows
}

// fits says whether a table fits total columns without cutting a word:
// every column at least as wide as its longest word.
func fits(rows [][]string, total int) bool {
	n := len(rows[0])
	sum := 3*n + 1
	for c := 0; c < n; c++ {
		longest := 0
		for _, r := range rows {
			for _, tok := range tokens(r[c], "→/,") {
				longest = max(longest, width(tok))
			}
		}
		sum += longest
	}
	return sum <= total
}

// paintLines colors every line of a multi-line cell on its own, so that a
// table border never sits inside an escape sequence.
func (t *textWriter) paintLines(code, s string) string {
	if !t.o.Color {
		return s
	}
	ls := strings.Split(s, "\n")
	for i := range ls {
		ls[i] = t.paint(code, ls[i])
	}
	return strings.Join(ls, "\n")
}

// fitColumns returns a content width per column so that the table with
// its borders (one space of padding each side, one rule per column) fits
// in total columns. Columns keep their natural width when all fit; else
// the widest column gives up one column at a time, first down to its
// longest unbreakable word (so addresses and names stay whole), and only
// then, if still too wide, down to a hard minimum.
func fitColumns(rows [][]string, total int) []int {
	n := len(rows[0])
	nat := make([]int, n)
	word := make([]int, n)
	for _, r := range rows {
		for c, v := range r {
			for _, tok := range tokens(v, "→/,") {
				if w := width(tok); w > word[c] {
					word[c] = min(w, 24)
				}
			}
			for _, l := range strings.Split(v, "\n") {
				if w := width(l); w > nat[c] {
					nat[c] = w
				}
			}
		}
	}
	avail := total - (3*n + 1)
	ws := append([]int(nil), nat...)
	sum := 0
	for _, w := range ws {
		sum += w
	}
	for _, floor := range [][]int{word, nil} {
		for sum > avail {
			widest := -1
			for c := range ws {
				lo := 6
				if floor != nil {
					lo = max(floor[c], 3)
				}
				if ws[c] > lo && (widest < 0 || ws[c] > ws[widest]) {
					widest = c
				}
			}
			if widest < 0 {
				break
			}
			ws[widest]--
			sum--
		}
	}
	return ws
}
