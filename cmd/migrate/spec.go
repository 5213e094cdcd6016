package main

import (
	"slices"

	"github.com/fxplatform/deploy-actions/cmd/internal/charts"
	"github.com/fxplatform/deploy-actions/cmd/internal/cluster"
	"github.com/fxplatform/deploy-actions/cmd/internal/gate"
	"github.com/fxplatform/deploy-actions/pkg/action"
)

// The pods a migration can run in (template-from).
const (
	fromChart = "chart"
	fromLive  = "live"
	fromNone  = "none"
)

var spec = &action.Spec{
	Name:        "migrate",
	Description: "Run a release's database migration as a Kubernetes Job in the app's pod (its environment, secrets and placement, rendered from the chart or taken from the live Deployment) with the release's image, and wait for it before any traffic moves. A rerun of the same image and command reuses a completed Job (unless another migration of the app, a down migration say, ran after it), waits for a running one and replaces a failed one.",
	Inputs: append([]action.Input{
		{Name: "image", Required: true, Kind: action.KindImage, Description: "The release's image, pinned by digest (repo@sha256:...): it carries the migrations."},
		{Name: "command", Required: true, Description: "The migration command, replacing the image's entrypoint: words separated by spaces (/app/sample-app migrate up), or a JSON array of words for words with spaces ([\"psql\", \"-c\", \"SELECT 1\"])."},
		{Name: "namespace", Default: "default", Description: "Namespace of the app and of the Job."},
		{Name: "deployment", Required: true, Description: "Deployment base name: the app's Deployment is <deployment> (one, as staging runs) or <deployment>-blue and <deployment>-green. The Job is <deployment>-migrate-<hash of image and command>."},
		{Name: "service", Description: "The live Service: its recorded state says which colour is live (with template-from live, whose pod is taken; with chart-part colour, the other colour is rendered). None yet: a first release."},
		{Name: "color-label", Default: "version", Description: "Label that tells the colours apart (for the chart's render)."},
		{Name: "template-from", Kind: action.KindEnum, Allowed: []string{fromChart, fromLive, fromNone}, Description: "Which pod the migration runs in. chart: the pod the release will run, rendered from chart with its values (the default when chart is set). live: the running Deployment's pod (<deployment>, else the live colour's; the default without a chart). none: a bare pod of image, command and env."},
		{Name: "chart-part", Default: "all", Kind: action.KindEnum, Allowed: []string{"all", "colour"}, Description: "With template-from chart, what to render: all (one Deployment, as deploy renders staging) or colour (a colour's release, as promote renders production's candidate)."},
		{Name: "release", Description: "Helm release name the chart is rendered as (default: deployment), as deploy or promote are given it."},
		{Name: "container", Description: "The pod's container to run the command in (default: the first)."},
		{Name: "env", Kind: action.KindMap, Description: "Newline KEY=VALUE added to the container's environment, replacing variables of the same names (secrets belong in the pod's own env, from its Secrets)."},
		{Name: "timeout", Default: "10m", Kind: action.KindDuration, Description: "How long the migration may run (the Job's deadline stops it then)."},
	}, slices.Concat(charts.Inputs("Chart to render the release's pod from (template-from chart): a local directory or oci://registry/repo.", false), cluster.Inputs, gate.Inputs)...),
	Outputs: []action.Output{
		{Name: "job", Description: "The Job that ran, or had already run, the migration."},
		{Name: "result", Description: "migrated, or already-applied when a completed Job of the same image and command was found and no other migration of the app ran after it."},
		{Name: "template", Description: "Where the pod came from: chart (<Deployment>), live (<Deployment>) or none."},
	},
}
