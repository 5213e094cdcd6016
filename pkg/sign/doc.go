// Package sign signs image digests and their attestations with cosign, and
// verifies them before a deploy: the signature gate.
//
// Signatures and attestations are written as cosign writes them (the
// sha256-<hex>.sig and .att tags beside the image, simple-signing payloads
// and DSSE in-toto statements), through cosign's own library, so the cosign
// CLI verifies them. A key may be PEM content, a path or a KMS URI; keyless
// signing exchanges a GitHub OIDC token for a Fulcio certificate. With a
// Rekor URL, each signature is entered in the transparency log.
//
// Besides the SLSA provenance, SBOM and vuln statements, it writes and
// judges one predicate of the project's own: verification/v1, verify's
// result on a digest in an environment, which the gate can require to
// be fresh, passed and signed by the same key or identity.
package sign
