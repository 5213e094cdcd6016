package main

import (
	"slices"

	"github.com/fxplatform/deploy-actions/cmd/internal/charts"
	"github.com/fxplatform/deploy-actions/cmd/internal/cluster"
	"github.com/fxplatform/deploy-actions/cmd/internal/gate"
	"github.com/fxplatform/deploy-actions/cmd/internal/ghdeploy"
	"github.com/fxplatform/deploy-actions/cmd/internal/notify"
	"github.com/fxplatform/deploy-actions/pkg/action"
)

var spec = &action.Spec{
	Name:        "deploy",
	Description: "Install or upgrade a Helm release (Helm v4 SDK) with the image pinned by digest, wait until it is ready, roll back on failure, and record a GitHub Deployment.",
	Inputs: slices.Concat(charts.Inputs("Local chart directory, packaged .tgz, or oci:// chart reference.", true), []action.Input{
		{Name: "release", Required: true, Description: "Helm release name."},
		{Name: "namespace", Default: "default", Description: "Namespace of the release and its resources."},
		{Name: "create-namespace", Default: "true", Kind: action.KindBool, Description: "Create the namespace if it does not exist."},
		{Name: "image", Kind: action.KindImage, Description: "Image pinned by digest, repo@sha256:... (a tag alone is refused); written into the values."},
		{Name: "wait", Default: "true", Kind: action.KindBool, Description: "Wait until every workload of the release is ready (Helm v4 kstatus watcher)."},
		{Name: "timeout", Default: "5m", Kind: action.KindDuration, Description: "How long the wait may take."},
		{Name: "rollback-on-failure", Default: "true", Kind: action.KindBool, Description: "On failure (or SIGINT/SIGTERM), roll back to the last deployed revision; a failed first install is uninstalled."},
		{Name: "max-history", Default: "10", Kind: action.KindInt, Description: "Revisions kept per release (0: no limit)."},
		{Name: "dry-run", Default: "false", Kind: action.KindBool, Description: "Render (server-side dry run) and diff against the deployed revision; change nothing."},
	}, cluster.Inputs, ghdeploy.Inputs("staging"), gate.Inputs, notify.Inputs),
	Outputs: []action.Output{
		{Name: "revision", Description: "The Helm revision this run created (after a failure: the failed one; the rollback's is in the summary)."},
		{Name: "status", Description: "Its Helm status: deployed, failed, or pending-* for a dry run."},
		{Name: "release", Description: "The release name."},
		{Name: "manifest-digest", Description: "sha256:... of the rendered manifest."},
		{Name: "deployment-id", Description: "The GitHub Deployment id, when one was created."},
	},
}
