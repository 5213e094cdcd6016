package analysis

import "errors"

// Why a check is inconclusive. A Result with Status Inconclusive carries
// one of these (wrapped) in Err, so callers can branch with errors.Is.
var (
	// ErrNoData: the query returned an empty result.
	ErrNoData = errors.New("no data")
	// ErrNaN: the query returned NaN (for example 0/0: no requests at all).
	ErrNaN = errors.New("value is NaN")
	// ErrTooFewSamples: the check's samples query counted fewer requests
	// than the minimum, so the value says too little to pass.
	ErrTooFewSamples = errors.New("too few samples")
	// ErrUnavailable: the provider could not be reached, timed out or
	// answered with a server error.
	ErrUnavailable = errors.New("metrics provider unavailable")
	// ErrBadQuery: the provider refused or could not execute the query.
	ErrBadQuery = errors.New("bad query")
	// ErrNotScalar: the query returned more than one series, or a type
	// other than a scalar or a one-element vector.
	ErrNotScalar = errors.New("result is not a single value")
	// ErrNotVector: a query asked for a set of series returned a scalar, a
	// string or a range vector.
	ErrNotVector = errors.New("result is not an instant vector")
)

// Outcomes of a set of checks, as returned by Verdict.
var (
	// ErrCheckFailed: a value was measured and it is outside its bound.
	ErrCheckFailed = errors.New("check failed")
	// ErrInconclusive: a value could not be measured.
	ErrInconclusive = errors.New("check inconclusive")
	// ErrAlertFiring: a critical alert fires for the app (AlertCheck).
	ErrAlertFiring = errors.New("critical alert firing")
)
