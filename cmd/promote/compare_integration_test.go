//go:build integration

package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
)

// TestCompareAgainstBaseline, on the real node, through the action's
// inputs: a canary 20 % slower than the live release (60 ms against
// 50 ms) passes the fixed SLOs (p95 under 500 ms, no errors) but fails
// compare-metrics, so promote aborts at its first step: exit 1, one error
// naming the latency, blue live, the summary's comparison table with both
// colours' values, and no request of the test's probe through the live
// Service failed.
func TestCompareAgainstBaseline(t *testing.T) {
	app := rollouttest.RealBlueApp(t, 2, rollouttest.Image(t, "v1", "LATENCY=50ms"), "v1")
	slow := rollouttest.Image(t, "v2", "LATENCY=60ms")
	// The colours' own Services, as the reference chart makes them.
	ip := map[string]string{}
	for _, colour := range []string{"blue", "green"} {
		svc, err := app.Client.CoreV1().Services(app.Namespace).Create(context.Background(), &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: rollouttest.Service + "-" + colour},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "fx-platform", "version": colour},
				Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ip[colour] = svc.Spec.ClusterIP
	}
	probe := app.Probe(t)
	r := actiontest.New(t, map[string]string{"namespace": app.Namespace, "service": rollouttest.Service, "deployment": rollouttest.Deployment, "candidate-from": "live",
		"image": slow, "strategy": "canary", "steps": "50,100", "step-pause": "5s", "traffic-router": "replicas",
		"scale-down-delay": "1s", "timeout": "5m", "kubeconfig": app.Kubeconfig, "analysis-interval": "1s",
		"preview-url": fmt.Sprintf(`http://{{if eq .Color "blue"}}%s{{else}}%s{{end}}`, ip["blue"], ip["green"]), "health-paths": "/api/health",
		"probe-requests": "200", "compare-metrics": "latency,error-rate", "compare-path": "/api/strategy"})
	if code := r.Run(context.Background(), spec, run); code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, r.Log.String())
	}
	rollouttest.Settle(t, probe, "v1")
	rollouttest.CheckProbe(t, "the slow canary through the action", probe, "v1", "v2")
	out := r.Outputs()
	if out["result"] != "aborted" || out["steps-completed"] != "0" || out["active-color"] != "blue" {
		t.Errorf("outputs %v; want aborted at the first step, blue live", out)
	}
	if errs := r.Annotations("error"); len(errs) != 1 || !strings.Contains(errs[0], "latency fail") {
		t.Errorf("error annotations %q, want one naming the latency", errs)
	}
	sum := r.Summary()
	for _, part := range []string{"| canary vs baseline | fail |", "Canary against baseline, measurement", "| latency (median) |", "| Mann-Whitney U |", "| error-rate, critical |"} {
		if !strings.Contains(sum, part) {
			t.Errorf("summary lacks %q:\n%s", part, sum)
		}
	}
}
