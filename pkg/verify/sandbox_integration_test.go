//go:build integration

package verify_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/internal/sandbox"
	"github.com/fxplatform/deploy-actions/pkg/sampleapp"
	"github.com/fxplatform/deploy-actions/pkg/verify"
)

// scrapedApp serves the sample app in-process, has the sandbox's
// Prometheus scrape it under a unique job, sends it n requests to
// /api/strategy, and waits until Prometheus has scraped all of them. It
// returns the job name.
func scrapedApp(t *testing.T, s *sandbox.Sandbox, cfg sampleapp.Config, n int) string {
	t.Helper()
	h, err := sampleapp.NewHandler(cfg, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	job := fmt.Sprintf("verify-%s-%d", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), time.Now().UnixNano())
	job = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, job)
	if err := s.AddScrapeTarget(job, []string{strings.TrimPrefix(srv.URL, "http://")}, map[string]string{"job": job}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.RemoveScrapeTarget(job) })

	target, _ := url.Parse(srv.URL + sampleapp.PathStrategy)
	res, err := verify.Load{URL: target, Requests: n, Concurrency: 10}.Run(context.Background())
	if err != nil || res.Requests != n {
		t.Fatalf("load: %+v, %v", res, err)
	}
	prom, err := analysis.NewPrometheus(s.PrometheusURL)
	if err != nil {
		t.Fatal(err)
	}
	// The counters are final now; wait for a scrape that has them all.
	q := fmt.Sprintf(`sum(http_requests_total{job=%q,path="/api/strategy"})`, job)
	err = wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		v, err := prom.Query(ctx, q)
		return err == nil && int(v) == n, nil
	})
	if err != nil {
		t.Fatalf("prometheus never saw %d requests of job %s: %v", n, job, err)
	}
	return job
}

// The checks promote and verify users write, over the sample app's metrics.
// Counters since the process started are exact here: each app is fresh.
const checksYAML = `
- name: error-rate
  query: (sum(http_requests_total{job="{{.Deployment}}",path="/api/strategy",code=~"5.."}) or vector(0)) / sum(http_requests_total{job="{{.Deployment}}",path="/api/strategy"})
  max: 1%
  unit: ratio
  samples: sum(http_requests_total{job="{{.Deployment}}",path="/api/strategy"})
- name: p95
  query: histogram_quantile(0.95, sum by (le) (http_request_duration_seconds_bucket{job="{{.Deployment}}",path="/api/strategy"}))
  max: 500ms
  unit: seconds
  samples: sum(http_requests_total{job="{{.Deployment}}",path="/api/strategy"})
`

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

func TestPrometheusChecksAgainstSampleApp(t *testing.T) {
	s := sandbox.Get(t)
	prom, err := analysis.NewPrometheus(s.PrometheusURL)
	if err != nil {
		t.Fatal(err)
	}
	checks, err := analysis.ParseChecks(checksYAML)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		cfg        sampleapp.Config
		requests   int
		minSamples float64
		want       map[string]analysis.Status
		wantErr    error
	}{
		{name: "healthy passes", requests: 200, minSamples: 100,
			want: map[string]analysis.Status{"error-rate": analysis.Pass, "p95": analysis.Pass}},
		{name: "20% errors fail the error rate", cfg: sampleapp.Config{ErrorRate: 0.5, Random: everyNth(5)}, requests: 200, minSamples: 100,
			want: map[string]analysis.Status{"error-rate": analysis.Fail, "p95": analysis.Pass}},
		{name: "800ms latency fails p95", cfg: sampleapp.Config{Latency: 800 * time.Millisecond}, requests: 30, minSamples: 20,
			want: map[string]analysis.Status{"error-rate": analysis.Pass, "p95": analysis.Fail}},
		{name: "too few samples is inconclusive", requests: 20, minSamples: 100,
			want:    map[string]analysis.Status{"error-rate": analysis.Inconclusive, "p95": analysis.Inconclusive},
			wantErr: analysis.ErrTooFewSamples},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := scrapedApp(t, s, tc.cfg, tc.requests)
			a := &analysis.Analysis{Provider: prom, Checks: checks, MinSamples: tc.minSamples}
			for _, r := range a.Run(context.Background(), analysis.Vars{Deployment: job}) {
				t.Logf("%s: %s %s (%v) samples %v", r.Name, r.Status, r.Current(), r.Err, r.SampleCount)
				if r.Status != tc.want[r.Name] {
					t.Errorf("%s: %s, want %s", r.Name, r.Status, tc.want[r.Name])
				}
				if tc.wantErr != nil && !errors.Is(r.Err, tc.wantErr) {
					t.Errorf("%s: error %v, want %v", r.Name, r.Err, tc.wantErr)
				}
			}
		})
	}
}

