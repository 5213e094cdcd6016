package monitoring

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// fxPlatform is the strategy's service, as the tests render it.
func fxPlatform() Service {
	s := Defaults()
	s.Namespace, s.Service, s.Deployment = "production", "fx-platform-service", "fx-platform"
	s.Selector = map[string]string{"app": "fx-platform"}
	return s
}

func TestDefaultsNeedTheNames(t *testing.T) {
	err := Defaults().Check()
	for _, field := range []string{"service", "deployment", "selector"} {
		if !strings.Contains(err.Error(), field+": required") {
			t.Errorf("Defaults().Check() = %v, want %q required", err, field)
		}
	}
	if err := fxPlatform().Check(); err != nil {
		t.Errorf("the defaults with the names set: %v", err)
	}
}

func TestCheckRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Service)
		field  string // the field the error names
	}{
		{"namespace not a DNS label", func(s *Service) { s.Namespace = "Production" }, "namespace"},
		{"service with a dot", func(s *Service) { s.Service = "fx.platform" }, "service"},
		{"deployment too long for its alerts' name", func(s *Service) { s.Deployment = strings.Repeat("a", 240) }, "deployment"},
		{"selector key", func(s *Service) { s.Selector = map[string]string{"app name": "fx"} }, "selector"},
		{"selector value", func(s *Service) { s.Selector = map[string]string{"app": "fx platform"} }, "selector.app"},
		{"object label key", func(s *Service) { s.ObjectLabels = map[string]string{"-release": "prom"} }, "objectLabels"},
		{"metrics port is a number", func(s *Service) { s.MetricsPort = "8080" }, "metricsPort"},
		{"metrics path relative", func(s *Service) { s.MetricsPath = "metrics" }, "metricsPath"},
		{"scrape interval zero", func(s *Service) { s.ScrapeInterval = 0 }, "scrapeInterval"},
		{"requests metric with a dash", func(s *Service) { s.RequestsMetric = "http-requests-total" }, "requestsMetric"},
		{"latency metric with a brace", func(s *Service) { s.LatencyMetric = `latency{job="x"}` }, "latencyMetric"},
		{"latency metric with _bucket", func(s *Service) { s.LatencyMetric = "http_request_duration_seconds_bucket" }, "latencyMetric"},
		{"code label with a dash", func(s *Service) { s.CodeLabel = "status-code" }, "codeLabel"},
		{"code label reserved", func(s *Service) { s.CodeLabel = "__code" }, "codeLabel"},
		{"rate window of one scrape", func(s *Service) { s.RateWindow = s.ScrapeInterval }, "rateWindow"},
		{"latency warning above critical", func(s *Service) { s.Thresholds.Latency.Warning = model.Duration(3 * time.Second) }, "thresholds.latency.warning"},
		{"latency zero", func(s *Service) { s.Thresholds.Latency.Critical = 0 }, "thresholds.latency"},
		{"error ratio in percent", func(s *Service) { s.Thresholds.ErrorRatio.Critical = 5 }, "thresholds.errorRatio.critical"},
		{"error ratio warning negative", func(s *Service) { s.Thresholds.ErrorRatio.Warning = -0.01 }, "thresholds.errorRatio.warning"},
		{"error ratio warning above critical", func(s *Service) { s.Thresholds.ErrorRatio.Warning = 0.06 }, "thresholds.errorRatio.warning"},
		{"cpu warning equal to critical", func(s *Service) { s.Thresholds.CPU.Warning = 0.9 }, "thresholds.cpu.warning"},
		{"cpu above the limit", func(s *Service) { s.Thresholds.CPU.Critical = 1.5 }, "thresholds.cpu.critical"},
		{"memory warning above critical", func(s *Service) { s.Thresholds.Memory = Levels{Warning: 0.95, Critical: 0.9} }, "thresholds.memory.warning"},
		{"for negative", func(s *Service) { s.For.DeploymentFailure = model.Duration(-time.Minute) }, "for.deploymentFailure"},
		{"runbook not a URL", func(s *Service) { s.RunbookURL = "README.md" }, "runbookURL"},
		{"runbook with a fragment", func(s *Service) { s.RunbookURL = DefaultRunbookURL + "#runbooks" }, "runbookURL"},
		{"business metric without a name", func(s *Service) { s.BusinessMetrics = []BusinessMetric{{Query: "up"}} }, "businessMetrics[0].name"},
		{"business metric without a query", func(s *Service) { s.BusinessMetrics = []BusinessMetric{{Name: "Trades"}} }, "businessMetrics[0].query"},
		{"business metrics of one name", func(s *Service) {
			s.BusinessMetrics = []BusinessMetric{{Name: "Trades", Query: "a"}, {Name: "Trades", Query: "b"}}
		}, "businessMetrics[1].name"},
		{"business metric named as a panel", func(s *Service) { s.BusinessMetrics = []BusinessMetric{{Name: "Error rate", Query: "a"}} }, "businessMetrics[0].name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := fxPlatform()
			tc.change(&s)
			err := s.Check()
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Check() = %v, want a *FieldError", err)
			}
			if !strings.HasPrefix(err.Error(), tc.field+": ") {
				t.Errorf("Check() = %q, want it to name %q", err, tc.field)
			}
			// Every renderer refuses what Check refuses.
			if _, err := PrometheusRule(s); err == nil {
				t.Error("PrometheusRule rendered it")
			}
			if _, err := ServiceMonitor(s); err == nil {
				t.Error("ServiceMonitor rendered it")
			}
			if _, err := Dashboard(s); err == nil {
				t.Error("Dashboard rendered it")
			}
		})
	}
}

