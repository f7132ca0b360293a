package report

import (
	"testing"

	"tkesnap/analysis/finding"
)

// docs/design.md §3: 3 when any error finding, 4 for warnings only, 0 otherwise
// (info findings, or nothing found).
func TestExitCodeFollowsTheWorstFinding(t *testing.T) {
	for _, tc := range []struct {
		name string
		ids  []string
		want int
	}{
		{"nothing found", nil, 0},
		{"only a note", []string{"T_PCAP_TRUNCATED"}, 0},
		{"a warning", []string{"T_MASQ_HIDES_SOURCE", "T_PCAP_TRUNCATED"}, 4},
		{"an error among warnings", []string{"T_MASQ_HIDES_SOURCE", "T_SG_POD_CIDR_BLOCKED"}, 3},
		{"errors only", []string{"T_SVC_NO_ENDPOINTS"}, 3},
	} {
		r := &Report{}
		for _, id := range tc.ids {
			r.Findings = append(r.Findings, finding.New(id, nil, nil))
		}
		r.Localize(finding.EN)
		if got := r.ExitCode(); got != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.name, got, tc.want)
		}
	}
}
