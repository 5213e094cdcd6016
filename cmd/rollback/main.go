// Command rollback makes the previous colour (or a given colour or image
// digest) live again, in seconds while that colour is still scaled. It
// needs no memory of the pipeline: promote recorded what it did on the live
// Service. See spec.go for its inputs and outputs.
package main

import "github.com/fxplatform/deploy-actions/pkg/action"

func main() { action.Main(spec, run) }
