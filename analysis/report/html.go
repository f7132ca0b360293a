package report

import (
	"errors"
	"io"
)

// HTML writes the single-file HTML report.
func (r *Report) HTML(w io.Writer) error { return errors.New("html report: not yet supported") }
