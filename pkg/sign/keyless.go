package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/sigstore/fulcio/pkg/api"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Keyless makes a signer for one run: an ephemeral P-256 key and the
// Fulcio certificate that binds it to the OIDC token's identity.
func Keyless(ctx context.Context, fulcioURL, token string) (Signer, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Signer{}, err
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return Signer{}, err
	}
	subject, err := tokenSubject(token)
	if err != nil {
		return Signer{}, err
	}
	// Proof of possession: the key signs the token's subject.
	proof, err := sv.SignMessage(strings.NewReader(subject))
	if err != nil {
		return Signer{}, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return Signer{}, err
	}
	u, err := url.Parse(fulcioURL)
	if err != nil {
		return Signer{}, fmt.Errorf("fulcio-url: %w", err)
	}
	resp, err := api.NewClient(u, api.WithUserAgent("deploy-actions-sign")).SigningCert(api.CertificateRequest{
		PublicKey:          api.Key{Content: pub, Algorithm: "ecdsa"},
		SignedEmailAddress: proof,
	}, token)
	if err != nil {
		return Signer{}, fmt.Errorf("getting a certificate from Fulcio %q: %w", fulcioURL, err)
	}
	return Signer{SignerVerifier: sv, Cert: resp.CertPEM, Chain: resp.ChainPEM}, nil
}

// tokenSubject is the identity Fulcio checks the proof against: the
// token's email claim if it has one, else its subject.
func tokenSubject(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("the OIDC token is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("the OIDC token's claims: %w", err)
	}
	var claims struct {
		Sub   string `json:"sub"`
		Email string `json:"email"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return "", fmt.Errorf("the OIDC token's claims: %w", err)
	}
	if claims.Email != "" {
		return claims.Email, nil
	}
	if claims.Sub == "" {
		return "", errors.New("the OIDC token has no subject")
	}
	return claims.Sub, nil
}
