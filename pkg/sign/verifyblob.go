package sign

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// BlobPolicy is who must have signed a file, keyless: the certificate's
// subject and OIDC issuer, each matched whole, under a trusted root.
type BlobPolicy struct {
	Identity, Issuer string
	// TrustedRoot is a Sigstore trusted_root.json (a private Sigstore's,
	// or a test's). Empty takes the public-good instance's from its TUF
	// repository, as cosign does.
	TrustedRoot []byte
}

// VerifyBlob checks the Sigstore bundle of the file at path, as `cosign
// verify-blob --bundle` does: the signature is over the file's bytes, by a
// Fulcio certificate for the policy's identity and issuer, entered in the
// transparency log, and, when the trusted root lists CT logs (the
// public-good one does), with a certificate-transparency proof. A trusted
// root without CT logs cannot check that proof, so it is not asked for.
func VerifyBlob(ctx context.Context, path string, bundleJSON []byte, p BlobPolicy) error {
	if p.Identity == "" || p.Issuer == "" {
		return errors.New("verifying a file needs the signer's identity and issuer")
	}
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return fmt.Errorf("reading the bundle: %w", err)
	}
	var tm root.TrustedMaterial
	var err error
	if len(p.TrustedRoot) > 0 {
		tm, err = root.NewTrustedRootFromJSON(p.TrustedRoot)
	} else {
		tm, err = cosign.TrustedRoot()
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoTrustRoot, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	co := &cosign.CheckOpts{
		TrustedMaterial: tm,
		IgnoreSCT:       len(tm.CTLogs()) == 0,
		Identities: []cosign.Identity{{
			SubjectRegExp: "^" + regexp.QuoteMeta(p.Identity) + "$",
			IssuerRegExp:  "^" + regexp.QuoteMeta(p.Issuer) + "$",
		}},
	}
	if _, err := cosign.VerifyNewBundle(ctx, co, verify.WithArtifact(f), &b); err != nil {
		return &VerifyError{Image: path, Reason: ErrSignatureMismatch, Err: err}
	}
	return nil
}
