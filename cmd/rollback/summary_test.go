package main

import (
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/helm"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// TestSummary compares the colour rollback's step summary with
// testdata/summary-*.md.
func TestSummary(t *testing.T) {
	in := Inputs{App: traffic.App{Namespace: "production", Service: "fx-platform-service", Deployment: "fx-platform"}, Reason: "p95 over 2s"}
	started := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		res    *rollout.RollbackResult
		golden string
	}{
		{"warm, to the previous colour", &rollout.RollbackResult{ActiveColor: "blue", Image: imageV1, From: "green", Warm: true,
			Switched: started.Add(150 * time.Millisecond), Started: started, Duration: 1234567 * time.Microsecond}, "summary-warm.md"},
		{"cold, scaled up first", &rollout.RollbackResult{ActiveColor: "blue", Image: imageV1, From: "green",
			Switched: started.Add(40 * time.Second), Started: started, Duration: 41 * time.Second}, "summary-cold.md"},
		{"unchanged", &rollout.RollbackResult{ActiveColor: "blue", Image: imageV1, From: "blue", Warm: true, Unchanged: true,
			Started: started, Duration: 80 * time.Millisecond}, "summary-unchanged.md"},
		{"a running promote stopped", &rollout.RollbackResult{ActiveColor: "blue", Image: imageV1, From: "green", Warm: true,
			Preempted: "acme/fx/runs/41", Stopped: "the promotion of " + imageV2 + " to green stopped; traffic is back on blue",
			Switched: started.Add(700 * time.Millisecond), Started: started, Duration: 3 * time.Second}, "summary-preempted.md"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			actiontest.CheckGolden(t, tc.golden, summary(in, tc.res))
		})
	}
}

// TestReleaseSummary compares a Helm release rollback's step summary with
// testdata/summary-release-*.md.
func TestReleaseSummary(t *testing.T) {
	in := Inputs{App: traffic.App{Namespace: "staging"}, Release: "fx-platform-staging", Reason: "bad config"}
	tests := []struct {
		name   string
		res    *helm.RollbackResult
		took   time.Duration
		golden string
	}{
		{"deployed", &helm.RollbackResult{Release: "fx-platform-staging", Namespace: "staging", From: 5, To: 4, Revision: 6, Status: "deployed",
			Image: imageV1}, 8765 * time.Millisecond, "summary-release-deployed.md"},
		{"failed, no image in the values", &helm.RollbackResult{Release: "fx-platform-staging", Namespace: "staging", From: 5, To: 3, Revision: 6, Status: "failed"},
			5 * time.Minute, "summary-release-failed.md"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			actiontest.CheckGolden(t, tc.golden, releaseSummary(in, tc.res, tc.took))
		})
	}
}
