package main

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/helm"
)

// TestSummary compares the step summary with testdata/summary-*.md.
func TestSummary(t *testing.T) {
	image, err := name.NewDigest("127.0.0.1:5000/fx-platform@" + digest)
	if err != nil {
		t.Fatal(err)
	}
	in := Inputs{Release: "fx-platform-staging", Image: &image}
	upgraded := func() *helm.Result {
		return &helm.Result{
			Release: "fx-platform-staging", Namespace: "staging", Revision: 4, Status: "deployed",
			ChartName: "fx-platform", ChartVersion: "0.3.0", AppVersion: "1.2.3",
			Manifest: "kind: Deployment\n", PreviousRevision: 3,
			Changes: []helm.ResourceChange{
				{Change: helm.Added, Kind: "ConfigMap", Namespace: "staging", Name: "fx-platform-flags"},
				{Change: helm.Changed, Kind: "Deployment", Namespace: "staging", Name: "fx-platform",
					Diff: "@@ -1 +1 @@\n-image: fx-platform@sha256:1111\n+image: fx-platform@sha256:2222\n"},
				{Change: helm.Changed, Kind: "Secret", Namespace: "staging", Name: "fx-platform-db"},
				{Change: helm.Removed, Kind: "Service", Namespace: "staging", Name: "fx-platform-old"},
			},
			Waited: []helm.WaitedObject{
				{Kind: "Deployment", Namespace: "staging", Name: "fx-platform", Ready: true, After: 12345 * time.Millisecond, Status: "Current", Message: "Deployment is available. Replicas: 3"},
				{Kind: "Service", Namespace: "staging", Name: "fx-platform-service", Ready: true, Status: "Current", Message: "Service is ready"},
			},
			WaitTook: 12400 * time.Millisecond,
		}
	}
	failed := upgraded()
	failed.Status, failed.RolledBackTo, failed.RollbackRevision = "failed", 3, 5
	failed.Waited[0] = helm.WaitedObject{Kind: "Deployment", Namespace: "staging", Name: "fx-platform", Status: "InProgress", Message: "Available: 1/3"}
	recovered := upgraded()
	recovered.Recovery = &helm.Recovery{StuckRevision: 2, StuckStatus: "pending-upgrade", RolledBackTo: 1, NewRevision: 3}
	interrupted := upgraded()
	interrupted.Interrupted, interrupted.Status, interrupted.RolledBackTo, interrupted.RollbackRevision = true, "failed", 3, 5
	installFailed := &helm.Result{Release: "fx-platform-staging", Namespace: "staging", Revision: 1, Status: "failed",
		ChartName: "fx-platform", ChartVersion: "0.3.0", Manifest: "kind: Deployment\n", Uninstalled: true}
	dryIn := in
	dryIn.DryRun = true
	dry := upgraded()
	dry.Waited, dry.WaitTook, dry.Status = nil, 0, "pending-upgrade"

	tests := []struct {
		name   string
		in     Inputs
		res    *helm.Result
		err    error
		golden string
	}{
		{"upgraded", in, upgraded(), nil, "summary-upgraded.md"},
		{"failed and rolled back", in, failed, errors.New("waiting for the release: context deadline exceeded"), "summary-rolled-back.md"},
		{"stuck release recovered first", in, recovered, nil, "summary-recovered.md"},
		{"interrupted", in, interrupted, errors.New("interrupted: context canceled"), "summary-interrupted.md"},
		{"failed first install uninstalled", in, installFailed, errors.New("waiting for the release: context deadline exceeded"), "summary-uninstalled.md"},
		{"dry run", dryIn, dry, nil, "summary-dry-run.md"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			actiontest.CheckGolden(t, tc.golden, summary(tc.in, tc.res, tc.err))
		})
	}
}
