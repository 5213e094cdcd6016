package sign

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"os"

	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	signoptions "github.com/sigstore/sigstore/pkg/signature/options"
	"google.golang.org/protobuf/encoding/protojson"
)

// BundleSuffix names a file's bundle: checksums.txt is signed into
// checksums.txt.sigstore.json.
const BundleSuffix = ".sigstore.json"

// BlobResult is what SignBlob made.
type BlobResult struct {
	// Bundle is the Sigstore bundle (media type
	// application/vnd.dev.sigstore.bundle.v0.3+json), as
	// `cosign sign-blob --new-bundle-format --bundle` writes it.
	Bundle []byte
	// Digest is the file's SHA-256.
	Digest []byte
	// LogIndexes are the Rekor entries made, if any.
	LogIndexes []int64
}

// SignBlob signs the file at path as `cosign sign-blob --new-bundle-format`
// does: a signature over the file's bytes (SHA-256), entered in Rekor as a
// hashedrekord when o.Log is set, returned as a Sigstore bundle that holds
// the certificate (keyless) or the key's hint (a key), the log entry and
// the signature. `cosign verify-blob --bundle` checks it. o.Remote and
// o.Annotations do not apply to a file.
func SignBlob(ctx context.Context, path string, s Signer, o Options) (*BlobResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	sig, err := s.SignMessage(io.TeeReader(f, h), signoptions.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w", path, err)
	}
	// A signer that stopped reading early would leave h short of the file.
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	res := &BlobResult{Digest: h.Sum(nil)}
	var entry *models.LogEntryAnon
	if o.Log != nil {
		pem, err := s.logIdentity(ctx)
		if err != nil {
			return nil, err
		}
		if entry, err = o.Log.uploadHashedRekord(ctx, sig, h, pem); err != nil {
			return nil, err
		}
		res.LogIndexes = append(res.LogIndexes, *entry.LogIndex)
	}
	hint, rawCert, err := s.bundleIdentity(ctx)
	if err != nil {
		return nil, err
	}
	b, err := cbundle.MakeProtobufBundle(hint, rawCert, entry, nil)
	if err != nil {
		return nil, fmt.Errorf("making the bundle of %s: %w", path, err)
	}
	b.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
		MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: res.Digest},
		Signature:     sig,
	}}
	if res.Bundle, err = protojson.Marshal(b); err != nil {
		return nil, err
	}
	return res, nil
}

// bundleIdentity is how a bundle names its signer: the leaf certificate
// (DER) for keyless, else a hint, the base64 SHA-256 of the public key's
// PKIX encoding, as cosign writes it; the verifier brings the key.
func (s Signer) bundleIdentity(ctx context.Context) (hint string, rawCert []byte, err error) {
	if len(s.Cert) > 0 {
		certs, err := cryptoutils.UnmarshalCertificatesFromPEM(s.Cert)
		if err != nil || len(certs) == 0 {
			return "", nil, fmt.Errorf("reading the signing certificate: %v", err)
		}
		return "", certs[0].Raw, nil
	}
	pub, err := s.PublicKey(signoptions.WithContext(ctx))
	if err != nil {
		return "", nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(sum[:]), nil, nil
}
