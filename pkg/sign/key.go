package sign

import (
	"context"
	"crypto"
	encpem "encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	signoptions "github.com/sigstore/sigstore/pkg/signature/options"
)

// KeyKind says what a key input holds.
type KeyKind int

// Key kinds.
const (
	KeyPEM  KeyKind = iota // PEM content
	KeyFile                // a path to a PEM file
	KeyKMS                 // a KMS URI (awskms://, gcpkms://, azurekms://, hashivault://)
)

// ClassifyKey tells PEM content, a KMS URI and a path apart without
// touching the network; a path must exist.
func ClassifyKey(ref string) (KeyKind, error) {
	switch {
	case strings.Contains(ref, "-----BEGIN "):
		return KeyPEM, nil
	case strings.Contains(ref, "://"):
		scheme, _, _ := strings.Cut(ref, "://")
		for _, p := range []string{"awskms", "gcpkms", "azurekms", "hashivault"} {
			if scheme == p {
				return KeyKMS, nil
			}
		}
		return 0, fmt.Errorf("unknown KMS scheme %q (want awskms, gcpkms, azurekms or hashivault)", scheme)
	}
	fi, err := os.Stat(ref)
	if err != nil {
		return 0, fmt.Errorf("neither PEM content, a KMS URI nor a readable file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("%q is not a file", ref)
	}
	return KeyFile, nil
}

// LoadSigner reads a cosign private key (PEM content or path, encrypted
// keys decrypted with password) or opens a KMS key.
func LoadSigner(ctx context.Context, ref string, password []byte) (signature.SignerVerifier, error) {
	kmsKey, pem, err := openKey(ctx, ref)
	if err != nil || kmsKey != nil {
		return kmsKey, err
	}
	if block, _ := encpem.Decode(pem); block != nil && plainKeyTypes[block.Type] {
		return loadPlainKey(pem)
	}
	sv, err := cosign.LoadPrivateKey(pem, password, nil)
	if err != nil {
		return nil, fmt.Errorf("loading private key (wrong key-password?): %w", err)
	}
	return sv, nil
}

// openKey opens a KMS key, or returns the PEM a key reference holds: its
// content, or the file it names.
func openKey(ctx context.Context, ref string) (signature.SignerVerifier, []byte, error) {
	kind, err := ClassifyKey(ref)
	if err != nil {
		return nil, nil, err
	}
	switch kind {
	case KeyKMS:
		sv, err := kms.Get(ctx, ref, crypto.SHA256)
		if err != nil {
			return nil, nil, fmt.Errorf("opening KMS key: %w", err)
		}
		return sv, nil, nil
	case KeyFile:
		pem, err := os.ReadFile(ref)
		return nil, pem, err
	}
	return nil, []byte(ref), nil
}

// plainKeyTypes are the PEM types of unencrypted keys as openssl and most
// key stores write them; cosign's own format is encrypted.
var plainKeyTypes = map[string]bool{"PRIVATE KEY": true, "EC PRIVATE KEY": true, "RSA PRIVATE KEY": true}

// loadPlainKey reads an unencrypted PKCS#8, SEC 1 or PKCS#1 private key, as
// `cosign import-key-pair` would before encrypting it.
func loadPlainKey(pem []byte) (signature.SignerVerifier, error) {
	key, err := cryptoutils.UnmarshalPEMToPrivateKey(pem, cryptoutils.SkipPassword)
	if err != nil {
		return nil, fmt.Errorf("loading private key: %w", err)
	}
	sv, err := signature.LoadSignerVerifier(key, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("loading private key: %w", err)
	}
	return sv, nil
}

// LoadVerifier reads a public key (PEM content or path) or opens a KMS key.
func LoadVerifier(ctx context.Context, ref string) (signature.Verifier, error) {
	kmsKey, pem, err := openKey(ctx, ref)
	if err != nil || kmsKey != nil {
		return kmsKey, err
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pem)
	if err != nil {
		return nil, errors.New("not a PEM public key")
	}
	return signature.LoadVerifier(pub, crypto.SHA256)
}

// PublicKeyPEM is the PEM encoding of a signer's public key.
func PublicKeyPEM(ctx context.Context, v signature.PublicKeyProvider) ([]byte, error) {
	pub, err := v.PublicKey(signoptions.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	return cryptoutils.MarshalPublicKeyToPEM(pub)
}
