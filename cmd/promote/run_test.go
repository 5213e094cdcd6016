package main

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/cosign/v2/pkg/cosign"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
)

var (
	imageV1 = "127.0.0.1:5000/fx-platform@sha256:" + strings.Repeat("1", 64)
	imageV2 = "127.0.0.1:5000/fx-platform@sha256:" + strings.Repeat("2", 64)
)

// TestBadInput: every bad input is refused before the first request to
// the cluster (a kubeconfig's API server that counts requests) or to
// Prometheus.
// colourURL is a preview-url that names the colour.
const colourURL = "http://fx-platform-service-{{.Color}}.production"

func TestBadInput(t *testing.T) {
	cluster, prometheus := actiontest.NewTLSServer(t, nil), actiontest.NewServer(t, nil)
	actiontest.BadInputs{
		Spec: spec, Run: run,
		Good:    withChart(map[string]string{"service": "fx-platform-service", "deployment": "fx-platform", "image": imageV2, "kubeconfig": cluster.Kubeconfig()}),
		Servers: []*actiontest.Server{cluster, prometheus},
	}.Test(t, []actiontest.BadInput{
		{Name: "tag-only image refused", Set: map[string]string{"image": "127.0.0.1:5000/fx-platform:v2"}, Input: "image"},
		{Name: "service missing", Set: map[string]string{"service": ""}, Input: "service"},
		{Name: "bad strategy", Set: map[string]string{"strategy": "rolling"}, Input: "strategy"},
		{Name: "unknown router", Set: map[string]string{"traffic-router": "istio"}, Input: "traffic-router"},
		{Name: "service router cannot do canary", Set: map[string]string{"strategy": "canary", "traffic-router": "service"}, Input: "traffic-router"},
		{Name: "steps not ending at 100", Set: map[string]string{"strategy": "canary", "steps": "10,50"}, Input: "steps"},
		{Name: "pause-at not a step", Set: map[string]string{"strategy": "canary", "steps": "10,25,50,100", "pause-at": "30"}, Input: "pause-at"},
		{Name: "pause-at the last step", Set: map[string]string{"strategy": "canary", "pause-at": "100"}, Input: "pause-at"},
		{Name: "pause-at not a number", Set: map[string]string{"strategy": "canary", "pause-at": "half"}, Input: "pause-at"},
		{Name: "pause-at 50 on blue-green", Set: map[string]string{"pause-at": "50"}, Input: "pause-at"},
		{Name: "alert-matchers malformed", Set: map[string]string{"prometheus-url": "http://127.0.0.1:9090", "alert-matchers": `namespace=`}, Input: "alert-matchers"},
		{Name: "alert-matchers on alertstate", Set: map[string]string{"prometheus-url": "http://127.0.0.1:9090", "alert-matchers": `alertstate="pending"`}, Input: "alert-matchers"},
		{Name: "pushgateway-url not a URL", Set: map[string]string{"pushgateway-url": "pushgateway:9091"}, Input: "pushgateway-url"},
		{Name: "pause-timeout zero", Set: map[string]string{"pause-timeout": "0s"}, Input: "pause-timeout"},
		{Name: "pause-timeout negative", Set: map[string]string{"pause-timeout": "-5m"}, Input: "pause-timeout"},
		{Name: "pause-timeout not a duration", Set: map[string]string{"pause-timeout": "soon"}, Input: "pause-timeout"},
		{Name: "webhook-url over plain http to another host", Set: map[string]string{"webhook-url": "http://hooks.example.com/x", "webhook-secret": "s"}, Input: "webhook-url"},
		{Name: "webhook-url without its secret", Set: map[string]string{"webhook-url": "https://hooks.example.com/x"}, Input: "webhook-secret"},
		{Name: "slack-webhook-url not a URL", Set: map[string]string{"slack-webhook-url": "hooks.slack.com/services/T/B/X"}, Input: "slack-webhook-url"},
		{Name: "steps decreasing", Set: map[string]string{"strategy": "canary", "steps": "50,10,100"}, Input: "steps"},
		{Name: "gateway-api without httproute", Set: map[string]string{"strategy": "canary", "traffic-router": "gateway-api"}, Input: "httproute"},
		{Name: "nginx without ingress", Set: map[string]string{"strategy": "canary", "traffic-router": "nginx"}, Input: "ingress"},
		{Name: "bad pause", Set: map[string]string{"step-pause": "5m,soon"}, Input: "step-pause"},
		{Name: "timeout no longer than the strategy's pauses", Set: map[string]string{"strategy": "canary", "step-pause": "5m,10m,15m", "timeout": "30m"}, Input: "timeout"},
		{Name: "timeout shorter than the post-promotion window", Set: map[string]string{"post-promotion-window": "10m", "timeout": "5m"}, Input: "timeout"},
		{Name: "timeout zero", Set: map[string]string{"timeout": "0s"}, Input: "timeout"},
		{Name: "timeout not a duration", Set: map[string]string{"timeout": "soon"}, Input: "timeout"},
		{Name: "health path that is a URL (metadata service)", Set: map[string]string{"preview-url": "http://fx-preview:8080", "health-paths": "/api/health,http://169.254.169.254/latest"}, Input: "health-paths"},
		{Name: "health path with a host", Set: map[string]string{"health-paths": "//169.254.169.254/latest"}, Input: "health-paths"},
		{Name: "health path without a leading slash", Set: map[string]string{"health-paths": "api/health"}, Input: "health-paths"},
		{Name: "checks without prometheus", Set: map[string]string{"analysis-checks": "- {name: e, query: up, max: 1}"}, Input: "prometheus-url"},
		{Name: "bad checks", Set: map[string]string{"analysis-checks": "- {name: e}", "prometheus-url": prometheus.URL}, Input: "analysis-checks"},
		{Name: "bad namespace", Set: map[string]string{"namespace": "Prod_1"}, Input: "namespace"},
		{Name: "negative limit", Set: map[string]string{"failure-limit": "-1"}, Input: "failure-limit"},
		{Name: "environment-url not a URL", Set: map[string]string{"environment-url": "fx.example.com"}, Input: "environment-url"},
		{Name: "availability-url not a URL", Set: map[string]string{"availability-url": "file:///etc/passwd"}, Input: "availability-url"},
		{Name: "availability-rate zero", Set: map[string]string{"availability-rate": "0"}, Input: "availability-rate"},
		{Name: "availability-rate not a number", Set: map[string]string{"availability-rate": "fast"}, Input: "availability-rate"},
		{Name: "availability-rate above 1000", Set: map[string]string{"availability-rate": "5000"}, Input: "availability-rate"},
		{Name: "min-availability above 100 %", Set: map[string]string{"min-availability": "101%"}, Input: "min-availability"},
		{Name: "min-availability not a percentage", Set: map[string]string{"min-availability": "high"}, Input: "min-availability"},
		{Name: "verify-key not a public key", Set: map[string]string{"verify-key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}, Input: "verify-key"},
		{Name: "verify-key a private key file", Set: map[string]string{"verify-key": privateKeyFile(t)}, Input: "verify-key"},
		{Name: "verify-key unknown KMS", Set: map[string]string{"verify-key": "vault://k"}, Input: "verify-key"},
		{Name: "identity without issuer", Set: map[string]string{"verify-certificate-identity": "https://github.com/a/b/.github/workflows/r.yml@refs/tags/v1"}, Input: "verify-certificate-oidc-issuer"},
		{Name: "unknown candidate-from", Set: map[string]string{"candidate-from": "copy"}, Input: "candidate-from"},
		{Name: "no chart to render the candidate from", Set: map[string]string{"chart": ""}, Input: "chart"},
		{Name: "a chart and candidate-from live", Set: map[string]string{"candidate-from": "live"}, Input: "candidate-from"},
		{Name: "chart that does not exist", Set: map[string]string{"chart": "no/such/chart"}, Input: "chart"},
		{Name: "chart without the live Service", Set: map[string]string{"set": ""}, Input: "chart"},
		{Name: "chart whose colour is another release", Set: map[string]string{"release": "trading"}, Input: "chart"},
		{Name: "image key the chart does not read", Set: map[string]string{"image-digest-key": "image.sha"}, Input: "chart"},
		{Name: "release name too long", Set: map[string]string{"release": strings.Repeat("a", 50)}, Input: "release"},
		{Name: "release name not DNS", Set: map[string]string{"release": "Fx_Platform"}, Input: "release"},
		{Name: "values file missing", Set: map[string]string{"values-files": "no/such/values.yaml"}, Input: "values-files"},
		{Name: "set line that sets nothing", Set: map[string]string{"set": "=x"}, Input: "set"},
		{Name: "set-string line that sets nothing", Set: map[string]string{"set-string": "=x"}, Input: "set-string"},
		{Name: "image-tag-key without a tag in the image", Set: map[string]string{"image-tag-key": "image.tag"}, Input: "image"},
		{Name: "chart-version for a local chart", Set: map[string]string{"chart-version": "1.0.0"}, Input: "chart-version"},
		{Name: "max-history negative", Set: map[string]string{"max-history": "-1"}, Input: "max-history"},
		{Name: "canary pauses nothing judges", Set: map[string]string{"strategy": "canary", "steps": "34,67,100", "step-pause": "5m"}, Input: "step-pause"},
		{Name: "post-promotion window nothing judges", Set: map[string]string{"post-promotion-window": "10m"}, Input: "post-promotion-window"},
		{Name: "allow-unmonitored not a boolean", Set: map[string]string{"allow-unmonitored": "maybe"}, Input: "allow-unmonitored"},
		{Name: "requests-metric not a metric name", Set: map[string]string{"prometheus-url": prometheus.URL, "requests-metric": "http-requests"}, Input: "requests-metric"},
		{Name: "latency-metric not a metric name", Set: map[string]string{"prometheus-url": prometheus.URL, "latency-metric": "9_seconds"}, Input: "latency-metric"},
		{Name: "metrics-selector with an unknown field", Set: map[string]string{"prometheus-url": prometheus.URL, "metrics-selector": `pod=~"{{.Colour}}-.*"`}, Input: "metrics-selector"},
		{Name: "max-error-rate above 100 %", Set: map[string]string{"prometheus-url": prometheus.URL, "max-error-rate": "120%"}, Input: "max-error-rate"},
		{Name: "max-p95-latency not a duration", Set: map[string]string{"prometheus-url": prometheus.URL, "max-p95-latency": "5x"}, Input: "max-p95-latency"},
		{Name: "preview-url with an unknown field", Set: map[string]string{"preview-url": "http://fx-{{.Colour}}.production"}, Input: "preview-url"},
		{Name: "preview-url not a template", Set: map[string]string{"preview-url": "http://fx-{{.Color.production"}, Input: "preview-url"},
		{Name: "preview-url that renders a query", Set: map[string]string{"preview-url": "http://fx-{{.Color}}.production/?a=1"}, Input: "preview-url"},
		{Name: "probe-requests zero", Set: map[string]string{"probe-requests": "0"}, Input: "probe-requests"},
		{Name: "replicas router under the chart's autoscaler", Set: map[string]string{"set": "service.name=fx-platform-service", "strategy": "canary", "steps": "34,67,100", "allow-unmonitored": "true"}, Input: "traffic-router"},
		{Name: "values for a chart with candidate-from live", Set: map[string]string{"candidate-from": "live", "chart": "", "set": "", "values-files": "deploy/production.yaml"}, Input: "values-files"},
		{Name: "release with candidate-from live", Set: map[string]string{"candidate-from": "live", "chart": "", "set": "", "release": "fx"}, Input: "release"},
		{Name: "metrics-selector not label matchers", Set: map[string]string{"prometheus-url": prometheus.URL, "metrics-selector": `namespace=production`}, Input: "metrics-selector"},
		{Name: "metrics-selector closing the braces", Set: map[string]string{"prometheus-url": prometheus.URL, "metrics-selector": `namespace="production"}`}, Input: "metrics-selector"},
		{Name: "preview-url that names no colour judging the steps", Set: map[string]string{"preview-url": "http://fx-preview.production:8080",
			"strategy": "canary", "steps": "34,67,100", "step-pause": "5m"}, Input: "preview-url"},
		{Name: "attestations without a key", Set: map[string]string{"verify-attestations": "vuln"}, Input: "verify-attestations"},
		{Name: "compare-metrics unknown", Set: map[string]string{"preview-url": colourURL, "compare-metrics": "latency,cpu"}, Input: "compare-metrics"},
		{Name: "compare-metrics without preview-url", Set: map[string]string{"compare-metrics": "latency"}, Input: "compare-metrics"},
		{Name: "compare-metrics through a preview-url of no colour", Set: map[string]string{"preview-url": "http://fx-preview.production:8080", "prometheus-url": prometheus.URL, "compare-metrics": "latency"}, Input: "preview-url"},
		{Name: "compare-tolerance above 100 %", Set: map[string]string{"preview-url": colourURL, "compare-metrics": "latency", "compare-tolerance": "150%"}, Input: "compare-tolerance"},
		{Name: "compare-tolerance negative", Set: map[string]string{"preview-url": colourURL, "compare-metrics": "latency", "compare-tolerance": "-5%"}, Input: "compare-tolerance"},
		{Name: "compare-confidence 1", Set: map[string]string{"preview-url": colourURL, "compare-metrics": "latency", "compare-confidence": "1"}, Input: "compare-confidence"},
		{Name: "compare-confidence 0", Set: map[string]string{"preview-url": colourURL, "compare-metrics": "latency", "compare-confidence": "0"}, Input: "compare-confidence"},
		{Name: "compare-confidence as a percentage", Set: map[string]string{"preview-url": colourURL, "compare-metrics": "latency", "compare-confidence": "95"}, Input: "compare-confidence"},
		{Name: "compare-confidence not a number", Set: map[string]string{"preview-url": colourURL, "compare-metrics": "latency", "compare-confidence": "high"}, Input: "compare-confidence"},
		{Name: "compare-min-shift negative", Set: map[string]string{"preview-url": colourURL, "compare-metrics": "latency", "compare-min-shift": "-1ms"}, Input: "compare-min-shift"},
		{Name: "compare-min-shift not a duration", Set: map[string]string{"preview-url": colourURL, "compare-metrics": "latency", "compare-min-shift": "1"}, Input: "compare-min-shift"},
		{Name: "compare-min-shift an hour", Set: map[string]string{"preview-url": colourURL, "compare-metrics": "latency", "compare-min-shift": "1h"}, Input: "compare-min-shift"},
		{Name: "compare-min-samples 1", Set: map[string]string{"preview-url": colourURL, "compare-metrics": "latency", "compare-min-samples": "1"}, Input: "compare-min-samples"},
		{Name: "compare-min-samples too few for any difference to be significant", Set: map[string]string{"preview-url": colourURL, "compare-metrics": "latency", "compare-min-samples": "3"}, Input: "compare-min-samples"},
		{Name: "compare-min-samples too few at compare-confidence 0.999", Set: map[string]string{"preview-url": colourURL, "compare-metrics": "latency", "compare-min-samples": "6", "compare-confidence": "0.999"}, Input: "compare-min-samples"},
		{Name: "compare-critical not compared", Set: map[string]string{"preview-url": colourURL, "compare-metrics": "latency", "compare-critical": "error-rate"}, Input: "compare-critical"},
		{Name: "compare-path a URL", Set: map[string]string{"preview-url": colourURL, "compare-metrics": "latency", "compare-path": "http://169.254.169.254/"}, Input: "compare-path"},
		{Name: "compare-metrics through a metrics-selector of no colour", Set: map[string]string{"prometheus-url": prometheus.URL, "compare-metrics": "latency", "metrics-selector": `namespace="production"`}, Input: "metrics-selector"},
		{Name: "compare-path without compare-metrics", Set: map[string]string{"preview-url": colourURL, "compare-path": "/api/quote"}, Input: "compare-path"},
		{Name: "compare-critical without compare-metrics", Set: map[string]string{"preview-url": colourURL, "compare-critical": "latency"}, Input: "compare-critical"},
		{Name: "verification max age in days", Set: map[string]string{"verify-key": publicKey(t), "verify-attestations": "verification", "verify-verification-max-age": "1d"}, Input: "verify-verification-max-age"},
		{Name: "verification max age negative", Set: map[string]string{"verify-key": publicKey(t), "verify-attestations": "verification", "verify-verification-max-age": "-1h"}, Input: "verify-verification-max-age"},
		{Name: "verification environment not a name", Set: map[string]string{"verify-key": publicKey(t), "verify-attestations": "verification", "verify-verification-environment": "staging; prod"}, Input: "verify-verification-environment"},
		{Name: "verification without a key", Set: map[string]string{"verify-attestations": "verification", "verify-verification-environment": "staging"}, Input: "verify-attestations"},
		{Name: "verification max age zero", Set: map[string]string{"verify-key": publicKey(t), "verify-attestations": "verification", "verify-verification-max-age": "0s"}, Input: "verify-verification-max-age"},
		{Name: "verification environment without verification", Set: map[string]string{"verify-key": publicKey(t), "verify-verification-environment": "staging"}, Input: "verify-verification-environment"},
	})
}

// TestDerivedTimeout: the strategy's steps and pauses (10,25,50,100 with
// 5m, 10m and 15m) are accepted with the default timeout, which is derived
// from them; no test waits the 30 minutes. An explicit timeout that leaves
// time for the waits is kept.
func TestDerivedTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  map[string]string
		want time.Duration
	}{
		{"the strategy's canary, default timeout", map[string]string{"strategy": "canary", "steps": "10,25,50,100", "step-pause": "5m,10m,15m"}, 55 * time.Minute},
		{"one pause for every step", map[string]string{"strategy": "canary", "steps": "34,67,100", "step-pause": "1m"}, 2*time.Minute + 4*rollout.WaitAllowance},
		{"blue-green with a post-promotion window", map[string]string{"post-promotion-window": "10m"}, 10*time.Minute + 2*rollout.WaitAllowance},
		{"an explicit timeout that leaves time", map[string]string{"strategy": "canary", "step-pause": "5m,10m,15m", "timeout": "31m"}, 31 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := parsed(t, map[string]string{"allow-unmonitored": "true"}, tc.set)
			if in.Timeout != tc.want {
				t.Errorf("timeout %s, want %s", in.Timeout, tc.want)
			}
		})
	}
}

