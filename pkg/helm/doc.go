// Package helm deploys charts with the Helm v4 Go SDK, as `helm upgrade
// --install --wait --rollback-on-failure` does, and what users of that
// command miss: releases a killed run left pending are recovered first,
// the wait ends with the caller's context (SIGINT/SIGTERM) and times each
// object, a failed or interrupted revision is rolled back within the
// runner's grace period, and the rendered manifest is diffed against the
// previous revision. Client.Rollback is `helm rollback --wait` with the
// same timed wait, and a "previous revision" that is never a failed one.
package helm
