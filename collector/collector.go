// Package collector holds the collector script that customers run on a
// kubectl machine and on nodes (tkesnap-collect.sh, embedded so the binary
// can print it) and, in collector/node, the Go node collector that writes
// the same files.
package collector

import (
	"bytes"
	_ "embed"
	"fmt"
)

// Script is tkesnap-collect.sh as shipped.
//
//go:embed tkesnap-collect.sh
var Script []byte

// ScriptFor returns the script with its default mode preset to "node" or
// "cluster" (a flag given at run time still wins), or unchanged for "".
func ScriptFor(mode string) ([]byte, error) {
	switch mode {
	case "":
		return Script, nil
	case "node", "cluster":
	default:
		return nil, fmt.Errorf("unknown collector mode %q (node or cluster)", mode)
	}
	const def = "\nMODE=\"\"\n"
	if !bytes.Contains(Script, []byte(def)) {
		return nil, fmt.Errorf("collector script has no MODE default to preset")
	}
	return bytes.Replace(Script, []byte(def), []byte("\nMODE=\""+mode+"\"\n"), 1), nil
}
