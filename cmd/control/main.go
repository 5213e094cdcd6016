// Command control drives the rollout a promote is running on a Service,
// from any job or machine: abort, pause, resume, promote-full, or status.
// It writes the verb on the live Service, where the running promote reads
// it within a second, and reports the promote's answer. See spec.go for
// its inputs and outputs.
package main

import "github.com/fxplatform/deploy-actions/pkg/action"

func main() { action.Main(spec, run) }
