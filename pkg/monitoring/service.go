package monitoring

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// Service describes one blue-green service: where it runs, how its metrics
// are named and scraped, and the thresholds its alerts fire at. Read a
// values file over Defaults() (fields it leaves out keep their defaults),
// set the names, and Check it; every renderer checks it again.
type Service struct {
	Namespace string `json:"namespace" yaml:"namespace"`
	// Service is the live Service's name (fx-platform-service); the
	// alerts carry it as their service label.
	Service string `json:"service" yaml:"service"`
	// Deployment is the base name of the colours' Deployments,
	// <deployment>-blue and <deployment>-green.
	Deployment string `json:"deployment" yaml:"deployment"`
	// Selector is the labels every pod of the app carries, both colours
	// alike, without the colour label (app: fx-platform). The chart puts
	// the same labels on the live Service and the colours' Services, which
	// the ServiceMonitor selects by them.
	Selector map[string]string `json:"selector" yaml:"selector"`
	// ObjectLabels go on the PrometheusRule and the ServiceMonitor, for a
	// Prometheus that selects them by label (kube-prometheus-stack's
	// release: <name>).
	ObjectLabels map[string]string `json:"objectLabels,omitempty" yaml:"objectLabels,omitempty"`

	MetricsPort    string         `json:"metricsPort" yaml:"metricsPort"` // the Services' port name
	MetricsPath    string         `json:"metricsPath" yaml:"metricsPath"`
	ScrapeInterval model.Duration `json:"scrapeInterval" yaml:"scrapeInterval"`

	// RequestsMetric is a counter of the requests answered, with the
	// status code in the label CodeLabel.
	RequestsMetric string `json:"requestsMetric" yaml:"requestsMetric"`
	CodeLabel      string `json:"codeLabel" yaml:"codeLabel"`
	// LatencyMetric is a histogram of response times in seconds, named
	// without _bucket.
	LatencyMetric string `json:"latencyMetric" yaml:"latencyMetric"`
	// RateWindow is the range of the alerts' rate() (the dashboard uses
	// Grafana's $__rate_interval).
	RateWindow model.Duration `json:"rateWindow" yaml:"rateWindow"`

	Thresholds Thresholds `json:"thresholds" yaml:"thresholds"`
	For        For        `json:"for" yaml:"for"`
	// RunbookURL is where the runbooks are: each alert links to
	// RunbookURL#<alert name in lower case>.
	RunbookURL string `json:"runbookURL" yaml:"runbookURL"`
	// BusinessMetrics get one dashboard panel each.
	BusinessMetrics []BusinessMetric `json:"businessMetrics,omitempty" yaml:"businessMetrics,omitempty"`
}

// Thresholds are the levels the alerts fire above. Ratios are fractions
// (0.01 is 1 %); CPU and memory are of the container's limit.
type Thresholds struct {
	Latency    DurationLevels `json:"latency" yaml:"latency"` // p95
	ErrorRatio Levels         `json:"errorRatio" yaml:"errorRatio"`
	CPU        Levels         `json:"cpu" yaml:"cpu"`
	Memory     Levels         `json:"memory" yaml:"memory"`
}

// Levels is a warning and a critical threshold.
type Levels struct {
	Warning  float64 `json:"warning" yaml:"warning"`
	Critical float64 `json:"critical" yaml:"critical"`
}

// DurationLevels is a warning and a critical threshold in time ("1s").
type DurationLevels struct {
	Warning  model.Duration `json:"warning" yaml:"warning"`
	Critical model.Duration `json:"critical" yaml:"critical"`
}

// For is how long each alert's condition must hold before it fires.
type For struct {
	DeploymentFailure model.Duration `json:"deploymentFailure" yaml:"deploymentFailure"`
	ErrorRate         model.Duration `json:"errorRate" yaml:"errorRate"`
	Latency           model.Duration `json:"latency" yaml:"latency"`
	CPU               model.Duration `json:"cpu" yaml:"cpu"`
	Memory            model.Duration `json:"memory" yaml:"memory"`
}

// BusinessMetric is a dashboard panel of one PromQL query: user logins,
// trades executed. Unit is a Grafana unit ("short", "reqpm",
// "currencyUSD"); empty is Grafana's default.
type BusinessMetric struct {
	Name  string `json:"name" yaml:"name"`
	Query string `json:"query" yaml:"query"`
	Unit  string `json:"unit,omitempty" yaml:"unit,omitempty"`
}

