//go:build integration

package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
)

// testMain runs the tests with the sandbox (shared with TestMain's unit
// tests, which need none).
func testMain(m *testing.M) int { return rollouttest.Main(m) }

// verify on the real node, with the alert gate: the app passes while no
// alert of its service fires; a critical one fails it, naming the alert,
// and a warning is reported without failing it.
func TestVerifyAlertGate(t *testing.T) {
	app := rollouttest.RealBlueApp(t, 1, rollouttest.Image(t, "v1"), "v1")
	verify := func(t *testing.T) (*actiontest.Runner, int) {
		r := actiontest.New(t, map[string]string{"url": strings.TrimSuffix(app.URL, "/api/strategy"), "prometheus-url": app.PrometheusURL,
			"namespace": app.Namespace, "service": rollouttest.Service, "load-requests": "0"})
		return r, r.Run(context.Background(), spec, run)
	}
	if r, code := verify(t); code != 0 {
		t.Fatalf("with no alert firing: exit %d: %s", code, r.Log.String())
	}
	rule := func(name, severity string) []byte {
		return []byte(fmt.Sprintf(`groups:
  - name: %[1]s
    rules:
      - alert: %[1]s
        expr: vector(1) > 0
        labels: {namespace: %[2]q, service: %[3]q, severity: %[4]s}
`, name, app.Namespace, rollouttest.Service, severity))
	}
	firing := func(name string) {
		prom, err := analysis.NewPrometheus(app.PrometheusURL)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for {
			v, err := prom.QueryVector(context.Background(), fmt.Sprintf(`ALERTS{alertstate="firing",alertname=%q}`, name))
			if err == nil && len(v) == 1 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never fired: %v, %v", name, v, err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	app.AddRules(t, app.Namespace+"-warning", rule("VerifyTestWarning", "warning"))
	firing("VerifyTestWarning")
	if r, code := verify(t); code != 0 || !strings.Contains(r.Summary(), "VerifyTestWarning (warning)") {
		t.Errorf("with a warning firing: exit %d, want 0 and the warning in the summary:\n%s", code, r.Summary())
	}
	app.AddRules(t, app.Namespace+"-critical", rule("VerifyTestCritical", "critical"))
	firing("VerifyTestCritical")
	r, code := verify(t)
	if errs := r.Annotations("error"); code != 1 || len(errs) != 1 || !strings.Contains(errs[0], "VerifyTestCritical (critical)") {
		t.Errorf("with a critical alert firing: exit %d, errors %q; want 1 and one naming the alert", code, errs)
	}
}
