// Package golden holds the one switch that refreshes every golden file
// and generated doc in the repository: `go test PKG... -update` (make
// update-goldens runs it on every package that has goldens). A package
// with golden files imports this package instead of defining its own flag,
// so the switch is the same everywhere.
package golden

import "flag"

// Update is -update: rewrite golden files from the current output instead
// of comparing with them. Review the diff before committing.
var Update = flag.Bool("update", false, "rewrite golden files and generated docs from the current output (review the diff)")
