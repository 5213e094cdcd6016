package main

import (
	"fmt"

	"github.com/fxplatform/deploy-actions/pkg/rollout"
)

// summary is the step summary: the rollout's timeline and analysis, and
// the command that undoes it.
func summary(in Inputs, res *rollout.Result, perr error) string {
	md := res.Markdown(rollbackCommand(in))
	if perr != nil {
		md += fmt.Sprintf("\n**Error:** %v\n", perr)
	}
	return md
}

// rollbackCommand is the CLI form of the rollback action for this Service.
func rollbackCommand(in Inputs) string {
	return fmt.Sprintf("rollback --namespace %s --service %s --deployment %s --color-label %s --to previous --reason 'manual'",
		in.Namespace, in.Service, in.Deployment, in.ColorLabel)
}
