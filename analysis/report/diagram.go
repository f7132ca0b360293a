package report

import (
	"strconv"
	"strings"

	"tkesnap/analysis/trace"
)

// diagram is the SVG path picture of one traced flow: the source, one box
// per hop (consecutive steps at the same place and component are one
// hop), the destination; the hop where the flow fails is red and carries
// its reason. Coordinates are computed here; html.tmpl only draws them.
type diagram struct {
	W, H   int
	Boxes  []box
	Arrows []arrow
}

type box struct {
	X, Y, W, H int
	// Lines are the (shortened) labels; Full is the whole text as tooltip.
	Lines  []string
	Full   string
	Kind   string // "end", "hop", "fail", "unreached"
	Reason []string
	TX     int // text x (centre)
}

type arrow struct {
	D      string // SVG path data
	Broken bool   // after the failing hop: the flow does not get there
}

const (
	boxW, boxH   = 190, 64
	gapX         = 46
	rowH         = boxH + 70 // room for the failure reason under a box
	perRow       = 5
	marginX      = 12
	marginY      = 12
	labelColumns = 27 // columns of text that fit a box line
)

type hop struct {
	at, component, decision string
	steps                   int
	failed                  bool
}

func hops(steps []trace.Step, w *words) []hop {
	var out []hop
	for _, s := range steps {
		if n := len(out); n > 0 && out[n-1].at == s.At && out[n-1].component == s.Component && !out[n-1].failed {
			h := &out[n-1]
			h.steps++
			h.failed = s.Failed
			if s.Decision != "" {
				h.decision = w.decision(s.DecisionText())
			}
			continue
		}
		out = append(out, hop{at: s.At, component: s.Component, decision: w.decision(s.DecisionText()), steps: 1, failed: s.Failed})
	}
	return out
}

// failingBranch is the path a forked flow's diagram follows: when no hop
// of t itself failed, the first branch (depth first) whose own hops fail,
// with the hops before the fork in front, so the red box lands on the hop
// that drops the packet inside the branch, not on the last hop before the
// fork. ok is false when t has no such branch.
func failingBranch(t trace.Trace) (steps []trace.Step, end trace.Trace, ok bool) {
	if hasFailedStep(t) {
		return nil, t, false
	}
	for _, b := range t.Branches {
		if b.Verdict == trace.Delivered {
			continue
		}
		if hasFailedStep(b) {
			return append(append([]trace.Step(nil), t.Steps...), b.Steps...), b, true
		}
		if st, e, ok := failingBranch(b); ok {
			return append(append([]trace.Step(nil), t.Steps...), st...), e, true
		}
	}
	return nil, t, false
}

func hasFailedStep(t trace.Trace) bool {
	for _, s := range t.Steps {
		if s.Failed {
			return true
		}
	}
	return false
}

// newDiagram lays out a trace. reason is the failure explanation shown
// under the failing hop (the finding title, else the reason code); reasonOf
// gives it for a branch the diagram follows instead.
func newDiagram(t trace.Trace, w *words, reason string, reasonOf func(trace.Trace) string) diagram {
	steps, to := t.Steps, t
	if st, b, ok := failingBranch(t); ok {
		steps, to, reason = st, b, reasonOf(b)
	}
	hs := hops(steps, w)
	failedAt := -1
	for i, h := range hs {
		if h.failed {
			failedAt = i
			break
		}
	}
	// A flow that stopped without a failed step (and without branches
	// that say where) stopped at its last hop.
	if failedAt < 0 && len(t.Branches) == 0 && t.Verdict != trace.Delivered && len(hs) > 0 && t.Verdict != trace.Ambiguous && t.Verdict != trace.Undetermined {
		failedAt = len(hs) - 1
	}
	var boxes []box
	boxes = append(boxes, box{Kind: "end", Lines: shorten([]string{t.From}), Full: t.From})
	for i, h := range hs {
		comp := w.component(h.component)
		if h.steps > 1 {
			comp += " ×" + strconv.Itoa(h.steps)
		}
		at := w.place(h.at)
		b := box{Kind: "hop", Lines: shorten([]string{at, comp, h.decision}), Full: at + " · " + comp + " · " + h.decision}
		if i == failedAt {
			b.Kind = "fail"
			r := w.Failed
			if reason != "" {
				r += w.Colon + reason
			}
			b.Reason = wrapLabel(r, 2)
			b.Full += " — " + r
		}
		boxes = append(boxes, b)
	}
	end := box{Kind: "end", Lines: shorten([]string{to.To, w.verdict(to.Verdict)}), Full: to.To + " — " + w.tag(to.Verdict)}
	if failedAt >= 0 {
		end.Kind = "unreached"
	}
	boxes = append(boxes, end)

	d := diagram{}
	rows := (len(boxes) + perRow - 1) / perRow
	cols := min(len(boxes), perRow)
	d.W = 2*marginX + cols*boxW + (cols-1)*gapX
	d.H = 2*marginY + rows*rowH - (rowH - boxH)
	if failedAt >= 0 && (failedAt+1)/perRow == rows-1 {
		d.H += 44 // the reason under a box of the last row
	}
	for i := range boxes {
		r, c := i/perRow, i%perRow
		b := &boxes[i]
		b.X, b.Y, b.W, b.H = marginX+c*(boxW+gapX), marginY+r*rowH, boxW, boxH
		b.TX = b.X + boxW/2
	}
	for i := 1; i < len(boxes); i++ {
		a, b := boxes[i-1], boxes[i]
		broken := failedAt >= 0 && i-1 > failedAt
		var dpath string
		if a.Y == b.Y { // same row: straight right
			dpath = "M" + itoa(a.X+a.W) + " " + itoa(a.Y+a.H/2) + " H" + itoa(b.X-4)
		} else { // next row: down from the bottom of a, left, down into b
			midY := a.Y + a.H + (rowH-boxH)/2 + 14
			dpath = "M" + itoa(a.X+a.W/2) + " " + itoa(a.Y+a.H) + " V" + itoa(midY) + " H" + itoa(b.X+b.W/2) + " V" + itoa(b.Y-4)
		}
		d.Arrows = append(d.Arrows, arrow{D: dpath, Broken: broken})
	}
	d.Boxes = boxes
	return d
}

func itoa(i int) string { return strconv.Itoa(i) }

// shorten cuts each label to what fits a box line, dropping empty ones.
func shorten(ls []string) []string {
	var out []string
	for _, l := range ls {
		if l == "" {
			continue
		}
		if width(l) > labelColumns {
			c, _ := cutWidth(l, labelColumns-1)
			// at a space when one is in the second half: a cut word reads
			// as another word ("iptab…"); the tooltip has the whole label
			if i := strings.LastIndexByte(c, ' '); i >= len(c)/2 {
				c = c[:i]
			}
			l = c + "…"
		}
		out = append(out, l)
	}
	return out
}

// wrapLabel wraps a reason over at most n lines of a box's width (a bit
// wider: the reason sits under the box and may overhang the gaps).
func wrapLabel(s string, n int) []string {
	ls := wrap(s, labelColumns+6)
	if len(ls) > n {
		ls = ls[:n]
		last := ls[n-1]
		if width(last) > labelColumns+4 {
			last, _ = cutWidth(last, labelColumns+4)
		}
		ls[n-1] = last + "…"
	}
	return ls
}
