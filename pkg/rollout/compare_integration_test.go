//go:build integration

package rollout_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/analysis"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fxplatform/deploy-actions/pkg/compare"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
	"github.com/fxplatform/deploy-actions/pkg/sampleapp"
	"github.com/fxplatform/deploy-actions/pkg/verify"
)

// Canary against baseline on the real node. The stable release (v1)
// answers in 50 ms. Each candidate is compared with it at the first step,
// both colours probed at once through their own Services, while the
// continuous probe goes through the live Service:
//   - v2-slow answers in 60 ms, 20 % slower: its latency fails, and the
//     rollout aborts at its first step;
//   - v2-errors answers 2 % of its requests 500: its error rate, critical,
//     fails alone, and the rollout aborts; the only failed requests of the
//     live probe are v2-errors' own;
//   - v2 answers as v1 does, on probes of 20 requests a round against a
//     minimum of 50 a side: each comparison is topped up to 60, passes,
//     and v2 is promoted with no request failed.
func TestRealNodeCanaryAgainstBaseline(t *testing.T) {
	a, r := newLatencyApp(t, false, "v2-errors")
	ctx := context.Background()
	preview := a.colourURLs(t)
	canary := func(version string, requests int) rollout.Config {
		c, err := verify.NewComparison(preview, sampleapp.PathStrategy, requests, 200,
			[]string{verify.CompareLatency, verify.CompareErrorRate}, []string{verify.CompareErrorRate}, compare.Defaults)
		if err != nil {
			t.Fatal(err)
		}
		cfg := a.config(t, version, latencyValues...)
		cfg.Router, cfg.Strategy, cfg.Steps, cfg.Pauses = "replicas", rollout.Canary, []int{50, 100}, []time.Duration{3 * time.Second}
		cfg.Analysis, cfg.AnalysisInterval, cfg.ScaleDownDelay = c, time.Second, time.Second
		return cfg
	}
	m := r.Probe(t)
	res, err := rollout.Promote(ctx, canary("v2-slow", 300))
	if !errors.Is(err, rollout.ErrAborted) || res.StepsCompleted != 0 {
		logPhases(t, res)
		t.Fatalf("the 20 %% slower release: %+v, %v; want it aborted at its first step", res, err)
	}
	rep := lastComparisonOf(t, res)
	lat := metricOf(t, rep, verify.CompareLatency)
	if rep.Verdict != compare.Fail || lat.Verdict != compare.Fail || lat.Relative < 0.1 {
		t.Fatalf("the 20 %% slower release: %s, latency %s (%s); want both fail", rep.Verdict, lat.Verdict, lat.Reason)
	}
	t.Logf("20 %% slower: %s; latency %s: baseline %.1f ms, candidate %.1f ms, p %s", rep.Reason, lat.Verdict, lat.Baseline.Value*1000, lat.Candidate.Value*1000, compare.FormatP(lat.P))
	rollouttest.Settle(t, m, "v1")
	if rep := rollouttest.CheckProbe(t, "the slow canary, aborted", m, "v1", "v2-slow"); rep.Versions["v2-slow"] == 0 {
		t.Errorf("answers %v: the slow canary never answered the live Service", rep.Versions)
	}

	m = r.Probe(t)
	res, err = rollout.Promote(ctx, canary("v2-errors", 1000))
	if !errors.Is(err, rollout.ErrAborted) || res.StepsCompleted != 0 || !strings.Contains(err.Error(), "critical metric failed: error-rate") {
		logPhases(t, res)
		t.Fatalf("the release with 2 %% errors: %+v, %v; want it aborted at its first step on error-rate", res, err)
	}
	errs := metricOf(t, lastComparisonOf(t, res), verify.CompareErrorRate)
	if errs.Verdict != compare.Fail || errs.Baseline.Failures != 0 || errs.Candidate.Failures == 0 {
		t.Fatalf("error-rate %+v: want a failure of the candidate's errors against none", errs)
	}
	t.Logf("2 %% errors: %d of %d against %d of %d, %s p %s", errs.Candidate.Failures, errs.Candidate.Samples, errs.Baseline.Failures, errs.Baseline.Samples, errs.Test, compare.FormatP(errs.P))
	rollouttest.Settle(t, m, "v1")
	rollouttest.CheckProbeAllowing(t, "the erring canary, aborted", m, func(s verify.Sample) bool { return s.Version == "v2-errors" }, "v1", "v2-errors")

	m = r.Probe(t)
	res, err = rollout.Promote(ctx, canary("v2", 20))
	if err != nil || res.Outcome != rollout.Promoted {
		logPhases(t, res)
		t.Fatalf("the release as fast as v1: %+v, %v", res, err)
	}
	rep = lastComparisonOf(t, res)
	for _, mt := range rep.Metrics {
		if mt.Verdict != compare.Pass || mt.Baseline.Samples < 50 || mt.Candidate.Samples < 50 {
			t.Errorf("%s: %s on %d and %d samples (%s); want a pass on at least 50 a side", mt.Name, mt.Verdict, mt.Baseline.Samples, mt.Candidate.Samples, mt.Reason)
		}
	}
	for _, ph := range res.Phases {
		if ph.Weight == 50 && ph.Status != "pass" {
			t.Errorf("step %s: %s, want pass", ph.Name, ph.Status)
		}
		for _, ms := range ph.Measurements {
			for _, mr := range ms {
				if mr.Comparison != nil && !strings.Contains(mr.Query, "rounds of 20") {
					t.Errorf("%s: %q; want the thin probe topped up", ph.Name, mr.Query)
				}
				if ph.Weight == 100 && mr.Comparison != nil {
					t.Errorf("a comparison at 100 %%: the stable colour no longer serves")
				}
			}
		}
	}
	t.Logf("as fast: %s; %s", rep.Reason, metricOf(t, rep, verify.CompareLatency).Reason)
	rollouttest.Settle(t, m, "v2")
	rollouttest.CheckProbe(t, "the canary as fast as its baseline", m, "v1", "v2")
	if s := res.Markdown(""); !strings.Contains(s, "Canary against baseline") || !strings.Contains(s, "Mann-Whitney U") {
		t.Errorf("the step summary has no comparison table:\n%s", s)
	}
}

