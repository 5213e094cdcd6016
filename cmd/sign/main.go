// Command sign signs an image digest with cosign (a key or keyless) and
// attaches attestations: SLSA provenance, the SBOM, the scan; and signs
// files into Sigstore bundles, as cosign sign-blob --bundle does. See
// spec.go for its inputs and outputs, or run it with --help.
package main

import "github.com/fxplatform/deploy-actions/pkg/action"

func main() { action.Main(spec, run) }
