package main

import (
	"slices"

	"github.com/fxplatform/deploy-actions/cmd/internal/registry"
	"github.com/fxplatform/deploy-actions/cmd/internal/signing"
	"github.com/fxplatform/deploy-actions/pkg/action"
)

var spec = &action.Spec{
	Name:        "sign",
	Description: "Sign an image digest with cosign (key or keyless through GitHub OIDC, Fulcio and Rekor) and attach SLSA provenance, SBOM and scan attestations; sign files (a release's checksums.txt) into Sigstore bundles.",
	Inputs: slices.Concat([]action.Input{
		{Name: "image", Kind: action.KindImage, Description: "Image to sign, repo@sha256:... (a tag is refused). Give image, blobs or both."},
		{Name: "blobs", Kind: action.KindLines, Description: "Files to sign, one path a line, as cosign sign-blob --bundle does: each FILE gets a Sigstore bundle FILE.sigstore.json beside it (bundle v0.3, as cosign sign-blob --new-bundle-format writes it). Check one with cosign verify-blob FILE --bundle FILE.sigstore.json and --key with the public key, or keyless --certificate-identity and --certificate-oidc-issuer."},
	}, signing.Inputs, []action.Input{
		{Name: "attest-sbom", Description: "SBOM file (CycloneDX or SPDX JSON, e.g. scan's sbom-file) to attach to the image as an attestation (needs image)."},
		{Name: "attest-scan", Description: "Scan report (scan's json-file or sarif-file) to attach to the image as a vuln attestation (needs image)."},
		{Name: "attest-provenance", Default: "true", Kind: action.KindBool, Description: "Attach an SLSA provenance v1 statement for the digest (builder: GITHUB_WORKFLOW_REF; run, repository and commit from the runner). Image only: without image it does nothing."},
	}, registry.Inputs),
	Outputs: []action.Output{
		{Name: "signature-ref", Description: "Where the image's signature is: <repo>:sha256-<hex>.sig (empty without image)."},
		{Name: "attestations", Description: "Newline list of the predicate types attached to the image."},
		{Name: "bundles", Description: "Newline list of the bundles written, FILE.sigstore.json for each of blobs, in order."},
	},
}