// Canary against baseline from Prometheus, on the real node: the samples
// are each colour's live requests, as the sandbox's Prometheus scraped
// them from the pods (the chart annotates them), over the analysis
// window.
//   - v2-slow answers in 60 ms against v1's 50 ms, with no URL to probe
//     the colours through: the comparison is inconclusive (too thin) until
//     the candidate's live requests are scraped, then the continuous
//     probe's 200 requests a second give each colour hundreds of them, and
//     the histograms' latencies fail it;
//   - v2, as fast as v1, under a probe of 15 requests a second: each
//     colour's live traffic is short of the minimum of 200, so each
//     comparison probes both colours through their own Services instead,
//     and passes on those samples.
func TestRealNodeCanaryAgainstBaselineFromPrometheus(t *testing.T) {
	a, r := newLatencyApp(t, true)
	ctx := context.Background()
	prom, err := analysis.NewPrometheus(a.PrometheusURL)
	if err != nil {
		t.Fatal(err)
	}
	// probe says whether the comparison may probe the colours when live
	// traffic is too thin; without, it waits for live traffic.
	canary := func(version string, probe bool) rollout.Config {
		o := compare.Defaults
		o.MinSamples = 200
		preview := ""
		if probe {
			preview = a.colourURLs(t)
		}
		c, err := verify.NewComparison(preview, sampleapp.PathStrategy, 50, 200,
			[]string{verify.CompareLatency, verify.CompareErrorRate}, []string{verify.CompareErrorRate}, o)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WithPrometheus(verify.PrometheusSamples{Prometheus: prom, RequestsMetric: analysis.DefaultRequestsMetric,
			LatencyMetric: analysis.DefaultLatencyMetric, Selector: analysis.DefaultSelector, Window: 10 * time.Second}); err != nil {
			t.Fatal(err)
		}
		cfg := a.config(t, version, latencyValues...)
		cfg.Router, cfg.Strategy, cfg.Steps, cfg.Pauses = "replicas", rollout.Canary, []int{50, 100}, []time.Duration{10 * time.Second}
		// The candidate's series appear a few seconds into a step
		// (discovery, a scrape, two points for an increase): until then
		// a comparison is short of data, inconclusive, never a pass.
		cfg.Analysis, cfg.AnalysisInterval, cfg.InconclusiveLimit, cfg.ScaleDownDelay = c, 2*time.Second, 10, time.Second
		return cfg
	}

	m := r.Probe(t)
	res, err := rollout.Promote(ctx, canary("v2-slow", false))
	if !errors.Is(err, rollout.ErrAborted) || res.StepsCompleted != 0 {
		logPhases(t, res)
		t.Fatalf("the 20 %% slower release: %+v, %v; want it aborted at its first step", res, err)
	}
	rep := lastComparisonOf(t, res)
	lat := metricOf(t, rep, verify.CompareLatency)
	if lat.Verdict == compare.Pass || lat.Verdict == compare.Insufficient || lat.Relative < 0.1 {
		t.Fatalf("the 20 %% slower release: latency %s (%s); want it judged worse beyond the tolerance", lat.Verdict, lat.Reason)
	}
	for _, ph := range res.Phases {
		for _, ms := range ph.Measurements {
			for _, mr := range ms {
				switch {
				case mr.Comparison == nil:
				case !strings.HasPrefix(mr.Query, "Prometheus"):
					t.Errorf("%s: %q; want samples from Prometheus alone", ph.Name, mr.Query)
				case mr.Status == analysis.Pass:
					t.Errorf("%s: a comparison passed the slow release: %s", ph.Name, mr.Comparison.Reason)
				}
			}
		}
	}
	t.Logf("20 %% slower, from Prometheus: %s; latency %s on %d and %d requests: baseline %.1f ms, candidate %.1f ms",
		rep.Reason, lat.Verdict, lat.Baseline.Samples, lat.Candidate.Samples, lat.Baseline.Value*1000, lat.Candidate.Value*1000)
	rollouttest.Settle(t, m, "v1")
	rollouttest.CheckProbe(t, "the slow canary, aborted", m, "v1", "v2-slow")

	m = r.ProbeAtRate(t, 15)
	res, err = rollout.Promote(ctx, canary("v2", true))
	if err != nil || res.Outcome != rollout.Promoted {
		logPhases(t, res)
		t.Fatalf("the release as fast as v1: %+v, %v", res, err)
	}
	rep = lastComparisonOf(t, res)
	topped := false
	for _, ph := range res.Phases {
		for _, ms := range ph.Measurements {
			for _, mr := range ms {
				topped = topped || mr.Comparison != nil && mr.Status == analysis.Pass && strings.Contains(mr.Query, "live traffic too thin")
			}
		}
	}
	if rep.Verdict != compare.Pass || !topped {
		t.Fatalf("the release as fast as v1: %s (%s), probed %v; want a pass on the probe's samples of both colours, live traffic being too thin", rep.Verdict, rep.Reason, topped)
	}
	for _, mt := range rep.Metrics {
		if mt.Baseline.Samples < 200 || mt.Candidate.Samples < 200 {
			t.Errorf("%s: %d and %d samples, want 200 a side", mt.Name, mt.Baseline.Samples, mt.Candidate.Samples)
		}
	}
	rollouttest.Settle(t, m, "v2")
	rollouttest.CheckProbe(t, "the canary as fast as its baseline, from Prometheus", m, "v1", "v2")
}

