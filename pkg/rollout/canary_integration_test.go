//go:build integration

package rollout_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/internal/sandbox"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/sampleapp"
	"github.com/fxplatform/deploy-actions/pkg/verify"
)

// TestCanaryReplicasWeights promotes in 10/25/50/100 % steps with the
// replicas router and no analysis: the weight read back from the cluster
// at each step is the one asked for, and the live Service never has fewer
// ready endpoints than the replicas.
func TestCanaryReplicasWeights(t *testing.T) {
	const n = 20 // 10 % and 25 % of 20 are whole replicas
	a := newApp(t, n)
	w := watchEndpoints(t, a, n)
	cfg := rollout.Config{Target: a.target(t, "replicas"), Image: imageV2, Strategy: rollout.Canary,
		Steps: []int{10, 25, 50, 100}, Pauses: []time.Duration{0}}
	res, err := rollout.Promote(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Promote: %v", err)
	}
	a.waitEndpoints(t, "green", n)
	w.check(t)
	checkWeights(t, res, "10=10,25=25,50=50,100=100")
	if res.Outcome != rollout.Promoted || a.service(t).Spec.Selector["version"] != "green" {
		t.Errorf("outcome %s, selector %v", res.Outcome, a.service(t).Spec.Selector)
	}
}

// checkWeights checks each traffic step's requested and observed weight,
// as "requested=observed" pairs joined by commas.
func checkWeights(t *testing.T, res *rollout.Result, want string) {
	t.Helper()
	var got []string
	for _, ph := range res.Phases {
		if ph.Weight >= 0 {
			got = append(got, fmt.Sprintf("%d=%d", ph.Weight, ph.Observed))
		}
	}
	if strings.Join(got, ",") != want {
		t.Errorf("requested=observed weights %s, want %s", strings.Join(got, ","), want)
	}
}

// scrapedColour serves the sample app as green in-process, has the
// sandbox's Prometheus scrape it as job <ns>-green, sends it requests and
// waits until Prometheus has them all.
func scrapedColour(t *testing.T, ns string, cfg sampleapp.Config, requests int) {
	t.Helper()
	s := sandbox.Get(t)
	h, err := sampleapp.NewHandler(cfg, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	job := ns + "-green"
	if err := s.AddScrapeTarget(job, []string{strings.TrimPrefix(srv.URL, "http://")}, map[string]string{"job": job}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.RemoveScrapeTarget(job) })
	target, _ := url.Parse(srv.URL + sampleapp.PathStrategy)
	if res, err := (verify.Load{URL: target, Requests: requests, Concurrency: 10}).Run(context.Background()); err != nil || res.Requests != requests {
		t.Fatalf("load: %+v, %v", res, err)
	}
	prom, err := analysis.NewPrometheus(s.PrometheusURL)
	if err != nil {
		t.Fatal(err)
	}
	q := fmt.Sprintf(`sum(http_requests_total{job=%q,path="/api/strategy"})`, job)
	err = wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		v, err := prom.Query(ctx, q)
		return err == nil && int(v) == requests, nil
	})
	if err != nil {
		t.Fatalf("prometheus never saw %d requests of job %s: %v", requests, job, err)
	}
}

// everyNth makes the sample app fail exactly every n-th request.
func everyNth(n int64) func() float64 {
	var i atomic.Int64
	return func() float64 {
		if i.Add(1)%n == 0 {
			return 0
		}
		return 1
	}
}

// errorRate is the strategy's error-rate check over the colour's job.
const errorRate = `
- name: error-rate
  query: (sum(http_requests_total{job="{{.Namespace}}-{{.Color}}",path="/api/strategy",code=~"5.."}) or vector(0)) / sum(http_requests_total{job="{{.Namespace}}-{{.Color}}",path="/api/strategy"})
  max: 0.1%
  unit: ratio
  samples: sum(http_requests_total{job="{{.Namespace}}-{{.Color}}",path="/api/strategy"})
`

