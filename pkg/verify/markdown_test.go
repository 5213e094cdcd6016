package verify

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
)

func TestReportMarkdown(t *testing.T) {
	load := &LoadResult{Requests: 1000, Errors: 20, ErrorRate: 0.02, P50: 3 * time.Millisecond,
		P95: 8 * time.Millisecond, P99: 12 * time.Millisecond, Throughput: 300,
		Histogram: []Bucket{{Low: 0, High: time.Millisecond}, {Low: time.Millisecond, High: 5 * time.Millisecond, Count: 600},
			{Low: 5 * time.Millisecond, High: 10 * time.Millisecond, Count: 390}, {Low: 10 * time.Millisecond, Count: 10}}}
	rep := &Report{
		URL:      "http://127.0.0.1:8080",
		Failures: []string{"Error Rate is 2% (20 of 1000), target < 0.1%", `"p95" | inconclusive`},
		Health: []HealthResult{{Path: "/api/health", Healthy: true, Code: 200, Status: "ok"},
			{Path: "/api/health/database", Code: 503, Problem: "answered 503 Service Unavailable"}},
		Load: load,
		KPIs: DefaultSLO.Evaluate(load, StrategyLevels),
		Checks: []analysis.Result{{Name: "p95", Query: `histogram_quantile(0.95, x{a="b"})`, Status: analysis.Inconclusive,
			Value: math.NaN(), Err: analysis.ErrNoData, Threshold: analysis.Threshold{Bound: analysis.Max, Value: 0.5, Unit: analysis.Seconds}}},
	}
	md := rep.Markdown()
	for _, want := range []string{
		"## ❌ verify failed for http://127.0.0.1:8080\n",
		"- Error Rate is 2% (20 of 1000), target < 0.1%\n",
		`- "p95" \| inconclusive`,
		"| Metric | Target | Current | Status |\n|---|---|---|---|\n",
		"| Health `/api/health` | 2xx, status ok | 200, status ok | ✅ |\n",
		"| Health `/api/health/database` | 2xx, status ok | answered 503 Service Unavailable | ❌ |\n",
		"| Response Time (p95) | < 500 ms | 8 ms | ✅ |\n",
		"| Error Rate | < 0.1% | 2% (20 of 1000) | ❌ warning level (> 1%) |\n",
		"| Throughput | > 1000 req/min | 18000 req/min | ✅ |\n",
		"| p95 | ≤ 500 ms | no value: no data | ❌ inconclusive (no data is not a pass) |\n",
		"```mermaid\nxychart-beta\n",
		`x-axis ["1 ms–5 ms", "5 ms–10 ms", "≥ 10 ms"]`,
		"bar [600, 390, 10]",
		"| p95 | `histogram_quantile(0.95, x{a=\"b\"})` |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
