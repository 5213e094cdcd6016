//go:build integration

package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
	"github.com/fxplatform/deploy-actions/pkg/scan/scantest"
	"github.com/fxplatform/deploy-actions/pkg/sign"
)

// TestSignatureGate promotes only a digest signed by the given key: an
// unsigned digest or one signed by another key is refused before anything
// in the cluster changes.
func TestSignatureGate(t *testing.T) {
	ctx := context.Background()
	host := scantest.StartRegistry(t)
	signed := scantest.PushImage(t, host)
	unsigned := scantest.PushImageWithLabel(t, host, "variant", "unsigned")
	key, other := newKey(t), newKey(t)
	sv, err := sign.LoadSigner(ctx, string(key.PrivateBytes), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Sign(ctx, signed, sign.Signer{SignerVerifier: sv}, sign.Options{}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		image       string
		key         []byte
		wantRefusal string // "" when the gate must pass
	}{
		{"unsigned digest is refused", unsigned.String(), key.PublicBytes, "image is not signed"},
		{"digest signed by another key is refused", signed.String(), other.PublicBytes, "no signature matches the policy"},
		{"signed digest is promoted", signed.String(), key.PublicBytes, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := rollouttest.NewCluster(t)
			rollouttest.BlueApp(t, c.Client, c.Namespace, 2, imageV1)
			before, err := c.Client.CoreV1().Services(c.Namespace).Get(ctx, "fx-platform-service", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			r := actiontest.New(t, map[string]string{"namespace": c.Namespace, "service": "fx-platform-service", "deployment": "fx-platform", "candidate-from": "live",
				"image": tc.image, "scale-down-delay": "0s", "kubeconfig": c.Kubeconfig, "verify-key": string(tc.key)})
			code := r.Run(ctx, spec, run)
			if tc.wantRefusal == "" {
				if code != 0 || r.Outputs()["result"] != "promoted" {
					t.Fatalf("exit %d, outputs %v: %s", code, r.Outputs(), r.Log.String())
				}
				return
			}
			errs := r.Annotations("error")
			if code != 1 || len(errs) != 1 || !strings.Contains(errs[0], tc.wantRefusal) || !strings.Contains(errs[0], "nothing was changed") {
				t.Fatalf("exit %d, errors %q; want exit 1 and one error with %q", code, errs, tc.wantRefusal)
			}
			after, err := c.Client.CoreV1().Services(c.Namespace).Get(ctx, "fx-platform-service", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if after.ResourceVersion != before.ResourceVersion {
				t.Errorf("the live Service changed after a refusal: %v -> %v", before.Annotations, after.Annotations)
			}
			if _, err := c.Client.AppsV1().Deployments(c.Namespace).Get(ctx, "fx-platform-green", metav1.GetOptions{}); err == nil {
				t.Errorf("the idle colour was created after a refusal")
			}
		})
	}
}

func newKey(t *testing.T) *cosign.KeysBytes {
	t.Helper()
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	return kb
}
