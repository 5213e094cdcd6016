package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
)

// countingServer answers every path healthy and counts requests, so a test
// can prove that none was sent.
func countingServer(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"ok"}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

func TestBadInputSendsNothing(t *testing.T) {
	url, requests := countingServer(t)
	tests := []struct {
		name   string
		inputs map[string]string
		input  string // the input the error must name
	}{
		{name: "malformed URL", inputs: map[string]string{"url": "http//127.0.0.1"}, input: "url"},
		{name: "URL without scheme", inputs: map[string]string{"url": "127.0.0.1:8080"}, input: "url"},
		{name: "error rate above 100%", inputs: map[string]string{"url": url, "max-error-rate": "120%"}, input: "max-error-rate"},
		{name: "duration 5x", inputs: map[string]string{"url": url, "health-timeout": "5x"}, input: "health-timeout"},
		{name: "latency 5x", inputs: map[string]string{"url": url, "max-p95-latency": "5x"}, input: "max-p95-latency"},
		{name: "invalid YAML checks", inputs: map[string]string{"url": url, "prometheus-url": url, "prometheus-checks": "- name: [x"}, input: "prometheus-checks"},
		{name: "check without a bound", inputs: map[string]string{"url": url, "prometheus-url": url, "prometheus-checks": "- name: x\n  query: up"}, input: "prometheus-checks"},
		{name: "checks without prometheus-url", inputs: map[string]string{"url": url, "prometheus-checks": "- name: x\n  query: up\n  max: 1"}, input: "prometheus-url"},
		{name: "relative health path", inputs: map[string]string{"url": url, "health-paths": "/api/health\napi/health/database"}, input: "health-paths"},
		{name: "load path to another host", inputs: map[string]string{"url": url, "load-path": "//evil.test/"}, input: "load-path"},
		{name: "zero concurrency", inputs: map[string]string{"url": url, "load-concurrency": "0"}, input: "load-concurrency"},
		{name: "throughput with no period", inputs: map[string]string{"url": url, "min-throughput": "fast"}, input: "min-throughput"},
		{name: "nothing to verify", inputs: map[string]string{}, input: "url"},
		{name: "bad namespace", inputs: map[string]string{"url": url, "namespace": "Prod_1"}, input: "namespace"},
		{name: "bad deployment name", inputs: map[string]string{"url": url, "deployment": "fx_platform"}, input: "deployment"},
		{name: "unreadable kubeconfig", inputs: map[string]string{"url": url, "deployment": "app", "kubeconfig": "/nonexistent/kubeconfig"}, input: "kubeconfig"},
		{name: "report in a missing directory", inputs: map[string]string{"url": url, "report-file": "/nonexistent/dir/r.json"}, input: "report-file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := requests.Load()
			r := actiontest.New(t, tc.inputs)
			if code := r.Run(context.Background(), spec, run); code != 1 {
				t.Fatalf("exit code %d, want 1", code)
			}
			errs := r.Annotations("error")
			if len(errs) != 1 || !strings.Contains(errs[0], fmt.Sprintf("input %q", tc.input)) {
				t.Errorf("errors = %q, want one naming input %q", errs, tc.input)
			}
			if n := requests.Load() - before; n != 0 {
				t.Errorf("%d requests were sent", n)
			}
			if got := r.Outputs(); len(got) != 0 {
				t.Errorf("outputs %v were set", got)
			}
		})
	}
}

func TestAgainstHTTPTest(t *testing.T) {
	url, requests := countingServer(t)
	r := actiontest.New(t, map[string]string{"url": url, "load-requests": "200", "load-concurrency": "4",
		"min-throughput": "1/min", "report-file": filepath.Join(t.TempDir(), "report.json")})
	if code := r.Run(context.Background(), spec, run); code != 0 {
		t.Fatalf("exit code %d; errors %q", code, r.Annotations("error"))
	}
	if n := requests.Load(); n != 203 {
		t.Errorf("server saw %d requests, want 3 health + 200 probe", n)
	}
	out := r.Outputs()
	if out["passed"] != "true" || out["error-rate"] != "0" || out["p95"] == "" || out["throughput"] == "" {
		t.Errorf("outputs = %v", out)
	}
	data, err := os.ReadFile(out["report-file"])
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Passed bool
		Load   struct{ Requests int }
		KPIs   []struct{ Metric string }
	}
	if err := json.Unmarshal(data, &rep); err != nil || !rep.Passed || rep.Load.Requests != 200 || len(rep.KPIs) != 3 {
		t.Errorf("report = %s (%v)", data, err)
	}
	if s := r.Summary(); !strings.Contains(s, "| Metric | Target | Current | Status |") || !strings.Contains(s, "xychart-beta") {
		t.Errorf("summary:\n%s", s)
	}
}
