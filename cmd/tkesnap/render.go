package main

import (
	"io"
	"os"

	"golang.org/x/term"

	"tkesnap/analysis/report"
)

// view is how a report is rendered beyond its format.
type view struct {
	// Color is decided by the caller (TTY, --no-color, NO_COLOR).
	Color bool
	// Full: the Markdown report with every hop (default: the ticket view).
	Full bool
	// Brief: the text report in the ticket view's shape.
	Brief bool
	// Trace: the text view of `tkesnap trace` (every hop first).
	Trace bool
}

// render writes r in the requested format. The text width comes from the
// terminal when w is one, else report.DefaultWidth.
func render(r *report.Report, format string, w io.Writer, v view) error {
	switch format {
	case "json":
		return r.JSON(w)
	case "markdown", "md":
		return r.MarkdownWith(w, report.MarkdownOptions{Full: v.Full})
	case "html":
		return r.HTML(w)
	}
	if v.Color {
		// the colored report carries its own escape sequences; its
		// untrusted fields are sanitized by the report itself
		w = rawWriter(w)
	}
	return r.Text(w, report.TextOptions{Color: v.Color, Width: termWidth(w), Brief: v.Brief, Trace: v.Trace})
}

// termWidth is the column count of w when it is a terminal, else 0.
func termWidth(w io.Writer) int {
	f, ok := rawWriter(w).(*os.File)
	if !ok || !isTerminal(f) {
		return 0
	}
	cols, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	// Past ~140 columns a paragraph is hard to follow; wide terminals get
	// wide tables, not endless lines.
	return min(cols, maxTextWidth)
}

const maxTextWidth = 140

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
