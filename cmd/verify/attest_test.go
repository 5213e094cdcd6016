package main

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/cosign/v2/pkg/cosign"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/scan/scantest"
	"github.com/fxplatform/deploy-actions/pkg/sign"
	"github.com/fxplatform/deploy-actions/pkg/sign/sigstoretest"
)

// runnerEnv is what a GitHub runner sets, which the record names.
var runnerEnv = map[string]string{
	"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "fxplatform/fx-platform",
	"GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567", "GITHUB_REF": "refs/tags/v1.2.3",
	"GITHUB_WORKFLOW_REF": "fxplatform/fx-platform/.github/workflows/release.yml@refs/tags/v1.2.3",
	"GITHUB_RUN_ID":       "4242", "GITHUB_RUN_ATTEMPT": "2",
}

func keyPair(t *testing.T, password string) *cosign.KeysBytes {
	t.Helper()
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(password), nil })
	if err != nil {
		t.Fatal(err)
	}
	return kb
}

// TestAttest: with attest, verify records its result on the digest, passed
// or failed, signed with the key; the gate then accepts the digest after a
// pass and refuses it after a failure, and verify's exit code stays its own.
func TestAttest(t *testing.T) {
	ctx := context.Background()
	srv := healthyServer(t)
	host := scantest.StartRegistry(t)
	ref := scantest.PushImage(t, host)
	key := keyPair(t, "pw")
	sv, err := sign.LoadSigner(ctx, string(key.PrivateBytes), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Sign(ctx, ref, sign.Signer{SignerVerifier: sv}, sign.Options{}); err != nil {
		t.Fatal(err)
	}
	policy := sign.Policy{Key: string(key.PublicBytes), IgnoreTlog: true, Attestations: []string{"verification"},
		Verification: sign.VerificationPolicy{Environment: "staging", MaxAge: 24 * time.Hour}}

	for _, tc := range []struct {
		name     string
		inputs   map[string]string
		wantCode int
		wantGate error // nil: the gate accepts the digest after the run
	}{
		{"a pass is recorded and accepted", map[string]string{}, 0, nil},
		{"a failure is recorded and refused", map[string]string{"min-throughput": "100000000/min"}, 1, sign.ErrVerificationRefused},
		{"a pass again replaces the failure", map[string]string{}, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inputs := map[string]string{"url": srv.URL, "load-requests": "20", "min-throughput": "1/min",
				"attest": "true", "image": ref.String(), "environment": "staging", "key": string(key.PrivateBytes), "key-password": "pw",
				"tlog-upload": "false", "insecure-registries": host}
			maps.Copy(inputs, tc.inputs)
			r := actiontest.New(t, inputs)
			maps.Copy(r.Env, runnerEnv)
			if code := r.Run(ctx, spec, run); code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, tc.wantCode, r.Log.String())
			}
			out := r.Outputs()
			wantRef := ref.Context().String() + ":" + strings.Replace(ref.DigestStr(), ":", "-", 1) + ".att"
			if out["attestation-ref"] != wantRef || out["predicate-type"] != sign.PredicateVerification {
				t.Errorf("outputs %v, want attestation-ref %s and the predicate type", out, wantRef)
			}
			if s := r.Summary(); !strings.Contains(s, "### Verification record") {
				t.Errorf("summary lacks the record:\n%s", s)
			}
			err := sign.Verify(ctx, ref, policy)
			switch {
			case tc.wantGate == nil && err != nil:
				t.Errorf("the gate refuses the recorded pass: %v", err)
			case tc.wantGate != nil && !errors.Is(err, tc.wantGate):
				t.Errorf("gate = %v, want %v", err, tc.wantGate)
			}
			if log := withoutMaskCommands(r.Log.String()); strings.Contains(log, "PRIVATE KEY") {
				t.Errorf("the key reached the log:\n%s", r.Log.String())
			}
		})
	}
}

// TestAttestKeyless: keyless, the record is signed with a Fulcio
// certificate for the workflow's identity and entered in Rekor, as sign's
// signature is, and the gate accepts the digest under that identity.
func TestAttestKeyless(t *testing.T) {
	ctx := context.Background()
	const identity = "https://github.com/fxplatform/fx-platform/.github/workflows/release.yml@refs/tags/v1.2.3"
	ss := sigstoretest.Start(t, identity)
	srv := healthyServer(t)
	host := scantest.StartRegistry(t)
	ref := scantest.PushImage(t, host)
	signer, err := sign.Keyless(ctx, ss.FulcioURL, ss.Token())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Sign(ctx, ref, signer, sign.Options{Log: &sign.Rekor{URL: ss.RekorURL}}); err != nil {
		t.Fatal(err)
	}
	r := actiontest.New(t, map[string]string{"url": srv.URL, "load-requests": "20", "min-throughput": "1/min",
		"attest": "true", "image": ref.String(), "environment": "staging", "keyless": "true",
		"fulcio-url": ss.FulcioURL, "rekor-url": ss.RekorURL, "insecure-registries": host})
	maps.Copy(r.Env, runnerEnv)
	r.Env["ACTIONS_ID_TOKEN_REQUEST_URL"] = ss.OIDCURL
	r.Env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "request-token"
	if code := r.Run(ctx, spec, run); code != 0 {
		t.Fatalf("exit %d\n%s", code, r.Log.String())
	}
	if s := r.Summary(); !strings.Contains(s, "keyless") || !strings.Contains(s, "Rekor entry") {
		t.Errorf("summary:\n%s", s)
	}
	policy := sign.Policy{Identity: identity, Issuer: sigstoretest.Issuer, Attestations: []string{"verification"},
		Verification: sign.VerificationPolicy{Environment: "staging", MaxAge: time.Hour},
		Roots:        ss.Roots(), RekorKeys: ss.RekorKeys(t), IgnoreSCT: true}
	if err := sign.Verify(ctx, ref, policy); err != nil {
		t.Errorf("the gate refuses the keyless record: %v", err)
	}
	policy.Identity = "https://github.com/fxplatform/other/.github/workflows/release.yml@refs/tags/v1.2.3"
	if err := sign.Verify(ctx, ref, policy); err == nil {
		t.Error("the gate accepts the digest under another identity")
	}
}

