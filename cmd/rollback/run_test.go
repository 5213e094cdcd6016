package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

func TestMain(m *testing.M) { os.Exit(rollouttest.Main(m)) }

var (
	imageV1 = "127.0.0.1:5000/fx-platform@sha256:" + strings.Repeat("1", 64)
	imageV2 = "127.0.0.1:5000/fx-platform@sha256:" + strings.Repeat("2", 64)
	imageV3 = "127.0.0.1:5000/fx-platform@sha256:" + strings.Repeat("3", 64)
)

const unreachable = `apiVersion: v1
kind: Config
current-context: x
clusters: [{name: x, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: x, user: {token: t}}]
contexts: [{name: x, context: {cluster: x, user: x}}]
`

func TestBadInput(t *testing.T) {
	tests := []struct {
		name  string
		set   map[string]string
		input string
	}{
		{"to a tag", map[string]string{"to": "127.0.0.1:5000/fx-platform:v1"}, "to"},
		{"to a colour that does not exist", map[string]string{"to": "red"}, "to"},
		{"deployment missing", map[string]string{"deployment": ""}, "deployment"},
		{"zero timeout", map[string]string{"timeout": "0s"}, "timeout"},
		{"bad colour label", map[string]string{"color-label": "a b"}, "color-label"},
		{"environment-url not a URL", map[string]string{"environment-url": "fx.example.com"}, "environment-url"},
		{"availability-url not a URL", map[string]string{"availability-url": "169.254.169.254/latest"}, "availability-url"},
		{"availability-rate negative", map[string]string{"availability-rate": "-5"}, "availability-rate"},
		{"min-availability above 100 %", map[string]string{"min-availability": "120"}, "min-availability"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inputs := map[string]string{"service": "fx-platform-service", "deployment": "fx-platform", "kubeconfig": unreachable}
			for k, v := range tc.set {
				inputs[k] = v
			}
			r := actiontest.New(t, inputs)
			if code := r.Run(context.Background(), spec, run); code != 1 {
				t.Fatalf("exit %d, want 1", code)
			}
			if errs := r.Annotations("error"); len(errs) != 1 || !strings.Contains(errs[0], `"`+tc.input+`"`) {
				t.Fatalf("got %q, want one error naming %q", errs, tc.input)
			}
		})
	}
}

// TestRollback promotes v2 with the library, then rolls back with the
// action: to the previous colour (cold: blue was scaled down), then to an
// image digest (the fast track into the idle colour).
func TestRollback(t *testing.T) {
	c := rollouttest.NewCluster(t)
	ctx := context.Background()
	rollouttest.BlueApp(t, c.Client, c.Namespace, 3, imageV1)
	router, err := traffic.NewRouter("service", traffic.Config{Client: c.Client, Namespace: c.Namespace, Service: rollouttest.Service, Deployment: rollouttest.Deployment})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rollout.Promote(ctx, rollout.Config{Target: rollout.Target{Client: c.Client, Router: router, Namespace: c.Namespace,
		Service: rollouttest.Service, Deployment: rollouttest.Deployment, Owner: "test", Timeout: time.Minute}, Image: imageV2}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		to         string
		wantColour string
		wantImage  string
	}{
		{"previous colour, cold", "previous", "blue", imageV1},
		{"an image digest into the idle colour", imageV3, "green", imageV3},
		{"previous again", "previous", "blue", imageV1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := actiontest.New(t, map[string]string{"namespace": c.Namespace, "service": rollouttest.Service, "deployment": rollouttest.Deployment,
				"to": tc.to, "reason": "test", "kubeconfig": c.Kubeconfig})
			if code := r.Run(ctx, spec, run); code != 0 {
				t.Fatalf("exit %d: %s", code, r.Log.String())
			}
			out := r.Outputs()
			if out["active-color"] != tc.wantColour || out["image"] != tc.wantImage {
				t.Errorf("outputs %v, want active-color %s image %s", out, tc.wantColour, tc.wantImage)
			}
			svc, err := c.Client.CoreV1().Services(c.Namespace).Get(ctx, rollouttest.Service, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := svc.Spec.Selector["version"]; got != tc.wantColour {
				t.Errorf("selector version=%s, want %s", got, tc.wantColour)
			}
			if st := rollout.ReadState(svc); st.Phase != rollout.PhaseRolledBack || st.ActiveImage != tc.wantImage || st.Reason != "test" {
				t.Errorf("recorded %+v", st)
			}
			if !strings.Contains(r.Summary(), "### rollback") {
				t.Errorf("summary: %s", r.Summary())
			}
		})
	}
}

// TestReleaseInput checks the inputs of a Helm release rollback: each bad
// one is named in one error, and no request reaches the cluster.
func TestReleaseInput(t *testing.T) {
	var requests atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "no cluster here", http.StatusServiceUnavailable)
	}))
	defer api.Close()
	kubeconfig := strings.Replace(unreachable, "https://127.0.0.1:1", api.URL, 1)
	tests := []struct {
		name  string
		set   map[string]string
		input string // "" when the inputs are good (the cluster call then fails)
	}{
		{"negative revision", map[string]string{"release": "fx", "revision": "-1"}, "revision"},
		{"revision not a number", map[string]string{"release": "fx", "revision": "abc"}, "revision"},
		{"revision without release", map[string]string{"service": "fx-platform-service", "deployment": "fx-platform", "revision": "1"}, "revision"},
		{"to a colour with release", map[string]string{"release": "fx", "to": "green"}, "to"},
		{"to a digest with release", map[string]string{"release": "fx", "to": imageV1}, "to"},
		{"bad release name", map[string]string{"release": "FX_staging"}, "release"},
		{"no release and no service", map[string]string{"deployment": "fx-platform"}, "service"},
		{"no release and no deployment", map[string]string{"service": "fx-platform-service"}, "deployment"},
		{"release needs no service or deployment", map[string]string{"release": "fx", "revision": "2"}, ""},
		{"release with to left at previous", map[string]string{"release": "fx", "to": "previous", "revision": "0"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			requests.Store(0)
			inputs := map[string]string{"kubeconfig": kubeconfig}
			for k, v := range tc.set {
				inputs[k] = v
			}
			r := actiontest.New(t, inputs)
			if code := r.Run(context.Background(), spec, run); code != 1 {
				t.Fatalf("exit %d, want 1", code)
			}
			errs := r.Annotations("error")
			if len(errs) != 1 {
				t.Fatalf("got errors %q, want one", errs)
			}
			if tc.input == "" {
				if strings.Contains(errs[0], "input ") || requests.Load() == 0 {
					t.Errorf("got %q after %d requests, want the cluster call to fail", errs[0], requests.Load())
				}
				return
			}
			if !strings.Contains(errs[0], `"`+tc.input+`"`) {
				t.Errorf("got %q, want an error naming %q", errs[0], tc.input)
			}
			if n := requests.Load(); n != 0 {
				t.Errorf("%d requests reached the cluster, want none", n)
			}
		})
	}
}
