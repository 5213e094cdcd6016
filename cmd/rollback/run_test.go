package main

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
)

var (
	imageV1 = "127.0.0.1:5000/fx-platform@sha256:" + strings.Repeat("1", 64)
	imageV2 = "127.0.0.1:5000/fx-platform@sha256:" + strings.Repeat("2", 64)
	imageV3 = "127.0.0.1:5000/fx-platform@sha256:" + strings.Repeat("3", 64)
)

// TestBadInput: every bad input is refused before the first request to
// the cluster (a kubeconfig's API server that counts requests).
func TestBadInput(t *testing.T) {
	cluster := actiontest.NewTLSServer(t, nil)
	actiontest.BadInputs{
		Spec: spec, Run: run,
		Good:    map[string]string{"service": "fx-platform-service", "deployment": "fx-platform", "kubeconfig": cluster.Kubeconfig()},
		Servers: []*actiontest.Server{cluster},
	}.Test(t, []actiontest.BadInput{
		{Name: "to a tag", Set: map[string]string{"to": "127.0.0.1:5000/fx-platform:v1"}, Input: "to"},
		{Name: "to a colour that does not exist", Set: map[string]string{"to": "red"}, Input: "to"},
		{Name: "deployment missing", Set: map[string]string{"deployment": ""}, Input: "deployment"},
		{Name: "zero timeout", Set: map[string]string{"timeout": "0s"}, Input: "timeout"},
		{Name: "preempt not a boolean", Set: map[string]string{"preempt": "maybe"}, Input: "preempt"},
		{Name: "replicas zero", Set: map[string]string{"replicas": "0"}, Input: "replicas"},
		{Name: "replicas with release", Set: map[string]string{"release": "fx-platform-staging", "replicas": "5"}, Input: "replicas"},
		{Name: "replicas not a number", Set: map[string]string{"replicas": "five"}, Input: "replicas"},
		{Name: "replicas above 1000", Set: map[string]string{"replicas": "5000"}, Input: "replicas"},
		{Name: "bad colour label", Set: map[string]string{"color-label": "a b"}, Input: "color-label"},
		{Name: "environment-url not a URL", Set: map[string]string{"environment-url": "fx.example.com"}, Input: "environment-url"},
		{Name: "availability-url not a URL", Set: map[string]string{"availability-url": "169.254.169.254/latest"}, Input: "availability-url"},
		{Name: "availability-rate negative", Set: map[string]string{"availability-rate": "-5"}, Input: "availability-rate"},
		{Name: "min-availability above 100 %", Set: map[string]string{"min-availability": "120"}, Input: "min-availability"},
		{Name: "verify-key not a key, for a digest", Set: map[string]string{"to": "127.0.0.1:5000/fx-platform@sha256:" + strings.Repeat("a", 64), "verify-key": "garbage"}, Input: "verify-key"},
	})
}

// TestReleaseInput checks the inputs of a Helm release rollback: each bad
// one is named in one error, and no request reaches the cluster; good ones
// get as far as the cluster, whose failure is then the one error.
func TestReleaseInput(t *testing.T) {
	cluster := actiontest.NewTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no cluster here", http.StatusServiceUnavailable)
	}))
	actiontest.BadInputs{
		Spec: spec, Run: run,
		Good:    map[string]string{"kubeconfig": cluster.Kubeconfig()},
		Servers: []*actiontest.Server{cluster},
	}.Test(t, []actiontest.BadInput{
		{Name: "negative revision", Set: map[string]string{"release": "fx", "revision": "-1"}, Input: "revision"},
		{Name: "revision not a number", Set: map[string]string{"release": "fx", "revision": "abc"}, Input: "revision"},
		{Name: "revision without release", Set: map[string]string{"service": "fx-platform-service", "deployment": "fx-platform", "revision": "1"}, Input: "revision"},
		{Name: "to a colour with release", Set: map[string]string{"release": "fx", "to": "green"}, Input: "to"},
		{Name: "to a digest with release", Set: map[string]string{"release": "fx", "to": imageV1}, Input: "to"},
		{Name: "bad release name", Set: map[string]string{"release": "FX_staging"}, Input: "release"},
		{Name: "no release and no service", Set: map[string]string{"deployment": "fx-platform"}, Input: "service"},
		{Name: "no release and no deployment", Set: map[string]string{"service": "fx-platform-service"}, Input: "deployment"},
		{Name: "a down migration in shell quotes", Set: map[string]string{"migration-command": `psql -c "DROP TABLE x"`}, Input: "migration-command"},
		{Name: "a down migration that is not JSON", Set: map[string]string{"migration-command": `["migrate", `}, Input: "migration-command"},
		{Name: "an unknown migration-when", Set: map[string]string{"migration-command": "/app/sample-app migrate goto 1", "migration-when": "during"}, Input: "migration-when"},
		{Name: "a zero migration-timeout", Set: map[string]string{"migration-command": "/app/sample-app migrate goto 1", "migration-timeout": "0s"}, Input: "migration-timeout"},
	})

	for _, tc := range []struct {
		name string
		set  map[string]string
	}{
		{"release needs no service or deployment", map[string]string{"release": "fx", "revision": "2"}},
		{"release with to left at previous", map[string]string{"release": "fx", "to": "previous", "revision": "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := cluster.Requests()
			inputs := map[string]string{"kubeconfig": cluster.Kubeconfig()}
			maps.Copy(inputs, tc.set)
			r := actiontest.New(t, inputs)
			if code := r.Run(context.Background(), spec, run); code != 1 {
				t.Fatalf("exit %d, want 1", code)
			}
			errs := r.Annotations("error")
			if len(errs) != 1 {
				t.Fatalf("got errors %q, want one", errs)
			}
			if strings.Contains(errs[0], "input ") || cluster.Requests() == before {
				t.Errorf("got %q after %d requests, want the cluster call to fail", errs[0], cluster.Requests()-before)
			}
		})
	}
}
