package rollout_test

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// The strategy document's gradual rollout: 10/25/50/100 % with 5, 10 and
// 15 minutes of monitoring, the error rate checked every minute.
func ExamplePromote() {
	var client kubernetes.Interface // from kube.Config.Clientset()
	checks, _ := analysis.ParseChecks(`
- name: error-rate
  query: sum(rate(http_requests_total{version="{{.Color}}",code=~"5.."}[1m])) / sum(rate(http_requests_total{version="{{.Color}}"}[1m]))
  max: 0.1%
  unit: ratio`)
	prom, _ := analysis.NewPrometheus("http://prometheus:9090")
	res, err := rollout.Promote(context.Background(), rollout.Config{
		Target: rollout.Target{App: traffic.App{Namespace: "prod", Service: "fx-platform-service", Deployment: "fx-platform"},
			Client: client, Router: "replicas", Owner: "acme/fx/runs/42", LockTimeout: 10 * time.Minute},
		Image:    "ghcr.io/acme/fx-platform@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		Strategy: rollout.Canary, Steps: []int{10, 25, 50, 100},
		Pauses:   []time.Duration{5 * time.Minute, 10 * time.Minute, 15 * time.Minute},
		Analysis: &analysis.Analysis{Provider: prom, Checks: checks}, AnalysisInterval: time.Minute,
		ScaleDownDelay: 30 * time.Second,
	})
	if err != nil {
		fmt.Println(err) // wraps ErrAborted: traffic is back on the stable colour
		return
	}
	fmt.Println(res.Outcome, res.ActiveColor)
}

// Roll back to whatever the last promotion replaced; the live Service
// remembers it.
func ExampleRollback() {
	var client kubernetes.Interface
	res, err := rollout.Rollback(context.Background(), rollout.RollbackConfig{
		Target: rollout.Target{App: traffic.App{Namespace: "prod", Service: "fx-platform-service", Deployment: "fx-platform"},
			Client: client, Owner: "acme/fx/runs/43", LockTimeout: time.Minute},
		To: "previous", Reason: "p95 over 2s",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.ActiveColor, res.Warm, res.Duration)
}
