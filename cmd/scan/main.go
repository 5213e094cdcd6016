// Command scan finds known vulnerabilities in an image pinned by digest and
// fails at a severity threshold. See spec.go for its inputs and outputs, or
// run it with --help.
package main

import "github.com/fxplatform/deploy-actions/pkg/action"

func main() { action.Main(spec, run) }