// The metric names most instrumentation libraries use (Prometheus
// client_golang, prom-client, micrometer's Prometheus names), and where
// the runbooks are.
const (
	DefaultRequestsMetric = "http_requests_total"
	DefaultCodeLabel      = "code"
	DefaultLatencyMetric  = "http_request_duration_seconds"
	DefaultRunbookURL     = "https://github.com/fxplatform/deploy-actions/blob/main/README.md"
)

// Defaults is the strategy's alerting: p95 above 1 s warns and above 2 s is
// critical, an error ratio above 1 % and 5 %, CPU and memory above 80 % and
// 90 % of the limit; DeploymentFailure after 2m. Namespace, Service,
// Deployment and Selector are the caller's.
func Defaults() Service {
	return Service{
		Namespace:      "default",
		MetricsPort:    "http",
		MetricsPath:    "/metrics",
		ScrapeInterval: model.Duration(30 * time.Second),
		RequestsMetric: DefaultRequestsMetric,
		CodeLabel:      DefaultCodeLabel,
		LatencyMetric:  DefaultLatencyMetric,
		RateWindow:     model.Duration(5 * time.Minute),
		Thresholds: Thresholds{
			Latency:    DurationLevels{Warning: model.Duration(time.Second), Critical: model.Duration(2 * time.Second)},
			ErrorRatio: Levels{Warning: 0.01, Critical: 0.05},
			CPU:        Levels{Warning: 0.8, Critical: 0.9},
			Memory:     Levels{Warning: 0.8, Critical: 0.9},
		},
		For: For{
			DeploymentFailure: model.Duration(2 * time.Minute),
			ErrorRate:         model.Duration(time.Minute),
			Latency:           model.Duration(3 * time.Minute),
			CPU:               model.Duration(5 * time.Minute),
			Memory:            model.Duration(5 * time.Minute),
		},
		RunbookURL: DefaultRunbookURL,
	}
}

// ParseService reads a values file, YAML or JSON, over Defaults() and
// checks it. A field it does not know is an error, not a value ignored.
func ParseService(data []byte) (Service, error) {
	s, err := DecodeService(data)
	if err != nil {
		return Service{}, err
	}
	if err := s.Check(); err != nil {
		return Service{}, err
	}
	return s, nil
}

// DecodeService is ParseService without the Check, for a caller that sets
// fields of its own (the monitoring action's inputs) before it checks.
func DecodeService(data []byte) (Service, error) {
	s := Defaults()
	if err := yaml.UnmarshalStrict(data, &s); err != nil {
		return Service{}, fmt.Errorf("reading the service: %w", err)
	}
	return s, nil
}

// A FieldError is a bad value in a Service, named by its path in a values
// file ("thresholds.cpu.warning").
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// alertsSuffix makes the PrometheusRule's name of the Deployment's.
const alertsSuffix = "-deployment-alerts"