func TestPrometheusEmptyResultIsInconclusive(t *testing.T) {
	s := sandbox.Get(t)
	prom, err := analysis.NewPrometheus(s.PrometheusURL)
	if err != nil {
		t.Fatal(err)
	}
	checks, err := analysis.ParseChecks(`
- name: p95 of nothing
  query: histogram_quantile(0.95, sum by (le) (http_request_duration_seconds_bucket{job="no-such-job"}))
  max: 500ms
  unit: seconds
`)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Run(context.Background(), verify.Config{Analysis: &analysis.Analysis{Provider: prom, Checks: checks}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed || rep.Checks[0].Status != analysis.Inconclusive || !errors.Is(rep.Checks[0].Err, analysis.ErrNoData) {
		t.Fatalf("passed=%v, check %+v; want inconclusive (no data) and a failed verify", rep.Passed, rep.Checks[0])
	}
}

// TestPrometheusStoppedFails runs a Prometheus of its own (Debian's, as the
// sandbox does), checks that a query passes, stops it, and checks that the
// same query is then inconclusive and fails verify. The sandbox's shared
// Prometheus is left alone.
func TestPrometheusStoppedFails(t *testing.T) {
	sandbox.Get(t) // the sandbox's scripts install Debian's prometheus
	addr, stop := startPrometheus(t)
	prom, err := analysis.NewPrometheus("http://"+addr, analysis.WithQueryTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	checks, err := analysis.ParseChecks("- name: always one\n  query: vector(1)\n  max: 1\n")
	if err != nil {
		t.Fatal(err)
	}
	cfg := verify.Config{Analysis: &analysis.Analysis{Provider: prom, Checks: checks}}
	rep, err := verify.Run(context.Background(), cfg)
	if err != nil || !rep.Passed {
		t.Fatalf("with Prometheus up: passed=%v %v %v", rep.Passed, rep.Failures, err)
	}
	stop()
	rep, err = verify.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed || rep.Checks[0].Status != analysis.Inconclusive || !errors.Is(rep.Checks[0].Err, analysis.ErrUnavailable) {
		t.Fatalf("with Prometheus stopped: passed=%v, check %+v; want inconclusive and a failed verify", rep.Passed, rep.Checks[0])
	}
	if !strings.Contains(rep.Markdown(), "inconclusive") {
		t.Errorf("summary does not say inconclusive:\n%s", rep.Markdown())
	}
}

func startPrometheus(t *testing.T) (addr string, stop func()) {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus is not installed (scripts/install-deps installs it): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte("global:\n  scrape_interval: 1s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}
	t.Cleanup(stop)
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		log, _ := os.ReadFile(logFile.Name())
		t.Fatalf("prometheus did not become ready: %v\n%s", err, log)
	}
	return addr, stop
}

func TestDeploymentCheckAgainstSandbox(t *testing.T) {
	s := sandbox.Get(t)
	client, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	ns := s.Namespace(t)
	tests := []struct {
		name      string
		selector  map[string]string // node selector; one no node has keeps the pods pending
		timeout   time.Duration
		wantReady bool
	}{
		{name: "available", timeout: 2 * time.Minute, wantReady: true},
		{name: "not yet available", selector: map[string]string{"no-such-label": "x"}, timeout: 3 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(tc.name, " ", "-")
			d := deployment(name, 3, tc.selector)
			if _, err := client.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			st, err := verify.WaitDeployment(context.Background(), client, ns, name, tc.timeout, 500*time.Millisecond)
			t.Logf("%+v", st)
			if tc.wantReady {
				if err != nil || st.Available != 3 || st.RolloutStarted.IsZero() {
					t.Fatalf("WaitDeployment() = %v, status %+v; want available", err, st)
				}
				return
			}
			if !errors.Is(err, verify.ErrDeploymentNotReady) || !strings.Contains(err.Error(), "Available is not True") {
				t.Fatalf("WaitDeployment() = %v; want not ready", err)
			}
		})
	}
}

func deployment(name string, replicas int32, nodeSelector map[string]string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: nodeSelector,
					Containers: []corev1.Container{{
						Name: "app", Image: "127.0.0.1:5000/sample-app@sha256:" + strings.Repeat("0", 64),
					}},
				},
			},
		},
	}
}
