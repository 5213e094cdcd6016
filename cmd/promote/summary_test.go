package main

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// TestSummary compares the step summary with testdata/summary-*.md.
func TestSummary(t *testing.T) {
	checks, err := analysis.ParseChecks("- {name: error-rate, query: up, max: 0.1%, unit: ratio}\n- {name: p95, query: up, max: 500ms, unit: seconds}")
	if err != nil {
		t.Fatal(err)
	}
	errorRate, p95 := checks[0].Threshold, checks[1].Threshold
	start := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	in := Inputs{App: traffic.App{Namespace: "production", Service: "fx-platform-service", Deployment: "fx-platform", ColorLabel: "version"}}

	tests := []struct {
		name   string
		res    *rollout.Result
		err    error
		golden string
	}{
		{
			name: "blue-green promoted", golden: "summary-promoted.md",
			res: &rollout.Result{
				Outcome: rollout.Promoted, ActiveColor: "green", PreviousColor: "blue", Image: imageV2, PreviousImage: imageV1,
				StepsCompleted: 1, Started: start, Duration: 42*time.Second + 250*time.Millisecond,
				Phases: []*rollout.Phase{
					{Name: "create green", Weight: -1, Observed: -1, Start: at(0), End: at(40 * time.Second), Status: "done"},
					{Name: "100 %", Weight: 100, Observed: 100, Start: at(40 * time.Second), End: at(42*time.Second + 250*time.Millisecond), Status: "done"},
				},
			},
		},
		{
			name: "canary aborted at the first step", golden: "summary-aborted.md",
			err: fmt.Errorf("%w: 10 %%: 1 failed measurement(s) (limit 0): %w: \"error-rate\" is 2.5%%", rollout.ErrAborted, analysis.ErrCheckFailed),
			res: &rollout.Result{
				Outcome: rollout.Aborted, ActiveColor: "blue", PreviousColor: "blue", Image: imageV2, PreviousImage: imageV1,
				Started: start, Duration: 95 * time.Second, Reason: "error-rate is 2.5 %, above 0.1 % at 10 %",
				Phases: []*rollout.Phase{
					{Name: "create green", Weight: -1, Observed: -1, Start: at(0), End: at(30 * time.Second), Status: "done"},
					{Name: "10 %", Weight: 10, Observed: 10, Start: at(30 * time.Second), End: at(90 * time.Second), Status: "fail",
						Measurements: [][]analysis.Result{
							{
								{Name: "error-rate", Status: analysis.Inconclusive, Threshold: errorRate, Value: math.NaN(), Err: analysis.ErrNoData},
								{Name: "p95", Status: analysis.Pass, Threshold: p95, Value: 0.231},
							},
							{
								{Name: "error-rate", Status: analysis.Fail, Threshold: errorRate, Value: 0.025},
								{Name: "p95", Status: analysis.Pass, Threshold: p95, Value: 0.244},
							},
						}},
					{Name: "abort", Weight: 0, Observed: 0, Start: at(90 * time.Second), End: at(95 * time.Second), Status: "done"},
				},
			},
		},
		{
			name: "canary with unmonitored pauses", golden: "summary-unmonitored.md",
			res: &rollout.Result{
				Outcome: rollout.Promoted, ActiveColor: "green", PreviousColor: "blue", Image: imageV2, PreviousImage: imageV1,
				StepsCompleted: 3, Started: start, Duration: 70 * time.Second,
				Phases: []*rollout.Phase{
					{Name: "create green", Weight: -1, Observed: -1, Start: at(0), End: at(10 * time.Second), Status: "done"},
					{Name: "34 %", Weight: 34, Observed: 33, Start: at(10 * time.Second), End: at(40 * time.Second), Status: rollout.StatusUnmonitored},
					{Name: "67 %", Weight: 67, Observed: 67, Start: at(40 * time.Second), End: at(70 * time.Second), Status: rollout.StatusUnmonitored},
					{Name: "100 %", Weight: 100, Observed: 100, Start: at(70 * time.Second), End: at(70 * time.Second), Status: "done"},
				},
			},
		},
		{
			name: "same image unchanged", golden: "summary-unchanged.md",
			res: &rollout.Result{
				Outcome: rollout.Unchanged, ActiveColor: "green", PreviousColor: "blue", Image: imageV2, PreviousImage: imageV1,
				Started: start, Duration: 120 * time.Millisecond, Reason: imageV2 + " is already live on green",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			actiontest.CheckGolden(t, tc.golden, summary(in, tc.res, tc.err))
		})
	}
}
