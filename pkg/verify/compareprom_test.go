package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/compare"
)

func TestSpread(t *testing.T) {
	bucket := func(le string, v float64) analysis.Sample {
		return analysis.Sample{Labels: map[string]string{"le": le}, Value: v}
	}
	// 10 requests in (0, 0.05], 30 in (0.05, 0.1], 2 above 0.1.
	got := spread([]analysis.Sample{bucket("+Inf", 42), bucket("0.1", 40), bucket("0.05", 10)}, maxLatencySamples)
	if len(got) != 42 {
		t.Fatalf("%d latencies, want 42", len(got))
	}
	if got[0] != 0.0025 || got[10] <= 0.05 || got[39] >= 0.1 || got[40] != 0.1 || got[41] != 0.1 {
		t.Errorf("latencies %v: want 10 spread over (0, 50 ms], 30 over (50, 100 ms], 2 at 100 ms", got)
	}
	// Many requests are kept in proportion.
	many := spread([]analysis.Sample{bucket("+Inf", 100000), bucket("0.1", 100000), bucket("0.05", 25000)}, maxLatencySamples)
	if len(many) != maxLatencySamples || many[maxLatencySamples/4-1] > 0.05 || many[maxLatencySamples/4+1] < 0.05 {
		t.Errorf("%d latencies, a quarter below 50 ms expected", len(many))
	}
	if spread(nil, maxLatencySamples) != nil {
		t.Error("no buckets gave latencies")
	}
}

// fakePrometheus answers the comparison's queries with what two servers
// really received: each colour's requests (count), failures, and a
// histogram whose only bucket below +Inf holds them all.
func fakePrometheus(t *testing.T, counts map[string]*atomic.Int64, failures map[string]*atomic.Int64) *analysis.Prometheus {
	t.Helper()
	return promServer(t, func(colour string) promColour {
		n := float64(counts[colour].Load())
		return promColour{requests: n, failures: float64(failures[colour].Load()), buckets: map[string]float64{"0.1": n, "+Inf": n}}
	})
}

// Live traffic enough on both sides: the comparison judges Prometheus'
// counts, and the probe sends nothing. Too thin on one side (the candidate
// has 3 requests): both colours are probed instead, 10 rounds of 100 to
// reach the minimum of 1,000, never live traffic on one side and probes on
// the other. The candidate's 2 % errors (one in 50) fail it either way.
func TestComparisonFromPrometheus(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		blue, green, greenFail int64
		probed                 bool
	}{
		{"live traffic", 5000, 5000, 100, false},
		{"too thin, probed", 10000, 3, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counts := map[string]*atomic.Int64{"blue": {}, "green": {}}
			failures := map[string]*atomic.Int64{"blue": {}, "green": {}}
			counts["blue"].Store(tc.blue)
			counts["green"].Store(tc.green)
			failures["green"].Store(tc.greenFail)
			var probes atomic.Int64
			serve := func(colour string, failEvery int64) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					probes.Add(1)
					if n := counts[colour].Add(1); failEvery > 0 && n%failEvery == 0 {
						failures[colour].Add(1)
						w.WriteHeader(http.StatusInternalServerError)
					}
				}
			}
			o := compare.Defaults
			o.MinSamples = 1000
			c, err := NewComparison(colours(t, serve("blue", 0), serve("green", 50)), "/", 100, 2000,
				[]string{CompareErrorRate}, []string{CompareErrorRate}, o)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.WithPrometheus(PrometheusSamples{Prometheus: fakePrometheus(t, counts, failures), RequestsMetric: "http_requests_total",
				LatencyMetric: "http_request_duration_seconds", Selector: `colour="{{.Color}}"`, Window: time.Minute}); err != nil {
				t.Fatal(err)
			}
			res := c.Run(context.Background(), analysis.Vars{Color: "green", Baseline: "blue"})
			if len(res) != 1 || res[0].Comparison == nil {
				t.Fatalf("%+v", res)
			}
			m := res[0].Comparison.Metrics[0]
			if m.Verdict != compare.Fail || res[0].Status != analysis.Fail {
				t.Fatalf("%s: want the candidate's errors failing it", m.Reason)
			}
			want := int(tc.blue)
			if tc.probed {
				want = 1000
			}
			if m.Baseline.Samples != want || (tc.probed && m.Candidate.Samples != 1000) {
				t.Errorf("%d and %d samples, want %d and %v", m.Baseline.Samples, m.Candidate.Samples, want, map[bool]string{true: "1000", false: "live"}[tc.probed])
			}
			// 1,000 a side, and the check that each colour answers before
			// each round.
			if got := probes.Load(); (got > 0) != tc.probed || tc.probed && got != 2000+2*10 {
				t.Errorf("%d probe requests; probed %v", got, tc.probed)
			}
			if tc.probed && (!strings.Contains(res[0].Query, "live traffic too thin (10000 baseline and 3 candidate requests") || !strings.Contains(res[0].Query, "10 rounds of 100")) {
				t.Errorf("query %q does not say why and how it probed", res[0].Query)
			}
			if res[0].Value != 0 {
				t.Errorf("score %v, want 0", res[0].Value)
			}
			if !tc.probed {
				return
			}
			// The probe's requests are in the counters now (the candidate
			// has 1,013): read from Prometheus, the candidate would be
			// judged on them, the baseline on live traffic. The probe
			// judges the rest of the run.
			before := probes.Load()
			again := c.Run(context.Background(), analysis.Vars{Color: "green", Baseline: "blue"})
			if len(again) != 1 || !strings.HasPrefix(again[0].Query, "probes since ") || probes.Load()-before != 2020 {
				t.Errorf("the next measurement: %q after %d probe requests; want the probe's again", again[0].Query, probes.Load()-before)
			}
		})
	}
}

