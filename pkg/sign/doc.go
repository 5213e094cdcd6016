// Package sign signs image digests and their attestations with cosign, and
// verifies them before a deploy: the signature gate.
//
// Signatures and attestations are written as cosign writes them (the
// sha256-<hex>.sig and .att tags beside the image, simple-signing payloads
// and DSSE in-toto statements), through cosign's own library, so the cosign
// CLI verifies them. A key may be PEM content, a path or a KMS URI; keyless
// signing exchanges a GitHub OIDC token for a Fulcio certificate. With a
// Rekor URL, each signature is entered in the transparency log.
package sign
