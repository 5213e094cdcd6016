package main

import (
	"slices"

	"github.com/fxplatform/deploy-actions/cmd/internal/availability"
	"github.com/fxplatform/deploy-actions/cmd/internal/cluster"
	"github.com/fxplatform/deploy-actions/cmd/internal/gate"
	"github.com/fxplatform/deploy-actions/cmd/internal/ghdeploy"
	"github.com/fxplatform/deploy-actions/cmd/internal/notify"
	progressgw "github.com/fxplatform/deploy-actions/cmd/internal/progress"
	"github.com/fxplatform/deploy-actions/pkg/action"
)

var spec = &action.Spec{
	Name:        "rollback",
	Description: "Switch the live Service back to the previous colour (scaling it up first if it was scaled down), to a named colour, or to an image digest put into the idle colour; records the rollback on the Service. With release, roll a Helm release back to an earlier revision instead (staging).",
	Inputs: append([]action.Input{
		{Name: "namespace", Default: "default", Description: "Namespace of the Service and Deployments, or of the Helm release."},
		{Name: "service", Description: "The live Service. Required unless release is set."},
		{Name: "deployment", Description: "Deployment base name: the colours are <deployment>-blue and <deployment>-green. Required unless release is set."},
		{Name: "color-label", Default: "version", Description: "Label that tells the colours apart."},
		{Name: "container", Description: "Container whose image is set when to is an image (default: the only one)."},
		{Name: "to", Default: "previous", Description: "previous (the colour recorded by the last promote), blue, green, or an image repo@sha256:... (the fast track, no analysis). Must stay previous with release (use revision)."},
		{Name: "release", Description: "A Helm release to roll back instead of switching colours: service, deployment and to are then not used."},
		{Name: "revision", Kind: action.KindInt, Description: "With release: the revision to restore. Empty or 0: the newest earlier revision that was deployed (never a failed one)."},
		{Name: "reason", Description: "Why, recorded on the Service (or the new Helm revision) and in the GitHub Deployment."},
		{Name: "replicas", Kind: action.KindInt, Description: "Emergency scale: the restored colour runs at least this many replicas, ready, before the switch (the strategy's \"scale the previous version to 5\"). Empty: as many as the live colour had."},
		{Name: "preempt", Default: "true", Kind: action.KindBool, Description: "Ask a running promote to stop: within about a second it returns all traffic to its stable colour and releases its Lease, and that colour stays live (to: previous). false: wait for it to finish (lock-timeout)."},
		{Name: "lock-timeout", Default: "10m", Kind: action.KindDuration, Description: "How long to wait for a running promote's Lease; a holder that stopped renewing is taken over."},
		{Name: "timeout", Default: "5m", Kind: action.KindDuration, Description: "Bound on the whole rollback, including scaling a cold colour up, or the wait for a Helm release's workloads to be ready."},
	}, slices.Concat(migrationInputs, cluster.Inputs, ghdeploy.Inputs("production"), availability.Inputs, gate.Inputs, notify.Inputs, progressgw.Inputs)...),
	Outputs: append([]action.Output{
		{Name: "active-color", Description: "The colour live after the rollback (empty with release)."},
		{Name: "image", Description: "Its image; with release, image.repository@image.digest of the restored values, if they carry one."},
		{Name: "revision", Description: "With release: the revision the rollback created."},
		{Name: "duration", Description: "From the start to the live Service switched and recorded, or the Helm revision ready."},
	}, availability.Outputs...),
}
