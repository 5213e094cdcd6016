// Package gate is the signature gate's input group, declared the same way
// by every action that deploys (deploy, promote): the verify-* inputs,
// read into a sign.Policy checked without a network call.
package gate

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/tuf"

	"github.com/fxplatform/deploy-actions/cmd/internal/registry"
	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/sign"
)

// Inputs are the group's inputs, added to an action's spec.
var Inputs = []action.Input{
	{Name: "verify-key", Description: "Refuse the image unless it is signed by this cosign public key (PEM content, path or KMS URI)."},
	{Name: "verify-certificate-identity", Description: "Refuse the image unless it is signed keyless by this identity (the signing workflow's URL, matched whole, e.g. https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1.2.3)."},
	{Name: "verify-certificate-oidc-issuer", Description: "OIDC issuer of the keyless identity, e.g. https://token.actions.githubusercontent.com."},
	{Name: "verify-attestations", Kind: action.KindList, Description: "Attestations that must be attached and verified: slsaprovenance1, vuln, cyclonedx, spdxjson, verification (verify's signed record: see verify-verification-environment and verify-verification-max-age) or predicate type URIs."},
	{Name: "verify-verification-environment", Description: "With verification in verify-attestations: the environment whose record counts (default staging). The newest record for it verified under verify-key or the certificate identity decides: it must say passed."},
	{Name: "verify-verification-max-age", Kind: action.KindDuration, Description: "With verification in verify-attestations: how old that record may be, counted from its verification time (default 24h; above 0). A record dated more than 5m ahead of the gate's clock is refused too."},
	{Name: "verify-fulcio-roots", Description: "For a private Sigstore: PEM certificates (content or path) of the Fulcio CA that keyless certificates must chain to, instead of the public-good instance's trust root (fetched with TUF). Its certificates are then trusted without a CT log proof."},
	{Name: "verify-rekor-public-key", Description: "For a private Sigstore, with verify-fulcio-roots: PEM public key (content or path) of the Rekor log keyless signatures must be entered in."},
}

// Parse reads the gate inputs for img (the action's digest input) and
// checks them without a network call. The registry is read with the
// docker keychain and, for ghcr.io, GITHUB_ACTOR and GITHUB_TOKEN.
func Parse(a *action.Action, in *action.Inputs, img name.Digest) sign.Policy {
	p := sign.Policy{
		Key:          in.String("verify-key"),
		Identity:     in.String("verify-certificate-identity"),
		Issuer:       in.String("verify-certificate-oidc-issuer"),
		Attestations: in.List("verify-attestations"),
	}
	p.Verification = parseVerification(in, p.Attestations)
	if !p.Enabled() {
		return p
	}
	// Keyless signatures are checked against a private Sigstore's roots
	// when given, else against the public-good instance, whose trust root
	// comes from its TUF repository when the gate runs.
	parsePrivateSigstore(&p, in)
	p.PublicGood = p.Roots == nil
	if err := p.Validate(); err != nil {
		in.Fail(gateInputOf(p), "%v", err)
	} else if kind, _ := sign.ClassifyKey(p.Key); p.Key != "" && kind != sign.KeyKMS {
		// A PEM key (content or file) is read now, which needs no network,
		// so that a private key or a broken one is an input problem, not a
		// refusal after the run started. A KMS key is opened by the gate.
		if _, err := sign.LoadVerifier(context.Background(), p.Key); err != nil {
			in.Fail("verify-key", "%v (want the PEM public key, e.g. cosign.pub)", err)
		}
	}
	if p.Key != "" {
		// Key-made signatures from sign with tlog-upload false carry no log
		// entry; the key itself is the trust anchor.
		p.IgnoreTlog = true
	}
	p.Remote = registry.Group{Credentials: registry.Runner(a, img.RegistryStr())}.Remote(a)
	return p
}

// Defaults of the verification policy.
const (
	DefaultVerificationEnvironment = "staging"
	DefaultVerificationMaxAge      = 24 * time.Hour
)