// TestCanaryAnalysis runs the canary with analysis at each step against
// the sandbox's Prometheus: a healthy green is promoted; 2 % errors, an
// empty result, NaN, a Prometheus answering 500 and a stopped one are never
// promoted: the rollout aborts at the first step with all traffic on blue.
func TestCanaryAnalysis(t *testing.T) {
	fails := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer fails.Close()
	stopped := httptest.NewServer(http.NotFoundHandler())
	stopped.Close()
	promURL := sandbox.Get(t).PrometheusURL
	tests := []struct {
		name       string
		app        *sampleapp.Config // green's metrics, or none
		checks     string
		prometheus string
		want       string // outcome
		wantErr    error  // wrapped cause in the abort, when aborted
	}{
		{name: "healthy green is promoted", app: &sampleapp.Config{Colour: "green", Version: "v2"}, checks: errorRate, prometheus: promURL, want: rollout.Promoted},
		{name: "2% errors abort at the first step", app: &sampleapp.Config{Colour: "green", Version: "v2", ErrorRate: 0.02, Random: everyNth(50)}, checks: errorRate, prometheus: promURL, want: rollout.Aborted, wantErr: analysis.ErrCheckFailed},
		{name: "empty result is not success", checks: errorRate, prometheus: promURL, want: rollout.Aborted, wantErr: analysis.ErrInconclusive},
		{name: "NaN is not success", checks: "- {name: nan, query: vector(0) / vector(0), max: 1}", prometheus: promURL, want: rollout.Aborted, wantErr: analysis.ErrNaN},
		{name: "Prometheus 500 is not success", checks: errorRate, prometheus: fails.URL, want: rollout.Aborted, wantErr: analysis.ErrUnavailable},
		{name: "Prometheus stopped is not success", checks: errorRate, prometheus: stopped.URL, want: rollout.Aborted, wantErr: analysis.ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const n = 20 // 10 % and 25 % of 20 are whole replicas
			a := newApp(t, n)
			if tc.app != nil {
				scrapedColour(t, a.ns, *tc.app, 500)
			}
			checks, err := analysis.ParseChecks(tc.checks)
			if err != nil {
				t.Fatal(err)
			}
			prom, err := analysis.NewPrometheus(tc.prometheus)
			if err != nil {
				t.Fatal(err)
			}
			w := watchEndpoints(t, a, n)
			cfg := rollout.Config{Target: a.target(t, "replicas"), Image: imageV2, Strategy: rollout.Canary,
				Steps: []int{10, 25, 50, 100}, Pauses: []time.Duration{0},
				Analysis: &analysis.Analysis{Provider: prom, Checks: checks, MinSamples: 100}, AnalysisInterval: time.Second}
			res, err := rollout.Promote(context.Background(), cfg)
			w.check(t)
			if res == nil || res.Outcome != tc.want {
				t.Fatalf("got %+v, %v; want outcome %s", res, err, tc.want)
			}
			svc := a.service(t)
			if tc.want == rollout.Promoted {
				if err != nil || svc.Spec.Selector["version"] != "green" {
					t.Fatalf("err %v, selector %v", err, svc.Spec.Selector)
				}
				return
			}
			if !errors.Is(err, rollout.ErrAborted) || !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v; want ErrAborted wrapping %v", err, tc.wantErr)
			}
			st := rollout.ReadState(svc)
			want := []struct {
				name      string
				got, want any
			}{
				{"steps completed", res.StepsCompleted, 0},
				{"selector on blue", svc.Spec.Selector["version"], "blue"},
				{"recorded phase", st.Phase, rollout.PhaseAborted},
				{"recorded weight", st.Weight, 0},
				{"green scaled to zero", *a.deployment(t, "green").Spec.Replicas, int32(0)},
				{"blue at full size", *a.deployment(t, "blue").Spec.Replicas, int32(n)},
			}
			for _, c := range want {
				if c.got != c.want {
					t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
				}
			}
			a.waitEndpoints(t, "blue", n)
		})
	}
}

// TestInterruptedAbortSaysWhatItLeft: an interrupted abort takes the fast
// way back (the live Service on blue at once, blue scaled back to its
// replicas without waiting for them), and says the candidate was left up,
// without traffic, exactly when it was.
func TestInterruptedAbortSaysWhatItLeft(t *testing.T) {
	const n = 4
	a := newApp(t, n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var events []string
	tgt := a.target(t, "replicas")
	tgt.OnEvent = func(e rollout.Event) {
		events = append(events, e.Message)
		if e.Phase == "step" {
			cancel() // the SIGTERM, in the step's pause
		}
	}
	cfg := rollout.Config{Target: tgt, Image: imageV2, Strategy: rollout.Canary,
		Steps: []int{50, 100}, Pauses: []time.Duration{time.Hour}, ScaleDownDelay: time.Minute}
	cfg.Timeout = 0 // derived: the target's 3m is shorter than the pause
	res, err := rollout.Promote(ctx, cfg)
	if !errors.Is(err, rollout.ErrAborted) || res == nil || res.Outcome != rollout.Aborted {
		t.Fatalf("Promote: %v, %+v; want the abort", err, res)
	}
	if sel := a.service(t).Spec.Selector["version"]; sel != "blue" {
		t.Errorf("the live Service selects version=%q after the abort, want blue", sel)
	}
	if st := rollout.ReadState(a.service(t)); st.Phase != rollout.PhaseAborted {
		t.Errorf("state %+v, want the abort recorded", st)
	}
	if r := a.deployment(t, "blue").Spec.Replicas; r == nil || *r != n {
		t.Errorf("blue wants %v replicas after the abort, want %d", r, n)
	}
	green := *a.deployment(t, "green").Spec.Replicas
	said := false
	for _, e := range events {
		said = said || strings.Contains(e, "left up without traffic")
	}
	if said != (green > 0) {
		t.Errorf("green has %d replicas, and the events say it was left up: %v (%q)", green, said, events)
	}
}
