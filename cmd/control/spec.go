package main

import (
	"slices"

	"github.com/fxplatform/deploy-actions/cmd/internal/cluster"
	"github.com/fxplatform/deploy-actions/cmd/internal/notify"
	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
)

var spec = &action.Spec{
	Name:        "control",
	Description: "Control the rollout a promote is running on a Service, from any job: abort (all traffic back on the stable colour), pause (hold at the current weight before the next step), resume, promote-full (skip the remaining steps and pauses), or status. The verb is written on the live Service; the running promote answers within a second.",
	Inputs: append([]action.Input{
		{Name: "command", Required: true, Kind: action.KindEnum, Allowed: rollout.Verbs, Description: "abort: return all traffic to the stable colour at once (with no promote running, a half-done rollout is rolled back). pause: hold at the current weight before the next traffic step, analysis going on, until resume or promote-full (or the promote's pause-timeout, which aborts). resume: end a pause or a pause-at hold. promote-full: skip the remaining steps and pauses; the post-promotion window is kept. status: report the step, the weights, the last analysis values and who holds the Lease."},
		{Name: "namespace", Default: "default", Description: "Namespace of the Service and Deployments."},
		{Name: "service", Required: true, Description: "The live Service the promote records its state on."},
		{Name: "deployment", Required: true, Description: "Deployment base name: the colours are <deployment>-blue and <deployment>-green (checked against the state the promote recorded)."},
		{Name: "color-label", Default: "version", Description: "Label that tells the colours apart."},
		{Name: "reason", Description: "Why, recorded with the command and in the running promote's log and summary."},
		{Name: "ack-timeout", Default: "15s", Kind: action.KindDuration, Description: "How long to wait for the running promote to answer (it reads every half second); no answer fails the step."},
		{Name: "timeout", Default: "5m", Kind: action.KindDuration, Description: "abort: how long to wait for the traffic to be back on the stable colour, or for the rollback of a half-done rollout nobody runs."},
	}, slices.Concat(cluster.Inputs, notify.Inputs)...),
	Outputs: []action.Output{
		{Name: "phase", Description: "The rollout's phase after the command: progressing, promoted, aborted or rolled-back."},
		{Name: "active-color", Description: "The stable colour (the live one)."},
		{Name: "candidate-image", Description: "The image being rolled out, while progressing."},
		{Name: "step", Description: "Traffic steps completed."},
		{Name: "weight", Description: "The traffic share in % last recorded on the Service (the candidate's while progressing)."},
		{Name: "paused", Description: "Who holds the rollout at its weight and since when; empty when it is not held."},
		{Name: "holder", Description: "The run holding the Service's Lease (the running promote or rollback); empty when none."},
		{Name: "analysis", Description: "The last analysis measurement, in a line."},
		{Name: "answer", Description: "The running promote's answer to the command (empty for status). A verb it turns down (resume with nothing held, pause with no step left) is a warning, not a failure."},
	},
}
