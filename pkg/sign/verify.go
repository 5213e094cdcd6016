package sign

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/fxplatform/deploy-actions/pkg/image"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/sigstore/pkg/fulcioroots"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Policy is what an image must carry to be deployed. Set Key, or Identity
// and Issuer (keyless), or both.
type Policy struct {
	// Key verifies key-made signatures: PEM content, a path or a KMS URI.
	Key string
	// Identity is the certificate's subject (for GitHub, the workflow
	// URL https://github.com/org/repo/.github/workflows/x.yml@refs/...),
	// matched whole; Issuer is the OIDC issuer, matched whole.
	Identity, Issuer string
	// Attestations are predicate types (or cosign's short names) that must
	// be attached, signed by the same key or identity, about this digest.
	Attestations []string
	// Verification is what verification records must say when
	// Attestations holds verification; it must be zero otherwise.
	Verification VerificationPolicy

	// Trust for keyless signatures: Fulcio's roots and intermediates,
	// Rekor's and the CT log's public keys. Nil uses nothing: keyless
	// verification then fails, it never falls back to "unverified".
	Roots, Intermediates *x509.CertPool
	RekorKeys, CTLogKeys *cosign.TrustedTransparencyLogPubKeys
	// IgnoreTlog accepts signatures that are not in a transparency log
	// (key-based signing with tlog-upload off).
	IgnoreTlog bool
	// IgnoreSCT accepts certificates without a CT log proof.
	IgnoreSCT bool
	// PublicGood, with no Roots given, takes the keyless trust from the
	// Sigstore public-good instance's TUF repository at verification time.
	PublicGood bool

	// Remote is how the registry is reached (auth, transport, retries).
	Remote image.Remote
}

// Enabled reports whether the policy asks for any check: the gate is off
// when no verify-* input is set.
func (p Policy) Enabled() bool {
	return p.Key != "" || p.Identity != "" || p.Issuer != "" || len(p.Attestations) > 0
}

// Validate checks the policy without the network.
func (p Policy) Validate() error {
	if (p.Identity == "") != (p.Issuer == "") {
		return errors.New("verify-certificate-identity and verify-certificate-oidc-issuer go together")
	}
	if len(p.Attestations) > 0 && p.Key == "" && p.Identity == "" {
		return errors.New("verify-attestations needs verify-key or a certificate identity to check them against")
	}
	if p.Key != "" {
		if _, err := ClassifyKey(p.Key); err != nil {
			return fmt.Errorf("verify-key: %w", err)
		}
	}
	if p.Identity != "" && p.Roots == nil && !p.PublicGood {
		return ErrNoTrustRoot
	}
	for _, a := range p.Attestations {
		if _, err := PredicateTypeOf(a); err != nil {
			return fmt.Errorf("verify-attestations: %w", err)
		}
	}
	switch {
	case p.requiresVerification():
		return p.Verification.validate()
	case !p.Verification.isZero():
		return errors.New("verify-verification-environment and verify-verification-max-age apply only with verification in verify-attestations")
	}
	return nil
}

func (p Policy) requiresVerification() bool {
	return slices.ContainsFunc(p.Attestations, func(a string) bool {
		pt, _ := PredicateTypeOf(a)
		return pt == PredicateVerification
	})
}

// Verify is the signature gate: it returns nil when ref carries a
// signature, and every required attestation, that the policy accepts, and
// a *VerifyError (wrapping ErrUnsigned, ErrSignatureMismatch,
// ErrAttestationMissing or ErrVerificationRefused) otherwise. Only ref's
// digest is checked: a tag is never consulted, so re-pointing one changes
// nothing.
func Verify(ctx context.Context, ref name.Digest, p Policy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	p, err := p.withPublicGoodTrust(ctx)
	if err != nil {
		return err
	}
	var checks []*cosign.CheckOpts
	if p.Key != "" {
		v, err := LoadVerifier(ctx, p.Key)
		if err != nil {
			return fmt.Errorf("verify-key: %w", err)
		}
		checks = append(checks, p.checkOpts(ctx, v))
	}
	if p.Identity != "" {
		co := p.checkOpts(ctx, nil)
		// Anchored: the identity is matched whole, so org/repo never
		// accepts org/repo-evil.
		co.Identities = []cosign.Identity{{
			SubjectRegExp: "^" + regexp.QuoteMeta(p.Identity) + "$",
			IssuerRegExp:  "^" + regexp.QuoteMeta(p.Issuer) + "$",
		}}
		checks = append(checks, co)
	}
	for _, co := range checks {
		if err := verifySignatures(ctx, ref, co); err != nil {
			return err
		}
		if err := verifyAttestations(ctx, ref, co, p); err != nil {
			return err
		}
	}
	return nil
}

func (p Policy) checkOpts(ctx context.Context, v signature.Verifier) *cosign.CheckOpts {
	return &cosign.CheckOpts{
		RegistryClientOpts: []ociremote.Option{ociremote.WithRemoteOptions(p.Remote.Options(ctx)...)},
		SigVerifier:        v,
		RootCerts:          p.Roots,
		IntermediateCerts:  p.Intermediates,
		RekorPubKeys:       p.RekorKeys,
		CTLogPubKeys:       p.CTLogKeys,
		IgnoreTlog:         p.IgnoreTlog,
		IgnoreSCT:          p.IgnoreSCT,
		Offline:            true,
		ClaimVerifier:      cosign.SimpleClaimVerifier,
	}
}

