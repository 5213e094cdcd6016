// Command verify checks a deployed service: health paths, SLOs under a load
// probe, Prometheus checks and the Kubernetes Deployment, and writes the
// strategy's KPI table as the step summary. See spec.go for its inputs and
// outputs, or run it with --help.
package main

import "github.com/fxplatform/deploy-actions/pkg/action"

func main() { action.Main(spec, run) }