// parseVerification reads the verification policy: the defaults when
// verify-attestations holds verification and the inputs are not given,
// and nothing when it does not, where giving them is a mistake.
func parseVerification(in *action.Inputs, attestations []string) sign.VerificationPolicy {
	env, maxAge := in.String("verify-verification-environment"), in.String("verify-verification-max-age")
	if !slices.ContainsFunc(attestations, isVerification) {
		for _, given := range [][2]string{{"verify-verification-environment", env}, {"verify-verification-max-age", maxAge}} {
			if given[1] != "" {
				in.Fail(given[0], "applies only with verification in verify-attestations (add it there, or drop %s)", given[0])
			}
		}
		return sign.VerificationPolicy{}
	}
	// A bad value is reported, and the default stands in for it, so that
	// the policy's own check does not report it a second time.
	vp := sign.VerificationPolicy{Environment: DefaultVerificationEnvironment, MaxAge: DefaultVerificationMaxAge}
	if env != "" {
		if err := sign.CheckEnvironment(env); err != nil {
			in.Fail("verify-verification-environment", "%v", err)
		} else {
			vp.Environment = env
		}
	}
	if maxAge != "" {
		d, err := action.ParseDuration(maxAge)
		switch {
		case err != nil:
			in.Fail("verify-verification-max-age", "%v (want a duration above 0, e.g. 24h)", err)
		case d <= 0:
			in.Fail("verify-verification-max-age", "%s is not above 0 (want e.g. 24h)", maxAge)
		default:
			vp.MaxAge = d
		}
	}
	return vp
}

func isVerification(name string) bool {
	pt, err := sign.PredicateTypeOf(name)
	return err == nil && pt == sign.PredicateVerification
}

// gateInputOf names the input a policy problem comes from.
func gateInputOf(p sign.Policy) string {
	switch {
	case p.Key != "":
		if _, err := sign.ClassifyKey(p.Key); err != nil {
			return "verify-key"
		}
	case p.Identity != "" || p.Issuer != "":
		if p.Identity == "" {
			return "verify-certificate-identity"
		}
		return "verify-certificate-oidc-issuer"
	}
	return "verify-attestations"
}

// parsePrivateSigstore reads verify-fulcio-roots and verify-rekor-public-key
// into the policy's trust.
func parsePrivateSigstore(p *sign.Policy, in *action.Inputs) {
	roots, rekorKey := in.String("verify-fulcio-roots"), in.String("verify-rekor-public-key")
	if roots == "" {
		if rekorKey != "" {
			in.Fail("verify-rekor-public-key", "goes with verify-fulcio-roots")
		}
		return
	}
	if rekorKey == "" {
		in.Fail("verify-rekor-public-key", "is required with verify-fulcio-roots: keyless signatures must be in a log the gate trusts")
		return
	}
	pemBytes, err := readPEM(roots)
	if err == nil {
		p.Roots = x509.NewCertPool()
		if !p.Roots.AppendCertsFromPEM(pemBytes) {
			err = errors.New("no PEM certificate in it")
		}
	}
	if err != nil {
		p.Roots = nil
		in.Fail("verify-fulcio-roots", "%v", err)
		return
	}
	keyBytes, err := readPEM(rekorKey)
	if err == nil {
		keys := cosign.NewTrustedTransparencyLogPubKeys()
		if err = keys.AddTransparencyLogPubKey(keyBytes, tuf.Active); err == nil {
			p.RekorKeys = &keys
		}
	}
	if err != nil {
		in.Fail("verify-rekor-public-key", "%v", err)
	}
	p.IgnoreSCT = true
}

// readPEM takes PEM content as it is, or reads the file it names.
func readPEM(s string) ([]byte, error) {
	if strings.Contains(s, "-----BEGIN ") {
		return []byte(s), nil
	}
	return os.ReadFile(s)
}

// Check runs the gate before anything changes: nothing when p is off,
// else img must pass p, or the step stops with an error saying it will
// not verb ("deploy", "promote") the image.
func Check(ctx context.Context, a *action.Action, img name.Digest, p sign.Policy, verb string) error {
	if !p.Enabled() {
		return nil
	}
	a.Infof("Verifying the signature of %s", img)
	if vp := p.Verification; vp.Environment != "" {
		a.Infof("Requiring its newest %s verification record to say passed and be at most %s old", vp.Environment, vp.MaxAge)
	}
	if err := sign.Verify(ctx, img, p); err != nil {
		return fmt.Errorf("refusing to %s %s (nothing was changed): %w", verb, img, err)
	}
	return nil
}
