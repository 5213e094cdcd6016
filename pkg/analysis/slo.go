package analysis

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The strategy's service-level objectives, and the metric names most
// instrumentation libraries use (Prometheus client_golang, prom-client,
// micrometer's Prometheus names).
const (
	DefaultRequestsMetric = "http_requests_total"
	DefaultLatencyMetric  = "http_request_duration_seconds"
	DefaultMaxErrorRate   = 0.001
	DefaultMaxP95         = 500 * time.Millisecond
	// DefaultSelector picks the pods of one colour's current release by
	// the labels Prometheus gives pod targets (kubernetes_sd relabelled as
	// usual, or the Prometheus Operator's PodMonitor and ServiceMonitor):
	// namespace and pod, the pod names of the colour's newest ReplicaSet.
	DefaultSelector = `namespace="{{.Namespace}}",pod=~"{{.Pods}}"`
	// MinSLOWindow is the shortest rate window: at the usual scrape
	// intervals a shorter one holds too few points.
	MinSLOWindow = 10 * time.Second
)

// SLO makes the checks a rollout gets when it names none: error rate and
// p95 latency of the colour being measured, from a request counter with a
// status code label and a latency histogram.
type SLO struct {
	RequestsMetric string // a counter labelled with the status code ("code")
	LatencyMetric  string // a histogram, without _bucket
	// Selector is the label matchers of one colour's series, a template
	// over Vars like a check's query.
	Selector     string
	MaxErrorRate float64 // a fraction
	MaxP95       time.Duration
	// Window is the rate window: the analysis interval, MinSLOWindow at
	// the least.
	Window time.Duration
}

var metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// DefaultSLO is the strategy's: at most 0.1 % errors and a p95 under
// 500 ms, from the usual metric names, over window.
func DefaultSLO(window time.Duration) SLO {
	return SLO{RequestsMetric: DefaultRequestsMetric, LatencyMetric: DefaultLatencyMetric, Selector: DefaultSelector,
		MaxErrorRate: DefaultMaxErrorRate, MaxP95: DefaultMaxP95, Window: window}
}

// CheckMetricName reports a string that is not a Prometheus metric name.
func CheckMetricName(s string) error {
	if !metricName.MatchString(s) {
		return fmt.Errorf("%q is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)", s)
	}
	return nil
}

// Checks returns the SLO's checks (DefaultSLO has every field set).
func (s SLO) Checks() ([]Check, error) {
	s.Window = max(s.Window, MinSLOWindow)
	for _, m := range []string{s.RequestsMetric, s.LatencyMetric} {
		if err := CheckMetricName(m); err != nil {
			return nil, err
		}
	}
	if s.MaxErrorRate < 0 || s.MaxErrorRate > 1 || s.MaxP95 < 0 {
		return nil, fmt.Errorf("error rate %v must be between 0 and 1, and latency %v not negative", s.MaxErrorRate, s.MaxP95)
	}
	if err := CheckSelector(s.Selector, SampleVars); err != nil {
		return nil, fmt.Errorf("metrics selector: %w", err)
	}
	w := fmt.Sprintf("%ds", int(s.Window.Round(time.Second).Seconds()))
	all := fmt.Sprintf("%s{%s}", s.RequestsMetric, s.Selector)
	samples := fmt.Sprintf("sum(increase(%s[%s]))", all, w)
	errRate, err := NewCheck("error-rate",
		// No 5xx series is no error, but only where the requests carry a
		// code label at all: a counter labelled otherwise ("status") gives
		// no data, never a 0 % that passes. No requests is no data too
		// (the denominator is empty).
		fmt.Sprintf(`(sum(rate(%[1]s{%[2]s,code=~"5.."}[%[3]s])) or 0 * sum(rate(%[1]s{%[2]s,code=~".+"}[%[3]s]))) / sum(rate(%[4]s[%[3]s]))`, s.RequestsMetric, s.Selector, w, all),
		Threshold{Bound: Max, Value: s.MaxErrorRate, Unit: Ratio}, samples)
	if err != nil {
		return nil, fmt.Errorf("metrics selector: %w", err)
	}
	p95, err := NewCheck("p95-latency",
		fmt.Sprintf(`histogram_quantile(0.95, sum by (le) (rate(%s_bucket{%s}[%s])))`, s.LatencyMetric, s.Selector, w),
		Threshold{Bound: Max, Value: s.MaxP95.Seconds(), Unit: Seconds}, samples)
	if err != nil {
		return nil, fmt.Errorf("metrics selector: %w", err)
	}
	return []Check{errRate, p95}, nil
}

// SampleVars are the values a template is tried with when it is read: a
// colour, and a Deployment name with a dot, as an input may give it.
var SampleVars = Vars{Namespace: "production", Deployment: "fx.platform-blue", Color: "blue", Service: "fx-platform-service", Pods: "fx[.]platform-blue-5d4f8b9c7-[a-z0-9]+"}

var matcher = regexp.MustCompile("^\\s*([a-zA-Z_][a-zA-Z0-9_]*)\\s*(=~|!~|!=|=)\\s*(\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`)\\s*$")

// CheckSelector checks label matchers as PromQL takes them inside braces
// (name="value", name=~'regexp', name!=`raw`, comma-separated), with the
// templates filled in as v fills them: a selector that is not PromQL would
// reach Prometheus only at the first measurement, after the candidate is
// out.
func CheckSelector(selector string, v Vars) error {
	_, err := selectorLabels(selector, v)
	return err
}

// selectorLabels is CheckSelector returning the label names the matchers
// match on, in order.
func selectorLabels(selector string, v Vars) ([]string, error) {
	t, err := parseTemplate("selector", selector)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	if err := t.Execute(&b, v); err != nil {
		return nil, err
	}
	text := b.String()
	var parts []string
	start, quote := 0, byte(0)
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case quote != 0 && c == '\\' && quote != '`':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\'' || c == '`'):
			quote = c
		case quote == 0 && c == ',':
			parts = append(parts, text[start:i])
			start = i + 1
		}
	}
	parts = append(parts, text[start:])
	labels := make([]string, 0, len(parts))
	for _, p := range parts {
		m := matcher.FindStringSubmatch(p)
		if m == nil {
			return nil, fmt.Errorf("%q is not a label matcher (name=\"value\", !=, =~ or !~)", strings.TrimSpace(p))
		}
		value, err := unquote(m[3])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", strings.TrimSpace(p), err)
		}
		if m[2] == "=~" || m[2] == "!~" {
			if _, err := regexp.Compile("^(?:" + value + ")$"); err != nil {
				return nil, fmt.Errorf("%s: %w", strings.TrimSpace(p), err)
			}
		}
		labels = append(labels, m[1])
	}
	return labels, nil
}

// unquote reads a PromQL string: double- or single-quoted with Go's
// escapes, or backquoted and raw.
func unquote(s string) (string, error) {
	switch s[0] {
	case '`':
		return s[1 : len(s)-1], nil
	case '\'':
		inner := strings.ReplaceAll(s[1:len(s)-1], `\'`, `'`)
		return strconv.Unquote(`"` + strings.ReplaceAll(inner, `"`, `\"`) + `"`)
	}
	return strconv.Unquote(s)
}
