package main

import (
	"slices"

	"github.com/fxplatform/deploy-actions/cmd/internal/cluster"
	"github.com/fxplatform/deploy-actions/cmd/internal/gate"
	"github.com/fxplatform/deploy-actions/cmd/internal/ghdeploy"
	"github.com/fxplatform/deploy-actions/pkg/action"
)

var spec = &action.Spec{
	Name:        "deploy",
	Description: "Install or upgrade a Helm release (Helm v4 SDK) with the image pinned by digest, wait until it is ready, roll back on failure, and record a GitHub Deployment.",
	Inputs: append([]action.Input{
		{Name: "chart", Required: true, Description: "Local chart directory, packaged .tgz, or oci:// chart reference."},
		{Name: "chart-version", Description: "Chart version, for oci:// charts (default: the highest semver tag)."},
		{Name: "release", Required: true, Description: "Helm release name."},
		{Name: "namespace", Default: "default", Description: "Namespace of the release and its resources."},
		{Name: "create-namespace", Default: "true", Kind: action.KindBool, Description: "Create the namespace if it does not exist."},
		{Name: "values-files", Kind: action.KindLines, Description: "Newline list of values files, applied in order."},
		{Name: "set", Kind: action.KindLines, Description: "Newline list of key=value in helm --set syntax (a line may hold a=b,c=d)."},
		{Name: "set-string", Kind: action.KindLines, Description: "Newline list of key=value in helm --set-string syntax."},
		{Name: "image", Kind: action.KindImage, Description: "Image pinned by digest, repo@sha256:... (a tag alone is refused); written into the values."},
		{Name: "image-repository-key", Default: "image.repository", Description: "Values key that receives the image repository."},
		{Name: "image-digest-key", Default: "image.digest", Description: "Values key that receives the sha256:... digest."},
		{Name: "image-tag-key", Description: "For charts that only template repository:tag: this key receives <tag>@sha256:... instead of the digest key (image must then be repo:tag@sha256:...)."},
		{Name: "wait", Default: "true", Kind: action.KindBool, Description: "Wait until every workload of the release is ready (Helm v4 kstatus watcher)."},
		{Name: "timeout", Default: "5m", Kind: action.KindDuration, Description: "How long the wait may take."},
		{Name: "rollback-on-failure", Default: "true", Kind: action.KindBool, Description: "On failure (or SIGINT/SIGTERM), roll back to the last deployed revision; a failed first install is uninstalled."},
		{Name: "max-history", Default: "10", Kind: action.KindInt, Description: "Revisions kept per release (0: no limit)."},
		{Name: "dry-run", Default: "false", Kind: action.KindBool, Description: "Render (server-side dry run) and diff against the deployed revision; change nothing."},
	}, slices.Concat(cluster.Inputs, ghdeploy.Inputs("staging"), gate.Inputs)...),
	Outputs: []action.Output{
		{Name: "revision", Description: "The Helm revision this run created (after a failure: the failed one; the rollback's is in the summary)."},
		{Name: "status", Description: "Its Helm status: deployed, failed, or pending-* for a dry run."},
		{Name: "release", Description: "The release name."},
		{Name: "manifest-digest", Description: "sha256:... of the rendered manifest."},
		{Name: "deployment-id", Description: "The GitHub Deployment id, when one was created."},
	},
}
