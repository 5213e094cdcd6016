package main

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
	cluster, requests := countingCluster(t)

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
			runGate(t, ctx, inputs, requests, tc.wantRefusal)
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
	cluster, requests := countingCluster(t)

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
				"verify-fulcio-roots": ss.RootPEM(), "verify-rekor-public-key": ss.RekorKeyPEM(t)}, requests, tc.wantRefusal)
		})
	}
}

// TestVerificationGate: with verify-attestations: verification, deploy
// goes on only for a digest whose newest staging record, signed by the
// gate's key, passed and is younger than the limit; every other digest is
// refused, saying why, before any request reaches the cluster.
func TestVerificationGate(t *testing.T) {
	ctx := context.Background()
	cluster, requests := countingCluster(t)

	host := scantest.StartRegistry(t)
	key, other := newKey(t), newKey(t)
	signerOf := func(kb *cosign.KeysBytes) sign.Signer {
		sv, err := sign.LoadSigner(ctx, string(kb.PrivateBytes), nil)
		if err != nil {
			t.Fatal(err)
		}
		return sign.Signer{SignerVerifier: sv}
	}
	run := sign.WorkflowRun{ServerURL: "https://github.com", Repository: "fxplatform/fx-platform", RunID: "7", RunAttempt: "1",
		WorkflowRef: "fxplatform/fx-platform/.github/workflows/release.yml@refs/tags/v1.2.3", SHA: "0123456789abcdef0123456789abcdef01234567",
		URL: "https://github.com/fxplatform/fx-platform/actions/runs/7/attempts/1"}
	// image is a digest signed by key, with a verification record of env
	// signed by recordKey (none when env is ""), verified age ago.
	image := func(label string, recordKey *cosign.KeysBytes, env, verdict string, age time.Duration) string {
		t.Helper()
		ref := scantest.PushImageWithLabel(t, host, "variant", label)
		if _, err := sign.Sign(ctx, ref, signerOf(key), sign.Options{}); err != nil {
			t.Fatal(err)
		}
		if env != "" {
			st, err := sign.VerificationStatement(ref, sign.Verification{Environment: env, URL: "https://staging.example.com",
				Verdict: verdict, StartedAt: time.Now().Add(-age - time.Minute), VerifiedAt: time.Now().Add(-age), Run: run})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sign.Attest(ctx, ref, signerOf(recordKey), []sign.Statement{st}, sign.Options{}); err != nil {
				t.Fatal(err)
			}
		}
		return ref.String()
	}
	gate := map[string]string{"verify-key": string(key.PublicBytes), "verify-attestations": "verification"}
	with := func(extra map[string]string) map[string]string {
		m := maps.Clone(gate)
		maps.Copy(m, extra)
		return m
	}
	for _, tc := range []struct {
		name        string
		image       string
		inputs      map[string]string
		wantRefusal string // "" when the gate must pass
	}{
		{"a fresh passing staging record passes", image("passed", key, "staging", sign.VerdictPassed, time.Hour), gate, ""},
		{"no record is refused", image("unverified", nil, "", "", 0), gate, `no verification record for environment "staging"`},
		{"a failed record is refused", image("failed", key, "staging", sign.VerdictFailed, time.Hour), gate, "staging verification verdict failed at"},
		{"a record signed by another key is refused", image("other key", other, "staging", sign.VerdictPassed, time.Hour), gate,
			"1 attached: signed by another key or identity"},
		{"a record older than the default 24h is refused", image("old", key, "staging", sign.VerdictPassed, 25*time.Hour), gate,
			"staging verification is older than 24h: verified at"},
		{"a record older than max-age is refused", image("passed 2h ago", key, "staging", sign.VerdictPassed, 2*time.Hour),
			with(map[string]string{"verify-verification-max-age": "90m"}), "staging verification is older than 1h30m"},
		{"a record of another environment is refused", image("production", key, "production", sign.VerdictPassed, time.Hour), gate,
			"the verified ones are for production"},
		{"the environment asked for passes", image("qa", key, "qa", sign.VerdictPassed, time.Hour),
			with(map[string]string{"verify-verification-environment": "qa"}), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inputs := map[string]string{"chart": testChart, "release": "fx-platform-staging", "image": tc.image, "kubeconfig": kubeconfigFor(cluster), "wait": "false"}
			maps.Copy(inputs, tc.inputs)
			runGate(t, ctx, inputs, requests, tc.wantRefusal)
		})
	}
}

// countingCluster is a stand-in for the cluster's API server that refuses
// every request and counts them: the gate must refuse before any.
func countingCluster(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var requests atomic.Int32
	cluster := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "no", http.StatusTeapot)
	}))
	t.Cleanup(cluster.Close)
	return cluster, &requests
}
