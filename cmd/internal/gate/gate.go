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
	"strings"

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
	{Name: "verify-attestations", Kind: action.KindList, Description: "Attestations that must be attached and verified: slsaprovenance1, vuln, cyclonedx, spdxjson or predicate type URIs."},
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
	if err := sign.Verify(ctx, img, p); err != nil {
		return fmt.Errorf("refusing to %s %s (nothing was changed): %w", verb, img, err)
	}
	return nil
}
