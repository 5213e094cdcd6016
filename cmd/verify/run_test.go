package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
)

// healthyServer answers every path healthy and counts requests, so a test
// can prove that none was sent.
func healthyServer(t *testing.T) *actiontest.Server {
	t.Helper()
	return actiontest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"ok"}`)
	}))
}

func TestBadInputSendsNothing(t *testing.T) {
	srv := healthyServer(t)
	url := srv.URL
	actiontest.BadInputs{Spec: spec, Run: run, Servers: []*actiontest.Server{srv}}.Test(t, []actiontest.BadInput{
		{Name: "malformed URL", Set: map[string]string{"url": "http//127.0.0.1"}, Input: "url"},
		{Name: "URL without scheme", Set: map[string]string{"url": "127.0.0.1:8080"}, Input: "url"},
		{Name: "error rate above 100%", Set: map[string]string{"url": url, "max-error-rate": "120%"}, Input: "max-error-rate"},
		{Name: "duration 5x", Set: map[string]string{"url": url, "health-timeout": "5x"}, Input: "health-timeout"},
		{Name: "latency 5x", Set: map[string]string{"url": url, "max-p95-latency": "5x"}, Input: "max-p95-latency"},
		{Name: "invalid YAML checks", Set: map[string]string{"url": url, "prometheus-url": url, "prometheus-checks": "- name: [x"}, Input: "prometheus-checks"},
		{Name: "check without a bound", Set: map[string]string{"url": url, "prometheus-url": url, "prometheus-checks": "- name: x\n  query: up"}, Input: "prometheus-checks"},
		{Name: "alert-matchers malformed", Set: map[string]string{"url": url, "prometheus-url": url, "alert-matchers": `namespace=~`}, Input: "alert-matchers"},
		{Name: "alert-matchers on {{.Service}} without service", Set: map[string]string{"url": url, "prometheus-url": url, "alert-matchers": `service="{{.Service}}"`}, Input: "service"},
		{Name: "alert-scope candidate: verify has no candidate colour", Set: map[string]string{"url": url, "prometheus-url": url, "namespace": "production", "service": "fx-platform-service", "alert-scope": "candidate"}, Input: "alert-scope"},
		{Name: "alert-matchers on {{.Color}}: verify has no colour", Set: map[string]string{"url": url, "prometheus-url": url, "namespace": "production", "alert-matchers": `namespace="{{.Namespace}}",color="{{.Color}}"`}, Input: "alert-matchers"},
		{Name: "alert gate without a namespace", Set: map[string]string{"url": url, "prometheus-url": url, "service": "fx-platform-service"}, Input: "namespace"},
		{Name: "alert gate without a namespace or service", Set: map[string]string{"url": url, "prometheus-url": url}, Input: "namespace"},
		{Name: "prometheus-url alone with the alert gate off", Set: map[string]string{"url": url, "prometheus-url": url, "alert-gate": "false"}, Input: "prometheus-checks"},
		{Name: "checks without prometheus-url", Set: map[string]string{"url": url, "prometheus-checks": "- name: x\n  query: up\n  max: 1"}, Input: "prometheus-url"},
		{Name: "relative health path", Set: map[string]string{"url": url, "health-paths": "/api/health\napi/health/database"}, Input: "health-paths"},
		{Name: "load path to another host", Set: map[string]string{"url": url, "load-path": "//evil.test/"}, Input: "load-path"},
		{Name: "zero concurrency", Set: map[string]string{"url": url, "load-concurrency": "0"}, Input: "load-concurrency"},
		{Name: "throughput with no period", Set: map[string]string{"url": url, "min-throughput": "fast"}, Input: "min-throughput"},
		{Name: "nothing to verify", Set: map[string]string{}, Input: "url"},
		{Name: "bad namespace", Set: map[string]string{"url": url, "namespace": "Prod_1"}, Input: "namespace"},
		{Name: "bad deployment name", Set: map[string]string{"url": url, "deployment": "fx_platform"}, Input: "deployment"},
		{Name: "unreadable kubeconfig", Set: map[string]string{"url": url, "deployment": "app", "kubeconfig": "/nonexistent/kubeconfig"}, Input: "kubeconfig"},
		{Name: "unreadable kubeconfig without deployment", Set: map[string]string{"url": url, "kubeconfig": "/nonexistent/kubeconfig"}, Input: "kubeconfig"},
		{Name: "context not in the kubeconfig without deployment", Set: map[string]string{"url": url, "kubeconfig": srv.Kubeconfig(), "context": "prod"}, Input: "context"},
		{Name: "report in a missing directory", Set: map[string]string{"url": url, "report-file": "/nonexistent/dir/r.json"}, Input: "report-file"},
	})
}

func TestAgainstHTTPTest(t *testing.T) {
	srv := healthyServer(t)
	url := srv.URL
	r := actiontest.New(t, map[string]string{"url": url, "load-requests": "200", "load-concurrency": "4",
		"min-throughput": "1/min", "report-file": filepath.Join(t.TempDir(), "report.json")})
	if code := r.Run(context.Background(), spec, run); code != 0 {
		t.Fatalf("exit code %d; errors %q", code, r.Annotations("error"))
	}
	if n := srv.Requests(); n != 203 {
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
