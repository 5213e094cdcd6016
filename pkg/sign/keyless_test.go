package sign_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/sign"
	"github.com/fxplatform/deploy-actions/pkg/sign/sigstoretest"
)

const identity = "https://github.com/fxplatform/fx-platform/.github/workflows/release.yml@refs/tags/v1.2.3"

func TestKeylessSignAndVerify(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.Start(t, identity)
	repo := startRegistry(t) + "/fx/app"
	signer, err := sign.Keyless(ctx, ss.FulcioURL, ss.Token())
	if err != nil {
		t.Fatalf("Keyless: %v", err)
	}
	log := &sign.Rekor{URL: ss.RekorURL, Backoff: 10 * time.Millisecond, AttemptTimeout: 5 * time.Second}

	signed := pushImage(t, repo, "v1", "keyless")
	if _, err := sign.Sign(ctx, signed, signer, sign.Options{Log: log}); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	prov, err := sign.Provenance(signed, buildContext)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Attest(ctx, signed, signer, []sign.Statement{prov}, sign.Options{Log: log}); err != nil {
		t.Fatalf("Attest: %v", err)
	}
	unsigned := pushImage(t, repo, "v2", "unsigned")

	trust := func(p sign.Policy) sign.Policy {
		p.Roots, p.RekorKeys, p.IgnoreSCT = ss.Roots(), ss.RekorKeys(t), true
		return p
	}
	for _, tc := range []struct {
		name   string
		ref    string
		policy sign.Policy
		want   error
	}{
		{"identity and issuer match", "signed", trust(sign.Policy{Identity: identity, Issuer: sigstoretest.Issuer}), nil},
		{"with the provenance attestation", "signed", trust(sign.Policy{Identity: identity, Issuer: sigstoretest.Issuer, Attestations: []string{"slsaprovenance1"}}), nil},
		{"another repository's identity is refused", "signed", trust(sign.Policy{Identity: "https://github.com/fxplatform/fx-platform-evil/.github/workflows/release.yml@refs/tags/v1.2.3", Issuer: sigstoretest.Issuer}), sign.ErrSignatureMismatch},
		{"a prefix of the identity is refused (matched whole)", "signed", trust(sign.Policy{Identity: "https://github.com/fxplatform/fx-platform", Issuer: sigstoretest.Issuer}), sign.ErrSignatureMismatch},
		{"another issuer is refused", "signed", trust(sign.Policy{Identity: identity, Issuer: "https://accounts.google.com"}), sign.ErrSignatureMismatch},
		{"unsigned digest is refused", "unsigned", trust(sign.Policy{Identity: identity, Issuer: sigstoretest.Issuer}), sign.ErrUnsigned},
		{"no trust root configured: an error, never unverified", "signed", sign.Policy{Identity: identity, Issuer: sigstoretest.Issuer, IgnoreSCT: true}, sign.ErrNoTrustRoot},
		{"a certificate from another CA is refused", "signed", sign.Policy{Identity: identity, Issuer: sigstoretest.Issuer, IgnoreSCT: true, Roots: sigstoretest.Start(t, identity).Roots(), RekorKeys: ss.RekorKeys(t)}, sign.ErrSignatureMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := signed
			if tc.ref == "unsigned" {
				ref = unsigned
			}
			err := sign.Verify(ctx, ref, tc.policy)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("Verify: %v", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestRekorRetries(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.Start(t, identity)
	repo := startRegistry(t) + "/fx/app"
	key := newKeyPair(t, "")
	for _, tc := range []struct {
		name        string
		arrange     func()
		wantUploads int
	}{
		{"two 503s, then created", func() { ss.FailUploads(2) }, 3},
		{"first attempt lands but times out; the retry's 409 is success", func() { ss.SlowUploads(1, 3*time.Second) }, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := pushImage(t, repo, "t", tc.name)
			before := ss.Uploads
			tc.arrange()
			log := &sign.Rekor{URL: ss.RekorURL, Backoff: 10 * time.Millisecond, AttemptTimeout: 500 * time.Millisecond}
			res, err := sign.Sign(ctx, ref, key.signer(t), sign.Options{Log: log})
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if got := ss.Uploads - before; got != tc.wantUploads {
				t.Errorf("%d uploads, want %d", got, tc.wantUploads)
			}
			if len(res.LogIndexes) != 1 {
				t.Errorf("log indexes %v", res.LogIndexes)
			}
			if err := sign.Verify(ctx, ref, sign.Policy{Key: string(key.Public), RekorKeys: ss.RekorKeys(t)}); err != nil {
				t.Errorf("Verify with the log: %v", err)
			}
		})
	}
	t.Run("a 400 is not retried", func(t *testing.T) {
		log := &sign.Rekor{URL: ss.RekorURL + "/nope", Backoff: 10 * time.Millisecond, Attempts: 3}
		ref := pushImage(t, repo, "bad", "bad")
		before := ss.Uploads
		if _, err := sign.Sign(ctx, ref, key.signer(t), sign.Options{Log: log}); err == nil {
			t.Fatal("no error")
		}
		if ss.Uploads != before {
			t.Errorf("uploads reached the log")
		}
	})
}

// TestSignMissingImageLogsNothing: an image that cannot be read (a digest
// with a typo, a registry the job cannot reach) fails Sign before its
// signature is entered in the transparency log, whose entries are public
// and permanent, as Attest already does.
func TestSignMissingImageLogsNothing(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.Start(t, identity)
	repo := startRegistry(t) + "/fx/app"
	signer, err := sign.Keyless(ctx, ss.FulcioURL, ss.Token())
	if err != nil {
		t.Fatalf("Keyless: %v", err)
	}
	log := &sign.Rekor{URL: ss.RekorURL, Backoff: 10 * time.Millisecond, AttemptTimeout: 5 * time.Second}
	pushed := pushImage(t, repo, "v1", "pushed")
	missing := pushed.Context().Digest("sha256:" + strings.Repeat("0", 64))
	if _, err := sign.Sign(ctx, missing, signer, sign.Options{Log: log}); err == nil {
		t.Fatal("Sign of an image that is not in the registry succeeded")
	}
	if ss.Uploads != 0 {
		t.Errorf("%d Rekor entries made for an image that is not in the registry, want none", ss.Uploads)
	}
}