// withoutMaskCommands drops the ::add-mask:: lines, which carry the secrets
// on purpose.
func withoutMaskCommands(log string) string {
	var keep []string
	for _, line := range strings.Split(log, "\n") {
		if !strings.HasPrefix(line, "::add-mask::") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

func TestAttestBadInputSendsNothing(t *testing.T) {
	srv := healthyServer(t)             // the service verified
	reg := actiontest.NewServer(t, nil) // the registry and the OIDC token service
	host := reg.Host()
	digest := host + "/fx/app@sha256:" + strings.Repeat("a", 64)
	key := keyPair(t, "pw")
	outsideRunner := map[string]string{}
	for k := range runnerEnv {
		outsideRunner[k] = ""
	}
	attest := func(set map[string]string) map[string]string {
		m := map[string]string{"attest": "true", "image": digest, "environment": "staging", "key": string(key.PrivateBytes), "key-password": "pw"}
		maps.Copy(m, set)
		return m
	}
	actiontest.BadInputs{
		Spec: spec, Run: run,
		Good:    map[string]string{"url": srv.URL, "insecure-registries": host, "tlog-upload": "false"},
		Env:     runnerEnv,
		Servers: []*actiontest.Server{srv, reg},
		Check: func(t *testing.T, r *actiontest.Runner) {
			// One problem, not one and its echoes in the inputs that go
			// with it.
			if errs := r.Annotations("error"); len(errs) == 1 && strings.Count(errs[0], "input \"") != 1 {
				t.Errorf("more than one input named: %q", errs[0])
			}
		},
	}.Test(t, []actiontest.BadInput{
		{Name: "attest without image", Set: attest(map[string]string{"image": ""}), Input: "image"},
		{Name: "attest with a tag", Set: attest(map[string]string{"image": host + "/fx/app:v1"}), Input: "image"},
		{Name: "attest without environment", Set: attest(map[string]string{"environment": ""}), Input: "environment"},
		{Name: "environment that is no name", Set: attest(map[string]string{"environment": "staging/eu"}), Input: "environment"},
		{Name: "attest without key or keyless", Set: attest(map[string]string{"key": "", "key-password": ""}), Input: "key"},
		{Name: "key and keyless", Set: attest(map[string]string{"keyless": "true", "tlog-upload": "true"}),
			Env: map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": reg.URL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t"}, Input: "keyless"},
		{Name: "key file missing", Set: attest(map[string]string{"key": "/nonexistent/cosign.key"}), Input: "key"},
		{Name: "wrong key password", Set: attest(map[string]string{"key-password": "wrong"}), Input: "key"},
		{Name: "keyless without an OIDC token", Set: attest(map[string]string{"key": "", "key-password": "", "keyless": "true", "tlog-upload": "true"}), Input: "keyless"},
		{Name: "keyless without the log", Set: attest(map[string]string{"key": "", "key-password": "", "keyless": "true"}),
			Env: map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": reg.URL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t"}, Input: "tlog-upload"},
		{Name: "bad rekor url", Set: attest(map[string]string{"tlog-upload": "true", "rekor-url": "rekor"}), Input: "rekor-url"},
		{Name: "attest outside a runner", Set: attest(nil), Env: outsideRunner, Input: "attest"},
		{Name: "attest not a boolean", Set: attest(map[string]string{"attest": "yes please"}), Input: "attest"},
		{Name: "image without attest", Set: map[string]string{"image": digest}, Input: "image"},
		{Name: "environment without attest", Set: map[string]string{"environment": "staging"}, Input: "environment"},
		{Name: "key without attest", Set: map[string]string{"key": string(key.PrivateBytes)}, Input: "key"},
		{Name: "keyless without attest", Set: map[string]string{"keyless": "true"}, Input: "keyless"},
		{Name: "registry user without its password", Set: attest(map[string]string{"registry-username": "fx"}), Input: "registry-password"},
	})
}