// latencyValues are the chart values of newLatencyApp's releases: two
// replicas, no autoscaler.
var latencyValues = []string{"autoscaling.enabled=false", "replicaCount=2"}

// newLatencyApp installs v1, answering in 50 ms, from the chart on the real
// node, scraped by the sandbox's Prometheus when scrape is set, and builds
// v2 (50 ms), v2-slow (60 ms) and, when asked for, v2-errors (50 ms, 2 %
// of its requests 500).
func newLatencyApp(t *testing.T, scrape bool, more ...string) (*chartApp, *rollouttest.Real) {
	t.Helper()
	a := newChartApp(t)
	env := map[string][]string{"v1": {"LATENCY=50ms"}, "v2": {"LATENCY=50ms"}, "v2-slow": {"LATENCY=60ms"}, "v2-errors": {"LATENCY=50ms", "ERROR_RATE=0.02"}}
	for _, version := range append([]string{"v1", "v2", "v2-slow"}, more...) {
		a.images[version] = rollouttest.Image(t, version, env[version]...)
	}
	if scrape {
		a.ScrapePods(t)
	}
	if res, err := rollout.Promote(context.Background(), a.config(t, "v1", latencyValues...)); err != nil || res.Outcome != rollout.Installed {
		t.Fatalf("first release: %+v, %v", res, err)
	}
	r := a.real(t)
	r.WaitServing(t, "v1")
	return a, r
}

