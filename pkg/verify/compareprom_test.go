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
	got := spread([]analysis.Sample{bucket("+Inf", 42), bucket("0.1", 40), bucket("0.05", 10)})
	if len(got) != 42 {
		t.Fatalf("%d latencies, want 42", len(got))
	}
	if got[0] != 0.0025 || got[10] <= 0.05 || got[39] >= 0.1 || got[40] != 0.1 || got[41] != 0.1 {
		t.Errorf("latencies %v: want 10 spread over (0, 50 ms], 30 over (50, 100 ms], 2 at 100 ms", got)
	}
	// Many requests are kept in proportion.
	many := spread([]analysis.Sample{bucket("+Inf", 100000), bucket("0.1", 100000), bucket("0.05", 25000)})
	if len(many) != maxLatencySamples || many[maxLatencySamples/4-1] > 0.05 || many[maxLatencySamples/4+1] < 0.05 {
		t.Errorf("%d latencies, a quarter below 50 ms expected", len(many))
	}
	if spread(nil) != nil {
		t.Error("no buckets gave latencies")
	}
}

// fakePrometheus answers the comparison's queries with what two servers
// really received: each colour's requests (count), failures, and a
// histogram whose only bucket below +Inf holds them all.
func fakePrometheus(t *testing.T, counts map[string]*atomic.Int64, failures map[string]*atomic.Int64) *analysis.Prometheus {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.FormValue("query")
		colour := "blue"
		if strings.Contains(q, `colour="green"`) {
			colour = "green"
		}
		var result []map[string]any
		value := func(labels map[string]string, v float64) map[string]any {
			return map[string]any{"metric": labels, "value": []any{float64(time.Now().Unix()), fmt.Sprint(v)}}
		}
		n := float64(counts[colour].Load())
		switch {
		case strings.Contains(q, "_bucket"):
			result = append(result, value(map[string]string{"le": "0.1"}, n), value(map[string]string{"le": "+Inf"}, n))
		case strings.Contains(q, `code=~"5.."`):
			result = append(result, value(map[string]string{}, float64(failures[colour].Load())))
		default:
			result = append(result, value(map[string]string{}, n))
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

// Live traffic too thin for the minimum sample: the probe tops each colour
// up, the comparison reads Prometheus again, and judges on what was
// scraped. The candidate's 2 % errors (one in 50) show only once it is
// topped up to 1,000 requests.
func TestComparisonFromPrometheusTopsUp(t *testing.T) {
	counts := map[string]*atomic.Int64{"blue": {}, "green": {}}
	failures := map[string]*atomic.Int64{"blue": {}, "green": {}}
	counts["blue"].Store(10)
	counts["green"].Store(3)
	serve := func(colour string, failEvery int64) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if n := counts[colour].Add(1); failEvery > 0 && n%failEvery == 0 {
				failures[colour].Add(1)
				w.WriteHeader(http.StatusInternalServerError)
			}
		}
	}
	o := compare.Defaults
	o.MinSamples = 1000
	c, err := NewComparison(colours(t, serve("blue", 0), serve("green", 50)), "/", 100, 1000,
		[]string{CompareErrorRate}, []string{CompareErrorRate}, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WithPrometheus(PrometheusSamples{Prometheus: fakePrometheus(t, counts, failures), RequestsMetric: "http_requests_total",
		LatencyMetric: "http_request_duration_seconds", Selector: `colour="{{.Color}}"`, Window: time.Minute, Settle: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	res := c.Run(context.Background(), analysis.Vars{Color: "green", Baseline: "blue"})
	if len(res) != 1 || res[0].Comparison == nil {
		t.Fatalf("%+v", res)
	}
	m := res[0].Comparison.Metrics[0]
	if m.Baseline.Samples < 1000 || m.Candidate.Samples < 1000 || m.Verdict != compare.Fail || res[0].Status != analysis.Fail {
		t.Fatalf("%d and %d samples, %s: want both topped up to 1,000 and the candidate's errors failing it", m.Baseline.Samples, m.Candidate.Samples, m.Reason)
	}
	if !strings.Contains(res[0].Query, "topped up with 1090 requests to") || !strings.Contains(res[0].Query, "1097 requests to") {
		t.Errorf("query %q does not say how it topped up", res[0].Query)
	}
	if math.IsNaN(res[0].Value) || res[0].Value != 0 {
		t.Errorf("score %v, want 0", res[0].Value)
	}
}

// Nothing to top up with (no URL) and no traffic: insufficient data,
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
