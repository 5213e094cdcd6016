package main

import (
	"math"
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/verify"
)

// TestSummary compares the step summary (the report's markdown, as run
// writes it) with testdata/summary-*.md.
func TestSummary(t *testing.T) {
	started := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	healthy := []verify.HealthResult{
		{Path: "/api/health", Healthy: true, Code: 200, Status: "ok"},
		{Path: "/api/health/database", Healthy: true, Code: 200, Status: "ok"},
		{Path: "/api/health/external", Healthy: true, Code: 200, Status: "ok"},
	}
	histogram := []verify.Bucket{{Low: 0, High: time.Millisecond}, {Low: time.Millisecond, High: 5 * time.Millisecond, Count: 600},
		{Low: 5 * time.Millisecond, High: 10 * time.Millisecond, Count: 390}, {Low: 10 * time.Millisecond, Count: 10}}
	good := &verify.LoadResult{Requests: 1000, ErrorRate: 0, P50: 3 * time.Millisecond, P95: 8 * time.Millisecond, P99: 12 * time.Millisecond,
		Throughput: 300, Histogram: histogram}
	bad := &verify.LoadResult{Requests: 1000, Errors: 20, ErrorRate: 0.02, P50: 300 * time.Millisecond, P95: 800 * time.Millisecond,
		P99: 1200 * time.Millisecond, Throughput: 10, Histogram: histogram}
	p95 := analysis.Threshold{Bound: analysis.Max, Value: 0.5, Unit: analysis.Seconds}

	tests := []struct {
		name   string
		rep    *verify.Report
		golden string
	}{
		{"passed", &verify.Report{Passed: true, URL: "https://staging.example.com", Started: started, Finished: started.Add(12 * time.Second),
			Health: healthy, Load: good, KPIs: verify.DefaultSLO.Evaluate(good, verify.StrategyLevels),
			Checks: []analysis.Result{{Name: "p95", Query: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{version="green"}[1m])))`,
				Status: analysis.Pass, Value: 0.21, Threshold: p95}}}, "summary-passed.md"},
		{"failed on errors, latency and no data", &verify.Report{URL: "https://staging.example.com", Started: started, Finished: started.Add(40 * time.Second),
			Failures: []string{"Error Rate is 2% (20 of 1000), target < 0.1%", "Response Time (p95) is 800 ms, target < 500 ms", `"p95" | inconclusive`},
			Health:   healthy, Load: bad, KPIs: verify.DefaultSLO.Evaluate(bad, verify.StrategyLevels),
			Checks: []analysis.Result{{Name: "p95", Query: "up", Status: analysis.Inconclusive, Value: math.NaN(), Err: analysis.ErrNoData, Threshold: p95}}},
			"summary-failed.md"},
		{"a health path down", &verify.Report{URL: "https://staging.example.com", Started: started, Finished: started.Add(3 * time.Second),
			Failures: []string{`health path "/api/health/database" answered 503`},
			Health:   []verify.HealthResult{healthy[0], {Path: "/api/health/database", Code: 503, Problem: "answered 503 Service Unavailable"}}},
			"summary-unhealthy.md"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			actiontest.CheckGolden(t, tc.golden, tc.rep.Markdown())
		})
	}
}