func verifySignatures(ctx context.Context, ref name.Digest, co *cosign.CheckOpts) error {
	co.ClaimVerifier = cosign.SimpleClaimVerifier
	_, _, err := cosign.VerifyImageSignatures(ctx, ref, co)
	if err == nil {
		return nil
	}
	var none *cosign.ErrNoSignaturesFound
	if errors.As(err, &none) {
		return &VerifyError{Image: ref.String(), Reason: ErrUnsigned, Err: err}
	}
	var verr *cosign.VerificationFailure
	var nomatch *cosign.ErrNoMatchingSignatures
	if errors.As(err, &verr) || errors.As(err, &nomatch) {
		return &VerifyError{Image: ref.String(), Reason: ErrSignatureMismatch, Err: err}
	}
	return fmt.Errorf("verifying %q: %w", ref, err)
}

// verifyAttestations checks that every attestation type p requires is
// attached and verifies under co, and that the verification records meet
// p.Verification.
func verifyAttestations(ctx context.Context, ref name.Digest, co *cosign.CheckOpts, p Policy) error {
	if len(p.Attestations) == 0 {
		return nil
	}
	co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
	atts, _, verifyErr := cosign.VerifyImageAttestations(ctx, ref, co)
	if verifyErr != nil {
		var none *cosign.ErrNoSignaturesFound
		var nomatch *cosign.ErrNoMatchingAttestations
		var verr *cosign.VerificationFailure
		if !errors.As(verifyErr, &none) && !errors.As(verifyErr, &nomatch) && !errors.As(verifyErr, &verr) {
			return fmt.Errorf("verifying attestations of %q: %w", ref, verifyErr)
		}
		// None verified: each required type is then missing, and says why.
		atts = nil
	}
	var have []string
	var records []Verification
	for _, att := range atts {
		raw, err := att.Payload()
		if err != nil {
			continue
		}
		pt, pred, err := statementOf(raw)
		if err != nil {
			continue
		}
		have = append(have, pt)
		var v Verification
		if pt == PredicateVerification && json.Unmarshal(pred, &v) == nil {
			records = append(records, v)
		}
	}
	for _, w := range p.Attestations {
		pt, _ := PredicateTypeOf(w)
		if pt == PredicateVerification {
			attached := func() int { return countAttached(ctx, ref, co, PredicateVerification) }
			if reason, detail := p.Verification.check(records, attached); reason != nil {
				return &VerifyError{Image: ref.String(), Reason: reason, Err: detail}
			}
			continue
		}
		if slices.Contains(have, pt) {
			continue
		}
		detail := fmt.Errorf("no verified %s attestation (found %v)", pt, have)
		if verifyErr != nil {
			detail = verifyErr
		}
		return &VerifyError{Image: ref.String(), Reason: ErrAttestationMissing, Err: detail}
	}
	return nil
}

// countAttached counts the attestations of predicateType on ref, verified
// or not (0 when they cannot be read): what a refusal tells apart from
// "none at all".
func countAttached(ctx context.Context, ref name.Digest, co *cosign.CheckOpts, predicateType string) int {
	se, err := ociremote.SignedEntity(ref, co.RegistryClientOpts...)
	if err != nil {
		return 0
	}
	atts, err := se.Attestations()
	if err != nil {
		return 0
	}
	list, err := atts.Get()
	if err != nil {
		return 0
	}
	n := 0
	for _, att := range list {
		raw, err := att.Payload()
		if err != nil {
			continue
		}
		if pt, _, err := statementOf(raw); err == nil && pt == predicateType {
			n++
		}
	}
	return n
}

// withPublicGoodTrust fills the keyless trust from the Sigstore public-good
// instance's TUF repository (Fulcio roots, Rekor and CT log keys), when the
// policy asks for it and brings none of its own.
func (p Policy) withPublicGoodTrust(ctx context.Context) (Policy, error) {
	if p.Identity == "" || p.Roots != nil || !p.PublicGood {
		return p, nil
	}
	var err error
	if p.Roots, err = fulcioroots.Get(); err != nil {
		return p, fmt.Errorf("%w: Fulcio roots from TUF: %v", ErrNoTrustRoot, err)
	}
	if p.Intermediates, err = fulcioroots.GetIntermediates(); err != nil {
		return p, fmt.Errorf("%w: Fulcio intermediates from TUF: %v", ErrNoTrustRoot, err)
	}
	if p.RekorKeys, err = cosign.GetRekorPubs(ctx); err != nil {
		return p, fmt.Errorf("%w: Rekor keys from TUF: %v", ErrNoTrustRoot, err)
	}
	if p.CTLogKeys, err = cosign.GetCTLogPubs(ctx); err != nil {
		return p, fmt.Errorf("%w: CT log keys from TUF: %v", ErrNoTrustRoot, err)
	}
	return p, nil
}
