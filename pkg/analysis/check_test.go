package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

var posInf = math.Inf(1)

// answers is a Provider that answers queries from a table: a float64 or an
// error per query text.
type answers map[string]any

func (a answers) Query(_ context.Context, q string) (float64, error) {
	switch v := a[q].(type) {
	case float64:
		return v, nil
	case error:
		return math.NaN(), v
	}
	return math.NaN(), ErrNoData
}

func mustChecks(t *testing.T, yaml string) []Check {
	t.Helper()
	checks, err := ParseChecks(yaml)
	if err != nil {
		t.Fatal(err)
	}
	return checks
}

func TestAnalysisRun(t *testing.T) {
	checks := mustChecks(t, `
- name: error-rate
  query: errors{ns="{{.Namespace}}",version="{{.Color}}"}
  max: 1%
  unit: ratio
  samples: requests{ns="{{.Namespace}}",version="{{.Color}}"}
- name: p95
  query: p95{deploy="{{.Deployment}}"}
  max: 500ms
  unit: seconds
`)
	tests := []struct {
		name    string
		answers answers
		want    []Status
		wantErr []error // per check, for inconclusive ones
	}{
		{
			name: "both pass",
			answers: answers{`requests{ns="prod",version="green"}`: 500.0, `errors{ns="prod",version="green"}`: 0.001,
				`p95{deploy="app"}`: 0.12},
			want: []Status{Pass, Pass},
		},
		{
			name: "error rate fails",
			answers: answers{`requests{ns="prod",version="green"}`: 500.0, `errors{ns="prod",version="green"}`: 0.02,
				`p95{deploy="app"}`: 0.12},
			want: []Status{Fail, Pass},
		},
		{
			name: "latency fails",
			answers: answers{`requests{ns="prod",version="green"}`: 500.0, `errors{ns="prod",version="green"}`: 0.0,
				`p95{deploy="app"}`: 0.8},
			want: []Status{Pass, Fail},
		},
		{
			name:    "too few samples is inconclusive even with a good value",
			answers: answers{`requests{ns="prod",version="green"}`: 40.0, `errors{ns="prod",version="green"}`: 0.0, `p95{deploy="app"}`: 0.1},
			want:    []Status{Inconclusive, Pass},
			wantErr: []error{ErrTooFewSamples, nil},
		},
		{
			name:    "no samples series counts as zero",
			answers: answers{`errors{ns="prod",version="green"}`: 0.0, `p95{deploy="app"}`: 0.1},
			want:    []Status{Inconclusive, Pass},
			wantErr: []error{ErrTooFewSamples, nil},
		},
		{
			name:    "empty and NaN",
			answers: answers{`requests{ns="prod",version="green"}`: 500.0, `errors{ns="prod",version="green"}`: ErrNaN},
			want:    []Status{Inconclusive, Inconclusive},
			wantErr: []error{ErrNaN, ErrNoData},
		},
		{
			name: "provider down",
			answers: answers{`requests{ns="prod",version="green"}`: fmt.Errorf("%w: refused", ErrUnavailable),
				`p95{deploy="app"}`: fmt.Errorf("%w: refused", ErrUnavailable)},
			want:    []Status{Inconclusive, Inconclusive},
			wantErr: []error{ErrUnavailable, ErrUnavailable},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &Analysis{Provider: tc.answers, Checks: checks, MinSamples: 100}
			got := a.Run(context.Background(), Vars{Namespace: "prod", Deployment: "app", Color: "green"})
			for i, r := range got {
				if r.Status != tc.want[i] {
					t.Errorf("%s: status %s (%v), want %s", r.Name, r.Status, r.Err, tc.want[i])
				}
				if tc.wantErr != nil && tc.wantErr[i] != nil && !errors.Is(r.Err, tc.wantErr[i]) {
					t.Errorf("%s: error %v, want %v", r.Name, r.Err, tc.wantErr[i])
				}
			}
			verdict := Verdict(got)
			allPass := true
			for _, s := range tc.want {
				allPass = allPass && s == Pass
			}
			if (verdict == nil) != allPass {
				t.Errorf("Verdict() = %v, want pass=%v", verdict, allPass)
			}
		})
	}
}

func TestVerdictErrors(t *testing.T) {
	results := []Result{
		{Name: "ok", Status: Pass},
		{Name: "slow", Status: Fail, Value: 0.8, Threshold: Threshold{Max, 0.5, Seconds}},
		{Name: "blind", Status: Inconclusive, Value: math.NaN(), Err: ErrNoData},
		{Name: "never run"},
	}
	err := Verdict(results)
	for _, want := range []error{ErrCheckFailed, ErrInconclusive, ErrNoData} {
		if !errors.Is(err, want) {
			t.Errorf("Verdict() = %v, want it to wrap %v", err, want)
		}
	}
	for _, want := range []string{`"slow" is 800 ms, want ≤ 500 ms`, `"blind": no data`, `"never run" was not evaluated`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Verdict() = %q, want it to say %q", err, want)
		}
	}
}

func TestResultJSONHasNoNaN(t *testing.T) {
	r := Result{Name: "x", Status: Inconclusive, Value: math.NaN(), SampleCount: math.NaN(), Err: ErrNaN}
	b, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) || strings.Contains(string(b), `"value"`) || strings.Contains(string(b), `"samples"`) {
		t.Errorf("JSON = %s", b)
	}
}

func ExampleAnalysis_Run() {
	checks, _ := ParseChecks(`
- name: p95
  query: histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{version="{{.Color}}"}[1m])))
  max: 500ms
  unit: seconds
`)
	// promote would pass a Prometheus provider; a fixed answer shows the flow.
	provider := answers{`histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{version="green"}[1m])))`: 0.42}
	a := &Analysis{Provider: provider, Checks: checks}
	for _, r := range a.Run(context.Background(), Vars{Color: "green"}) {
		fmt.Println(r.Name, r.Status, r.Current(), r.Threshold)
	}
	// Output: p95 pass 420 ms ≤ 500 ms
}