func TestParseService(t *testing.T) {
	got, err := ParseService([]byte(`
namespace: production
service: fx-platform-service
deployment: fx-platform
selector: {app: fx-platform}
thresholds:
  latency: {warning: 800ms, critical: 1500ms}
  cpu: {warning: 0.7, critical: 0.85}
for:
  deploymentFailure: 3m
businessMetrics:
  - name: Trades executed
    query: sum(rate(trades_executed_total[5m]))
    unit: short
`))
	if err != nil {
		t.Fatal(err)
	}
	want := fxPlatform()
	want.Thresholds.Latency = DurationLevels{Warning: model.Duration(800 * time.Millisecond), Critical: model.Duration(1500 * time.Millisecond)}
	want.Thresholds.CPU = Levels{Warning: 0.7, Critical: 0.85}
	want.For.DeploymentFailure = model.Duration(3 * time.Minute)
	want.BusinessMetrics = []BusinessMetric{{Name: "Trades executed", Query: "sum(rate(trades_executed_total[5m]))", Unit: "short"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseService:\n got %+v\nwant %+v", got, want)
	}

	for name, text := range map[string]string{
		"unknown field":  "namespace: production\nservice: s\ndeployment: d\nselector: {app: a}\nthreshold: {}\n",
		"bad duration":   "namespace: production\nservice: s\ndeployment: d\nselector: {app: a}\nrateWindow: five minutes\n",
		"fails Check":    "namespace: production\nservice: s\ndeployment: d\n",
		"not an object":  "- a\n",
		"list as a name": "namespace: [a]\nservice: s\ndeployment: d\nselector: {app: a}\n",
	} {
		if _, err := ParseService([]byte(text)); err == nil {
			t.Errorf("%s: ParseService(%q) gave no error", name, text)
		}
	}
}

// DecodeService reads what ParseService reads, names left out included,
// and refuses the same unknown fields.
func TestDecodeService(t *testing.T) {
	got, err := DecodeService([]byte("namespace: production\nthresholds: {cpu: {warning: 0.7, critical: 0.85}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.Namespace, want.Thresholds.CPU = "production", Levels{Warning: 0.7, Critical: 0.85}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeService:\n got %+v\nwant %+v", got, want)
	}
	if _, err := DecodeService([]byte("threshold: {}\n")); err == nil {
		t.Error("DecodeService read an unknown field")
	}
}

func FuzzParseService(f *testing.F) {
	f.Add([]byte("namespace: production\nservice: s\ndeployment: d\nselector: {app: a}\n"))
	f.Add([]byte(`{"service":"s","deployment":"d.e","selector":{"app":"a"},"businessMetrics":[{"name":"x","query":"up"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseService(data)
		if err != nil {
			return
		}
		// What parses renders.
		if _, err := Files(s); err != nil {
			t.Fatalf("ParseService(%q) passed, but rendering failed: %v", data, err)
		}
	})
}
