package monitoring_test

import (
	"fmt"
	"log"

	"github.com/fxplatform/deploy-actions/pkg/monitoring"
)

func ExampleParseService() {
	s, err := monitoring.ParseService([]byte(`
namespace: production
service: fx-platform-service
deployment: fx-platform
selector: {app: fx-platform}
businessMetrics:
  - name: Trades executed
    query: sum(rate(trades_executed_total{namespace="production"}[5m])) * 60
    unit: short
`))
	if err != nil {
		log.Fatal(err)
	}
	rule, err := monitoring.PrometheusRule(s)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rule.Name)
	for _, r := range rule.Spec.Groups[0].Rules {
		fmt.Println(r.Alert, r.Labels["severity"], *r.For)
	}
	d, err := monitoring.Dashboard(s)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(monitoring.PanelTitles(d))
	// Output:
	// fx-platform-deployment-alerts
	// DeploymentFailure critical 2m
	// HighErrorRate warning 1m
	// HighErrorRate critical 1m
	// HighLatency warning 3m
	// HighLatency critical 3m
	// HighCPU warning 5m
	// HighCPU critical 5m
	// HighMemory warning 5m
	// HighMemory critical 5m
	// [Live colour Step weight Rollout phase Last rollout result Last rollout duration Running rollout silent for Response time Error rate Throughput CPU of limit Memory of limit Trades executed]
}

func ExampleService_Check() {
	s := monitoring.Defaults()
	s.Namespace, s.Service, s.Deployment = "production", "fx-platform-service", "fx-platform"
	s.Selector = map[string]string{"app": "fx-platform"}
	s.Thresholds.ErrorRatio.Warning = 5 // a percentage, where a fraction belongs
	fmt.Println(s.Check())
	// Output:
	// thresholds.errorRatio.warning: 5 is not a fraction above 0 and at most 1 (0.8 is 80 %)
}
