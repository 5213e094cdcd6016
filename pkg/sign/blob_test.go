package sign_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/fxplatform/deploy-actions/pkg/sign"
	"github.com/fxplatform/deploy-actions/pkg/sign/sigstoretest"
)

// emptyTrustedRoot trusts no CA and no log: enough for a key with the log
// ignored, and it keeps verification from reaching for Sigstore's TUF
// repository.
const emptyTrustedRoot = `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`

func trustedRoot(t *testing.T, data []byte) root.TrustedMaterial {
	t.Helper()
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// verifyBlob checks a bundle against the file as `cosign verify-blob
// --bundle` does, through cosign's library.
func verifyBlob(t *testing.T, path string, bundleJSON []byte, co *cosign.CheckOpts) error {
	t.Helper()
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = cosign.VerifyNewBundle(context.Background(), co, verify.WithArtifact(f), &b)
	return err
}

func writeBlob(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "checksums.txt")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSignBlobWithKey(t *testing.T) {
	ctx := context.Background()
	key := newKeyPair(t, "pw")
	verifier, err := sign.LoadVerifier(ctx, string(key.Public))
	if err != nil {
		t.Fatal(err)
	}
	ss := sigstoretest.Start(t, identity)
	for _, tc := range []struct {
		name string
		log  *sign.Rekor
	}{
		{"log off", nil},
		{"entered in Rekor", &sign.Rekor{URL: ss.RekorURL, Backoff: 10 * time.Millisecond, AttemptTimeout: 5 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := "0a1b  fx-platform_1.2.3_linux_amd64.tar.gz\n"
			blob := writeBlob(t, body)
			res, err := sign.SignBlob(ctx, blob, key.signer(t), sign.Options{Log: tc.log})
			if err != nil {
				t.Fatalf("SignBlob: %v", err)
			}
			if sum := sha256.Sum256([]byte(body)); string(res.Digest) != string(sum[:]) {
				t.Errorf("digest %x, want %x", res.Digest, sum)
			}
			var head struct {
				MediaType string `json:"mediaType"`
			}
			if err := json.Unmarshal(res.Bundle, &head); err != nil || head.MediaType != "application/vnd.dev.sigstore.bundle.v0.3+json" {
				t.Errorf("bundle media type %q (%v)", head.MediaType, err)
			}
			co := &cosign.CheckOpts{SigVerifier: verifier, TrustedMaterial: trustedRoot(t, []byte(emptyTrustedRoot)), IgnoreTlog: true}
			if tc.log != nil {
				if len(res.LogIndexes) != 1 {
					t.Errorf("log indexes %v", res.LogIndexes)
				}
				co.TrustedMaterial, co.IgnoreTlog = trustedRoot(t, ss.TrustedRootJSON(t)), false
			}
			if err := verifyBlob(t, blob, res.Bundle, co); err != nil {
				t.Fatalf("the bundle does not verify: %v", err)
			}

			if err := os.WriteFile(blob, []byte(body+"evil  backdoor.tar.gz\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := verifyBlob(t, blob, res.Bundle, co); err == nil {
				t.Error("a tampered file verified")
			}
			if err := os.WriteFile(blob, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			other, err := sign.LoadVerifier(ctx, string(newKeyPair(t, "").Public))
			if err != nil {
				t.Fatal(err)
			}
			co.SigVerifier = other
			if err := verifyBlob(t, blob, res.Bundle, co); err == nil {
				t.Error("another key verified the bundle")
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		if _, err := sign.SignBlob(ctx, filepath.Join(t.TempDir(), "nope"), key.signer(t), sign.Options{}); !os.IsNotExist(err) {
			t.Errorf("SignBlob = %v, want not exist", err)
		}
	})
}

func TestSignBlobKeyless(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.Start(t, identity)
	token := ss.Token()
	signer, err := sign.Keyless(ctx, ss.FulcioURL, token)
	if err != nil {
		t.Fatal(err)
	}
	blob := writeBlob(t, "checksums\n")
	res, err := sign.SignBlob(ctx, blob, signer, sign.Options{Log: &sign.Rekor{URL: ss.RekorURL, Backoff: 10 * time.Millisecond}})
	if err != nil {
		t.Fatalf("SignBlob: %v", err)
	}
	checks := func(id, issuer string, tr []byte) *cosign.CheckOpts {
		return &cosign.CheckOpts{
			TrustedMaterial: trustedRoot(t, tr), IgnoreSCT: true,
			Identities: []cosign.Identity{{Subject: id, Issuer: issuer}},
		}
	}
	if err := verifyBlob(t, blob, res.Bundle, checks(identity, sigstoretest.Issuer, ss.TrustedRootJSON(t))); err != nil {
		t.Fatalf("the bundle does not verify: %v", err)
	}
	for _, tc := range []struct {
		name string
		co   *cosign.CheckOpts
	}{
		{"another identity", checks(identity+"x", sigstoretest.Issuer, ss.TrustedRootJSON(t))},
		{"another issuer", checks(identity, "https://accounts.google.com", ss.TrustedRootJSON(t))},
		{"another CA and log", checks(identity, sigstoretest.Issuer, sigstoretest.Start(t, identity).TrustedRootJSON(t))},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			if err := verifyBlob(t, blob, res.Bundle, tc.co); err == nil {
				t.Error("verified")
			}
		})
	}
}

// TestVerifyBlob is VerifyBlob against the bundles SignBlob makes: what
// scripts/run-action asks of a release's checksums.txt.
func TestVerifyBlob(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.Start(t, identity)
	signer, err := sign.Keyless(ctx, ss.FulcioURL, ss.Token())
	if err != nil {
		t.Fatal(err)
	}
	const body = "0a1b  deploy-actions_linux_amd64.tar.gz\n"
	blob := writeBlob(t, body)
	res, err := sign.SignBlob(ctx, blob, signer, sign.Options{Log: &sign.Rekor{URL: ss.RekorURL, Backoff: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	keyed, err := sign.SignBlob(ctx, blob, newKeyPair(t, "").signer(t), sign.Options{})
	if err != nil {
		t.Fatal(err)
	}
	good := sign.BlobPolicy{Identity: identity, Issuer: sigstoretest.Issuer, TrustedRoot: ss.TrustedRootJSON(t)}
	if err := sign.VerifyBlob(ctx, blob, res.Bundle, good); err != nil {
		t.Fatalf("the bundle does not verify: %v", err)
	}
	tampered := writeBlob(t, body+"0c0d  evil.tar.gz\n")
	for _, tc := range []struct {
		name   string
		path   string
		bundle []byte
		p      sign.BlobPolicy
	}{
		{"a changed file", tampered, res.Bundle, good},
		{"another identity (a fork's release workflow)", blob, res.Bundle, sign.BlobPolicy{Identity: identity + "-fork", Issuer: good.Issuer, TrustedRoot: good.TrustedRoot}},
		{"an identity that only starts the same", blob, res.Bundle, sign.BlobPolicy{Identity: "https://github.com/fxplatform/fx-platform/", Issuer: good.Issuer, TrustedRoot: good.TrustedRoot}},
		{"another issuer", blob, res.Bundle, sign.BlobPolicy{Identity: identity, Issuer: "https://accounts.google.com", TrustedRoot: good.TrustedRoot}},
		{"another Sigstore's trusted root", blob, res.Bundle, sign.BlobPolicy{Identity: identity, Issuer: good.Issuer, TrustedRoot: sigstoretest.Start(t, identity).TrustedRootJSON(t)}},
		{"a bundle made with a key, not keyless", blob, keyed.Bundle, good},
		{"no bundle", blob, []byte("{}"), good},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			if err := sign.VerifyBlob(ctx, tc.path, tc.bundle, tc.p); err == nil {
				t.Error("verified")
			}
		})
	}
}