// Check reports every bad value of s, each a *FieldError, joined.
func (s Service) Check() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	s.checkObjects(bad)
	s.checkMetrics(bad)
	s.Thresholds.check(bad)
	for field, d := range map[string]model.Duration{"for.deploymentFailure": s.For.DeploymentFailure, "for.errorRate": s.For.ErrorRate,
		"for.latency": s.For.Latency, "for.cpu": s.For.CPU, "for.memory": s.For.Memory} {
		if d < 0 {
			bad(field, "%s is negative", time.Duration(d))
		}
	}
	// url.Parse takes spaces in a path; a link in an annotation breaks at
	// them, and the chart refuses them.
	if u, err := url.Parse(s.RunbookURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || strings.ContainsAny(s.RunbookURL, " \t\r\n\v\f") {
		bad("runbookURL", "%q is not an http(s) URL without a #fragment (each alert adds its own) or spaces", s.RunbookURL)
	}
	s.checkBusinessMetrics(bad)
	// Maps are ranged in random order: the same input, the same message.
	slices.SortStableFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

// problem records a bad value of a field.
type problem func(field, format string, args ...any)

// checkObjects checks the names of the objects, as the API server would.
func (s Service) checkObjects(bad problem) {
	name := func(field, v string, rule func(string) []string) {
		if v == "" {
			bad(field, "required")
		} else if problems := rule(v); len(problems) > 0 {
			bad(field, "%q is not valid: %s", v, strings.Join(problems, "; "))
		}
	}
	name("namespace", s.Namespace, validation.IsDNS1123Label)
	name("service", s.Service, validation.IsDNS1035Label)
	if s.Deployment == "" {
		bad("deployment", "required")
	} else if len(s.Deployment) > MaxDeploymentName {
		bad("deployment", "%q is longer than %d characters: the API server cuts the names of %s-green's pods inside the colour, so no query could tell the colours' pods apart", s.Deployment, MaxDeploymentName, s.Deployment)
	} else if problems := validation.IsDNS1123Subdomain(s.Deployment + alertsSuffix); len(problems) > 0 {
		bad("deployment", "%q makes the PrometheusRule's name %q, which is not valid: %s", s.Deployment, s.Deployment+alertsSuffix, strings.Join(problems, "; "))
	}
	labels("selector", s.Selector, bad)
	if len(s.Selector) == 0 {
		bad("selector", "required: the labels of the app's pods and Services (an empty selector selects every Service)")
	}
	labels("objectLabels", s.ObjectLabels, bad)
	name("metricsPort", s.MetricsPort, validation.IsValidPortName)
}

// checkMetrics checks the scrape and the names of the app's metrics.
func (s Service) checkMetrics(bad problem) {
	if !strings.HasPrefix(s.MetricsPath, "/") {
		bad("metricsPath", "%q does not start with /", s.MetricsPath)
	}
	if s.ScrapeInterval <= 0 {
		bad("scrapeInterval", "%s is not positive", s.ScrapeInterval)
	} else if s.RateWindow < 2*s.ScrapeInterval {
		bad("rateWindow", "%s is under two scrape intervals (%s): rate() needs two samples", s.RateWindow, s.ScrapeInterval)
	}
	for field, v := range map[string]string{"requestsMetric": s.RequestsMetric, "latencyMetric": s.LatencyMetric} {
		if !metricName.MatchString(v) {
			bad(field, "%q is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)", v)
		}
	}
	if strings.HasSuffix(s.LatencyMetric, "_bucket") {
		bad("latencyMetric", "%q: name the histogram without _bucket", s.LatencyMetric)
	}
	if !labelName.MatchString(s.CodeLabel) || strings.HasPrefix(s.CodeLabel, "__") {
		bad("codeLabel", "%q is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not __)", s.CodeLabel)
	}
}

// checkBusinessMetrics checks that each makes a panel of its own title.
func (s Service) checkBusinessMetrics(bad problem) {
	titles := map[string]bool{}
	for _, t := range fixedTitles {
		titles[t] = true
	}
	for i, m := range s.BusinessMetrics {
		field := fmt.Sprintf("businessMetrics[%d]", i)
		if strings.TrimSpace(m.Name) == "" {
			bad(field+".name", "required: it is the panel's title")
		} else if titles[m.Name] {
			bad(field+".name", "%q is already the title of a panel", m.Name)
		}
		titles[m.Name] = true
		if strings.TrimSpace(m.Query) == "" {
			bad(field+".query", "required")
		}
	}
}

func (t Thresholds) check(bad problem) {
	if l := t.Latency; l.Warning <= 0 || l.Critical <= 0 {
		bad("thresholds.latency", "warning %s and critical %s must be positive", l.Warning, l.Critical)
	} else if l.Warning >= l.Critical {
		bad("thresholds.latency.warning", "%s is not below critical %s", l.Warning, l.Critical)
	}
	for _, r := range []struct {
		field string
		l     Levels
	}{{"thresholds.errorRatio", t.ErrorRatio}, {"thresholds.cpu", t.CPU}, {"thresholds.memory", t.Memory}} {
		switch {
		case !(r.l.Warning > 0 && r.l.Warning <= 1):
			bad(r.field+".warning", "%v is not a fraction above 0 and at most 1 (0.8 is 80 %%)", r.l.Warning)
		case !(r.l.Critical > 0 && r.l.Critical <= 1):
			bad(r.field+".critical", "%v is not a fraction above 0 and at most 1 (0.9 is 90 %%)", r.l.Critical)
		case r.l.Warning >= r.l.Critical:
			bad(r.field+".warning", "%v is not below critical %v", r.l.Warning, r.l.Critical)
		}
	}
}

// labels reports keys and values the API server would refuse.
func labels(field string, m map[string]string, bad problem) {
	for k, v := range m {
		if problems := validation.IsQualifiedName(k); len(problems) > 0 {
			bad(field, "%q is not a label key: %s", k, strings.Join(problems, "; "))
		}
		if problems := validation.IsValidLabelValue(v); len(problems) > 0 {
			bad(field+"."+k, "%q is not a label value: %s", v, strings.Join(problems, "; "))
		}
	}
}
