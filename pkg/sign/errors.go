package sign

import (
	"errors"
	"fmt"
)

// Outcomes of Verify a caller (deploy, promote) branches on. The error
// returned wraps one of them in a *VerifyError.
var (
	// ErrUnsigned: no signature is attached to the digest.
	ErrUnsigned = errors.New("image is not signed")
	// ErrSignatureMismatch: signatures exist, none by the expected key or
	// identity, or none for this digest.
	ErrSignatureMismatch = errors.New("no signature matches the policy")
	// ErrAttestationMissing: a required attestation is absent or does not
	// verify.
	ErrAttestationMissing = errors.New("required attestation missing or not verified")
)

// ErrNoTrustRoot: a keyless policy without Fulcio roots (and Rekor keys)
// to check certificates against. Verification never falls back to
// accepting what it cannot check.
var ErrNoTrustRoot = errors.New("keyless verification needs Fulcio roots and Rekor keys (none configured)")

// VerifyError says why an image was refused.
type VerifyError struct {
	Image  string
	Reason error // one of ErrUnsigned, ErrSignatureMismatch, ErrAttestationMissing, ErrVerificationRefused
	Err    error // the detail from cosign
}

func (e *VerifyError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("verifying %q: %v", e.Image, e.Reason)
	}
	return fmt.Sprintf("verifying %q: %v: %v", e.Image, e.Reason, e.Err)
}

// Unwrap gives both the reason and the detail to errors.Is.
func (e *VerifyError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Err}
}
