//go:build integration

package rollout_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
)

// scripted is an analysis provider whose answers follow a script: the i-th
// query gets values[i] (the last one repeats). NaN means no data.
type scripted struct {
	values []float64
	n      atomic.Int64
	// started is closed at the first query.
	started chan struct{}
}

func (s *scripted) Query(ctx context.Context, q string) (float64, error) {
	i := int(s.n.Add(1)) - 1
	if i == 0 && s.started != nil {
		close(s.started)
	}
	v := s.values[min(i, len(s.values)-1)]
	if math.IsNaN(v) {
		return 0, fmt.Errorf("%w: %s", analysis.ErrNoData, q)
	}
	return v, nil
}

func errorRateCheck(t *testing.T) []analysis.Check {
	t.Helper()
	c, err := analysis.NewCheck("error-rate", `sum(rate(errors{colour="{{.Color}}"}[1m]))`,
		analysis.Threshold{Bound: analysis.Max, Value: 0.001, Unit: analysis.Ratio}, "")
	if err != nil {
		t.Fatal(err)
	}
	return []analysis.Check{c}
}

// TestAbort: every way a promotion can go wrong after traffic moved ends
// with all traffic on blue at once, green scaled to zero, the abort
// recorded, and ErrAborted.
func TestAbort(t *testing.T) {
	const n = 20 // 10 % and 25 % of 20 are whole replicas (the replicas router refuses weights it cannot reach)
	tests := []struct {
		name      string
		values    []float64 // the analysis' answers in order
		limits    [2]int    // failure, inconclusive
		window    time.Duration
		cancel    bool // SIGTERM while paused
		wantSteps int
	}{
		{name: "post-promotion failure switches back", values: []float64{0, 0, 0, 0, 0.05}, window: time.Millisecond, wantSteps: 4},
		{name: "one failure tolerated, the second aborts", values: []float64{0.05, 0, 0.05}, limits: [2]int{1, 0}, wantSteps: 1},
		{name: "inconclusive beyond the limit", values: []float64{math.NaN()}, limits: [2]int{0, 0}, wantSteps: 0},
		{name: "SIGTERM during a pause", values: []float64{0}, cancel: true, wantSteps: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, n)
			w := watchEndpoints(t, a, n)
			prov := &scripted{values: tc.values, started: make(chan struct{})}
			cfg := rollout.Config{Target: a.target(t, "replicas"), Image: imageV2, Strategy: rollout.Canary,
				Steps: []int{10, 25, 50, 100}, Pauses: []time.Duration{0}, PostPromotionWindow: tc.window,
				Analysis:     &analysis.Analysis{Provider: prov, Checks: errorRateCheck(t)},
				FailureLimit: tc.limits[0], InconclusiveLimit: tc.limits[1], AnalysisInterval: time.Millisecond}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				cfg.Pauses = []time.Duration{time.Hour}
				cfg.Timeout = 0 // derived: the target's 3m is shorter than the pause
				go func() { <-prov.started; cancel() }()
			}
			res, err := rollout.Promote(ctx, cfg)
			if !errors.Is(err, rollout.ErrAborted) || res.Outcome != rollout.Aborted {
				t.Fatalf("got %+v, %v; want aborted", res, err)
			}
			a.waitEndpoints(t, "blue", n)
			w.check(t)
			st := rollout.ReadState(a.service(t))
			if st.Phase != rollout.PhaseAborted || st.ActiveColor != "blue" || a.service(t).Spec.Selector["version"] != "blue" {
				t.Errorf("after the abort: state %+v, selector %v", st, a.service(t).Spec.Selector)
			}
			if got := *a.deployment(t, "green").Spec.Replicas; got != 0 {
				t.Errorf("green has %d replicas, want 0", got)
			}
			if res.StepsCompleted != tc.wantSteps {
				t.Errorf("steps completed %d, want %d", res.StepsCompleted, tc.wantSteps)
			}
			t.Run("a rerun with the same image starts over and promotes", func(t *testing.T) {
				cfg.Analysis, cfg.Pauses, cfg.PostPromotionWindow = nil, nil, 0
				res, err := rollout.Promote(context.Background(), cfg)
				if err != nil || res.Outcome != rollout.Promoted {
					t.Fatalf("got %+v, %v", res, err)
				}
			})
		})
	}
}
