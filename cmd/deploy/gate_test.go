package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v2/pkg/cosign"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/scan/scantest"
	"github.com/fxplatform/deploy-actions/pkg/sign"
	"github.com/fxplatform/deploy-actions/pkg/sign/sigstoretest"
)

// TestSignatureGate: with verify-key set, an image that does not verify is
// refused with exit 1 and the reason before any request reaches the
// cluster; a signed one passes the gate and deploy goes on to the cluster.
func TestSignatureGate(t *testing.T) {
	ctx := context.Background()
	var requests atomic.Int32
	cluster := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "no", http.StatusTeapot)
	}))
	defer cluster.Close()

	host := scantest.StartRegistry(t)
	signed := scantest.PushImage(t, host)
	key := newKey(t)
	other := newKey(t)
	sv, err := sign.LoadSigner(ctx, string(key.PrivateBytes), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Sign(ctx, signed, sign.Signer{SignerVerifier: sv}, sign.Options{}); err != nil {
		t.Fatal(err)
	}
	unsigned := pushOther(t, host)
	// The tag v1 named the signed image when it was signed, and was then
	// re-pointed to the unsigned one: the gate must follow the digest.
	if err := crane.Tag(signed.String(), "v1", crane.Insecure); err != nil {
		t.Fatal(err)
	}
	if err := crane.Tag(unsigned, "v1", crane.Insecure); err != nil {
		t.Fatal(err)
	}
	repointed := host + "/fx/app:v1@" + digestOf(t, unsigned)
	signedUnderTag := host + "/fx/app:v1@" + signed.DigestStr()

	for _, tc := range []struct {
		name        string
		image       string
		inputs      map[string]string
		wantRefusal string // "" when the gate must pass
	}{
		{"signed digest passes the gate", signed.String(), map[string]string{"verify-key": string(key.PublicBytes)}, ""},
		{"unsigned digest is refused", unsigned, map[string]string{"verify-key": string(key.PublicBytes)}, "image is not signed"},
		{"digest signed by another key is refused", signed.String(), map[string]string{"verify-key": string(other.PublicBytes)}, "no signature matches the policy"},
		{"re-pointed tag is refused (its new digest is unsigned)", repointed, map[string]string{"verify-key": string(key.PublicBytes)}, "image is not signed"},
		{"signed digest passes under a tag that moved on", signedUnderTag, map[string]string{"verify-key": string(key.PublicBytes)}, ""},
		{"missing attestation is refused", signed.String(), map[string]string{"verify-key": string(key.PublicBytes), "verify-attestations": "slsaprovenance1"}, "required attestation missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inputs := map[string]string{"chart": testChart, "release": "fx-platform-staging", "image": tc.image, "kubeconfig": kubeconfigFor(cluster), "wait": "false"}
			for k, v := range tc.inputs {
				inputs[k] = v
			}
			runGate(t, ctx, inputs, &requests, tc.wantRefusal)
		})
	}
}

// runGate runs deploy with inputs against a cluster that counts the
// requests it gets. With wantRefusal "", the gate must let the run reach
// the cluster; otherwise the run must end with one error containing
// wantRefusal, and no request may reach the cluster.
func runGate(t *testing.T, ctx context.Context, inputs map[string]string, requests *atomic.Int32, wantRefusal string) {
	t.Helper()
	before := requests.Load()
	r := actiontest.New(t, inputs)
	code := r.Run(ctx, spec, run)
	errs := r.Annotations("error")
	reached := requests.Load() - before
	if wantRefusal == "" {
		if reached == 0 {
			t.Errorf("the gate stopped a signed image: %q", errs)
		}
		return
	}
	if code != 1 || len(errs) != 1 || !strings.Contains(errs[0], wantRefusal) || !strings.Contains(errs[0], "nothing was changed") {
		t.Errorf("exit %d, errors %q; want exit 1 and one error with %q", code, errs, wantRefusal)
	}
	if reached != 0 {
		t.Errorf("%d requests reached the cluster after a refusal", reached)
	}
}

func digestOf(t *testing.T, ref string) string {
	t.Helper()
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	return d.DigestStr()
}

func newKey(t *testing.T) *cosign.KeysBytes {
	t.Helper()
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	return kb
}

// pushOther pushes a second, unsigned image (the fixture with another
// tag would share the digest, so its config differs by a label).
func pushOther(t *testing.T, host string) string {
	t.Helper()
	return scantest.PushImageWithLabel(t, host, "variant", "unsigned").String()
}

// TestKeylessGate: with a private Sigstore's roots and Rekor key, a digest
// signed keyless by the release workflow of fxplatform/fx-platform passes;
// the same signature checked against another repository's identity, or a
// prefix of it, is refused before any request reaches the cluster.
func TestKeylessGate(t *testing.T) {
	ctx := context.Background()
	const identity = "https://github.com/fxplatform/fx-platform/.github/workflows/release.yml@refs/tags/v1.2.3"
	var requests atomic.Int32
	cluster := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "no", http.StatusTeapot)
	}))
	defer cluster.Close()

	ss := sigstoretest.Start(t, identity)
	host := scantest.StartRegistry(t)
	signed := scantest.PushImage(t, host)
	token := ss.Token()
	signer, err := sign.Keyless(ctx, ss.FulcioURL, token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Sign(ctx, signed, signer, sign.Options{Log: &sign.Rekor{URL: ss.RekorURL}}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, identity, wantRefusal string
	}{
		{"the signing workflow's identity passes", identity, ""},
		{"another repository's identity is refused", "https://github.com/fxplatform/fx-platform-evil/.github/workflows/release.yml@refs/tags/v1.2.3", "no signature matches the policy"},
		{"a prefix of the identity is refused", "https://github.com/fxplatform/fx-platform", "no signature matches the policy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runGate(t, ctx, map[string]string{"chart": testChart, "release": "fx-platform-staging", "image": signed.String(),
				"kubeconfig": kubeconfigFor(cluster), "wait": "false",
				"verify-certificate-identity": tc.identity, "verify-certificate-oidc-issuer": sigstoretest.Issuer,
				"verify-fulcio-roots": ss.RootPEM(), "verify-rekor-public-key": ss.RekorKeyPEM(t)}, &requests, tc.wantRefusal)
		})
	}
}
