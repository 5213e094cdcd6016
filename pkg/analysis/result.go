package analysis

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
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
}

func (r Result) inconclusive(err error) Result {
	r.Status = Inconclusive
	r.Err = err
	return r
}

// Current writes the measured value for a report ("412 ms"), or why there
// is none.
func (r Result) Current() string {
	if r.Status == Inconclusive || math.IsNaN(r.Value) {
		if r.Err != nil {
			return "no value: " + r.Err.Error()
		}
		return "no value"
	}
	return r.Threshold.Unit.Format(r.Value)
}

// Error describes a result that did not pass, wrapping ErrCheckFailed or
// ErrInconclusive (and the cause), or returns nil for a pass.
func (r Result) Error() error {
	switch r.Status {
	case Pass:
		return nil
	case Fail:
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
	}
	o := out{Name: r.Name, Query: r.Query, Status: r.Status, Target: r.Threshold.String(),
		Value: finite(r.Value), Current: r.Current(), Samples: finite(r.SampleCount), Evaluated: r.At}
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
