//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
)

func TestMain(m *testing.M) { os.Exit(rollouttest.Main(m)) }

// TestPromoteBlueGreen runs the action against the sandbox: outputs, the
// summary's timeline and rollback command, and the live Service switched.
func TestPromoteBlueGreen(t *testing.T) {
	c := rollouttest.NewCluster(t)
	client, ns := c.Client, c.Namespace
	ctx := context.Background()
	rollouttest.BlueApp(t, client, ns, 3, imageV1)
	r := actiontest.New(t, map[string]string{"namespace": ns, "service": "fx-platform-service", "deployment": "fx-platform", "candidate-from": "live",
		"image": imageV2, "scale-down-delay": "0s", "kubeconfig": c.Kubeconfig})
	if code := r.Run(ctx, spec, run); code != 0 {
		t.Fatalf("exit %d: %s", code, r.Log.String())
	}
	out := r.Outputs()
	want := map[string]string{"result": "promoted", "active-color": "green", "previous-color": "blue", "image": imageV2, "steps-completed": "1"}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("output %s = %q, want %q", k, out[k], v)
		}
	}
	sum := r.Summary()
	for _, part := range []string{"```mermaid\ngantt", "100 %", "rollback --namespace " + ns} {
		if !strings.Contains(sum, part) {
			t.Errorf("summary lacks %q:\n%s", part, sum)
		}
	}
	svc, err := client.CoreV1().Services(ns).Get(ctx, "fx-platform-service", metav1.GetOptions{})
	if err != nil || svc.Spec.Selector["version"] != "green" || rollout.ReadState(svc).ActiveImage != imageV2 {
		t.Fatalf("service after promote: %+v, %v", svc, err)
	}

	t.Run("same image again is unchanged", func(t *testing.T) {
		r := actiontest.New(t, map[string]string{"namespace": ns, "service": "fx-platform-service", "deployment": "fx-platform", "candidate-from": "live",
			"image": imageV2, "kubeconfig": c.Kubeconfig})
		if code := r.Run(ctx, spec, run); code != 0 || r.Outputs()["result"] != "unchanged" {
			t.Fatalf("exit %d, outputs %v", code, r.Outputs())
		}
	})
}

// TestGitHubDeployment records the promotion as a production GitHub
// Deployment: in_progress, then success with the live colour.
func TestGitHubDeployment(t *testing.T) {
	var mu sync.Mutex
	var got []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		if r.Method == "POST" {
			got = append(got, fmt.Sprintf("%s %v %v", r.URL.Path, body["state"], body["description"]))
		}
		mu.Unlock()
		switch {
		case r.Method == "POST" && r.URL.Path == "/repos/acme/fx/deployments":
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"id": 100}`)
		case r.Method == "GET":
			fmt.Fprint(w, `[]`)
		default:
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"id": 1}`)
		}
	}))
	defer api.Close()
	c := rollouttest.NewCluster(t)
	rollouttest.BlueApp(t, c.Client, c.Namespace, 2, imageV1)
	r := actiontest.New(t, map[string]string{"namespace": c.Namespace, "service": rollouttest.Service, "deployment": rollouttest.Deployment, "candidate-from": "live",
		"image": imageV2, "scale-down-delay": "0s", "kubeconfig": c.Kubeconfig, "github-token": "ghs_test", "environment-url": "https://fx.example.com",
		"availability-url": "none"}) // kwok's pods serve nothing, and fx.example.com is not ours to probe
	r.Env["GITHUB_REPOSITORY"], r.Env["GITHUB_SHA"], r.Env["GITHUB_API_URL"] = "acme/fx", "abc123", api.URL
	if code := r.Run(context.Background(), spec, run); code != 0 {
		t.Fatalf("exit %d: %s", code, r.Log.String())
	}
	want := []string{
		"/repos/acme/fx/deployments <nil> blue-green " + imageV2 + " to fx-platform-service",
		"/repos/acme/fx/deployments/100/statuses in_progress Deploying",
		"/repos/acme/fx/deployments/100/statuses in_progress 100 % traffic on green",
		"/repos/acme/fx/deployments/100/statuses success 100 % traffic on green (promoted)",
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("GitHub calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestCanaryAborted: a canary whose analysis has no usable data is aborted
// at the first step: exit 1, result aborted, blue still live, and the
// summary shows the failing measurement and how to roll back.
func TestCanaryAborted(t *testing.T) {
	c := rollouttest.NewCluster(t)
	ctx := context.Background()
	// 20 replicas: the default steps, 10,25,50,100, are whole replicas of
	// them (on 3 the replicas router refuses them).
	rollouttest.BlueApp(t, c.Client, c.Namespace, 20, imageV1)
	r := actiontest.New(t, map[string]string{"namespace": c.Namespace, "service": rollouttest.Service, "deployment": rollouttest.Deployment, "candidate-from": "live",
		"image": imageV2, "strategy": "canary", "step-pause": "0s", "scale-down-delay": "0s", "kubeconfig": c.Kubeconfig,
		"prometheus-url": c.PrometheusURL, "analysis-interval": "1s",
		"analysis-checks": "- name: error-rate\n  query: sum(http_requests_total{namespace=\"{{.Namespace}}\",version=\"{{.Color}}\",code=~\"5..\"}) / sum(http_requests_total{namespace=\"{{.Namespace}}\",version=\"{{.Color}}\"})\n  max: 0.1%\n  unit: ratio\n"})
	if code := r.Run(ctx, spec, run); code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, r.Log.String())
	}
	out := r.Outputs()
	for k, v := range map[string]string{"result": "aborted", "active-color": "blue", "image": imageV1, "steps-completed": "0"} {
		if out[k] != v {
			t.Errorf("output %s = %q, want %q", k, out[k], v)
		}
	}
	if errs := r.Annotations("error"); len(errs) != 1 || !strings.Contains(errs[0], "rollout aborted") {
		t.Errorf("error annotations %q", errs)
	}
	sum := r.Summary()
	for _, part := range []string{"### promote: aborted", "#### Analysis: 10 %", "| 1 | error-rate | inconclusive |", ":crit,", "--to previous"} {
		if !strings.Contains(sum, part) {
			t.Errorf("summary lacks %q:\n%s", part, sum)
		}
	}
	svc, err := c.Client.CoreV1().Services(c.Namespace).Get(ctx, rollouttest.Service, metav1.GetOptions{})
	if err != nil || svc.Spec.Selector["version"] != "blue" {
		t.Fatalf("service after the abort: %v, %v", svc.Spec.Selector, err)
	}
}

// TestAvailabilityAbortsABadCanary, on the real node: a release that
// answers 5 % of its requests with 500 is promoted as a canary with
// promote's own availability probe through the live Service. Its first step
// (one of three pods) pushes availability below 99.9 %, so promote aborts
// there and reports the failed requests; an independent probe of the test
// sees failures only as 500s from the canary, never a refused or dropped
// connection, and only from while the canary was in the Service.
func TestAvailabilityAbortsABadCanary(t *testing.T) {
	app := rollouttest.RealBlueApp(t, 3, rollouttest.Image(t, "v1"), "v1")
	bad := rollouttest.Image(t, "v2", "ERROR_RATE=0.05")
	probe := app.Probe(t)
	r := actiontest.New(t, map[string]string{"namespace": app.Namespace, "service": rollouttest.Service, "deployment": rollouttest.Deployment, "candidate-from": "live",
		"image": bad, "strategy": "canary", "steps": "34,67,100", "step-pause": "30s", "traffic-router": "replicas",
		"scale-down-delay": "1s", "timeout": "5m", "kubeconfig": app.Kubeconfig,
		"availability-url": app.URL, "availability-rate": "200", "min-availability": "99.9%"})
	if code := r.Run(context.Background(), spec, run); code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, r.Log.String())
	}
	rollouttest.Settle(t, probe, "v1")
	rep := probe.Stop()
	t.Logf("test's probe: %s", rep)
	out := r.Outputs()
	t.Logf("promote's outputs: availability %s %%, %s failed, longest gap %s", out["availability"], out["failed-requests"], out["longest-gap"])
	if out["result"] != "aborted" || out["steps-completed"] != "0" || out["active-color"] != "blue" {
		t.Errorf("outputs %v; want aborted at the first step, blue live", out)
	}
	if avail, err := strconv.ParseFloat(out["availability"], 64); err != nil || avail >= 99.9 {
		t.Errorf("availability output %q, want a percentage below 99.9", out["availability"])
	}
	if n, err := strconv.Atoi(out["failed-requests"]); err != nil || n == 0 {
		t.Errorf("failed-requests output %q, want above 0", out["failed-requests"])
	}
	if errs := r.Annotations("error"); len(errs) != 1 || !strings.Contains(errs[0], "availability") {
		t.Errorf("error annotations %q, want one naming the availability", errs)
	}
	if sum := r.Summary(); !strings.Contains(sum, "### Availability") || !strings.Contains(sum, "| Failed requests | 0 |") {
		t.Errorf("summary lacks the availability KPIs:\n%s", sum)
	}
	// Every failure the test saw is a 500 from the canary, and there are no
	// more of them than the canary's share of the requests while it served.
	if rep.Failed == 0 || rep.Failures["status 500"] != rep.Failed || rep.FailedVersions["v2"] != rep.Failed {
		t.Errorf("failures %v by version %v; want only 500s from v2", rep.Failures, rep.FailedVersions)
	}
	var first, last time.Time
	for _, s := range probe.Samples() {
		if s.Version == "v2" {
			if first.IsZero() {
				first = s.At
			}
			last = s.At
		}
	}
	window := last.Sub(first) + time.Second
	if bound := int(0.34*rollouttest.ProbeRate*window.Seconds()) + 1; rep.Failed > bound {
		t.Errorf("%d failed requests while the canary served for %s; its 34 %% share of %d req/s bounds them at %d", rep.Failed, window, rollouttest.ProbeRate, bound)
	}
}
