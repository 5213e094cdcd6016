// Command build-push builds a container image without a Docker engine and
// pushes it by digest. See spec.go for its inputs and outputs, or run it with
// --help.
package main

import "github.com/fxplatform/deploy-actions/pkg/action"

func main() { action.Main(spec, run) }
