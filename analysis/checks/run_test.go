package checks

import (
	"testing"

	"tkesnap/analysis/driver"
	"tkesnap/analysis/driver/drivertest"
	"tkesnap/analysis/model"
)

// runChecks runs every check over c through the driver, as analyze does.
func runChecks(tb testing.TB, c *model.Cluster) *driver.Result {
	tb.Helper()
	return drivertest.RunModel(tb, c, All()...)
}