// colourURLs is preview-url http://fx-platform-service-{{.Color}}.<namespace>
// with the colour Services' addresses, which the host reaches.
func (a *chartApp) colourURLs(t *testing.T) string {
	t.Helper()
	ip := map[string]string{}
	for _, colour := range []string{"blue", "green"} {
		svc, err := a.Client.CoreV1().Services(a.Namespace).Get(context.Background(), "fx-platform-service-"+colour, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the colour Service: %v", err)
		}
		ip[colour] = svc.Spec.ClusterIP
	}
	return fmt.Sprintf(`http://{{if eq .Color "blue"}}%s{{else}}%s{{end}}`, ip["blue"], ip["green"])
}

// lastComparisonOf is a promotion's last canary-against-baseline report.
func lastComparisonOf(t *testing.T, res *rollout.Result) *compare.Report {
	t.Helper()
	var last *compare.Report
	for _, ph := range res.Phases {
		for _, ms := range ph.Measurements {
			for _, m := range ms {
				if m.Comparison != nil {
					last = m.Comparison
				}
			}
		}
	}
	if last == nil {
		t.Fatalf("no comparison in %+v", res.Phases)
	}
	return last
}

func metricOf(t *testing.T, rep *compare.Report, name string) compare.Metric {
	t.Helper()
	for _, m := range rep.Metrics {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no %s in %+v", name, rep.Metrics)
	return compare.Metric{}
}

// Blue-green against baseline, on the real node: before the switch, the
// idle colour (no live traffic yet) is compared with the live one through
// their own Services. The 20 % slower release is refused there, with no
// traffic moved: the live probe sees only v1. The one as fast is switched
// to, with no request failed.
func TestRealNodeBlueGreenAgainstBaseline(t *testing.T) {
	a, r := newLatencyApp(t, false)
	ctx := context.Background()
	preview := a.colourURLs(t)
	blueGreen := func(version string) rollout.Config {
		c, err := verify.NewComparison(preview, sampleapp.PathStrategy, 200, 200,
			[]string{verify.CompareLatency, verify.CompareErrorRate}, []string{verify.CompareErrorRate}, compare.Defaults)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := template.Must(template.New("preview").Parse(preview))
		cfg := a.config(t, version, latencyValues...)
		cfg.Analysis, cfg.AnalysisInterval, cfg.ScaleDownDelay = c, time.Second, time.Second
		cfg.Preview = func(ctx context.Context, colour string) error {
			u, err := verify.RenderURL(tmpl, analysis.Vars{Color: colour})
			if err != nil {
				return err
			}
			_, err = verify.Health{Timeout: time.Minute}.Wait(ctx, u, []string{sampleapp.PathHealth})
			return err
		}
		return cfg
	}

	m := r.Probe(t)
	res, err := rollout.Promote(ctx, blueGreen("v2-slow"))
	if !errors.Is(err, rollout.ErrAborted) || res.Outcome != rollout.Aborted {
		logPhases(t, res)
		t.Fatalf("the 20 %% slower release: %+v, %v; want it refused before the switch", res, err)
	}
	lat := metricOf(t, lastComparisonOf(t, res), verify.CompareLatency)
	if lat.Verdict != compare.Fail {
		t.Fatalf("latency %s (%s), want fail", lat.Verdict, lat.Reason)
	}
	for _, ph := range res.Phases {
		if ph.Weight > 0 {
			t.Errorf("phase %s ran: traffic moved to the slow release", ph.Name)
		}
	}
	if rep := rollouttest.CheckProbe(t, "the slow blue-green candidate, refused before the switch", m, "v1"); rep.Versions["v1"] == 0 {
		t.Errorf("answers %v", rep.Versions)
	}

	m = r.Probe(t)
	if res, err := rollout.Promote(ctx, blueGreen("v2")); err != nil || res.Outcome != rollout.Promoted {
		logPhases(t, res)
		t.Fatalf("the release as fast as v1: %+v, %v", res, err)
	}
	rollouttest.Settle(t, m, "v2")
	rollouttest.CheckProbe(t, "the blue-green candidate as fast as its baseline", m, "v1", "v2")
}
