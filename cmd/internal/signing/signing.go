// Package signing is the signing input group of the actions that sign
// (sign, and verify for its verification record): key, key-password,
// keyless, fulcio-url, rekor-url and tlog-upload, checked without a
// network call and turned into one sign.Signer, so that both sign with
// the same key or keyless identity in the same way.
package signing

import (
	"context"
	"fmt"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/image"
	"github.com/fxplatform/deploy-actions/pkg/sign"
)

// Inputs are the group's inputs, added to an action's spec.
var Inputs = []action.Input{
	{Name: "key", Sensitive: true, Description: "Private key: a cosign key (encrypted PEM) or an unencrypted PKCS#8/EC PEM key as openssl writes it, as content or a path; or a KMS URI (awskms://, gcpkms://, azurekms://, hashivault://, served by the sigstore-kms-<scheme> plugin on PATH: no cloud SDK is linked in)."},
	{Name: "key-password", Sensitive: true, Description: "Password of an encrypted cosign key."},
	{Name: "keyless", Default: "false", Kind: action.KindBool, Description: "Sign with a Fulcio certificate for the workflow's GitHub OIDC identity (needs permissions: id-token: write)."},
	{Name: "fulcio-url", Default: "https://fulcio.sigstore.dev", Description: "Fulcio for keyless signing."},
	{Name: "rekor-url", Default: "https://rekor.sigstore.dev", Description: "Rekor transparency log."},
	{Name: "tlog-upload", Default: "true", Kind: action.KindBool, Description: "Enter signatures and attestations in Rekor (required for keyless)."},
}

// Group is the parsed group.
type Group struct {
	Key         string
	KeyPassword string
	Keyless     bool
	FulcioURL   string
	RekorURL    string
	TlogUpload  bool
}

// Parse reads the group and checks it without a network call: key or
// keyless (not both), a key that is PEM content, a file or a known KMS,
// the URLs in use, keyless only with the log and an OIDC token to ask.
func Parse(a *action.Action, in *action.Inputs) Group {
	var g Group
	g.Key = in.String("key")
	g.KeyPassword = in.String("key-password")
	g.Keyless = in.Bool("keyless")
	switch {
	case g.Key != "" && g.Keyless:
		in.Fail("keyless", "give key or keyless: true, not both")
	case g.Key == "" && !g.Keyless:
		in.Fail("key", "is required unless keyless is true")
	case g.Key != "":
		if _, err := sign.ClassifyKey(g.Key); err != nil {
			in.Fail("key", "%v", err)
		}
	}
	g.FulcioURL = checkURL(in, "fulcio-url", g.Keyless)
	g.TlogUpload = in.Bool("tlog-upload")
	g.RekorURL = checkURL(in, "rekor-url", g.TlogUpload)
	if g.Keyless && !g.TlogUpload {
		in.Fail("tlog-upload", "keyless signatures must go to the transparency log (the certificate expires in minutes)")
	}
	if g.Keyless {
		if a.Getenv("ACTIONS_ID_TOKEN_REQUEST_URL") == "" || a.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN") == "" {
			in.Fail("keyless", "no GitHub OIDC token available (ACTIONS_ID_TOKEN_REQUEST_URL or ACTIONS_ID_TOKEN_REQUEST_TOKEN unset): give the job permissions: id-token: write")
		}
	}
	return g
}

func checkURL(in *action.Inputs, input string, needed bool) string {
	if !needed {
		return in.String(input)
	}
	v := in.HTTPURL(input)
	if v == "" {
		in.Fail(input, `"" is not an http(s) URL`)
	}
	return v
}

// Signer loads the key (a wrong password is an input error), or, keyless,
// asks the runner for an OIDC token and Fulcio for a certificate.
func (g Group) Signer(ctx context.Context, a *action.Action) (sign.Signer, error) {
	if !g.Keyless {
		sv, err := sign.LoadSigner(ctx, g.Key, []byte(g.KeyPassword))
		if err != nil {
			return sign.Signer{}, &action.InputError{Input: "key", Err: err}
		}
		return sign.Signer{SignerVerifier: sv}, nil
	}
	token, err := a.GetIDToken(ctx, "sigstore")
	if err != nil {
		return sign.Signer{}, fmt.Errorf("requesting the GitHub OIDC token (does the job have permissions: id-token: write?): %w", err)
	}
	a.Mask(token)
	return sign.Keyless(ctx, g.FulcioURL, token)
}

// Options are where signatures go: the registry through remote, and Rekor
// when tlog-upload is on.
func (g Group) Options(remote image.Remote) sign.Options {
	opts := sign.Options{Remote: remote}
	if g.TlogUpload {
		opts.Log = &sign.Rekor{URL: g.RekorURL}
	}
	return opts
}

// Mode says how the group signs, for a step summary.
func (g Group) Mode() string {
	if g.Keyless {
		return "keyless (Fulcio certificate)"
	}
	return "key"
}