// Nothing to probe through (no URL) and no traffic: insufficient data,
// inconclusive, never a pass.
func TestComparisonFromPrometheusWithoutTraffic(t *testing.T) {
	counts := map[string]*atomic.Int64{"blue": {}, "green": {}}
	c, err := NewComparison("", "/", 100, 100, []string{CompareLatency, CompareErrorRate}, nil, compare.Defaults)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WithPrometheus(PrometheusSamples{Prometheus: fakePrometheus(t, counts, counts), RequestsMetric: "r", LatencyMetric: "l", Selector: `colour="{{.Color}}"`}); err != nil {
		t.Fatal(err)
	}
	res := c.Run(context.Background(), analysis.Vars{Color: "green", Baseline: "blue"})
	if len(res) != 1 || res[0].Status != analysis.Inconclusive || res[0].Comparison.Verdict != compare.Insufficient {
		t.Fatalf("%+v, want insufficient data", res)
	}
}

// staticPrometheus answers each colour's three queries with fixed
// figures: requests, 5xx answers, and cumulative latency buckets.
type promColour struct {
	requests, failures float64
	buckets            map[string]float64
}

func staticPrometheus(t *testing.T, colours map[string]promColour) *analysis.Prometheus {
	t.Helper()
	return promServer(t, func(colour string) promColour { return colours[colour] })
}

