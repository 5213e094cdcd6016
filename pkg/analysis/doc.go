// Package analysis measures a release against metric thresholds: checks are
// queries with a max or min bound in a unit, run against a metrics provider
// (Prometheus) and judged pass, fail or inconclusive.
//
// verify runs the checks once after a deployment; promote runs the same
// checks at every traffic step, with query templates filled from the colour,
// namespace and deployment being measured. No data is never a pass: an empty
// result, NaN, too few samples or an unreachable provider is inconclusive,
// and callers treat it as not passing (verify fails; promote counts it
// against its inconclusive limit).
//
// An AlertCheck asks Prometheus which alerts fire for the app (the ALERTS
// series its label matchers select): a critical one fails the measurement,
// and its Gate asks the same once, before traffic moves.
package analysis
