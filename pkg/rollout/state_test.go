package rollout_test

import (
	"strings"
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/compare"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
)

// Images of the releases the tests roll out (never pulled: kwok runs no
// containers).
var (
	imageV1 = "127.0.0.1:5000/fx-platform@sha256:" + strings.Repeat("1", 64)
	imageV2 = "127.0.0.1:5000/fx-platform@sha256:" + strings.Repeat("2", 64)
	imageV3 = "127.0.0.1:5000/fx-platform@sha256:" + strings.Repeat("3", 64)
)

func TestStateRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		st   rollout.State
	}{
		{name: "empty", st: rollout.State{}},
		{name: "progressing canary", st: rollout.State{Phase: rollout.PhaseProgressing, ActiveColor: "blue", ActiveImage: imageV1,
			CandidateColor: "green", CandidateImage: imageV2, Step: 2, Weight: 50, Replicas: 3, Deployment: "fx-platform", ColorLabel: "version", Router: "gateway-api", HTTPRoute: "r",
			Owner: "acme/fx/runs/1", StartedAt: at, UpdatedAt: at.Add(time.Minute)}},
		{name: "rolled back", st: rollout.State{Phase: rollout.PhaseRolledBack, ActiveColor: "blue", PreviousColor: "green", Reason: "p95 over 2s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Annotations: tc.st.Annotations()}}
			if got := rollout.ReadState(svc); got != tc.st {
				t.Errorf("got %+v, want %+v", got, tc.st)
			}
		})
	}
}

// FuzzReadState: any annotations read without panicking, and what is read
// writes back to the same state.
func FuzzReadState(f *testing.F) {
	f.Add("progressing", "3", "2026-11-25T18:00:00Z")
	f.Add("", "x", "yesterday")
	f.Fuzz(func(t *testing.T, phase, step, at string) {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
			rollout.Prefix + "phase": phase, rollout.Prefix + "step": step, rollout.Prefix + "started-at": at}}}
		st := rollout.ReadState(svc)
		again := rollout.ReadState(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Annotations: st.Annotations()}})
		if again != st {
			t.Errorf("round trip changed %+v into %+v", st, again)
		}
	})
}

func TestMarkdown(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	fail := analysis.Result{Name: "error-rate", Status: analysis.Fail, Value: 0.02, Threshold: analysis.Threshold{Bound: analysis.Max, Value: 0.001, Unit: analysis.Ratio}}
	res := &rollout.Result{Outcome: rollout.Aborted, ActiveColor: "blue", PreviousColor: "green", Image: imageV2, PreviousImage: imageV1,
		Duration: 95 * time.Second, Reason: "error-rate is 2%",
		Phases: []*rollout.Phase{
			{Name: "create green", Weight: -1, Observed: -1, Start: t0, End: t0.Add(30 * time.Second), Status: "done"},
			{Name: "10 %", Weight: 10, Observed: 10, Start: t0.Add(30 * time.Second), End: t0.Add(95 * time.Second), Status: "fail",
				Measurements: [][]analysis.Result{{fail}}},
		}}
	md := res.Markdown("rollback --service fx-platform-service --to previous")
	for _, want := range []string{
		"### promote: aborted",
		"```mermaid\ngantt",
		"create green done (30s) :done, p0, 1795629600000, 1795629630000",
		"10 % fail (1m5s) :crit, p1,",
		"| 10 % | 10 % | 10 % | 1m5s | 1 | fail |",
		"#### Analysis: 10 %",
		"| 1 | error-rate | fail | 2% |",
		"rollback --service fx-platform-service --to previous",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
}

// The summary of a step judged against the baseline shows both colours'
// values per metric, the test, its statistic, p-value, shift and verdict.
func TestMarkdownComparison(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	o := compare.Defaults
	base, cand := make([]float64, 100), make([]float64, 100)
	for i := range base {
		base[i], cand[i] = 0.050+float64(i%10)/10000, 0.060+float64(i%10)/10000
	}
	errs := compare.ErrorRate("error-rate", 0, 100, 0, 100, o)
	errs.Critical = true
	rep := compare.Judge([]compare.Metric{compare.Latency("latency", base, cand, o), errs}, o)
	cmpResult := analysis.Result{Name: "canary vs baseline", Status: analysis.Fail, Value: rep.Score, Comparison: &rep,
		Threshold: analysis.Threshold{Bound: analysis.Min, Value: 95, Unit: analysis.CanaryScore}}
	res := &rollout.Result{Outcome: rollout.Aborted, ActiveColor: "blue", PreviousColor: "green", Image: imageV2, PreviousImage: imageV1,
		Phases: []*rollout.Phase{{Name: "10 %", Weight: 10, Observed: 10, Start: t0, End: t0.Add(time.Minute), Status: "fail",
			Measurements: [][]analysis.Result{{cmpResult}}}}}
	md := res.Markdown("")
	for _, want := range []string{
		"| 1 | canary vs baseline | fail | score 50 (fail) | ≥ 95 |",
		"Canary against baseline, measurement 1: fail, score 50 < 75",
		"| metric | baseline (samples) | candidate (samples) | test | statistic | p | shift | verdict |",
		"| latency (median) | 50.5 ms (100) | 60.4 ms (100) | Mann-Whitney U | 10000 | < 0.0001 | +19.8 % (≥ +19.6 %) | fail: worse by 19.8 % (at least 19.6 % at 95 % confidence), beyond the 10 % tolerance (p < 0.0001) |",
		"| error-rate, critical | 0% (100) | 0% (100) | Fisher's exact | — | 1 | +0.0 % (≥ +0.0 %) | pass: no significant difference (p = 1 ≥ 0.05) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
}
