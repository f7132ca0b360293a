// Package capture reads the bundle's captures into connections once per
// analysis, as an analyzer: the capture checks, the Ingress check (HTTP
// 404s seen on the wire) and the tracer's witnesses all require it, so a
// capture file is decoded once however many of them look at it.
package capture

import (
	"tkesnap/analysis/driver"
	"tkesnap/analysis/model"
	"tkesnap/analysis/pcapflow"
)

// Analyzer decodes every capture of the model (model.Load only lists
// them with their metadata) and fills Capture.Result, Info and Err. Its
// result is the model's captures, in file order.
var Analyzer = &driver.Analyzer{
	Name:   "capture-flows",
	Doc:    "Decodes each captures/<node>/<name>.pcap[ng] into connections, DNS and HTTP exchanges (pcapflow), once for every analyzer that reads captures.",
	Inputs: []driver.Input{driver.In("captures/*/*")},
	Run: func(p *driver.Pass) (any, error) {
		Analyze(p.Cluster, func(file, msg string) { p.Problem(file, 0, "%s", msg) })
		return p.Cluster.Captures, nil
	},
}

// Analyze decodes the captures of c not decoded yet; problem is told
// about a file that cannot be read or is not a capture.
func Analyze(c *model.Cluster, problem func(file, msg string)) {
	for _, cp := range c.Captures {
		if cp.Result != nil || cp.Err != nil {
			continue
		}
		rc, err := c.Bundle.Open(cp.File)
		if err != nil {
			cp.Err = err
			problem(cp.File, err.Error())
			continue
		}
		cp.Result, cp.Info, cp.Err = pcapflow.Analyze(rc, pcapflow.DefaultLimits(), nil)
		rc.Close()
		if cp.Err != nil {
			problem(cp.File, "not a readable capture: "+cp.Err.Error())
		}
	}
}
