// Command migrate runs a release's database migration as a Kubernetes Job
// in the app's pod, and waits for it, before any traffic moves: in
// staging before deploy, in production before promote. See spec.go for
// its inputs and outputs.
package main

import "github.com/fxplatform/deploy-actions/pkg/action"

func main() { action.Main(spec, run) }
