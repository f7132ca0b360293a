package main

import (
	"io"
	"os"

	"golang.org/x/term"

	"tkesnap/analysis/report"
)

// render writes r in the requested format.
func render(r *report.Report, format string, w io.Writer, color bool) error {
	switch format {
	case "json":
		return r.JSON(w)
	}
	return r.JSON(w) // text, markdown and html renderers land with the report package
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
