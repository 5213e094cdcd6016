package analysis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"text/template"
	"time"
)

// DefaultAlertMatchers picks the alerts of one app: its namespace and
// Service, the labels alerting rules keep from the series they fire on
// when Prometheus scrapes the app through a ServiceMonitor or the usual
// kubernetes_sd relabelling.
const DefaultAlertMatchers = `namespace="{{.Namespace}}",service="{{.Service}}"`

// AlertCheckName names the results of an AlertCheck.
const AlertCheckName = "firing-alerts"

// SeverityCritical is the severity label value of an alert that stops a
// rollout; an alert of any other severity, or of none, is a warning.
const SeverityCritical = "critical"

// Alert is one firing alert: one series of Prometheus' ALERTS metric.
type Alert struct {
	Name     string `json:"name"`               // the alertname label
	Severity string `json:"severity,omitempty"` // the severity label; "" when it has none
	// Labels are the series' labels (__name__ left out): the alert's own
	// and those of the series it fired on.
	Labels map[string]string `json:"labels"`
}

// Critical reports whether the alert stops a rollout.
func (a Alert) Critical() bool { return strings.EqualFold(a.Severity, SeverityCritical) }

// String writes the alert for a report: "HighLatency (critical)".
func (a Alert) String() string {
	if a.Severity == "" {
		return a.Name + " (no severity)"
	}
	return fmt.Sprintf("%s (%s)", a.Name, a.Severity)
}

// VectorProvider answers instant queries with a set of series; Prometheus
// is one.
type VectorProvider interface {
	// QueryVector returns the series query selects now: none is an empty
	// result, not an error; a provider that cannot answer is
	// ErrUnavailable.
	QueryVector(ctx context.Context, query string) ([]Sample, error)
}

// AlertCheck asks Prometheus which alerts fire for the app: the series of
// ALERTS{alertstate="firing"} that its label matchers select. Evaluated
// with an Analysis's checks (Analysis.Alerts), it fails a measurement
// when a critical alert fires; Gate asks the same once, before traffic
// moves.
type AlertCheck struct {
	Provider VectorProvider
	// Matchers are PromQL label matchers, a template over Vars like a
	// check's query (DefaultAlertMatchers).
	Matchers string

	matchers *template.Template
}

// NewAlertCheck checks matchers (CheckAlertMatchers) and builds the check.
func NewAlertCheck(p VectorProvider, matchers string) (*AlertCheck, error) {
	if p == nil {
		return nil, errors.New("alert check has no provider")
	}
	if err := CheckAlertMatchers(matchers); err != nil {
		return nil, err
	}
	t, err := parseTemplate("alert matchers", matchers)
	if err != nil {
		return nil, err
	}
	return &AlertCheck{Provider: p, Matchers: matchers, matchers: t}, nil
}

// CheckAlertMatchers checks alert matchers without asking Prometheus: PromQL
// label matchers (CheckSelector), filled with SampleVars, that leave the
// metric name and alertstate to the check, which selects firing ALERTS
// itself (an alertstate="pending" of the user's would select nothing, and
// nothing firing passes).
func CheckAlertMatchers(matchers string) error {
	labels, err := selectorLabels(matchers, SampleVars)
	if err != nil {
		return err
	}
	for _, l := range labels {
		if l == "alertstate" || l == "__name__" {
			return fmt.Errorf("matches on %s, which the check sets itself (ALERTS{alertstate=\"firing\",...})", l)
		}
	}
	return nil
}

// Query returns the query the check sends for v:
// ALERTS{alertstate="firing",<matchers>}.
func (c *AlertCheck) Query(v Vars) (string, error) {
	if c.matchers == nil {
		checked, err := NewAlertCheck(c.Provider, c.Matchers)
		if err != nil {
			return "", err
		}
		c.matchers = checked.matchers
	}
	var b strings.Builder
	if err := c.matchers.Execute(&b, v); err != nil {
		return "", fmt.Errorf("alert matchers: %w", err)
	}
	return fmt.Sprintf(`ALERTS{alertstate="firing",%s}`, b.String()), nil
}

