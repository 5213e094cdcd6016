package rollout

import (
	"math"
	"strings"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/compare"
)

// A reason with a pipe or a line break stays in its cell, escaped once:
// Table escapes every cell, and escaping it before writes \\|, which
// GitHub reads as an escaped backslash and a cell boundary.
func TestComparisonTableEscapesReasonOnce(t *testing.T) {
	nan := math.NaN()
	r := &compare.Report{Metrics: []compare.Metric{{Name: "latency", Kind: "latency", Verdict: compare.Insufficient,
		Reason: "probing \"http://a|b\":\nrefused", Statistic: nan, P: nan, Shift: nan, Relative: nan, Low: nan,
		Baseline: compare.Side{Value: nan}, Candidate: compare.Side{Value: nan}}}}
	md := comparisonTable(r)
	if want := `| insufficient data: probing "http://a\|b": refused |`; !strings.Contains(md, want) || strings.Contains(md, `\\|`) {
		t.Errorf("table\n%s\nlacks %q, or escapes twice", md, want)
	}
}
