package analysis

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/compare"
)

// Status is the outcome of one check.
type Status int

// The outcomes. The zero Status is not a valid outcome, so a Result that
// was never evaluated is not mistaken for a pass.
const (
	Pass Status = iota + 1
	Fail
	Inconclusive
)

func (s Status) String() string {
	switch s {
	case Pass:
		return "pass"
	case Fail:
		return "fail"
	case Inconclusive:
		return "inconclusive"
	}
	return "unknown"
}

// MarshalText writes the status as a word.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Result is the outcome of one check at one time.
type Result struct {
	Name      string
	Query     string // as sent, templates filled
	Status    Status
	Threshold Threshold
	// Value is the measured value in base units; NaN when none was measured.
	Value float64
	// SampleCount is what the samples query counted; NaN without one.
	SampleCount float64
	// Err says why the check is inconclusive; it wraps one of the package's
	// sentinel errors.
	Err error
	At  time.Time
	// Alerts are the alerts an AlertCheck found firing, those that stop
	// the rollout first; nil for other checks.
	Alerts []Alert
	// Comparison is a canary-against-baseline check's report: each
	// metric of both colours, its test and verdict. Its Threshold is the
	// score needed to pass (Unit CanaryScore), its Value the score.
	Comparison *compare.Report
}

// Warnings are the alerts in r.Alerts that do not stop the rollout (not
// critical, or critical out of the check's scope): they fire but do not
// fail the check, and a report lists them.
func (r Result) Warnings() []Alert {
	var out []Alert
	for _, a := range r.Alerts {
		if !a.Stops {
			out = append(out, a)
		}
	}
	return out
}

func (r Result) inconclusive(err error) Result {
	r.Status = Inconclusive
	r.Err = err
	return r
}

// Current writes the measured value for a report ("412 ms"), or why there
// is none. An AlertCheck's value is the alerts firing, warnings too
// ("DeploymentFailure (critical), HighLatency (warning)"), or "none
// firing".
func (r Result) Current() string {
	switch {
	case r.Status == Inconclusive || math.IsNaN(r.Value):
		if r.Err != nil {
			return "no value: " + r.Err.Error()
		}
		return "no value"
	case r.Comparison != nil:
		return fmt.Sprintf("score %s (%s)", trimScore(r.Value), r.Comparison.Verdict)
	case r.Threshold.Unit == CriticalAlerts && len(r.Alerts) == 0:
		return "none firing"
	case r.Threshold.Unit == CriticalAlerts:
		return alertList(r.Alerts)
	}
	return r.Threshold.Unit.Format(r.Value)
}

// Error describes a result that did not pass, wrapping ErrCheckFailed
// (and ErrAlertFiring for an AlertCheck's) or ErrInconclusive (and the
// cause), or returns nil for a pass.
func (r Result) Error() error {
	switch {
	case r.Status == Pass:
		return nil
	case r.Status == Fail && r.Threshold.Unit == CriticalAlerts:
		return fmt.Errorf("%w: %w: %s", ErrCheckFailed, ErrAlertFiring, alertList(stopping(r.Alerts)))
	case r.Status == Fail && r.Comparison != nil:
		return fmt.Errorf("%w: %q: %w", ErrCheckFailed, r.Name, r.Comparison.Err())
	case r.Status == Fail:
		return fmt.Errorf("%w: %q is %s, want %s", ErrCheckFailed, r.Name, r.Current(), r.Threshold)
	}
	if r.Err == nil {
		return fmt.Errorf("%w: %q was not evaluated", ErrInconclusive, r.Name)
	}
	return fmt.Errorf("%w: %q: %w", ErrInconclusive, r.Name, r.Err)
}

// Verdict joins the errors of every result that did not pass; nil when all
// passed. An empty set of results passes: it is the caller's business to
// require checks.
func Verdict(results []Result) error {
	var errs []error
	for _, r := range results {
		if err := r.Error(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// MarshalJSON writes the result for reports: values formatted and raw,
// NaN left out (JSON has no NaN).
func (r Result) MarshalJSON() ([]byte, error) {
	type out struct {
		Name      string    `json:"name"`
		Query     string    `json:"query"`
		Status    Status    `json:"status"`
		Target    string    `json:"target"`
		Value     *float64  `json:"value,omitempty"`
		Current   string    `json:"current"`
		Samples   *float64  `json:"samples,omitempty"`
		Error     string    `json:"error,omitempty"`
		Evaluated time.Time `json:"evaluated"`
		Alerts    []Alert   `json:"alerts,omitempty"`
		// Comparison is a canary-against-baseline check's report.
		Comparison *compare.Report `json:"comparison,omitempty"`
	}
	o := out{Name: r.Name, Query: r.Query, Status: r.Status, Target: r.Threshold.String(),
		Value: finite(r.Value), Current: r.Current(), Samples: finite(r.SampleCount), Evaluated: r.At, Alerts: r.Alerts,
		Comparison: r.Comparison}
	if r.Err != nil {
		o.Error = r.Err.Error()
	}
	return json.Marshal(o)
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func trimScore(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }
