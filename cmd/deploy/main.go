// Command deploy installs or upgrades a Helm release by image digest, waits
// until it is ready, rolls it back on failure and records a GitHub
// Deployment. See spec.go for its inputs and outputs.
package main

import "github.com/fxplatform/deploy-actions/pkg/action"

func main() { action.Main(spec, run) }
