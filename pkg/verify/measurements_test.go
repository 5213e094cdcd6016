package verify

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
)

func TestMeasurements(t *testing.T) {
	load := &LoadResult{Requests: 1000, Errors: 20, ErrorRate: 0.02, P95: 1500 * time.Millisecond, Throughput: 300}
	rep := &Report{
		Health: []HealthResult{{Path: "/api/health", Healthy: true, Code: 200, Status: "ok"},
			{Path: "/api/health/database", Code: 503, Problem: "answered 503 Service Unavailable"}},
		Deployment: &DeploymentStatus{Namespace: "staging", Name: "fx-platform", Replicas: 3, Available: 2, Unavailable: 1,
			Problems: []string{"1 replica unavailable"}},
		Load: load,
		// p95 1.5 s meets a 2 s target above the strategy's 1 s warning level.
		KPIs: SLO{MaxP95: 2 * time.Second, MaxErrorRate: 0.001, MinThroughput: 1}.Evaluate(load, StrategyLevels),
		Checks: []analysis.Result{
			{Name: "p95", Status: analysis.Inconclusive, Value: math.NaN(), Err: analysis.ErrNoData,
				Threshold: analysis.Threshold{Bound: analysis.Max, Value: 0.5, Unit: analysis.Seconds}},
			{Name: "cpu", Status: analysis.Pass, Value: 0.25, Threshold: analysis.Threshold{Bound: analysis.Max, Value: 0.8, Unit: analysis.Seconds}},
		},
	}
	want := []Measurement{
		{Metric: "Health /api/health", Target: "2xx, status ok", Value: "200, status ok", Outcome: OutcomePassed},
		{Metric: "Health /api/health/database", Target: "2xx, status ok", Value: "answered 503 Service Unavailable", Outcome: OutcomeFailed, Note: "unhealthy"},
		{Metric: "Deployment staging/fx-platform", Target: "Available, none unavailable, no restarts", Value: "2/3 available, 1 unavailable, 0 restarted",
			Outcome: OutcomeFailed, Note: "1 replica unavailable"},
		{Metric: "Response Time (p95)", Target: "< 2 s", Value: "1.5 s", Outcome: OutcomeWarning, Note: "met, but above the warning level (> 1 s)"},
		{Metric: "Error Rate", Target: "< 0.1%", Value: "2% (20 of 1000)", Outcome: OutcomeFailed, Note: "warning level (> 1%)"},
		{Metric: "Throughput", Target: "> 60 req/min", Value: "18000 req/min", Outcome: OutcomePassed},
		{Metric: "p95", Target: "≤ 500 ms", Value: "no value: no data", Outcome: OutcomeInconclusive, Note: "no data is not a pass"},
		{Metric: "cpu", Target: "≤ 800 ms", Value: "250 ms", Outcome: OutcomePassed},
	}
	got := rep.Measurements()
	if !reflect.DeepEqual(got, want) {
		for i := range max(len(got), len(want)) {
			var g, w Measurement
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf("measurement %d:\n got %+v\nwant %+v", i, g, w)
			}
		}
	}
}
