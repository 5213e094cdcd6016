package main

import (
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
)

// Hostile review (issue 16): inputs that are accepted at input time but
// cannot work. Each should be one ::error naming the input, with no
// request to the cluster or Prometheus.
func TestHostileBadInput(t *testing.T) {
	cluster, prometheus := actiontest.NewTLSServer(t, nil), actiontest.NewServer(t, nil)
	actiontest.BadInputs{
		Spec: spec, Run: run,
		Good:    withChart(map[string]string{"service": "fx-platform-service", "deployment": "fx-platform", "image": imageV2, "kubeconfig": cluster.Kubeconfig()}),
		Servers: []*actiontest.Server{cluster, prometheus},
	}.Test(t, []actiontest.BadInput{
		// Only the template is parsed (parseSLO wraps it in up{...} and
		// parses that as a text/template, not as PromQL): matchers that are
		// not PromQL reach Prometheus at the first measurement, after the
		// candidate is deployed, and make every measurement inconclusive.
		{Name: "metrics-selector not label matchers", Set: map[string]string{"prometheus-url": prometheus.URL, "metrics-selector": `namespace=production`}, Input: "metrics-selector"},
		{Name: "metrics-selector closing the braces", Set: map[string]string{"prometheus-url": prometheus.URL, "metrics-selector": `namespace="production"}`}, Input: "metrics-selector"},
		// Without Prometheus the probe through preview-url is the only
		// judge of each step; a URL that does not name the colour
		// measures the same Service whichever colour is the candidate, so
		// every other release is judged on the stable colour's answers.
		{Name: "preview-url that does not name the colour judges the probe", Set: map[string]string{"preview-url": "http://fx-preview.production:8080",
			"strategy": "canary", "steps": "34,67,100", "step-pause": "5m"}, Input: "preview-url"},
	})
}
