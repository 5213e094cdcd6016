package sign_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/fxplatform/deploy-actions/pkg/image"
	"github.com/fxplatform/deploy-actions/pkg/sign"
)

var created = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func startRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// pushImage builds a one-file image whose content is body and pushes it
// with tag; it returns the digest reference.
func pushImage(t *testing.T, repo, tag, body string) name.Digest {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := image.NewBuilder(image.WithKeychain(authn.NewMultiKeychain()))
	if err != nil {
		t.Fatal(err)
	}
	img, err := b.Build(context.Background(), image.Spec{Context: dir, Created: created})
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.Push(context.Background(), img, repo, []string{tag})
	if err != nil {
		t.Fatal(err)
	}
	d, err := name.NewDigest(res.ImageRef)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// keyPair is a cosign key pair, the private key encrypted with password.
type keyPair struct {
	Private, Public []byte
	Password        string
}

func newKeyPair(t *testing.T, password string) keyPair {
	t.Helper()
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(password), nil })
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{Private: kb.PrivateBytes, Public: kb.PublicBytes, Password: password}
}

func (k keyPair) signer(t *testing.T) sign.Signer {
	t.Helper()
	sv, err := sign.LoadSigner(context.Background(), string(k.Private), []byte(k.Password))
	if err != nil {
		t.Fatal(err)
	}
	return sign.Signer{SignerVerifier: sv}
}

var buildContext = sign.BuildContext{
	ServerURL: "https://github.com", Repository: "fxplatform/fx-platform",
	SHA: "0123456789abcdef0123456789abcdef01234567", Ref: "refs/tags/v1.2.3",
	WorkflowRef: "fxplatform/fx-platform/.github/workflows/release.yml@refs/tags/v1.2.3",
	RunID:       "4242", RunAttempt: "1", EventName: "push",
}

func TestSignAndVerify(t *testing.T) {
	ctx := context.Background()
	repo := startRegistry(t) + "/fx/app"
	key, other := newKeyPair(t, "s3cret"), newKeyPair(t, "")

	signed := pushImage(t, repo, "v1", "signed")
	if _, err := sign.Sign(ctx, signed, key.signer(t), sign.Options{}); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	prov, err := sign.Provenance(signed, buildContext)
	if err != nil {
		t.Fatal(err)
	}
	vuln := sign.Statement{Subject: signed, PredicateType: sign.PredicateVuln, Predicate: json.RawMessage(`{"scanner":{"uri":"x","version":"1","result":{}},"metadata":{}}`)}
	if _, err := sign.Attest(ctx, signed, key.signer(t), []sign.Statement{prov, vuln}, sign.Options{}); err != nil {
		t.Fatalf("Attest: %v", err)
	}

	unsigned := pushImage(t, repo, "unsigned", "unsigned")
	byOther := pushImage(t, repo, "other", "other")
	if _, err := sign.Sign(ctx, byOther, other.signer(t), sign.Options{}); err != nil {
		t.Fatal(err)
	}
	// v1 is re-pointed after signing: the tag now names an unsigned image.
	repointed := pushImage(t, repo, "v1", "re-pointed")
	tagged, err := crane.Digest(repo+":v1", crane.Insecure)
	if err != nil || tagged != repointed.DigestStr() {
		t.Fatalf("tag v1 -> %s, %v; want %s", tagged, err, repointed.DigestStr())
	}
	// A signature of the signed digest copied onto another one (replayed).
	replayed := pushImage(t, repo, "replayed", "replayed")
	copySignature(t, signed, replayed)

	pub := string(key.Public)
	for _, tc := range []struct {
		name   string
		ref    name.Digest
		policy sign.Policy
		want   error
	}{
		{"signed digest passes", signed, sign.Policy{Key: pub, IgnoreTlog: true}, nil},
		{"signed digest with its attestations passes", signed, sign.Policy{Key: pub, IgnoreTlog: true, Attestations: []string{"slsaprovenance1", "vuln"}}, nil},
		{"unsigned digest is refused", unsigned, sign.Policy{Key: pub, IgnoreTlog: true}, sign.ErrUnsigned},
		{"digest signed by another key is refused", byOther, sign.Policy{Key: pub, IgnoreTlog: true}, sign.ErrSignatureMismatch},
		{"digest a re-pointed tag names is refused", repointed, sign.Policy{Key: pub, IgnoreTlog: true}, sign.ErrUnsigned},
		{"signature replayed onto another digest is refused", replayed, sign.Policy{Key: pub, IgnoreTlog: true}, sign.ErrSignatureMismatch},
		{"missing attestation type is refused", signed, sign.Policy{Key: pub, IgnoreTlog: true, Attestations: []string{"cyclonedx"}}, sign.ErrAttestationMissing},
		{"attestations of an unattested digest are refused", byOther, sign.Policy{Key: string(other.Public), IgnoreTlog: true, Attestations: []string{"slsaprovenance1"}}, sign.ErrAttestationMissing},
		{"a log is required unless told otherwise", signed, sign.Policy{Key: pub}, sign.ErrSignatureMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := sign.Verify(ctx, tc.ref, tc.policy)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("Verify: %v", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			var ve *sign.VerifyError
			if tc.want != nil && !errors.As(err, &ve) {
				t.Errorf("error %T is not a *sign.VerifyError", err)
			}
		})
	}
}

// copySignature puts the signature manifest of from on to's signature tag.
func copySignature(t *testing.T, from, to name.Digest) {
	t.Helper()
	tag := func(d name.Digest) string {
		return d.Context().String() + ":" + strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig"
	}
	if err := crane.Copy(tag(from), tag(to), crane.Insecure); err != nil {
		t.Fatal(err)
	}
}

func TestLoadSignerRejectsWrongPassword(t *testing.T) {
	k := newKeyPair(t, "right")
	for _, tc := range []struct{ name, password string }{{"wrong", "wrong"}, {"empty", ""}} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := sign.LoadSigner(context.Background(), string(k.Private), []byte(tc.password)); err == nil {
				t.Error("no error")
			}
		})
	}
}

// TestLoadSignerPlainKeys signs with unencrypted keys as openssl writes them
// and verifies with the matching public key.
func TestLoadSignerPlainKeys(t *testing.T) {
	ctx := context.Background()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cryptoutils.MarshalPublicKeyToPEM(ecKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, pem string }{
		{"PKCS#8", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))},
		{"SEC 1", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sv, err := sign.LoadSigner(ctx, tc.pem, nil)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := sv.SignMessage(strings.NewReader("payload"))
			if err != nil {
				t.Fatal(err)
			}
			v, err := sign.LoadVerifier(ctx, string(pub))
			if err != nil {
				t.Fatal(err)
			}
			if err := v.VerifySignature(bytes.NewReader(sig), strings.NewReader("payload")); err != nil {
				t.Errorf("signature does not verify with the public key: %v", err)
			}
		})
	}
}
