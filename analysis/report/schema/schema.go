// Package schema holds the JSON Schema of the tkesnap-report/v1 document
// (docs/design.md §4), embedded so that tools and tests can validate reports.
package schema

import _ "embed"

// ReportV1 is the JSON Schema (draft 2020-12) of `analyze --format json`.
//
//go:embed report.schema.json
var ReportV1 []byte
