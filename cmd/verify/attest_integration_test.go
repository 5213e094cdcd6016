//go:build integration

package main

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/image"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
	"github.com/fxplatform/deploy-actions/pkg/sign"
)

// On the real node: verify records only the image its deployment runs.
// fx-platform-blue runs v1; a passing verify records v1's digest, and
// refuses to record v2's (exit 1, nothing attached to v2), since the pods
// it checked do not run it.
func TestAttestRecordsOnlyTheImageTheDeploymentRuns(t *testing.T) {
	// Versions of their own: the images are signed below, and other
	// tests' images must stay as they are.
	v1, v2 := rollouttest.Image(t, "attest-v1"), rollouttest.Image(t, "attest-v2")
	app := rollouttest.RealBlueApp(t, 1, v1, "attest-v1")
	host, user, password := rollouttest.Registry(t)
	key := keyPair(t, "pw")
	remote := image.Remote{Insecure: []string{host}, Keychain: image.NewKeychain(image.Credentials{Registry: host, Username: user, Password: password}, nil)}
	digest := func(ref string) name.Digest {
		d, err := name.NewDigest(ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	// Both images are signed, as sign signs them: the gate below asks
	// only whether a verification record is there.
	sv, err := sign.LoadSigner(context.Background(), string(key.PrivateBytes), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{v1, v2} {
		if _, err := sign.Sign(context.Background(), digest(ref), sign.Signer{SignerVerifier: sv}, sign.Options{Remote: remote}); err != nil {
			t.Fatal(err)
		}
	}
	gate := func(ref string) error {
		return sign.Verify(context.Background(), digest(ref), sign.Policy{Key: string(key.PublicBytes), IgnoreTlog: true, Attestations: []string{"verification"},
			Verification: sign.VerificationPolicy{Environment: "staging", MaxAge: time.Hour}, Remote: remote})
	}
	for _, tc := range []struct {
		image    string
		wantCode int
		wantGate error
	}{
		{v2, 1, sign.ErrAttestationMissing},
		{v1, 0, nil},
	} {
		r := actiontest.New(t, map[string]string{"url": strings.TrimSuffix(app.URL, "/api/strategy"), "load-requests": "20", "min-throughput": "1/min",
			"namespace": app.Namespace, "deployment": rollouttest.Deployment + "-blue", "kubeconfig": app.Kubeconfig,
			"attest": "true", "image": tc.image, "environment": "staging", "key": string(key.PrivateBytes), "key-password": "pw",
			"tlog-upload": "false", "insecure-registries": host, "registry-username": user, "registry-password": password})
		maps.Copy(r.Env, runnerEnv)
		code := r.Run(context.Background(), spec, run)
		if code != tc.wantCode {
			t.Fatalf("%s: exit %d, want %d\n%s", tc.image, code, tc.wantCode, r.Log.String())
		}
		if errs := r.Annotations("error"); tc.wantCode == 1 && (len(errs) != 1 || !strings.Contains(errs[0], "not recorded: deployment")) {
			t.Errorf("%s: errors %q, want one saying it was not recorded", tc.image, errs)
		}
		if err := gate(tc.image); !errors.Is(err, tc.wantGate) || (tc.wantGate == nil) != (err == nil) {
			t.Errorf("the gate on %s: %v, want %v", tc.image, err, tc.wantGate)
		}
	}
}