// promServer is a Prometheus API answering each colour's three queries
// (selected by colour="blue" or "green") with what figures gives: its
// requests, its 5xx answers, and its cumulative latency buckets.
func promServer(t *testing.T, figures func(colour string) promColour) *analysis.Prometheus {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.FormValue("query")
		colour := "blue"
		if strings.Contains(q, `colour="green"`) {
			colour = "green"
		}
		c := figures(colour)
		var result []map[string]any
		value := func(labels map[string]string, v float64) map[string]any {
			return map[string]any{"metric": labels, "value": []any{float64(time.Now().Unix()), fmt.Sprint(v)}}
		}
		switch {
		case strings.Contains(q, "_bucket"):
			for le, v := range c.buckets {
				result = append(result, value(map[string]string{"le": le}, v))
			}
		case strings.Contains(q, `code=~"5.."`):
			result = append(result, value(map[string]string{}, c.failures))
		default:
			result = append(result, value(map[string]string{}, c.requests))
		}
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": result}})
	}))
	t.Cleanup(srv.Close)
	p, err := analysis.NewPrometheus(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func runFromPrometheus(t *testing.T, o compare.Options, metrics []string, colours map[string]promColour) analysis.Result {
	t.Helper()
	c, err := NewComparison("", "/", 100, 100, metrics, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WithPrometheus(PrometheusSamples{Prometheus: staticPrometheus(t, colours), RequestsMetric: "r", LatencyMetric: "l", Selector: `colour="{{.Color}}"`}); err != nil {
		t.Fatal(err)
	}
	res := c.Run(context.Background(), analysis.Vars{Color: "green", Baseline: "blue"})
	if len(res) != 1 || res[0].Comparison == nil {
		t.Fatalf("%+v", res)
	}
	return res[0]
}

// The counts are separate queries, each at its own instant, and
// increase() extrapolates: a candidate failing every request can show a
// few more 5xx answers than requests. That is a failing candidate, not
// counts that cannot be tested.
func TestComparisonFromPrometheusMoreFailuresThanRequests(t *testing.T) {
	res := runFromPrometheus(t, compare.Defaults, []string{CompareErrorRate}, map[string]promColour{
		"blue":  {requests: 120.2, failures: 0},
		"green": {requests: 119.4, failures: 120.6},
	})
	if m := res.Comparison.Metrics[0]; m.Verdict != compare.Fail || res.Status != analysis.Fail {
		t.Errorf("%s (%s), status %s: want the all-failing candidate to fail", m.Verdict, m.Reason, res.Status)
	}
}

// A minimum sample above the 2,000 latencies a histogram gives by default
// is met when the colours had the requests: the latencies are not cut
// below it.
func TestComparisonFromPrometheusLargeMinimum(t *testing.T) {
	o := compare.Defaults
	o.MinSamples = 3000
	hist := map[string]float64{"0.05": 3333.3, "0.1": 9999.6, "+Inf": 10000.4}
	res := runFromPrometheus(t, o, []string{CompareLatency}, map[string]promColour{
		"blue":  {requests: 10000, buckets: hist},
		"green": {requests: 10000, buckets: hist},
	})
	if m := res.Comparison.Metrics[0]; m.Verdict != compare.Pass || m.Baseline.Samples < 3000 {
		t.Errorf("%s (%s): want 3,000 latencies or more a side, and equal colours passing", m.Verdict, m.Reason)
	}
}

// A selector that names neither the colour nor its pods reads the same
// series for both colours: they would always compare equal.
func TestComparisonFromPrometheusSelectorWithoutColour(t *testing.T) {
	c, err := NewComparison("", "/", 100, 100, []string{CompareLatency}, nil, compare.Defaults)
	if err != nil {
		t.Fatal(err)
	}
	p := staticPrometheus(t, nil)
	for _, sel := range []string{`namespace="production"`, `namespace="{{.Namespace}}",service="{{.Service}}"`} {
		err := c.WithPrometheus(PrometheusSamples{Prometheus: p, RequestsMetric: "r", LatencyMetric: "l", Selector: sel})
		if err == nil || !strings.Contains(err.Error(), "same series for both colours") {
			t.Errorf("selector %s: %v, want it refused", sel, err)
		}
	}
	for _, sel := range []string{analysis.DefaultSelector, `colour="{{.Color}}"`, `deployment="{{.Deployment}}"`} {
		if err := c.WithPrometheus(PrometheusSamples{Prometheus: p, RequestsMetric: "r", LatencyMetric: "l", Selector: sel}); err != nil {
			t.Errorf("selector %s: %v", sel, err)
		}
	}
}

// A bucket bound that is not a number (a broken exporter) is dropped, not
// spread into NaN latencies.
func TestSpreadSkipsBadBounds(t *testing.T) {
	got := spread([]analysis.Sample{{Labels: map[string]string{"le": "NaN"}, Value: 5}, {Labels: map[string]string{"le": "0.1"}, Value: 10},
		{Labels: map[string]string{"le": "+Inf"}, Value: 10}}, maxLatencySamples)
	for _, v := range got {
		if math.IsNaN(v) {
			t.Fatalf("latencies %v", got)
		}
	}
	if len(got) != 10 {
		t.Errorf("%d latencies, want 10", len(got))
	}
}

// An infinite count (a broken counter) is no count: the comparison is
// inconclusive, never judged on a request count Go's int conversion makes
// up.
func TestComparisonFromPrometheusInfiniteCount(t *testing.T) {
	c, err := NewComparison("", "/", 100, 100, []string{CompareErrorRate}, nil, compare.Defaults)
	if err != nil {
		t.Fatal(err)
	}
	p := staticPrometheus(t, map[string]promColour{"blue": {requests: math.Inf(1)}, "green": {requests: 100}})
	if err := c.WithPrometheus(PrometheusSamples{Prometheus: p, RequestsMetric: "r", LatencyMetric: "l", Selector: `colour="{{.Color}}"`}); err != nil {
		t.Fatal(err)
	}
	res := c.Run(context.Background(), analysis.Vars{Color: "green", Baseline: "blue"})
	if len(res) != 1 || res[0].Status != analysis.Inconclusive || res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "Inf") {
		t.Fatalf("%+v, want inconclusive, saying the count is infinite", res)
	}
}