// Firing returns the alerts firing for v, critical ones first, then by
// name; none is an empty list and no error. A provider that cannot answer
// is ErrUnavailable.
func (c *AlertCheck) Firing(ctx context.Context, v Vars) ([]Alert, error) {
	q, err := c.Query(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadQuery, err)
	}
	return c.firing(ctx, q)
}

func (c *AlertCheck) firing(ctx context.Context, query string) ([]Alert, error) {
	series, err := c.Provider.QueryVector(ctx, query)
	if err != nil {
		return nil, err
	}
	alerts := make([]Alert, 0, len(series))
	for _, s := range series {
		labels := maps.Clone(s.Labels)
		delete(labels, "__name__")
		alerts = append(alerts, Alert{Name: labels["alertname"], Severity: labels["severity"], Labels: labels})
	}
	slices.SortStableFunc(alerts, func(a, b Alert) int {
		if a.Critical() != b.Critical() {
			if a.Critical() {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Severity, b.Severity))
	})
	return alerts, nil
}

// Evaluate asks once which alerts fire for v and judges the answer as a
// check's measurement: Fail when a critical alert fires, Pass otherwise
// (the warnings in Result.Alerts), Inconclusive when Prometheus cannot be
// asked. Its Value is the number of critical alerts firing.
func (c *AlertCheck) Evaluate(ctx context.Context, v Vars) Result {
	r := Result{Name: AlertCheckName, Threshold: Threshold{Bound: Max, Value: 0, Unit: CriticalAlerts},
		Value: math.NaN(), SampleCount: math.NaN(), At: time.Now()}
	q, err := c.Query(v)
	if err != nil {
		return r.inconclusive(fmt.Errorf("%w: %w", ErrBadQuery, err))
	}
	r.Query = q
	alerts, err := c.firing(ctx, q)
	if err != nil {
		return r.inconclusive(err)
	}
	r.Alerts = alerts
	r.Value = float64(len(critical(alerts)))
	r.Status = Pass
	if !r.Threshold.Allows(r.Value) {
		r.Status = Fail
	}
	return r
}

// Gate asks once which alerts fire for v, for the moments no measurement
// covers (before a promotion starts, before each traffic step). It
// returns the warnings firing, and an error wrapping ErrAlertFiring that
// names the critical alerts when any fires. When Prometheus cannot be
// asked, the error wraps ErrInconclusive and the cause (ErrUnavailable,
// ErrBadQuery): the caller counts it as it counts an inconclusive
// measurement.
func (c *AlertCheck) Gate(ctx context.Context, v Vars) ([]Alert, error) {
	r := c.Evaluate(ctx, v)
	switch r.Status {
	case Inconclusive:
		return nil, fmt.Errorf("%w: asking which alerts fire: %w", ErrInconclusive, r.Err)
	case Fail:
		return r.Warnings(), fmt.Errorf("%w: %s", ErrAlertFiring, alertList(critical(r.Alerts)))
	}
	return r.Warnings(), nil
}

func critical(alerts []Alert) []Alert {
	var out []Alert
	for _, a := range alerts {
		if a.Critical() {
			out = append(out, a)
		}
	}
	return out
}

// alertList writes alerts for a report, each name and severity once, with
// the number of its series when there are several: "DeploymentFailure
// (critical), HighLatency (warning) ×3".
func alertList(alerts []Alert) string {
	var names []string
	count := map[string]int{}
	for _, a := range alerts {
		s := a.String()
		if count[s] == 0 {
			names = append(names, s)
		}
		count[s]++
	}
	for i, s := range names {
		if n := count[s]; n > 1 {
			names[i] = fmt.Sprintf("%s ×%d", s, n)
		}
	}
	return strings.Join(names, ", ")
}
