// Command promote moves production traffic to a new image, blue-green or in
// 10/25/50/100 % steps with metric analysis and automatic abort, with no
// controller in the cluster. See spec.go for its inputs and outputs.
package main

import "github.com/fxplatform/deploy-actions/pkg/action"

func main() { action.Main(spec, run) }