// TestSLOAnalysisByDefault: a Prometheus and no checks of one's own give
// the strategy's SLO checks; a canary whose pauses are judged by them, or
// by the availability probe, is not refused as unmonitored.
func TestSLOAnalysisByDefault(t *testing.T) {
	for _, tc := range []struct {
		name   string
		set    map[string]string
		checks []string
	}{
		{"prometheus-url alone", map[string]string{"prometheus-url": "http://127.0.0.1:9090"}, []string{"error-rate", "p95-latency"}},
		{"checks of one's own", map[string]string{"prometheus-url": "http://127.0.0.1:9090", "analysis-checks": "- {name: up, query: up, min: 1}"}, []string{"up"}},
		{"only the availability probe", map[string]string{"availability-url": "http://127.0.0.1:1/api/health"}, nil},
		{"a preview-url to probe the candidate through", map[string]string{"preview-url": "http://fx-platform-service-{{.Color}}.production"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := parsed(t, map[string]string{"strategy": "canary", "steps": "34,67,100", "step-pause": "5m"}, tc.set)
			var names []string
			for _, c := range in.AnalysisChecks {
				names = append(names, c.Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.checks, ",") {
				t.Errorf("checks %v, want %v", names, tc.checks)
			}
		})
	}
}

// parsed runs parseInputs on good inputs with sets on top, failing t on
// an input error.
func parsed(t *testing.T, sets ...map[string]string) Inputs {
	t.Helper()
	inputs := withChart(map[string]string{"service": "fx-platform-service", "deployment": "fx-platform", "image": imageV2,
		"kubeconfig": actiontest.NewTLSServer(t, nil).Kubeconfig()})
	for _, set := range sets {
		maps.Copy(inputs, set)
	}
	r := actiontest.New(t, inputs)
	var in Inputs
	if code := r.Run(context.Background(), spec, func(_ context.Context, a *action.Action) (err error) {
		in, err = parseInputs(a)
		return err
	}); code != 0 {
		t.Fatalf("exit %d\n%s", code, r.Log.String())
	}
	return in
}

// withChart adds the reference chart, whose live Service is named as the
// service input says.
func withChart(inputs map[string]string) map[string]string {
	inputs["chart"] = "../../testdata/charts/fx-platform"
	// The chart's autoscaler is off: the canaries here take the replicas
	// router, which an autoscaler would fight (refused, see TestBadInput).
	inputs["set"] = "service.name=fx-platform-service\nautoscaling.enabled=false"
	return inputs
}

// privateKeyFile is a cosign private key on disk: what verify-key gets when
// someone passes cosign.key instead of cosign.pub.
// publicKey is a cosign public key, PEM.
func publicKey(t *testing.T) string {
	t.Helper()
	keys, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	return string(keys.PublicBytes)
}

func privateKeyFile(t *testing.T) string {
	t.Helper()
	keys, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte("pw"), nil })
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cosign.key")
	if err := os.WriteFile(path, keys.PrivateBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
