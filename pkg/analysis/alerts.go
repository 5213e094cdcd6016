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

// AlertScope says which of the app's critical alerts stop a rollout.
type AlertScope string

const (
	// ScopeApp: every critical alert the matchers select stops it, the
	// stable colour's too: no release starts or goes on while the
	// service is in trouble.
	ScopeApp AlertScope = "app"
	// ScopeCandidate: a critical alert labelled with the other colour
	// (the stable one, whose trouble is not the release's) is reported
	// as a warning; the candidate's and those without a colour label
	// stop it. For a release that is the fix of the stable colour's
	// incident. Without a candidate (Vars.Color empty) it is ScopeApp.
	ScopeCandidate AlertScope = "candidate"
)

// AlertScopes are the scopes, the default first.
var AlertScopes = []AlertScope{ScopeApp, ScopeCandidate}

// LabelColor is the label that says which colour an alert fires on; the
// rules monitoring generates carry it.
const LabelColor = "color"

// Alert is one firing alert: one series of Prometheus' ALERTS metric.
type Alert struct {
	Name     string `json:"name"`               // the alertname label
	Severity string `json:"severity,omitempty"` // the severity label; "" when it has none
	// Labels are the series' labels (__name__ left out): the alert's own
	// and those of the series it fired on.
	Labels map[string]string `json:"labels"`
	// Stops is whether the alert stops the rollout: critical, and in the
	// check's scope.
	Stops bool `json:"stops"`
}

// Critical reports whether the alert's severity is critical.
func (a Alert) Critical() bool { return strings.EqualFold(a.Severity, SeverityCritical) }

// Where names what the alert fires on, from its labels: the pod, else the
// Deployment, else the colour; "" when it has none of them.
func (a Alert) Where() string {
	for _, l := range []struct{ label, what string }{{"pod", "pod"}, {"deployment", "deployment"}, {LabelColor, "colour"}} {
		if v := a.Labels[l.label]; v != "" {
			return l.what + " " + v
		}
	}
	return ""
}

// String writes the alert for a report: "HighLatency (critical) on colour
// green", and "(critical, not stopping)" for a critical alert out of the
// check's scope.
func (a Alert) String() string {
	severity := a.Severity
	switch {
	case severity == "":
		severity = "no severity"
	case a.Critical() && !a.Stops:
		severity += ", not stopping"
	}
	s := fmt.Sprintf("%s (%s)", a.Name, severity)
	if where := a.Where(); where != "" {
		s += " on " + where
	}
	return s
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
	// Scope says which critical alerts stop the rollout: ScopeApp (the
	// default, when empty) or ScopeCandidate, whose candidate is
	// Vars.Color.
	Scope AlertScope

	matchers *template.Template
}

// NewAlertCheck checks matchers (CheckAlertMatchers) and scope, and builds
// the check.
func NewAlertCheck(p VectorProvider, matchers string, scope AlertScope) (*AlertCheck, error) {
	if p == nil {
		return nil, errors.New("alert check has no provider")
	}
	if err := CheckAlertMatchers(matchers); err != nil {
		return nil, err
	}
	if err := CheckAlertScope(scope); err != nil {
		return nil, err
	}
	t, err := parseTemplate("alert matchers", matchers)
	if err != nil {
		return nil, err
	}
	return &AlertCheck{Provider: p, Matchers: matchers, Scope: scope, matchers: t}, nil
}

// CheckAlertScope checks a scope: one of AlertScopes, or "" for ScopeApp.
func CheckAlertScope(scope AlertScope) error {
	if scope != "" && !slices.Contains(AlertScopes, scope) {
		return fmt.Errorf("unknown alert scope %q", scope)
	}
	return nil
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
		checked, err := NewAlertCheck(c.Provider, c.Matchers, c.Scope)
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

// Firing returns the alerts firing for v, those that stop the rollout
// first, then by name and place; none is an empty list and no error. A
// provider that cannot answer is ErrUnavailable.
func (c *AlertCheck) Firing(ctx context.Context, v Vars) ([]Alert, error) {
	q, err := c.Query(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadQuery, err)
	}
	return c.firing(ctx, q, v)
}

func (c *AlertCheck) firing(ctx context.Context, query string, v Vars) ([]Alert, error) {
	series, err := c.Provider.QueryVector(ctx, query)
	if err != nil {
		return nil, err
	}
	alerts := make([]Alert, 0, len(series))
	for _, s := range series {
		labels := maps.Clone(s.Labels)
		delete(labels, "__name__")
		a := Alert{Name: labels["alertname"], Severity: labels["severity"], Labels: labels}
		// Without a candidate colour (verify's) there is no other colour
		// to spare: every critical alert stops, as in ScopeApp.
		a.Stops = a.Critical() && (c.Scope != ScopeCandidate || v.Color == "" || labels[LabelColor] == "" || labels[LabelColor] == v.Color)
		alerts = append(alerts, a)
	}
	slices.SortStableFunc(alerts, func(a, b Alert) int {
		if a.Stops != b.Stops {
			if a.Stops {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Severity, b.Severity), cmp.Compare(a.Where(), b.Where()))
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
	alerts, err := c.firing(ctx, q, v)
	if err != nil {
		return r.inconclusive(err)
	}
	r.Alerts = alerts
	r.Value = float64(len(stopping(alerts)))
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
		return r.Warnings(), fmt.Errorf("%w: %s", ErrAlertFiring, alertList(stopping(r.Alerts)))
	}
	return r.Warnings(), nil
}

// stopping is the alerts that stop the rollout.
func stopping(alerts []Alert) []Alert {
	var out []Alert
	for _, a := range alerts {
		if a.Stops {
			out = append(out, a)
		}
	}
	return out
}

// maxListed is how many different alerts a report names before it counts
// the rest.
const maxListed = 5

// alertList writes alerts for a report, each name, severity and place
// once, with the number of its series when there are several (an alert
// without a place label on several series), and the number left over
// beyond maxListed: "DeploymentFailure (critical) on deployment
// fx-platform-green, HighLatency (warning) ×3".
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
	if len(names) > maxListed {
		names = append(names[:maxListed], fmt.Sprintf("and %d more", len(names)-maxListed))
	}
	return strings.Join(names, ", ")
}
