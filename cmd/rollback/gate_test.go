package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sigstore/cosign/v2/pkg/cosign"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/scan/scantest"
	"github.com/fxplatform/deploy-actions/pkg/sign"
)

// TestSignatureGate: a rollback to an image digest passes the same gate as
// deploy and promote. An unsigned digest, or one signed by another key,
// is refused with exit 1 before any request reaches the cluster; a signed
// one passes the gate and the rollback goes on to the cluster. A rollback
// to a colour needs no check: its image was live once, after its gate.
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
	for _, tc := range []struct {
		name        string
		to          string
		key         []byte
		wantRefusal string // "" when the gate lets the rollback reach the cluster
	}{
		{"unsigned digest is refused", unsigned.String(), key.PublicBytes, "image is not signed"},
		{"digest signed by another key is refused", signed.String(), other.PublicBytes, "no signature matches the policy"},
		{"signed digest reaches the cluster", signed.String(), key.PublicBytes, ""},
		{"a colour needs no check", "blue", key.PublicBytes, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cluster := actiontest.NewTLSServer(t, nil)
			r := actiontest.New(t, map[string]string{"service": "fx-platform-service", "deployment": "fx-platform",
				"to": tc.to, "kubeconfig": cluster.Kubeconfig(), "verify-key": string(tc.key)})
			if code := r.Run(ctx, spec, run); code != 1 {
				t.Fatalf("exit %d, want 1 (refused, or the counting cluster's error)\n%s", code, r.Log.String())
			}
			refused := strings.Contains(r.Log.String(), "refusing to roll back to")
			switch {
			case tc.wantRefusal != "" && (!refused || !strings.Contains(r.Log.String(), tc.wantRefusal)):
				t.Errorf("want a refusal containing %q:\n%s", tc.wantRefusal, r.Log.String())
			case tc.wantRefusal != "" && cluster.Requests() != 0:
				t.Errorf("%d requests reached the cluster after the refusal", cluster.Requests())
			case tc.wantRefusal == "" && (refused || cluster.Requests() == 0):
				t.Errorf("the gate stopped a rollback it should let through (%d cluster requests):\n%s", cluster.Requests(), r.Log.String())
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
